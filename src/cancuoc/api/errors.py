from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI

from cancuoc.core.errors import DomainError, OutOfScope, PermissionDenied


def install_error_handlers(api: NinjaAPI) -> None:
    """Domain errors become JSON with the translated message; nothing leaks a stack."""

    @api.exception_handler(OutOfScope)
    def _out_of_scope(request: HttpRequest, exc: OutOfScope) -> HttpResponse:
        return api.create_response(request, {"detail": exc.message}, status=404)

    @api.exception_handler(PermissionDenied)
    def _denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return api.create_response(request, {"detail": exc.message}, status=403)

    @api.exception_handler(DomainError)
    def _domain(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return api.create_response(request, {"detail": exc.message}, status=400)
