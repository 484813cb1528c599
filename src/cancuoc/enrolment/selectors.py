"""Every read of enrolment data, scoped to the user's units.

Lists are plain querysets; reading one application with the citizen's personal data,
and finding a citizen, leave an audit row, as the registry's own reads do.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import OutOfScope, PermissionDenied
from cancuoc.core.scoping import scope_queryset
from cancuoc.core.workdays import VN_TZ
from cancuoc.enrolment.models import (
    Application,
    ApplicationStatus,
    Card,
    Station,
    Step,
    StepTiming,
)
from cancuoc.registry.models import Citizen, DocumentKind, FormerNumber, IdentityDocument

#: The articles' figure for one intake: "about 6 minutes for 5 steps" (domain.md §1).
#: Timing statistics measure every station and operator against it.
INTAKE_NORM_MINUTES = 6
_ID = re.compile(r"(?<!\d)(\d{12})(?!\d)")
_CMND9 = re.compile(r"^\d{9}$")


def _require_view(user: Any) -> None:
    if not user_can(user, Capability.VIEW_ENROLMENT):
        raise PermissionDenied()


def stations_for(user: Any) -> QuerySet[Station]:
    _require_view(user)
    return scope_queryset(Station.objects.select_related("unit"), user=user, lookup="unit_path")


def station_get(user: Any, station_id: Any) -> Station:
    try:
        pk = int(station_id)
    except (TypeError, ValueError):
        raise OutOfScope(_("Station not found.")) from None
    station = stations_for(user).filter(pk=pk).first()
    if station is None:
        raise OutOfScope(_("Station not found."))
    return station


def applications_for(
    user: Any, *, status: str | None = None, station_id: Any = None
) -> QuerySet[Application]:
    _require_view(user)
    applications = scope_queryset(
        Application.objects.select_related("citizen", "station", "operator", "dossier"),
        user=user,
        lookup="unit_path",
    )
    if status:
        applications = applications.filter(status=status)
    if station_id not in (None, ""):
        applications = applications.filter(station_id=station_id)
    return applications.order_by("-started_at")


def application_get(user: Any, application_id: Any, *, audit: bool = True) -> Application:
    """One application with its citizen's data; the read is audited."""
    import uuid

    try:
        pk = uuid.UUID(str(application_id))
    except ValueError:
        raise OutOfScope(_("Application not found.")) from None
    application = (
        applications_for(user)
        .select_related("session", "unit", "conflict_with", "card")
        .filter(pk=pk)
        .first()
    )
    if application is None:
        raise OutOfScope(_("Application not found."))
    if audit:
        audit_record(
            actor=user,
            action="enrolment.application_view",
            obj=application,
            unit=application.unit,
            detail={"citizen": application.citizen_id},
        )
    return application


def application_current(user: Any, *, station_id: Any) -> list[Application]:
    """The intakes in progress at the station, newest first: where a cut left off."""
    station = station_get(user, station_id)
    return list(applications_for(user, status=ApplicationStatus.IN_PROGRESS, station_id=station.pk))


def conflicts_for(user: Any) -> QuerySet[Application]:
    return applications_for(user, status=ApplicationStatus.CONFLICT).select_related(
        "conflict_with__station", "conflict_with__dossier"
    )


def cards_for(user: Any, *, status: str | None = None) -> QuerySet[Card]:
    _require_view(user)
    cards = scope_queryset(
        Card.objects.select_related("citizen", "application", "batch"),
        user=user,
        lookup="unit_path",
    )
    if status:
        cards = cards.filter(status=status)
    return cards.order_by("-created_at")


# --- Timing statistics ----------------------------------------------------------------


def _quantile(values: list[float], q: float) -> float:
    """The nearest-rank quantile (p90 of 10 values is the 9th)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


@dataclass
class StepStat:
    step: str
    count: int
    median_s: float
    p90_s: float
    median_server_ms: float
    retries: int
    exceptions: int


@dataclass
class GroupStat:
    key: Any  # station id or operator id
    label: str
    count: int
    median_min: float
    p90_min: float
    within_norm: int  # intakes at or under the norm
    retries: int
    exceptions: int

    @property
    def within_norm_share(self) -> float:
        return self.within_norm / self.count if self.count else 0.0


@dataclass
class TimingStats:
    norm_minutes: int
    count: int = 0
    median_min: float = 0.0
    p90_min: float = 0.0
    within_norm: int = 0
    retries: int = 0
    exceptions: int = 0
    steps: list[StepStat] = field(default_factory=list)
    by_station: list[GroupStat] = field(default_factory=list)
    by_operator: list[GroupStat] = field(default_factory=list)


def _group(rows: Iterable[tuple[Any, str, float, int, int]], norm_s: float) -> list[GroupStat]:
    grouped: dict[Any, list[tuple[str, float, int, int]]] = defaultdict(list)
    for key, label, total, retries, exceptions in rows:
        grouped[key].append((label, total, retries, exceptions))
    out = []
    for key, items in grouped.items():
        totals = [t for _, t, _, _ in items]
        out.append(
            GroupStat(
                key=key,
                label=items[0][0],
                count=len(items),
                median_min=round(statistics.median(totals) / 60, 2),
                p90_min=round(_quantile(totals, 0.9) / 60, 2),
                within_norm=sum(1 for t in totals if t <= norm_s),
                retries=sum(r for _, _, r, _ in items),
                exceptions=sum(e for _, _, _, e in items),
            )
        )
    return sorted(out, key=lambda g: (-g.count, g.label))


def timing_stats(
    user: Any,
    *,
    station_id: Any = None,
    operator_id: Any = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> TimingStats:
    """How long intakes take: per step, per station and per operator, against the norm.

    Counts the finished intakes (every step ended) started in the period (local dates).
    An intake's total is from the start of "confirm" to the end of "sign".
    """
    applications = applications_for(user, station_id=station_id).exclude(
        status__in=(ApplicationStatus.IN_PROGRESS, ApplicationStatus.CANCELLED)
    )
    if operator_id not in (None, ""):
        applications = applications.filter(operator_id=operator_id)
    if date_from is not None:
        applications = applications.filter(
            started_at__gte=dt.datetime.combine(date_from, dt.time(), tzinfo=VN_TZ)
        )
    if date_to is not None:
        applications = applications.filter(
            started_at__lt=dt.datetime.combine(
                date_to + dt.timedelta(days=1), dt.time(), tzinfo=VN_TZ
            )
        )
    facts = {
        pk: (station, f"{code}", operator, username)
        for pk, station, code, operator, username in applications.values_list(
            "pk", "station_id", "station__code", "operator_id", "operator__username"
        ).order_by()
    }
    stats = TimingStats(norm_minutes=INTAKE_NORM_MINUTES)
    if not facts:
        return stats
    per_step: dict[str, list[tuple[float, int, int, int]]] = defaultdict(list)
    per_app: dict[Any, list[Any]] = {}
    rows = StepTiming.objects.filter(application_id__in=list(facts), ended_at__isnull=False)
    for app_id, step, started, ended, server_ms, retries, exceptions in rows.values_list(
        "application_id", "step", "started_at", "ended_at", "server_ms", "retries", "exceptions"
    ).iterator(chunk_size=5000):
        if ended is None:
            continue
        seconds = max(0.0, (ended - started).total_seconds())
        per_step[step].append((seconds, server_ms, retries, exceptions))
        first, last, r, e = per_app.get(app_id, (started, ended, 0, 0))
        per_app[app_id] = [min(first, started), max(last, ended), r + retries, e + exceptions]
    for step in Step.values:
        items = per_step.get(step)
        if not items:
            continue
        stats.steps.append(
            StepStat(
                step=step,
                count=len(items),
                median_s=round(statistics.median(i[0] for i in items), 1),
                p90_s=round(_quantile([i[0] for i in items], 0.9), 1),
                median_server_ms=round(statistics.median(i[1] for i in items), 1),
                retries=sum(i[2] for i in items),
                exceptions=sum(i[3] for i in items),
            )
        )
    norm_s = INTAKE_NORM_MINUTES * 60
    totals = {pk: (v[1] - v[0]).total_seconds() for pk, v in per_app.items()}
    values = list(totals.values())
    stats.count = len(values)
    stats.median_min = round(statistics.median(values) / 60, 2)
    stats.p90_min = round(_quantile(values, 0.9) / 60, 2)
    stats.within_norm = sum(1 for v in values if v <= norm_s)
    stats.retries = sum(v[2] for v in per_app.values())
    stats.exceptions = sum(v[3] for v in per_app.values())
    stats.by_station = _group(
        (
            (facts[pk][0], facts[pk][1], t, per_app[pk][2], per_app[pk][3])
            for pk, t in totals.items()
        ),
        norm_s,
    )
    stats.by_operator = _group(
        (
            (facts[pk][2], facts[pk][3], t, per_app[pk][2], per_app[pk][3])
            for pk, t in totals.items()
        ),
        norm_s,
    )
    return stats


# --- Finding the citizen --------------------------------------------------------------


def invitation_code_in(text: str) -> str:
    """The invitation code a scanned notice QR holds, or "".

    The notice's QR (campaigns/notices.py ``notice_context``) holds the code alone, or the
    portal's address with ``?code=<code>``; a typed code may carry its dash or spaces
    ("ABCDE-FGHJK"). A code is ``CODE_LENGTH`` characters of ``CODE_ALPHABET``.
    """
    from urllib.parse import parse_qs, urlsplit

    from cancuoc.campaigns.services.invitations import (
        CODE_ALPHABET,
        CODE_LENGTH,
        code_normalise,
    )

    candidate = text
    if "?" in text or "://" in text:
        values = parse_qs(urlsplit(text).query).get("code") or []
        candidate = values[0] if values else ""
    code = code_normalise(candidate)
    if len(code) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code):
        return code
    return ""


def _invited_citizen_ids(text: str) -> list[int]:
    """The citizen invited under the code in ``text`` (campaigns.Invitation), if any."""
    from django.apps import apps

    if not apps.is_installed("cancuoc.campaigns"):
        return []
    code = invitation_code_in(text)
    if not code:
        return []
    invitation = apps.get_model("campaigns", "Invitation")
    return list(invitation.objects.filter(code=code).values_list("citizen_id", flat=True)[:1])


def citizen_find(user: Any, *, query: str, limit: int = 20) -> list[Citizen]:
    """The citizens in scope a station operator looks for.

    Accepts the 12-digit ID, an old 9- or 12-digit CMND (or a former number), a name with
    a birth date ("Nguyễn Văn An 17/05/1990"), or the text of an invitation's QR code: the
    invitation code alone or the portal link holding it (the citizen it invites, if the
    user may see them), else any text holding a 12-digit ID. Every search is audited once.
    """
    from cancuoc.registry.selectors import citizen_search, citizens_visible

    if not user_can(user, Capability.VIEW_REGISTRY):
        raise PermissionDenied()
    text = (query or "").strip()
    if not text:
        return []
    visible = citizens_visible(user=user).select_related("current_unit", "permanent_unit")
    invited = _invited_citizen_ids(text)
    if invited:
        # A code names one citizen; one outside the user's scope is simply not found.
        found = list(visible.filter(pk__in=invited))
        audit_record(
            actor=user,
            action="citizen.search",
            unit=user.unit,
            detail={
                "q": text[:200],
                "matches": len(found),
                "via": "enrolment",
                "invitation": True,
            },
        )
        return found
    compact = text.replace(" ", "").replace(".", "")
    numbers: list[str] = [compact] if _CMND9.match(compact) else _ID.findall(text)
    if numbers:
        ids = set(
            IdentityDocument.objects.filter(
                number__in=numbers, kind__in=(DocumentKind.CMND9, DocumentKind.CMND12)
            ).values_list("citizen_id", flat=True)
        )
        ids |= set(
            FormerNumber.objects.filter(number__in=numbers).values_list("citizen_id", flat=True)
        )
        found = list(visible.filter(id_number__in=numbers)) + list(
            visible.filter(pk__in=ids).exclude(id_number__in=numbers)
        )
        audit_record(
            actor=user,
            action="citizen.search",
            unit=user.unit,
            detail={"q": text[:200], "matches": len(found), "via": "enrolment"},
        )
        return found[:limit]
    page = citizen_search(user=user, q=text, limit=limit)
    return list(page.items)


def list_record(user: Any, *, what: str, shown: int, **filters: Any) -> None:
    """Audit one page of a list that shows citizens' names and ID numbers (cards,
    conflicts, applications awaiting approval), as the desk audits its dossier list."""
    if not shown:
        return
    detail: dict[str, Any] = {k: str(v)[:200] for k, v in filters.items() if v not in (None, "")}
    detail["shown"] = shown
    audit_record(
        actor=user, action=f"enrolment.{what}.list", unit=getattr(user, "unit", None), detail=detail
    )
