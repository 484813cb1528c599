"""Campaign writes: the campaign, its allocations, daily quotas, calendar days, manual counts.

Every write runs in one transaction with its audit row and its event, so a refused input
leaves nothing behind. Daily results are never stored here: automatic ones come from
enrolments (event "enrolment.completed", measure "enrolled"); manual ones are
`ManualCount` rows whose events (measure "enrolled_manual") carry the change, so the
rollups the reports read always hold the current manual figure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cancuoc.accounts.roles import Capability
from cancuoc.campaigns import quotas
from cancuoc.campaigns.models import (
    Allocation,
    Campaign,
    CampaignDay,
    CampaignStatus,
    ManualCount,
    QuotaOverride,
    TargetKind,
)
from cancuoc.campaigns.services._common import (
    EVENT_SUBJECT,
    MEASURE_AUTO,
    MEASURE_MANUAL,
    AllocationError,
    CampaignError,
    ManualCountError,
    QuotaError,
    campaign_for_update,
    require,
    require_unit,
)
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import OutOfScope
from cancuoc.core.events import event_append
from cancuoc.core.models import DailyRollup
from cancuoc.core.scoping import path_in_scope, prefix_q
from cancuoc.units.models import Unit

LAWS = ("2014", "2023")


def _today() -> dt.date:
    return timezone.localdate()


def _record(*, actor: Any, campaign: Campaign, action: str, detail: dict[str, Any]) -> None:
    """The audit row and the (measure-less) event every campaign change leaves."""
    audit_record(actor=actor, action=action, obj=campaign, unit=campaign.unit, detail=detail)
    event_append(
        kind=action,
        unit=campaign.unit,
        day=_today(),
        subject="campaign",
        measures={},
        obj=campaign,
        actor=actor,
        payload=detail,
    )


def reporting_units(campaign: Campaign) -> list[Unit]:
    """The units a campaign allocates to and reports on: the campaign unit's children that
    existed during the campaign, plus the campaign unit itself when it has an allocation
    of its own (e.g. a provincial police department that also takes in dossiers)."""
    children = Unit.objects.filter(parent_id=campaign.unit_id).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=campaign.start_date)
    )
    units = list(children.order_by("path"))
    if Allocation.objects.filter(campaign=campaign, unit_id=campaign.unit_id).exists():
        units.insert(0, campaign.unit)
    return units


def _reporting_unit(campaign: Campaign, unit_id: int) -> Unit:
    """A unit a campaign allocates to: a child of the campaign unit, or the unit itself."""
    unit = Unit.objects.filter(pk=unit_id).first()
    if unit is None or not (unit.parent_id == campaign.unit_id or unit.pk == campaign.unit_id):
        raise CampaignError(
            _("%(unit)s is not one of the units of the campaign “%(campaign)s”.")
            % {"unit": unit.name if unit else unit_id, "campaign": campaign.name}
        )
    return unit


# --- The campaign ---------------------------------------------------------------------


def _cohort_due(*, actor: Any, unit: Unit, on: dt.date) -> tuple[int, dict[int, int]]:
    """The cohort's 'must' bucket: the total and per child unit (id → count)."""
    from cancuoc.registry.cohort import cohort_counts

    counts = cohort_counts(user=actor, unit=unit, on=on)
    by_child = {
        child.pk: int(bucket.get("must", 0))
        for child, _path, bucket in counts.by_unit
        if child is not None and child.pk != unit.pk
    }
    return int(counts.tally.buckets.get("must", 0)), by_child


def campaign_create(
    *,
    actor: Any,
    slug: str,
    name: str,
    unit_id: int,
    start_date: dt.date,
    deadline: dt.date,
    target: int | None,
    target_kind: str = TargetKind.NUMBER,
    law: str = "2023",
    open_weekends: bool = True,
    open_holidays: bool = False,
    service_minutes: int = 6,
    show_up_rate: int = 85,
    ranking_weights: Mapping[str, Any] | None = None,
) -> Campaign:
    """A new campaign (draft) over `unit_id`. A "cohort" target is the size of the cohort
    that must get a card on the start date."""
    from cancuoc.campaigns.ranking import WeightsInvalid, weights_parse

    require(actor, Capability.MANAGE_CAMPAIGNS)
    unit = Unit.objects.filter(pk=unit_id).first()
    if unit is None:
        raise OutOfScope()
    require_unit(actor, unit)
    slug, name = slug.strip(), name.strip()
    if not slug or not name:
        raise CampaignError(_("Give the campaign a name and a short name."))
    if deadline < start_date:
        raise CampaignError(_("The deadline must not be before the start date."))
    if law not in LAWS:
        raise CampaignError(_("Unknown legal regime: %(law)s.") % {"law": law})
    if not 1 <= show_up_rate <= 100:
        raise CampaignError(_("The show-up rate is a percentage between 1 and 100."))
    if service_minutes <= 0:
        raise CampaignError(_("The minutes per citizen must be above 0."))
    try:
        weights = dict(ranking_weights or {})
        weights_parse(weights)
    except WeightsInvalid as exc:
        raise CampaignError(_("The ranking weights are not valid: %(e)s") % {"e": exc}) from exc
    if target_kind == TargetKind.COHORT:
        target, _by_child = _cohort_due(actor=actor, unit=unit, on=start_date)
    elif target_kind != TargetKind.NUMBER:
        raise CampaignError(_("Unknown kind of target."))
    if target is None or target <= 0:
        raise CampaignError(_("The target must be a number above 0."))
    try:
        with transaction.atomic():
            campaign = Campaign.objects.create(
                slug=slug,
                name=name,
                unit=unit,
                unit_path=unit.path,
                province_code=unit.province_code or "",
                start_date=start_date,
                deadline=deadline,
                target_kind=target_kind,
                target=target,
                law=law,
                open_weekends=open_weekends,
                open_holidays=open_holidays,
                service_minutes=service_minutes,
                show_up_rate=show_up_rate,
                ranking_weights=weights,
                status=CampaignStatus.DRAFT,
                created_by=actor,
            )
            _record(
                actor=actor,
                campaign=campaign,
                action="campaign.created",
                detail={"slug": slug, "target": target, "target_kind": str(target_kind)},
            )
    except IntegrityError:
        raise CampaignError(
            _("A campaign with the short name “%(slug)s” already exists.") % {"slug": slug}
        ) from None
    return campaign


def campaign_status_set(*, actor: Any, campaign_id: int, status: str) -> Campaign:
    if status not in CampaignStatus.values:
        raise CampaignError(_("Unknown campaign status."))
    with transaction.atomic():
        campaign = campaign_for_update(
            actor=actor, campaign_id=campaign_id, capability=Capability.MANAGE_CAMPAIGNS
        )
        old = campaign.status
        campaign.status = status
        campaign.save(update_fields=["status"])
        _record(
            actor=actor,
            campaign=campaign,
            action="campaign.status",
            detail={"from": old, "to": status},
        )
    return campaign


# --- Allocations ----------------------------------------------------------------------


def allocation_propose(*, actor: Any, campaign_id: int) -> list[Allocation]:
    """Allocate the target to the child units in proportion to their due population (the
    cohort's 'must' bucket on the start date), by largest remainder so the shares sum
    exactly to the target. Replaces any allocation the campaign had."""
    with transaction.atomic():
        campaign = campaign_for_update(
            actor=actor, campaign_id=campaign_id, capability=Capability.MANAGE_CAMPAIGNS
        )
        children = [u for u in reporting_units(campaign) if u.pk != campaign.unit_id]
        if not children:
            raise AllocationError(_("The campaign's unit has no units below it to allocate to."))
        _total, due = _cohort_due(actor=actor, unit=campaign.unit, on=campaign.start_date)
        weights = {child.pk: due.get(child.pk, 0) for child in children}
        shares = quotas.largest_remainder(campaign.target, weights)
        Allocation.objects.filter(campaign=campaign).delete()
        rows = Allocation.objects.bulk_create(
            Allocation(
                campaign=campaign,
                unit=child,
                unit_path=child.path,
                target=shares[child.pk],
                due_population=weights[child.pk],
            )
            for child in children
        )
        _record(
            actor=actor,
            campaign=campaign,
            action="campaign.allocations.proposed",
            detail={"targets": {str(k): v for k, v in shares.items()}},
        )
    return rows


def allocations_set(
    *, actor: Any, campaign_id: int, targets: Mapping[int, int]
) -> list[Allocation]:
    """Set every unit's share by hand. The shares must sum to the campaign target and name
    only the campaign's units; otherwise nothing is saved. Units left out lose their
    allocation."""
    with transaction.atomic():
        campaign = campaign_for_update(
            actor=actor, campaign_id=campaign_id, capability=Capability.MANAGE_CAMPAIGNS
        )
        units = {}
        for unit_id, value in targets.items():
            unit = _reporting_unit(campaign, int(unit_id))
            if int(value) < 0:
                raise AllocationError(
                    _("The target of %(unit)s must not be negative.") % {"unit": unit.name}
                )
            units[unit.pk] = unit
        clean = {int(k): int(v) for k, v in targets.items()}
        gap = quotas.allocation_gap(campaign.target, clean)
        if gap:
            raise AllocationError(
                _(
                    "The allocations sum to %(sum)s but the target is %(target)s "
                    "(%(gap)s to correct); nothing was saved."
                )
                % {
                    "sum": quotas.format_int(sum(clean.values()), _language()),
                    "target": quotas.format_int(campaign.target, _language()),
                    "gap": quotas.format_int(gap, _language()),
                }
            )
        existing = {a.unit_id: a for a in Allocation.objects.filter(campaign=campaign)}
        Allocation.objects.filter(campaign=campaign).exclude(unit_id__in=list(clean)).delete()
        rows = []
        for unit_id, value in clean.items():
            old = existing.get(unit_id)
            if old is None:
                old = Allocation(
                    campaign=campaign,
                    unit=units[unit_id],
                    unit_path=units[unit_id].path,
                    target=value,
                    edited=True,
                )
            elif old.target != value:
                old.target, old.edited = value, True
            old.save()
            rows.append(old)
        _record(
            actor=actor,
            campaign=campaign,
            action="campaign.allocations.set",
            detail={"targets": {str(k): v for k, v in clean.items()}},
        )
    return rows


def _language() -> str:
    from django.utils import translation

    return translation.get_language() or "vi"


# --- Quotas and the calendar ----------------------------------------------------------


def _campaign_day(campaign: Campaign, day: dt.date) -> None:
    if not campaign.start_date <= day <= campaign.deadline:
        raise QuotaError(
            _("%(day)s is outside the campaign (%(start)s – %(end)s).")
            % {
                "day": f"{day:%d/%m/%Y}",
                "start": f"{campaign.start_date:%d/%m/%Y}",
                "end": f"{campaign.deadline:%d/%m/%Y}",
            }
        )


def quota_set(
    *, actor: Any, campaign_id: int, unit_id: int, day: dt.date, quota: int | None
) -> QuotaOverride | None:
    """Set a unit's quota for one day by hand (it wins over the computed quota); None
    goes back to the computed quota."""
    with transaction.atomic():
        campaign = campaign_for_update(
            actor=actor, campaign_id=campaign_id, capability=Capability.MANAGE_CAMPAIGNS
        )
        unit = _reporting_unit(campaign, unit_id)
        _campaign_day(campaign, day)
        if quota is None:
            QuotaOverride.objects.filter(campaign=campaign, unit=unit, day=day).delete()
            row = None
        else:
            if quota < 0:
                raise QuotaError(_("A quota must not be negative."))
            row, _created = QuotaOverride.objects.update_or_create(
                campaign=campaign, unit=unit, day=day, defaults={"quota": quota}
            )
        _record(
            actor=actor,
            campaign=campaign,
            action="campaign.quota.set",
            detail={"unit": unit.pk, "day": day.isoformat(), "quota": quota},
        )
    return row


def quotas_set(
    *, actor: Any, campaign_id: int, day: dt.date, quotas_by_unit: Mapping[int, int | None]
) -> int:
    """Several units' quotas for one day at once (the quotas grid), all or nothing."""
    with transaction.atomic():
        for unit_id, value in quotas_by_unit.items():
            quota_set(actor=actor, campaign_id=campaign_id, unit_id=unit_id, day=day, quota=value)
    return len(quotas_by_unit)


def campaign_day_set(
    *, actor: Any, campaign_id: int, day: dt.date, is_open: bool | None, note: str = ""
) -> CampaignDay | None:
    """Open or close one day of the campaign by decision; None goes back to the rules."""
    with transaction.atomic():
        campaign = campaign_for_update(
            actor=actor, campaign_id=campaign_id, capability=Capability.MANAGE_CAMPAIGNS
        )
        _campaign_day(campaign, day)
        if is_open is None:
            CampaignDay.objects.filter(campaign=campaign, day=day).delete()
            row = None
        else:
            row, _created = CampaignDay.objects.update_or_create(
                campaign=campaign, day=day, defaults={"is_open": is_open, "note": note[:200]}
            )
        _record(
            actor=actor,
            campaign=campaign,
            action="campaign.day.set",
            detail={"day": day.isoformat(), "is_open": is_open, "note": note[:200]},
        )
    return row


# --- Manual counts --------------------------------------------------------------------


def _automatic_count(unit: Unit, *, own_only: bool, day: dt.date) -> int:
    """Dossiers the enrolment system counted for `unit` (and below it) on `day`."""
    rows = DailyRollup.objects.filter(subject=EVENT_SUBJECT, measure=MEASURE_AUTO, day=day)
    rows = (
        rows.filter(unit_path=unit.path)
        if own_only
        else rows.filter(prefix_q("unit_path", unit.path))
    )
    return sum(rows.values_list("value", flat=True))


def manual_counts_superseded(
    *, campaign: Campaign, entries: list[ManualCount]
) -> dict[tuple[int, dt.date], int]:
    """(unit id, day) → the automatic count that supersedes each manual figure in
    ``entries`` (only those the system has counted since); one rollup query. For the
    manual-count page, which warns that such a figure no longer counts (reports.py)."""
    if not entries:
        return {}
    totals: dict[dt.date, list[tuple[str, int]]] = {}
    rows = (
        DailyRollup.objects.filter(
            prefix_q("unit_path", campaign.unit_path),
            subject=EVENT_SUBJECT,
            measure=MEASURE_AUTO,
            day__in={e.day for e in entries},
        )
        .values_list("unit_path", "day", "value")
        .order_by()
    )
    for path, day, value in rows:
        totals.setdefault(day, []).append((path, int(value or 0)))
    found = {}
    for entry in entries:
        own = entry.unit_id == campaign.unit_id
        count = sum(
            value
            for path, value in totals.get(entry.day, [])
            if (path == entry.unit_path if own else path.startswith(entry.unit_path))
        )
        if count:
            found[(entry.unit_id, entry.day)] = count
    return found


def manual_count_enter(
    *, actor: Any, campaign_id: int, unit_id: int, day: dt.date, received: int
) -> ManualCount:
    """Enter by hand what a unit not yet on the system received on a day.

    Refused when the system already counted enrolments for that unit and day (the two
    would add up twice). In the other order (a manual figure first, automatic counts
    later, e.g. an offline push the next day) the figure is kept but the reports count the
    automatic figure only and flag the manual one as superseded (campaigns/reports.py).
    Entering again replaces the figure: the event carries the difference, so the rollups
    hold the new figure.
    """
    require(actor, Capability.MANAGE_CAMPAIGNS)
    if received < 0:
        raise ManualCountError(_("The number received must not be negative."))
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update()
            .select_related("unit")
            .filter(pk=campaign_id)
            .first()
        )
        if campaign is None:
            raise OutOfScope()
        unit = _reporting_unit(campaign, unit_id)
        # A district officer enters their district's figure in the province's campaign.
        if not path_in_scope(actor, unit.path):
            raise OutOfScope()
        _campaign_day(campaign, day)
        if day > _today():
            raise ManualCountError(_("Results cannot be entered for a day still to come."))
        automatic = _automatic_count(unit, own_only=unit.pk == campaign.unit_id, day=day)
        if automatic:
            raise ManualCountError(
                _(
                    "%(unit)s already has %(count)s dossiers counted automatically on "
                    "%(day)s; a manual figure would count them twice. Nothing was saved."
                )
                % {
                    "unit": unit.name,
                    "count": quotas.format_int(automatic, _language()),
                    "day": f"{day:%d/%m/%Y}",
                }
            )
        row = (
            ManualCount.objects.select_for_update()
            .filter(campaign=campaign, unit=unit, day=day)
            .first()
        )
        old = row.received if row is not None else 0
        if row is None:
            row = ManualCount(
                campaign=campaign, unit=unit, unit_path=unit.path, day=day, received=received
            )
        row.received = received
        row.entered_by = actor
        row.save()
        event_append(
            kind="campaign.manual_count",
            unit=unit,
            day=day,
            subject=EVENT_SUBJECT,
            measures={MEASURE_MANUAL: received - old},
            obj=row,
            actor=actor,
            payload={"campaign": campaign.pk, "received": received, "previous": old},
        )
        audit_record(
            actor=actor,
            action="campaign.manual_count",
            obj=row,
            unit=unit,
            detail={
                "campaign": campaign.pk,
                "day": day.isoformat(),
                "received": received,
                "previous": old,
            },
        )
    return row
