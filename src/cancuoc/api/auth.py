"""API authentication: a browser session or a bearer token of an integration."""

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from cancuoc.accounts.services import api_token_authenticate


class TokenAuth(HttpBearer):
    openapi_description = "Bearer token created by a system administrator (cc_…)."

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_authenticate(raw=token)
        if user is None:
            return None
        # Later code reads request.user like in pages, whichever way the caller came in.
        request.user = user
        return user


class ActiveSessionAuth(SessionAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active else None


# The token comes first: a request without an Authorization header passes over it to the
# session, which checks CSRF. Tried the other way round, the session check refuses a
# cookie-less bearer POST for want of a CSRF token before the token is ever looked at.
AUTH = [TokenAuth(), ActiveSessionAuth()]
