"""Pages: citizen search (search-as-you-type), a citizen's record, a household."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path

from cancuoc.core.errors import OutOfScope, PermissionDenied
from cancuoc.registry import selectors


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def _page_links(request: HttpRequest, page: selectors.SearchPage) -> dict[str, str]:
    """Query strings of the previous and next pages (never the `partial` flag)."""
    params = {k: v for k, v in request.GET.items() if k not in ("page", "partial")}
    number = page.offset // page.limit + 1
    links = {}
    if page.has_previous:
        links["previous"] = urlencode({**params, "page": number - 1})
    if page.has_next:
        links["next"] = urlencode({**params, "page": number + 1})
    return links


@login_required
def search(request: HttpRequest) -> HttpResponse:
    """The search box; `?partial=1` returns only the results fragment for the script."""
    q = request.GET.get("q", "").strip()
    unit_id = _int(request.GET.get("unit"))
    number = max(_int(request.GET.get("page")) or 1, 1)
    offset = (number - 1) * selectors.PAGE_SIZE
    try:
        page = selectors.citizen_search(
            user=request.user, q=q, unit_id=unit_id, offset=offset, limit=selectors.PAGE_SIZE
        )
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from exc
    except OutOfScope as exc:
        raise Http404 from exc
    context = {"page": page, "q": q, "unit_id": unit_id, "links": _page_links(request, page)}
    if request.GET.get("partial"):
        return render(request, "registry/search/_results.html", context)
    context["units"] = selectors.search_units(user=request.user)
    return render(request, "registry/search/search.html", context)


@login_required
def citizen_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        citizen = selectors.citizen_view(user=request.user, citizen_id=pk)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from exc
    except OutOfScope as exc:
        raise Http404 from exc
    members = (
        selectors.household_members(user=request.user, household=citizen.household)
        if citizen.household
        else []
    )
    return render(
        request,
        "registry/search/citizen.html",
        {"citizen": citizen, "unit": selectors.citizen_unit(citizen), "members": members},
    )


@login_required
def household_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        household = selectors.household_view(user=request.user, household_id=pk)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from exc
    except OutOfScope as exc:
        raise Http404 from exc
    return render(
        request,
        "registry/search/household.html",
        {
            "household": household,
            "members": selectors.household_members(user=request.user, household=household),
        },
    )


urlpatterns: list[URLPattern] = [
    path("", search, name="search"),
    path("citizens/<int:pk>/", citizen_detail, name="citizen"),
    path("households/<int:pk>/", household_detail, name="household"),
]
