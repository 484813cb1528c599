"""API of the one-stop desk: dossiers in scope, receipt, actions, and the public catalogue.

Thin like the pages: schemas check shapes, `dossiers.services` decide and write,
`dossiers.selectors` read within the caller's unit scope. Domain errors become JSON
(`api.errors`): 404 outside the scope, 403 for a role that may not act, 400 for a
refused action; a form sent twice gets 409 and the id of the dossier it created.
"""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import LimitOffsetPagination, paginate

from cancuoc.dossiers import selectors, services
from cancuoc.dossiers.forms import DOSSIER_ACTIONS, SIDE_ACTIONS
from cancuoc.dossiers.models import (
    Channel,
    Dossier,
    DossierStatus,
    DossierTransition,
    Procedure,
    ProcedureVersion,
    ReturnMethod,
)
from cancuoc.dossiers.views.desk import desk_dossiers, perform_action, user_actions

router = Router()


# --- Schemas --------------------------------------------------------------------------


class DossierOut(Schema):
    id: int
    code: str
    status: str
    status_label: str
    procedure_code: str
    procedure_name: str
    unit_id: int
    receiving_unit_id: int
    channel: str
    citizen_id: int | None
    applicant_name: str
    applicant_id_number: str
    applicant_phone: str
    applicant_address: str
    received_at: dt.datetime
    due_date: dt.date
    apology_due_date: dt.date | None
    paused_days: int
    returned_at: dt.datetime | None
    timeliness: str
    return_method: str
    delivery_address: str
    tracking_number: str
    delivery_status: str
    delivered_on: dt.date | None
    fee_amount: int = Field(description="Integer đồng")
    fee_status: str
    fee_exemption_reason: str
    fee_receipt_number: str
    note: str

    @staticmethod
    def resolve_status_label(obj: Dossier) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_procedure_code(obj: Dossier) -> str:
        return obj.procedure.code

    @staticmethod
    def resolve_procedure_name(obj: Dossier) -> str:
        return obj.procedure.name


class DossierDetailOut(DossierOut):
    allowed_actions: list[str] = Field(
        description="Lifecycle actions the caller's role may take in the current status"
    )


class TransitionOut(Schema):
    action: str
    from_status: str
    to_status: str
    actor_label: str
    actor_unit_id: int | None
    at: dt.datetime
    note: str
    data: dict[str, Any]


class DossierFilter(Schema):
    q: str = Field("", description="Dossier code, applicant name, 12-digit ID number or phone")
    status: str | None = Field(None, description="One of " + ", ".join(DossierStatus.values))
    procedure_code: str | None = Field(None, description='e.g. "1.000494"')
    term: str | None = Field(None, description='"overdue" or "within" (open dossiers only)')


class ReceiveIn(Schema):
    procedure_code: str
    applicant_name: str = Field(max_length=200)
    applicant_id_number: str = Field("", max_length=12)
    applicant_phone: str = Field("", max_length=15)
    applicant_address: str = Field("", max_length=255)
    channel: str = Field(Channel.COUNTER.value, description=", ".join(Channel.values))
    citizen_id: int | None = Field(None, description="A registry citizen in the caller's scope")
    competent_unit_id: int | None = Field(
        None, description="Another current unit of the province (Decree 118/2025)"
    )
    return_method: str = Field(
        ReturnMethod.COUNTER.value, description=", ".join(ReturnMethod.values)
    )
    delivery_address: str = Field("", max_length=255)
    fee_exemption_reason: str = Field("", max_length=255)
    note: str = ""
    on_the_spot: bool = Field(False, description="Resolve every stage now (eligible procedures)")
    submission_key: str | None = Field(
        None, max_length=64, description="One-time key: a retry with the same key creates nothing"
    )


class ActIn(Schema):
    action: str = Field(description=", ".join(DOSSIER_ACTIONS + SIDE_ACTIONS))
    note: str = ""
    reason: str = Field("", description="refuse, withdraw, apologise, fee_exempt")
    missing: list[str] = Field(default_factory=list, description="supplement_request")
    new_date: dt.date | None = Field(None, description="apologise")
    unit_id: int | None = Field(None, description="route")
    method: str | None = Field(None, description="return: counter, post or online")
    tracking_number: str = Field("", description="return, delivery_update")
    receipt_number: str = Field("", description="fee_pay")
    delivery_status: str = Field("", description="delivery_update")
    delivered_on: dt.date | None = Field(None, description="delivery_update")


class DuplicateOut(Schema):
    detail: str
    dossier_id: int | None


class VersionOut(Schema):
    valid_from: dt.date
    valid_to: dt.date | None
    area: str
    processing_days: int
    fee: int = Field(description="Integer đồng")
    fee_note: str
    legal_basis: str


class ProcedureOut(Schema):
    code: str
    name: str
    field: str
    competent_level: str
    result_type: str
    online_level: str
    on_the_spot: bool
    required_documents: list[str]
    processing_days: int | None = Field(description="In force today (all areas)")
    fee: int | None = Field(description="In force today, integer đồng")
    versions_in_force: list[VersionOut]


class ProcedureDetailOut(ProcedureOut):
    versions: list[VersionOut] = Field(description="Every version, by effective date")


# --- Helpers --------------------------------------------------------------------------


def _detail(request: HttpRequest, dossier: Dossier) -> Dossier:
    """The dossier with the actions the caller may take now (read by DossierDetailOut)."""
    dossier.allowed_actions = user_actions(request.user, dossier)  # type: ignore[attr-defined]
    return dossier


def _procedure(procedure: Procedure, in_force: list[ProcedureVersion]) -> dict[str, Any]:
    # The same choice as the listing page and intake (``selectors.version_pick``): the
    # latest row in force, the all-areas row before area rows, whatever the list's order.
    version = selectors.version_pick(in_force)
    return {
        "code": procedure.code,
        "name": procedure.name,
        "field": procedure.field,
        "competent_level": procedure.competent_level,
        "result_type": procedure.result_type,
        "online_level": procedure.online_level,
        "on_the_spot": procedure.on_the_spot,
        "required_documents": [str(d) for d in procedure.required_documents or []],
        "processing_days": version.processing_days if version else None,
        "fee": version.fee if version else None,
        "versions_in_force": in_force,
    }


# --- Dossiers -------------------------------------------------------------------------


@router.get("", response=list[DossierOut], summary="Dossiers in the caller's scope, newest first")
@paginate(LimitOffsetPagination)
def list_dossiers(request: HttpRequest, filters: Query[DossierFilter]):  # type: ignore[no-untyped-def]
    if filters.status and filters.status not in DossierStatus.values:
        raise HttpError(400, "Unknown status.")
    chosen = {
        "q": filters.q.strip(),
        "status": filters.status or "",
        "procedure": (filters.procedure_code or "").strip(),
        "term": filters.term if filters.term in ("overdue", "within") else "",
    }
    # One audit row per page: the page lists applicants' names and ID numbers.
    selectors.dossier_list_record(
        user=request.user,
        filters=chosen,
        page={"offset": request.GET.get("offset", "0"), "limit": request.GET.get("limit", "")},
    )
    return desk_dossiers(user=request.user, filters=chosen, today=timezone.localdate())


@router.post(
    "",
    response={201: DossierDetailOut, 409: DuplicateOut},
    summary="Receive a dossier (or resolve it on the spot)",
)
def receive_dossier(request: HttpRequest, payload: ReceiveIn):  # type: ignore[no-untyped-def]
    kwargs = payload.dict()
    on_the_spot = kwargs.pop("on_the_spot")
    service = services.dossier_on_the_spot if on_the_spot else services.dossier_receive
    try:
        dossier = service(actor=request.user, **kwargs)
    except services.DuplicateSubmission as exc:
        existing = selectors.dossier_by_submission_key(
            user=request.user, key=payload.submission_key
        )
        return Status(409, {"detail": exc.message, "dossier_id": existing.pk if existing else None})
    return Status(
        201, _detail(request, selectors.dossier_get(user=request.user, dossier_id=dossier.pk))
    )


@router.get("/{int:dossier_id}", response=DossierDetailOut, summary="One dossier")
def get_dossier(request: HttpRequest, dossier_id: int) -> Dossier:
    return _detail(request, selectors.dossier_view(user=request.user, dossier_id=dossier_id))


@router.get(
    "/{int:dossier_id}/history",
    response=list[TransitionOut],
    summary="The processing control sheet (Mẫu 05): every step in order",
)
def dossier_history(request: HttpRequest, dossier_id: int) -> list[DossierTransition]:
    selectors.dossier_view(user=request.user, dossier_id=dossier_id)  # the audited read
    return selectors.dossier_history(user=request.user, dossier_id=dossier_id)


@router.post(
    "/{int:dossier_id}/act",
    response=DossierDetailOut,
    summary="Take one action: a lifecycle step, a fee payment or exemption, a delivery update",
)
def act_on_dossier(request: HttpRequest, dossier_id: int, payload: ActIn) -> Dossier:
    # Resolve the dossier first so another unit's dossier is a 404 whatever the action.
    selectors.dossier_get(user=request.user, dossier_id=dossier_id)
    perform_action(
        user=request.user, dossier_id=dossier_id, action=payload.action, fields=payload.dict()
    )
    return _detail(request, selectors.dossier_get(user=request.user, dossier_id=dossier_id))


# --- Public catalogue (niêm yết công khai) ----------------------------------------------


@router.get(
    "/procedures",
    response=list[ProcedureOut],
    auth=None,
    summary="The public procedure catalogue: times, fees and documents in force (no login)",
)
def list_procedures(request: HttpRequest) -> list[dict[str, Any]]:
    on = timezone.localdate()
    return [
        _procedure(p, list(getattr(p, "versions_in_force", [])))
        for p in selectors.procedure_catalogue(on=on)
    ]


@router.get(
    "/procedures/{code}",
    response=ProcedureDetailOut,
    auth=None,
    summary="One procedure with its version history (no login)",
)
def get_procedure(request: HttpRequest, code: str) -> dict[str, Any]:
    procedure = selectors.procedure_get(code=code)
    if procedure is None:
        raise HttpError(404, "Not found.")
    on = timezone.localdate()
    versions = list(procedure.versions.order_by("valid_from", "area"))
    in_force = [
        v for v in versions if v.valid_from <= on and (v.valid_to is None or v.valid_to >= on)
    ]
    return {**_procedure(procedure, in_force), "versions": versions}
