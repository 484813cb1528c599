"""Demo step: an issuance campaign in progress on the demo province.

The campaign started `START_DAYS_AGO` days ago and runs `LENGTH_DAYS` days; its target is
a number at a real province's scale (the demo registry is only a sample of one), allocated
to the province's communes in proportion to their due population (the cohort that must
get a card) through `allocation_propose`, or in equal shares when the registry is empty.
Everything else also goes through the campaign services: the teams, equipment sets and
shift patterns, sessions at commune offices, a school, village halls and homes,
invitations with attendance, a manual unit, a quota set by hand.

**The daily history is synthetic.** A province's worth of card intakes cannot be run
through the enrolment wizard in a demo, so each commune's past days are written as daily
counts: one "enrolment.completed" event per commune and day (payload ``synthetic``),
with the measure "enrolled" the enrolment service adds per intake — the same rollups,
so the report, forecast and dashboard read them exactly as production figures. Each
commune keeps a pace of its own (some ahead of their quota, some behind), with a
slower first week and quieter Sundays. The demo commune's days also hold the enrolment
demo's real intakes (its two stations, the last month), counted on top of the synthetic
figure that stands for the commune's other intake points; an intake made live in the
demo adds to the dashboard the same way. The invitations of that commune's past
sessions are the citizens who really enrolled, marked attended by the same receiver the
enrolment service's signal calls (so each invitation links its application). Elsewhere
attendance is synthetic like the counts (attended without an application). One commune
is "not yet on the system": its days are entered by hand (`manual_count_enter`) and the
report flags them as manual.

Deterministic (seeded) and idempotent: nothing is added when the campaign exists. All in
one transaction, so an interrupted run leaves nothing half-built.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from cancuoc.accounts.models import User
from cancuoc.accounts.roles import Role
from cancuoc.campaigns import reports
from cancuoc.campaigns.models import (
    Allocation,
    Campaign,
    CampaignStatus,
    Invitation,
    InvitationStatus,
    Session,
    SiteKind,
    TargetKind,
    Team,
)
from cancuoc.campaigns.services import campaigns as campaign_services
from cancuoc.campaigns.services import invitations as invitation_services
from cancuoc.campaigns.services import resources as resource_services
from cancuoc.campaigns.services import sessions as session_services
from cancuoc.campaigns.services._common import EVENT_SUBJECT, MEASURE_AUTO
from cancuoc.campaigns.signals import on_enrolment_completed
from cancuoc.core.demo import DemoContext, demo_step
from cancuoc.core.errors import DomainError
from cancuoc.core.events import event_append
from cancuoc.core.models import DailyRollup
from cancuoc.core.workdays import VN_TZ
from cancuoc.units.models import Unit

SEED = 2024
START_DAYS_AGO = 40
LENGTH_DAYS = 100
#: Sessions with attendance over the last days, and planned over the coming week.
PAST_SESSION_DAYS = 5
COMING_DAYS = 7
#: Communes with teams and sessions, besides the demo communes A and B.
EXTRA_TEAM_COMMUNES = 2
#: Today's counts are a day in progress: this share of a full day.
TODAY_SHARE = 0.6
#: The target, per commune: about what a province of a million people issued in such a
#: campaign (the articles' Hà Tĩnh districts took in ~600 a day each).
TARGET_PER_COMMUNE = 5_000
COMMUNE_SHIFTS = [
    {"start": "07:30", "end": "11:30", "staff": 3},
    {"start": "13:30", "end": "17:00", "staff": 3},
]
INVITED_PER_PAST_SESSION = 24
INVITED_PER_COMING_SESSION = 30
SHOW_UP = 0.85


def slug_for(province: Unit) -> str:
    return f"demo-{province.code}-can-cuoc"


def _manager(province: Unit) -> User | None:
    return (
        User.objects.filter(role=Role.PROVINCE_MANAGER, unit=province, is_active=True)
        .order_by("pk")
        .first()
    )


def _communes(province: Unit, start: dt.date) -> list[Unit]:
    return list(
        province.children.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=start)).order_by("path")
    )


class _Builder:
    def __init__(self, ctx: DemoContext, actor: User, province: Unit) -> None:
        self.ctx = ctx
        self.actor = actor
        self.province = province
        self.rng = random.Random(SEED)  # noqa: S311 - demo data, reproducible on purpose
        self.today = timezone.localdate()
        self.start = self.today - dt.timedelta(days=START_DAYS_AGO)
        self.communes = _communes(province, self.start)
        self.commune_a: Unit = ctx.units.get("commune") or self.communes[0]
        self.commune_b: Unit = ctx.units.get("commune_b") or self.communes[1]
        others = [c for c in self.communes if c.pk not in (self.commune_a.pk, self.commune_b.pk)]
        # The last commune is the one "not yet on the system": counted by hand.
        self.manual_unit: Unit | None = others[-1] if others else None
        self.team_communes = [self.commune_a, self.commune_b] + [
            c for c in others[:EXTRA_TEAM_COMMUNES] if c != self.manual_unit
        ]
        self.counts: dict[str, int] = {}
        self.invited: set[int] = set()

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    # --- the campaign ---------------------------------------------------------------

    def campaign(self) -> Campaign:
        deadline = self.start + dt.timedelta(days=LENGTH_DAYS)
        campaign = campaign_services.campaign_create(
            actor=self.actor,
            slug=slug_for(self.province),
            name=f"Cấp căn cước cao điểm 100 ngày — {self.province.name}",
            unit_id=self.province.pk,
            start_date=self.start,
            deadline=deadline,
            # A number, at a real province's scale (the demo registry is a sample of it);
            # the shares follow the cohort's due population below.
            target=TARGET_PER_COMMUNE * len(self.communes),
            target_kind=TargetKind.NUMBER,
            ranking_weights={"quota": 60, "on_time": 25, "satisfaction": 15},
        )
        allocations = campaign_services.allocation_propose(
            actor=self.actor, campaign_id=campaign.pk
        )
        if sum(a.due_population for a in allocations) == 0:
            # No due population anywhere: equal shares (they must still sum to the target).
            share, extra = divmod(campaign.target, len(allocations))
            campaign_services.allocations_set(
                actor=self.actor,
                campaign_id=campaign.pk,
                targets={a.unit_id: share + (i < extra) for i, a in enumerate(allocations)},
            )
        campaign_services.campaign_status_set(
            actor=self.actor, campaign_id=campaign.pk, status=CampaignStatus.ACTIVE
        )
        campaign.refresh_from_db()
        return campaign

    # --- the daily history ----------------------------------------------------------

    def history(self, campaign: Campaign) -> None:
        targets = dict(
            Allocation.objects.filter(campaign=campaign).values_list("unit_id", "target")
        )
        calendar = reports.campaign_calendar(campaign)
        open_days = max(1, calendar.open_days_from(campaign.start_date))
        real_days = set(
            DailyRollup.objects.filter(
                unit=self.commune_a,
                subject=EVENT_SUBJECT,
                measure=MEASURE_AUTO,
                day__gte=campaign.start_date,
                value__gt=0,
            ).values_list("day", flat=True)
        )
        paces = self._paces()
        day = campaign.start_date
        while day <= self.today:
            if calendar.is_open(day):
                for unit in self.communes:
                    n = self._day_count(targets.get(unit.pk, 0) / open_days, paces[unit.pk], day)
                    if n <= 0:
                        continue
                    if unit == self.manual_unit:
                        campaign_services.manual_count_enter(
                            actor=self.actor,
                            campaign_id=campaign.pk,
                            unit_id=unit.pk,
                            day=day,
                            received=n,
                        )
                        self.count("manual counts")
                    else:
                        event_append(
                            kind="enrolment.completed",
                            unit=unit,
                            day=day,
                            subject=EVENT_SUBJECT,
                            measures={MEASURE_AUTO: n},
                            actor=self.actor,
                            payload={"synthetic": True, "demo": campaign.slug},
                        )
                        self.count("synthetic daily counts")
            day += dt.timedelta(days=1)
        if real_days:
            self.count("days of real enrolments", len(real_days))

    def _paces(self) -> dict[int, float]:
        """Each commune's pace against its quota: a spread from well behind to well ahead,
        shuffled (seeded), with the demo's second commune clearly behind."""
        n = len(self.communes)
        spread = [0.65 + 0.85 * i / max(1, n - 1) for i in range(n)]
        self.rng.shuffle(spread)
        paces = {unit.pk: pace for unit, pace in zip(self.communes, spread, strict=True)}
        paces[self.commune_b.pk] = min(paces[self.commune_b.pk], 0.7)
        return paces

    def _day_count(self, per_day: float, pace: float, day: dt.date) -> int:
        week = (day - self.start).days // 7
        ramp = (0.6, 0.85)[week] if week < 2 else 1.0  # the teams get going
        quiet = 0.75 if day.weekday() == 6 else 1.0
        share = TODAY_SHARE if day == self.today else 1.0
        expected = per_day * pace * ramp * quiet * share * self.rng.uniform(0.85, 1.15)
        # Rounded at random (up with the chance of the fraction), so a small commune's
        # few a day still add up to its pace.
        whole = int(expected)
        return whole + (self.rng.random() < expected - whole)

    # --- resources ------------------------------------------------------------------

    def resources(self) -> tuple[dict[int, Team], Team, dict[int, list[int]]]:
        teams: dict[int, Team] = {}
        kits: dict[int, list[int]] = {}
        serial = 0
        for unit in self.team_communes:
            team = resource_services.team_create(
                actor=self.actor,
                name=f"Tổ cấp căn cước — Công an {unit.name}",
                unit_id=unit.pk,
                member_ids=list(
                    User.objects.filter(unit=unit, is_active=True).values_list("pk", flat=True)
                ),
            )
            teams[unit.pk] = team
            kits[team.pk] = []
            for _ in range(2):
                serial += 1
                kits[team.pk].append(self._kit(serial, unit, team))
        mobile = resource_services.team_create(
            actor=self.actor,
            name=f"Tổ lưu động số 1 — Công an {self.province.name}",
            unit_id=self.province.pk,
            mobile=True,
        )
        kits[mobile.pk] = []
        for _ in range(3):
            serial += 1
            kits[mobile.pk].append(self._kit(serial, self.province, mobile))
        serial += 1
        resource_services.equipment_set_create(
            actor=self.actor,
            serial=f"DEMO-{self.province.code}-{serial:03d}",
            unit_id=self.province.pk,
            state="repair",
        )
        resource_services.shift_pattern_create(
            actor=self.actor,
            name="Ba ca, mỗi ca 6 cán bộ (cao điểm)",
            unit_id=self.province.pk,
            shifts=[
                {"start": "07:00", "end": "11:30", "staff": 6},
                {"start": "13:30", "end": "17:00", "staff": 6},
                {"start": "18:00", "end": "21:30", "staff": 6},
            ],
            on_holidays=True,
        )
        resource_services.shift_pattern_create(
            actor=self.actor,
            name="Bốn ca từ 06:00",
            unit_id=self.province.pk,
            shifts=[
                {"start": "06:00", "end": "10:00", "staff": 4},
                {"start": "10:00", "end": "14:00", "staff": 4},
                {"start": "14:00", "end": "18:00", "staff": 4},
                {"start": "18:00", "end": "22:00", "staff": 4},
            ],
        )
        resource_services.shift_pattern_create(
            actor=self.actor,
            name="Giờ hành chính, thứ Hai – thứ Sáu",
            unit_id=self.province.pk,
            shifts=COMMUNE_SHIFTS,
            weekdays=[1, 2, 3, 4, 5],
        )
        self.count("teams", len(teams) + 1)
        self.count("equipment sets", serial)
        return teams, mobile, kits

    def _kit(self, serial: int, unit: Unit, team: Team) -> int:
        kit = resource_services.equipment_set_create(
            actor=self.actor, serial=f"DEMO-{self.province.code}-{serial:03d}", unit_id=unit.pk
        )
        resource_services.equipment_assign(actor=self.actor, equipment_id=kit.pk, team_id=team.pk)
        return kit.pk

    # --- sessions and invitations ---------------------------------------------------

    def _session(
        self,
        campaign: Campaign,
        *,
        unit: Unit,
        team: Team,
        kits: list[int],
        day: dt.date,
        kind: str = SiteKind.COMMUNE_OFFICE,
        site: str | None = None,
    ) -> Session:
        session = session_services.session_create(
            actor=self.actor,
            campaign_id=campaign.pk,
            unit_id=unit.pk,
            team_id=team.pk,
            site_kind=kind,
            site_name=site or f"Trụ sở Công an {unit.name}",
            day=day,
            start_time="07:30",
            end_time="17:00",
            sets=len(kits),
            shifts=COMMUNE_SHIFTS,
            equipment_ids=kits,
        )
        self.count(f"sessions ({kind})")
        return session

    def _invite(self, session: Session, citizen_ids: list[int] | None, limit: int) -> list[Any]:
        if citizen_ids is not None:
            citizen_ids = [c for c in citizen_ids if c not in self.invited][:limit]
            if not citizen_ids:
                return []
            result = invitation_services.invitations_create(
                actor=self.actor, session_id=session.pk, citizen_ids=citizen_ids
            )
        else:
            result = invitation_services.invitations_create(
                actor=self.actor, session_id=session.pk, limit=limit
            )
        self.invited.update(i.citizen_id for i in result.invited)
        self.count("invitations", len(result.invited))
        return list(result.invited)

    def _close(self, session: Session) -> None:
        """Open and close a past session: whoever did not come is marked a no-show."""
        for status in ("open", "closed"):
            session_services.session_status_set(
                actor=self.actor, session_id=session.pk, status=status
            )

    def _attend(self, invitation: Any, *, application: Any = None, at: Any = None) -> None:
        """Attendance exactly as the enrolment service's signal records it."""
        from cancuoc.enrolment.models import Application

        moment = at or dt.datetime.combine(
            invitation.session.day, dt.time(9, 0), tzinfo=VN_TZ
        ) + dt.timedelta(minutes=self.rng.randrange(0, 420))
        marked = on_enrolment_completed(
            sender=Application, application=application, citizen=invitation.citizen_id, at=moment
        )
        if marked is not None:
            self.count("attended" + (" (real enrolments)" if application is not None else ""))

    def past_sessions_real(
        self, campaign: Campaign, teams: dict[int, Team], mobile: Team, kits: dict[int, list[int]]
    ) -> None:
        """The demo commune's last days: the citizens who really enrolled, invited to the
        session they came to, plus a few who did not come."""
        from cancuoc.enrolment.models import Application, ApplicationStatus, StationKind

        first = self.today - dt.timedelta(days=PAST_SESSION_DAYS)
        rows = (
            Application.objects.filter(
                unit=self.commune_a,
                completed_at__date__gte=first - dt.timedelta(days=1),
                status__in=(
                    ApplicationStatus.COMPLETED,
                    ApplicationStatus.APPROVED,
                    ApplicationStatus.DELIVERED,
                ),
            )
            .select_related("station", "citizen")
            .order_by("completed_at")
        )
        by_day: dict[tuple[dt.date, str], list[Any]] = {}
        for application in rows:
            day = timezone.localdate(application.completed_at)
            if first <= day < self.today:
                by_day.setdefault((day, application.station.kind), []).append(application)
        team = teams[self.commune_a.pk]
        absent = self._cohort_ids(self.commune_a)
        for (day, kind), applications in sorted(by_day.items()):
            if kind == StationKind.MOBILE:
                session = self._session(
                    campaign,
                    unit=self.commune_a,
                    team=mobile,
                    kits=kits[mobile.pk][:1],
                    day=day,
                    kind=SiteKind.VILLAGE_HALL,
                    site=applications[0].session.place
                    if applications[0].session_id and applications[0].session.place
                    else "Nhà văn hoá thôn",
                )
            else:
                session = self._session(
                    campaign, unit=self.commune_a, team=team, kits=kits[team.pk], day=day
                )
            came = [a.citizen_id for a in applications]
            no_shows = max(1, round(len(came) * (1 - SHOW_UP) / SHOW_UP))
            missing = [c for c in absent if c not in came and c not in self.invited][:no_shows]
            invited = self._invite(session, came + missing, len(came) + len(missing))
            by_citizen = {a.citizen_id: a for a in applications}
            for invitation in invited:
                enrolled = by_citizen.get(invitation.citizen_id)
                if enrolled is not None:
                    self._attend(invitation, application=enrolled, at=enrolled.completed_at)
            self._close(session)

    def past_sessions_synthetic(
        self, campaign: Campaign, teams: dict[int, Team], kits: dict[int, list[int]]
    ) -> None:
        """Sessions of the other communes with teams over the last days; attendance as
        synthetic as their counts (module doc)."""
        for unit in self.team_communes:
            if unit == self.commune_a:
                continue
            team = teams[unit.pk]
            candidates = self._cohort_ids(unit)
            for back in range(PAST_SESSION_DAYS, 0, -1):
                day = self.today - dt.timedelta(days=back)
                if day < campaign.start_date:
                    continue
                session = self._session(campaign, unit=unit, team=team, kits=kits[team.pk], day=day)
                invited = self._invite(session, candidates, INVITED_PER_PAST_SESSION)
                for invitation in invited:
                    if self.rng.random() < SHOW_UP:
                        self._attend(invitation)
                self._close(session)

    def coming_sessions(
        self,
        campaign: Campaign,
        teams: dict[int, Team],
        mobile: Team,
        kits: dict[int, list[int]],
    ) -> None:
        """Today's and the coming week's sessions: commune offices, a village hall with the
        mobile team, home visits for those who cannot come, a school."""
        for unit in self.team_communes:
            team = teams[unit.pk]
            candidates = self._cohort_ids(unit)
            for ahead in range(0, COMING_DAYS, 2 if unit != self.commune_a else 1):
                day = self.today + dt.timedelta(days=ahead)
                if day > campaign.deadline:
                    break
                session = self._session(campaign, unit=unit, team=team, kits=kits[team.pk], day=day)
                invited = self._invite(session, candidates, INVITED_PER_COMING_SESSION)
                if ahead == 0:
                    session_services.session_status_set(
                        actor=self.actor, session_id=session.pk, status="open"
                    )
                elif ahead == 1:
                    for invitation in invited[: len(invited) // 2]:
                        invitation_services.invitation_mark(
                            actor=self.actor,
                            invitation_id=invitation.pk,
                            status=InvitationStatus.REMINDED,
                        )
                        self.count("reminded")
        tomorrow = self.today + dt.timedelta(days=1)
        hall = self._session(
            campaign,
            unit=self.commune_b,
            team=mobile,
            kits=kits[mobile.pk][:2],
            day=tomorrow,
            kind=SiteKind.VILLAGE_HALL,
            site="Nhà văn hoá thôn 2",
        )
        self._invite(hall, self._cohort_ids(self.commune_b), INVITED_PER_COMING_SESSION)
        try:
            home = session_services.home_visits_plan(
                actor=self.actor,
                campaign_id=campaign.pk,
                unit_id=self.commune_b.pk,
                day=tomorrow + dt.timedelta(days=1),
                team_id=mobile.pk,
                limit=8,
            )
            self.count(f"sessions ({SiteKind.HOME})")
            self.count("invitations", home.invitations.count())
        except DomainError as exc:
            self.ctx.out(f"campaign: no home visits ({exc.message})")
        school = self._school(self.commune_a, tomorrow + dt.timedelta(days=2))
        if school:
            try:
                session_services.school_session_plan(
                    actor=self.actor,
                    campaign_id=campaign.pk,
                    unit_id=self.commune_a.pk,
                    school=school,
                    day=tomorrow + dt.timedelta(days=2),
                    team_id=mobile.pk,
                    sets=2,
                    equipment_ids=kits[mobile.pk][:2],
                )
                self.count(f"sessions ({SiteKind.SCHOOL})")
            except DomainError as exc:
                self.ctx.out(f"campaign: no school session ({exc.message})")

    def reinforced_day(self, campaign: Campaign) -> None:
        """Tomorrow the mobile team reinforces the commune that is behind: its quota is
        raised by hand (a quota set by hand wins over the computed one)."""
        share = Allocation.objects.get(campaign=campaign, unit=self.commune_b).target
        campaign_services.quota_set(
            actor=self.actor,
            campaign_id=campaign.pk,
            unit_id=self.commune_b.pk,
            day=self.today + dt.timedelta(days=1),
            quota=max(1, share // 40),
        )

    def _cohort_ids(self, unit: Unit) -> list[int]:
        """Citizens of the unit who must get a card (the cohort), in the cohort's order."""
        from cancuoc.registry.cohort import cohort_list

        rows = cohort_list(
            user=self.actor,
            unit=unit,
            on=self.today,
            bucket="must",
            group="regular",
            audit_action="campaigns.demo.invite",
            limit=400,
        )
        return [r.citizen_id for r in rows]

    def _school(self, unit: Unit, day: dt.date) -> str:
        """The school with the most students who must get a card (the cohort's school
        group), for a session at the school."""
        from collections import Counter

        from cancuoc.registry.cohort import cohort_list
        from cancuoc.registry.models import Citizen

        rows = cohort_list(
            user=self.actor,
            unit=unit,
            on=day,
            bucket="must",
            group="school",
            audit_action="campaigns.demo.school",
            limit=400,
        )
        ids = [r.citizen_id for r in rows if r.citizen_id not in self.invited]
        schools = Counter(
            Citizen.objects.filter(pk__in=ids).exclude(school="").values_list("school", flat=True)
        )
        return min(schools, key=lambda s: (-schools[s], s)) if schools else ""


@demo_step("campaign")
def load_campaign(ctx: DemoContext) -> None:
    province = ctx.units.get("province")
    if province is None:
        ctx.out("campaign: no demo province; skipped")
        return
    if Campaign.objects.filter(slug=slug_for(province)).exists():
        ctx.out("campaign: the demo campaign is already there")
        return
    actor = _manager(province)
    if actor is None or len(_communes(province, timezone.localdate())) < 2:
        ctx.out("campaign: no province manager or too few communes; skipped")
        return
    started = time.monotonic()
    builder = _Builder(ctx, actor, province)
    try:
        with transaction.atomic():
            campaign = builder.campaign()
            builder.history(campaign)
            teams, mobile, kits = builder.resources()
            builder.past_sessions_real(campaign, teams, mobile, kits)
            builder.past_sessions_synthetic(campaign, teams, kits)
            builder.coming_sessions(campaign, teams, mobile, kits)
            builder.reinforced_day(campaign)
    except DomainError as exc:  # pragma: no cover - a broken registry or units
        raise RuntimeError(f"demo campaign: {exc.message}") from exc
    statuses = dict(
        Invitation.objects.filter(campaign=campaign)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    made = ", ".join(f"{k} {v}" for k, v in sorted(builder.counts.items()))
    ctx.out(
        f"campaign {campaign.slug}: target {campaign.target:,} over {len(builder.communes)} "
        f"communes, day {(builder.today - campaign.start_date).days + 1} of "
        f"{(campaign.deadline - campaign.start_date).days + 1}; {made}; invitations by "
        f"status {statuses}; {time.monotonic() - started:.1f} s. "
        f"Dashboard: /campaigns/c/{campaign.slug}/dashboard/"
    )


__all__ = ["load_campaign", "slug_for"]
