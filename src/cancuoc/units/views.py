from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from cancuoc.core.views import querystring_without_page
from cancuoc.units.selectors import unit_ancestors, unit_children, unit_get, units_visible


@login_required
def unit_list(request: HttpRequest) -> HttpResponse:
    """Search the units in scope by name, with or without diacritics."""
    q = request.GET.get("q", "").strip()
    if q:
        units = units_visible(user=request.user, q=q).select_related("parent")
    else:
        units = unit_children(user=request.user, unit=request.user.unit).select_related("parent")
    page = Paginator(units, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "units/list.html",
        {"page": page, "q": q, "query": querystring_without_page(request)},
    )


@login_required
def unit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    unit = unit_get(user=request.user, pk=pk)
    if unit is None:
        raise Http404
    return render(
        request,
        "units/detail.html",
        {
            "unit": unit,
            "ancestors": unit_ancestors(unit=unit),
            "children": unit_children(user=request.user, unit=unit),
        },
    )
