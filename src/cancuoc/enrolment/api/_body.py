"""Reading large request bodies ourselves, so an oversized upload gets a clear JSON error.

Django refuses a body above ``DATA_UPLOAD_MAX_MEMORY_SIZE`` by raising
``RequestDataTooBig`` when it is first read; left to django-ninja that becomes a bare
HTML 400. Endpoints that take images read the body here instead and answer 413.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Schema
from ninja.errors import HttpError
from pydantic import ValidationError

S = TypeVar("S", bound=Schema)


def raw_body(request: HttpRequest) -> bytes:
    try:
        return request.body
    except RequestDataTooBig:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
        raise HttpError(
            413,
            _("The upload is too large (at most %(mb).1f MB per request).")
            % {"mb": limit / 1024 / 1024},
        ) from None


def json_body(request: HttpRequest, schema: type[S]) -> S:
    """The body validated against ``schema``; 413 when too big, 422 when malformed."""
    body = raw_body(request)
    try:
        return schema.model_validate_json(body or b"{}")
    except ValidationError as exc:
        errors = exc.errors()
        where = ".".join(str(p) for p in errors[0]["loc"]) if errors else ""
        why = errors[0]["msg"] if errors else ""
        raise HttpError(
            422,
            _("Invalid request body at %(where)s: %(why)s") % {"where": where or "-", "why": why},
        ) from None


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(copy.deepcopy(defs[ref.split("/")[-1]]), defs)
        return {k: _inline(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def openapi_body(schema: type[Schema], *, content_type: str = "application/json") -> dict[str, Any]:
    """``openapi_extra`` documenting a body the view reads itself (schema inlined)."""
    full = schema.model_json_schema()
    defs = full.pop("$defs", {})
    return {
        "requestBody": {
            "required": True,
            "content": {content_type: {"schema": _inline(full, defs)}},
        }
    }
