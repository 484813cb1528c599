from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cancuoc.accounts import selectors, services
from cancuoc.accounts.forms import LoginForm, TokenCreateForm, UserCreateForm, UserUpdateForm
from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.errors import DomainError, OutOfScope
from cancuoc.core.middleware import request_client_address
from cancuoc.core.views import querystring_without_page


def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        address = request_client_address(request)
        if services.login_is_throttled(username=username, client_address=address):
            form.add_error(None, _("Too many failed attempts. Try again in a few minutes."))
        else:
            user = authenticate(request, username=username, password=form.cleaned_data["password"])
            if user is None:
                services.login_failure_record(username=username, client_address=address)
                form.add_error(None, _("Wrong username or password."))
            else:
                login(request, user)
                services.login_success_record(user=user, client_address=address)
                target = request.GET.get("next", "")
                if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
                    target = "core:home"
                return redirect(target)
    return render(request, "accounts/login.html", {"form": form}, status=200)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("accounts:login")


def _require(request: HttpRequest, capability: Capability) -> None:
    if not user_can(request.user, capability):
        raise PermissionDenied


@login_required
def users(request: HttpRequest) -> HttpResponse:
    _require(request, Capability.MANAGE_ACCOUNTS)
    form = UserCreateForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.user_create(actor=request.user, **form.cleaned_data)
        except OutOfScope:
            raise Http404 from None
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Account %(name)s created.") % {"name": created.username})
            return redirect("accounts:users")
    q = request.GET.get("q", "").strip()
    page = Paginator(selectors.users_visible(user=request.user, q=q), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "accounts/users.html",
        {"page": page, "form": form, "q": q, "query": querystring_without_page(request)},
    )


@login_required
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, Capability.MANAGE_ACCOUNTS)
    target = selectors.user_get(user=request.user, pk=pk)
    if target is None:
        raise Http404
    initial = {
        "full_name": target.full_name,
        "is_active": target.is_active,
        "role": target.role,
        "unit": target.unit,
    }
    form = UserUpdateForm(request.POST or None, actor=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update(actor=request.user, user=target, **form.cleaned_data)
        except OutOfScope:
            raise Http404 from None
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Account %(name)s saved.") % {"name": target.username})
            return redirect("accounts:users")
    return render(request, "accounts/user_edit.html", {"target": target, "form": form})


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    _require(request, Capability.MANAGE_TOKENS)
    form = TokenCreateForm(request.POST or None, users=selectors.users_visible(user=request.user))
    raw = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, raw = services.api_token_create(
                actor=request.user, user=form.cleaned_data["user"], name=form.cleaned_data["name"]
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            form = TokenCreateForm(users=selectors.users_visible(user=request.user))
    return render(
        request,
        "accounts/tokens.html",
        {"tokens": selectors.api_tokens_visible(user=request.user), "form": form, "raw": raw},
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, Capability.MANAGE_TOKENS)
    token = get_object_or_404(selectors.api_tokens_visible(user=request.user), pk=pk)
    services.api_token_revoke(actor=request.user, token=token)
    messages.success(request, _("Token %(name)s revoked.") % {"name": token.name})
    return redirect("accounts:tokens")
