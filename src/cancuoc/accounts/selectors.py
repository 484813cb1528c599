from typing import Any

from django.db.models import QuerySet

from cancuoc.accounts.models import ApiToken, User
from cancuoc.core.scoping import scope_queryset


def users_visible(*, user: Any, q: str = "") -> QuerySet[User]:
    users = scope_queryset(User.objects.select_related("unit"), user=user)
    if q:
        users = users.filter(username__icontains=q) | users.filter(full_name__icontains=q)
    return users.order_by("unit__path", "username")


def user_get(*, user: Any, pk: int) -> User | None:
    return users_visible(user=user).filter(pk=pk).first()


def api_tokens_visible(*, user: Any) -> QuerySet[ApiToken]:
    return scope_queryset(
        ApiToken.objects.select_related("user__unit", "created_by"), user=user
    ).order_by("-created_at")
