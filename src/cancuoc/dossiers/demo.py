"""Demo step: the starter catalogue and a year of one-stop history in the demo province.

Every dossier goes through `dossiers.services` with `at=` timestamps in the past, so the
codes, due dates, control sheets, audit rows, events and rollups are the ones production
writes, and the timeliness report shows a real year: most dossiers on time, a fifth early,
a few late (most of them with an apology letter), some withdrawn or refused at intake,
the last fortnight's still open and a handful stuck past their due date. Citizens rate
some results and file a few complaints through the portal services.

Deterministic (seeded) and idempotent: the dossiers carry form keys "demo-desk-N", and
the step does nothing when the first one exists. Everything is written in one
transaction, so an interrupted run leaves nothing half-built.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from cancuoc.accounts.models import User
from cancuoc.core.demo import DemoContext, demo_step
from cancuoc.core.errors import DomainError
from cancuoc.core.scoping import scope_queryset
from cancuoc.core.workdays import VN_TZ, WorkCalendar
from cancuoc.dossiers import services
from cancuoc.dossiers.calendar import work_calendar
from cancuoc.dossiers.catalogue import catalogue_load, starter_catalogue
from cancuoc.dossiers.codes import desk_settings
from cancuoc.dossiers.models import Channel, Dossier, Procedure, ReturnMethod
from cancuoc.dossiers.selectors import procedure_version_in_force
from cancuoc.units.models import Unit

KEY_PREFIX = "demo-desk-"
SEED = 2025
# Dossiers received per working day at each desk, from–to (about 250 working days a year).
DAILY = {"commune": (2, 4), "commune_b": (1, 3), "province": (0, 1)}
# Outcome shares per thousand for dossiers that follow the main path.
OUTCOMES = (
    ("on_time", 690),
    ("early", 200),
    ("apology", 35),
    ("late", 10),
    ("supplement", 35),
    ("withdrawn", 20),
    ("rejected", 10),
)
CHANNELS = (
    (Channel.COUNTER, 58),
    (Channel.ONLINE_PARTIAL, 15),
    (Channel.ONLINE_FULL, 10),
    (Channel.HAMLET, 7),
    (Channel.POST, 5),
    (Channel.MOBILE, 5),
)
HISTORY_DAYS = 365
OPEN_DAYS = 10  # dossiers received in the last 10 working days are still being processed
STUCK = 4  # older dossiers left in appraisal past their due date, per desk
_ID = re.compile(r"^\d{12}$")


def _pick(rng: random.Random, shares: tuple[tuple[str, int], ...]) -> str:
    roll = rng.randrange(sum(share for _name, share in shares))
    for name, share in shares:
        if roll < share:
            return name
        roll -= share
    return shares[-1][0]


def _local(day: dt.date, minutes: int) -> dt.datetime:
    """`minutes` after 07:30 local time on `day`."""
    return dt.datetime.combine(day, dt.time(7, 30), tzinfo=VN_TZ) + dt.timedelta(minutes=minutes)


@dataclass
class Desk:
    """One desk of the demo: who works it and what it handles."""

    name: str
    unit: Unit
    clerk: Any
    appraiser: Any
    approver: Any
    on_the_spot: list[str]
    main_path: list[str]
    citizens: list[tuple[int, str]] = field(default_factory=list)

    def who(self, action: str) -> Any:
        if action == "appraise":
            return self.appraiser
        if action in ("approve", "sign", "apologise", "refuse"):
            return self.approver
        return self.clerk


class History:
    """Builds the year of dossiers, desk by desk and day by day."""

    def __init__(self, ctx: DemoContext, calendar: WorkCalendar) -> None:
        from faker import Faker

        self.ctx = ctx
        self.calendar = calendar
        self.rng = random.Random(SEED)  # noqa: S311 - demo data, reproducible on purpose
        self.fake = Faker("vi_VN")
        self.fake.seed_instance(SEED)
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.serial = 0
        self.counts: dict[str, int] = {}
        self.returned: list[int] = []

    # --- building blocks --------------------------------------------------------------

    def _key(self) -> str:
        self.serial += 1
        return f"{KEY_PREFIX}{self.serial}"

    def _applicant(self, desk: Desk) -> dict[str, Any]:
        phone = "09" + "".join(str(self.rng.randrange(10)) for _ in range(8))
        if desk.citizens and self.rng.random() < 0.6:
            citizen_id, id_number = desk.citizens[self.rng.randrange(len(desk.citizens))]
            # The registry fills in the name and address: the citizen fills in no form.
            return {
                "citizen_id": citizen_id,
                "applicant_name": "",
                "applicant_id_number": id_number,
                "applicant_phone": phone,
            }
        return {
            "applicant_name": self.fake.name(),
            "applicant_phone": phone,
            "applicant_address": self.fake.street_address(),
        }

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def _act(
        self, desk: Desk, dossier: Dossier, action: str, at: dt.datetime, **data: Any
    ) -> Dossier:
        return services.dossier_act(
            actor=desk.who(action), dossier_id=dossier.pk, action=action, at=at, **data
        )

    # --- one dossier --------------------------------------------------------------------

    def on_the_spot(self, desk: Desk, day: dt.date) -> None:
        dossier = services.dossier_on_the_spot(
            actor=desk.clerk,
            procedure_code=self.rng.choice(desk.on_the_spot),
            channel=Channel.COUNTER,
            submission_key=self._key(),
            at=_local(day, self.rng.randrange(30, 420)),
            **self._applicant(desk),
        )
        self.returned.append(dossier.pk)
        self._count("on_the_spot")

    def main_path(self, desk: Desk, day: dt.date, *, recent: bool, stuck: bool) -> None:
        outcome = _pick(self.rng, OUTCOMES)
        code = self.rng.choice(desk.main_path)
        received = _local(day, self.rng.randrange(30, 400))
        channel = _pick(self.rng, CHANNELS)
        if outcome == "rejected":
            services.dossier_reject_at_intake(
                actor=desk.clerk,
                procedure_code=code,
                reason="Hồ sơ không thuộc thẩm quyền giải quyết của đơn vị.",
                channel=channel,
                submission_key=self._key(),
                at=received,
                **self._applicant(desk),
            )
            self._count("rejected")
            return
        method = (
            ReturnMethod.POST
            if channel in (Channel.POST, Channel.HAMLET)
            else (ReturnMethod.ONLINE if channel == Channel.ONLINE_FULL else ReturnMethod.COUNTER)
        )
        applicant = self._applicant(desk)
        if method == ReturnMethod.POST and "applicant_address" not in applicant:
            applicant["delivery_address"] = self.fake.street_address()
        dossier = services.dossier_receive(
            actor=desk.clerk,
            procedure_code=code,
            channel=channel,
            return_method=method,
            submission_key=self._key(),
            at=received,
            **applicant,
        )
        step = received + dt.timedelta(minutes=20)
        dossier = self._act(desk, dossier, "transfer", step)
        if recent or stuck:
            self._leave_open(desk, dossier, step, stuck=stuck)
            return
        if outcome == "withdrawn":
            when = _local(self.calendar.next_working_day(day), 120)
            self._act(desk, dossier, "withdraw", when, reason="Công dân xin rút hồ sơ.")
            self._count("withdrawn")
            return
        if outcome == "supplement":
            dossier, step = self._supplement(desk, dossier, day)
        else:
            step += dt.timedelta(minutes=40)
            dossier = self._act(desk, dossier, "appraise", step)
        self._resolve(desk, dossier, outcome, step)

    def _supplement(self, desk: Desk, dossier: Dossier, day: dt.date) -> tuple[Dossier, Any]:
        asked = _local(self.calendar.next_working_day(day), 90)
        dossier = self._act(
            desk, dossier, "supplement_request", asked, missing=["Bản sao giấy khai sinh"]
        )
        supplied = _local(self.calendar.add_working_days(asked.date(), 2), 60)
        dossier = self._act(desk, dossier, "supplement_receive", supplied)
        self._count("supplement")
        return dossier, supplied

    def _resolve(self, desk: Desk, dossier: Dossier, outcome: str, step: dt.datetime) -> None:
        due = dossier.due_date
        after_step = self.calendar.working_day_on_or_after(step.astimezone(VN_TZ).date())
        if outcome == "early":
            back = max(after_step, self.calendar_back(due, self.rng.choice((1, 1, 2))))
        elif outcome == "apology":
            # The apology letter goes out the day before the deadline, with a new date.
            letter = max(step + dt.timedelta(minutes=30), _local(self.calendar_back(due, 1), 450))
            new_date = self.calendar.add_working_days(due, 2)
            dossier = self._act(
                desk,
                dossier,
                "apologise",
                letter,
                new_date=new_date,
                reason="Cần xác minh thêm thông tin với cơ quan liên quan.",
            )
            step, back = letter, new_date
        elif outcome == "late":
            back = self.calendar.next_working_day(due)
        else:
            back = due
        back = max(back, after_step)
        moment = max(step + dt.timedelta(minutes=30), _local(back, 30))
        if moment >= self.now:
            return  # not returned yet: it stays open, as it would in life
        for action, minutes in (("approve", 0), ("sign", 20), ("result_ready", 60)):
            dossier = self._act(desk, dossier, action, moment + dt.timedelta(minutes=minutes))
        returned = moment + dt.timedelta(minutes=90 + self.rng.randrange(300))
        self._act(desk, dossier, "return", returned)
        self.returned.append(dossier.pk)
        kind = "on_time" if outcome == "supplement" else outcome
        self._count(f"main_{kind}")

    def calendar_back(self, due: dt.date, n: int) -> dt.date:
        """The n-th working day before `due`."""
        day = due
        for _ in range(n):
            day -= dt.timedelta(days=1)
            while not self.calendar.is_working_day(day):
                day -= dt.timedelta(days=1)
        return day

    def _leave_open(self, desk: Desk, dossier: Dossier, step: dt.datetime, *, stuck: bool) -> None:
        if self.rng.random() < 0.6 or stuck:
            self._act(desk, dossier, "appraise", step + dt.timedelta(minutes=40))
        self._count("stuck" if stuck else "open")

    # --- the year --------------------------------------------------------------------------

    def desk_year(self, desk: Desk, per_day: tuple[int, int]) -> None:
        days = []
        day = self.today - dt.timedelta(days=HISTORY_DAYS)
        while day < self.today:
            if self.calendar.is_working_day(day):
                days.append(day)
            day += dt.timedelta(days=1)
        stuck_days = (
            set(self.rng.sample(range(20, len(days) - 30), STUCK)) if len(days) > 60 else set()
        )
        for index, day in enumerate(days):
            recent = index >= len(days) - OPEN_DAYS
            for n in range(self.rng.randint(*per_day)):
                if desk.on_the_spot and self.rng.random() < 0.55:
                    self.on_the_spot(desk, day)
                else:
                    stuck = index in stuck_days and n == 0
                    self.main_path(desk, day, recent=recent, stuck=stuck)

    def feedback(self) -> str:
        """Ratings on a quarter of the returned results and a few complaints (portal)."""
        try:
            from cancuoc.portal import services as portal
            from cancuoc.portal.models import ComplaintKind, Score
        except ImportError:  # the portal is another module; the desk stands without it
            return "portal not installed: no ratings or complaints"
        rated = 0
        scores = ((Score.VERY_SATISFIED, 84), (Score.SATISFIED, 13), (Score.NOT_SATISFIED, 3))
        for pk in self.returned:
            if self.rng.random() < 0.25:
                score = _pick(self.rng, scores)
                comment = (
                    "Cán bộ hướng dẫn tận tình."
                    if score != Score.NOT_SATISFIED
                    else ("Phải chờ lâu ở bộ phận một cửa.")
                )
                portal.rating_submit(dossier_id=pk, score=score, comment=comment)
                rated += 1
        complaints = [
            (ComplaintKind.PROCESS, "Hồ sơ của tôi bị trả chậm so với ngày hẹn.", ""),
            (ComplaintKind.OFFICER, "Cán bộ tiếp nhận chưa hướng dẫn rõ.", "Bàn số 2, buổi sáng"),
            (ComplaintKind.FEEDBACK, "Đề nghị bố trí thêm ghế chờ.", ""),
        ]
        for index, (kind, text, officer) in enumerate(complaints):
            pk = self.returned[(index + 1) * len(self.returned) // (len(complaints) + 1)]
            received = Dossier.objects.values_list("received_at", flat=True).get(pk=pk)
            portal.complaint_file(
                kind=kind,
                text=text,
                contact_name=self.fake.name(),
                contact_phone="0912345678",
                officer_named=officer,
                dossier_id=pk,
                at=max(received + dt.timedelta(days=10), self.now - dt.timedelta(days=20)),
            )
        return f"{rated} ratings, {len(complaints)} complaints"


# --- The step -----------------------------------------------------------------------------


def _user(username: str) -> User | None:
    return User.objects.select_related("unit").filter(username=username).first()


def _procedures(unit: Unit, level: str, on: dt.date) -> tuple[list[str], list[str]]:
    """The catalogue's procedures of this level with a version in force for the unit."""
    area = desk_settings(unit).area
    spot: list[str] = []
    main: list[str] = []
    for procedure in Procedure.objects.filter(competent_level=level, is_active=True).order_by(
        "code"
    ):
        if procedure_version_in_force(procedure=procedure, on=on, area=area) is None:
            continue
        (spot if procedure.on_the_spot else main).append(procedure.code)
    return spot, main


def _desks(ctx: DemoContext, start: dt.date) -> list[tuple[Desk, tuple[int, int]]]:
    from cancuoc.accounts.demo import _stem

    province = ctx.units["province"]
    p = _stem(province)
    desks = []
    for key, appraiser, approver in (
        ("commune", "{c}.appraiser", "{c}.approver"),
        ("commune_b", f"{p}.appraiser", "{c}.unitmanager"),
        ("province", f"{p}.appraiser", f"{p}.approver"),
    ):
        unit = ctx.units[key]
        c = _stem(unit)
        clerk, appraiser_user, approver_user = (
            _user(name.format(c=c)) for name in (f"{c}.clerk", appraiser, approver)
        )
        if clerk is None or appraiser_user is None or approver_user is None:
            ctx.out(f"dossiers: no demo accounts for {unit.name}; skipped")
            continue
        level = "province" if key == "province" else "commune"
        spot, main = _procedures(unit, level, start)
        if not main:
            continue
        desk = Desk(key, unit, clerk, appraiser_user, approver_user, spot, main)
        desk.citizens = _citizens(desk.clerk) if level == "commune" else []
        desks.append((desk, DAILY[key]))
    return desks


def _citizens(clerk: Any) -> list[tuple[int, str]]:
    """Up to 400 citizens of the clerk's commune with a well-formed ID number."""
    try:
        from cancuoc.registry.models import Citizen
    except ImportError:
        return []
    rows = scope_queryset(Citizen.objects.all(), user=clerk).order_by("pk")
    return [
        (pk, number)
        for pk, number in rows.values_list("pk", "id_number")[:600]
        if number and _ID.match(number)
    ][:400]


@demo_step("dossiers")
def load_dossiers(ctx: DemoContext) -> None:
    counts = catalogue_load(starter_catalogue())
    ctx.out(f"procedures: {counts}")
    # The services store a form key per user ("<key>:<user id>"), so match the start.
    if Dossier.objects.filter(submission_key__startswith=f"{KEY_PREFIX}1:").exists():
        ctx.out("dossiers: the demo history is already there")
        return
    started = time.monotonic()
    history = History(ctx, work_calendar())
    desks = _desks(ctx, history.today - dt.timedelta(days=HISTORY_DAYS))
    try:
        with transaction.atomic():
            for desk, per_day in desks:
                history.desk_year(desk, per_day)
            feedback = history.feedback()
    except DomainError as exc:  # pragma: no cover - a broken catalogue or calendar
        raise RuntimeError(f"demo dossiers: {exc.message}") from exc
    made = ", ".join(f"{k} {v}" for k, v in sorted(history.counts.items()))
    ctx.out(
        f"dossiers: {history.serial} over a year ({made}); {feedback}; "
        f"{time.monotonic() - started:.0f} s"
    )
