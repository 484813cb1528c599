"""Demo step: the demo commune's enrolment stations and a month of card intakes.

Two stations of the demo commune, both on simulated devices: a fixed one at the commune
police office (its profile has a worn finger, so an intake run live in the wizard shows
retries) and a mobile team's. About 300 intakes over the last 30 days (fewer when the
registry is small) are written through ``enrolment.services`` with ``at=`` timestamps
in the past: start, confirm, every capture (real encrypted images from the simulator's
image pool), supervisor-signed finger exceptions, each step's completion. So the step
timings (around the 6-minute norm), dossiers, audit rows, events and rollups are the
ones production writes. The mobile team works offline: its intakes reach the server as
the station laptop pushes them (``application_ingest``), one of them a conflict for the
supervisor. Older intakes are approved (cards in production), the oldest are ready or
delivered; one or two intakes are in progress now.

Deterministic (seeded) and idempotent: nothing is added when the fixed station already
has applications. Everything is written in one transaction, so an interrupted run leaves
nothing half-built (at most a few encrypted files no row references, which a later run
reuses: the store is content-addressed).
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from cancuoc.accounts.models import User
from cancuoc.accounts.roles import Role
from cancuoc.core.demo import DEMO_PASSWORD, DemoContext, demo_step
from cancuoc.core.errors import DomainError
from cancuoc.core.scoping import prefix_q
from cancuoc.core.workdays import VN_TZ
from cancuoc.dossiers.applicant import id_number_valid, phone_normalise, phone_valid
from cancuoc.enrolment import quality as rules
from cancuoc.enrolment import services
from cancuoc.enrolment.devices.simulator import synthetic_png
from cancuoc.enrolment.models import (
    OPEN_STATUSES,
    Application,
    ApplicationStatus,
    Station,
    StationKind,
)

SEED = 2031
#: Intakes in the demo month, at most; fewer when the commune has few citizens.
DEFAULT_COUNT = 300
HISTORY_DAYS = 30
#: The share of intakes the mobile team makes (on Tuesdays and Thursdays).
MOBILE_SHARE = 0.25
#: Intakes of the last days at the fixed station that go through the services call by
#: call (the older ones are replayed in bulk, see ``ReplaySink``).
ONLINE_MAX = 24
#: The mobile team's last working days pushed record by record as its laptop does.
PUSHED_DAYS = 2
#: Pool images per (kind, variant) the demo draws from (each drawn once, ~50 ms).
IMAGE_VARIANTS = 4
VILLAGES = ("Nhà văn hoá thôn 1", "Nhà văn hoá thôn 3", "Trường tiểu học xã", "Thôn Đông")
GIVEN_NAMES = ("Văn Hùng", "Thị Lan", "Văn Nam", "Thị Hoa", "Đức Minh", "Thị Mai")


def _station_codes(commune: Any) -> tuple[str, str]:
    return f"DEMO-{commune.code}", f"DEMO-{commune.code}-LD"


# --- people --------------------------------------------------------------------------------


def _account(ctx: DemoContext, *, username: str, role: str, unit: Any, full_name: str) -> User:
    """The demo account ``username``, made if missing, and listed among the logins."""
    from cancuoc.accounts.services import user_create

    user = User.objects.select_related("unit").filter(username=username).first()
    if user is None:
        user = user_create(
            actor=None,
            username=username,
            role=role,
            unit=unit,
            password=DEMO_PASSWORD,
            full_name=full_name,
        )
    if not any(login[0] == username for login in ctx.logins):
        ctx.logins.append((username, str(Role(user.role).label), unit.name))
    return user


@dataclass
class Team:
    commune: Any
    supervisor: User
    operator: User
    mobile_operator: User
    fixed: Station
    mobile: Station
    # The supervisor signs exceptions with the demo password; an account with another
    # password (made outside the demo) cannot, and the demo then records none.
    can_sign: bool = True


def _team(ctx: DemoContext) -> Team:
    from cancuoc.accounts.demo import _stem

    commune = ctx.units["commune"]
    stem = _stem(commune)
    # The commune's unit manager is the police leader who supervises the stations,
    # signs finger exceptions and approves the card dossiers.
    supervisor = _account(
        ctx,
        username=f"{stem}.unitmanager",
        role=Role.UNIT_MANAGER,
        unit=commune,
        full_name=f"{Role.UNIT_MANAGER.label} — {commune.name}",
    )
    operator = _account(
        ctx,
        username=f"{stem}.operator",
        role=Role.STATION_OPERATOR,
        unit=commune,
        full_name=f"{Role.STATION_OPERATOR.label} — {commune.name}",
    )
    mobile_operator = _account(
        ctx,
        username=f"{stem}.mobile",
        role=Role.STATION_OPERATOR,
        unit=commune,
        full_name=f"Tổ cấp căn cước lưu động — {commune.name}",
    )
    fixed_code, mobile_code = _station_codes(commune)
    fixed = Station.objects.filter(code=fixed_code).first() or services.station_create(
        actor=supervisor,
        unit_id=commune.pk,
        code=fixed_code,
        name=f"Trạm cấp căn cước — Công an {commune.name}",
        kind=StationKind.FIXED,
        operator_ids=[operator.pk, mobile_operator.pk],
        device_profile={
            "adapter": "simulator",
            "seed": SEED,
            "worn_fingers": ["L2"],
            "worn_retries": 2,
            "failure_rate": 0.02,
        },
    )
    mobile = Station.objects.filter(code=mobile_code).first() or services.station_create(
        actor=supervisor,
        unit_id=commune.pk,
        code=mobile_code,
        name=f"Tổ lưu động — Công an {commune.name}",
        kind=StationKind.MOBILE,
        operator_ids=[mobile_operator.pk],
        device_profile={"adapter": "simulator", "seed": SEED + 1},
    )
    return Team(
        commune=commune,
        supervisor=supervisor,
        operator=operator,
        mobile_operator=mobile_operator,
        fixed=fixed,
        mobile=mobile,
        can_sign=supervisor.check_password(DEMO_PASSWORD),
    )


def _age(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _candidates(team: Team, today: dt.date) -> list[Any]:
    """Living citizens of the commune aged 6 or more with no open card application."""
    from cancuoc.registry.models import Citizen, LifeStatus

    busy = Application.objects.filter(status__in=[str(s) for s in OPEN_STATUSES]).values(
        "citizen_id"
    )
    rows = (
        Citizen.objects.filter(prefix_q("unit_path", team.commune.path))
        .filter(life_status=LifeStatus.ALIVE, birth_date__isnull=False)
        .exclude(pk__in=busy)
        .order_by("pk")
    )
    out = []
    for citizen in rows[:5000]:
        # A registry ID number or phone the desk refuses stops the dossier at completion
        # (the registry needs a correction first); the demo enrols clean records.
        phone = phone_normalise(citizen.phone)
        if not id_number_valid(citizen.id_number or "") or (phone and not phone_valid(phone)):
            continue
        assert citizen.birth_date is not None  # filtered above
        age = _age(citizen.birth_date, today - dt.timedelta(days=HISTORY_DAYS))
        # Children from 6 come with a guardian, but few: most intakes are adults.
        if age >= 14 or (age >= 6 and citizen.pk % 10 == 0):
            out.append(citizen)
    return out


# --- one intake, online or pushed from an offline laptop ------------------------------


@dataclass
class Traits:
    """How a citizen's fingers read on the scanner."""

    worn: dict[str, int] = field(default_factory=dict)  # finger → failed reads before a pass
    unreadable: str = ""  # a finger that never reads: an exception "worn" after the retries
    missing: str = ""  # an amputated finger: an exception at once


class Sink:
    """Where an intake's actions go: the online services, or an offline push record."""

    application_id: uuid.UUID

    def start(self, at: dt.datetime) -> None: ...
    def confirm(self, at: dt.datetime) -> None: ...
    def capture(
        self,
        *,
        kind: str,
        position: str,
        image: bytes,
        quality: int | None,
        metrics: dict[str, Any],
        at: dt.datetime,
    ) -> bool:
        raise NotImplementedError

    def exception(self, *, position: str, reason: str, at: dt.datetime) -> None: ...
    def step(self, step: str, at: dt.datetime) -> None: ...


class OnlineSink(Sink):
    """Each action is the service call the wizard's request makes."""

    def __init__(self, *, team: Team, station: Station, operator: User, citizen: Any, **start: Any):
        self.team = team
        self.station = station
        self.operator = operator
        self.citizen = citizen
        self.start_args = start
        self.application_id = start["application_id"]
        self.device = f"simulator:FP-{station.code}"

    def start(self, at: dt.datetime) -> None:
        services.application_start(
            actor=self.operator,
            station_id=self.station.pk,
            citizen_id=self.citizen.pk,
            at=at,
            **self.start_args,
        )

    def confirm(self, at: dt.datetime) -> None:
        services.application_confirm(actor=self.operator, application_id=self.application_id, at=at)

    def capture(self, *, kind, position, image, quality, metrics, at) -> bool:  # type: ignore[no-untyped-def]
        capture = services.capture_record(
            actor=self.operator,
            application_id=self.application_id,
            kind=kind,
            position=position,
            image=image,
            content_type="image/png",
            quality=quality,
            device=self.device,
            metrics=metrics,
            at=at,
        )
        return capture.accepted

    def exception(self, *, position: str, reason: str, at: dt.datetime) -> None:
        services.finger_exception_sign(
            actor=self.operator,
            application_id=self.application_id,
            position=position,
            reason=reason,
            supervisor_username=self.team.supervisor.get_username(),
            supervisor_password=DEMO_PASSWORD,
            at=at,
        )

    def step(self, step: str, at: dt.datetime) -> None:
        services.step_complete(
            actor=self.operator, application_id=self.application_id, step=step, at=at
        )


class OfflineSink(Sink):
    """The record the station laptop pushes (``offline/outbox.application_record``);
    its images are uploaded first, as ``PUT /blobs/{digest}`` does."""

    def __init__(self, *, team: Team, station: Station, operator: User, citizen: Any, **start: Any):
        from cancuoc.enrolment.services.intake import confirmed_snapshot

        self.team = team
        self.station = station
        self.application_id = start["application_id"]
        self.device = f"simulator:FP-{station.code}"
        self.policy = rules.QualityPolicy(
            finger_threshold=station.finger_threshold,
            finger_retries=station.finger_retries,
            face_threshold=station.face_threshold,
        )
        self.record: dict[str, Any] = {
            "id": str(self.application_id),
            "citizen_id": citizen.pk,
            "id_number": citizen.id_number,
            "session_id": start.get("session_id"),
            "operator": operator.get_username(),
            "guardian_name": start.get("guardian_name", ""),
            "confirmed_data": confirmed_snapshot(citizen),
            "note": "",
            "steps": [],
            "captures": [],
        }
        self.current: dict[str, Any] = {}
        self.attempts: dict[tuple[str, str], int] = {}
        self.clock = 0.0

    def _step_open(self, step: str, at: dt.datetime) -> None:
        self.current = {"step": step, "started_at": at.isoformat(), "retries": 0, "exceptions": 0}
        self.clock = time.perf_counter()

    def start(self, at: dt.datetime) -> None:
        from cancuoc.enrolment.services._common import law_on, local_day

        self.record["started_at"] = at.isoformat()
        self.record["law"] = law_on(local_day(at))
        self._step_open("confirm", at)

    def confirm(self, at: dt.datetime) -> None:
        self.step("confirm", at)

    def _attempt(self, kind: str, position: str) -> int:
        attempt = self.attempts.get((kind, position), 0) + 1
        self.attempts[(kind, position)] = attempt
        if attempt > 1:
            self.current["retries"] += 1
        return attempt

    def capture(self, *, kind, position, image, quality, metrics, at) -> bool:  # type: ignore[no-untyped-def]
        from cancuoc.enrolment import biostore

        blob = biostore.blob_put(
            image=image, content_type="image/png", province_code=self.station.province_code
        )
        if kind == "face":
            quality = rules.face_score(image=image, metrics=metrics).score
            accepted = quality >= self.policy.face_threshold
        elif kind == "signature":
            accepted = True
        else:
            accepted = quality is not None and quality >= self.policy.finger_threshold
        self.record["captures"].append(
            {
                "kind": kind,
                "position": position,
                "attempt": self._attempt(kind, position),
                "quality": quality,
                "accepted": accepted,
                "digest": blob.digest,
                "exception": "",
                "device": self.device,
                "captured_at": at.isoformat(),
            }
        )
        return accepted

    def exception(self, *, position: str, reason: str, at: dt.datetime) -> None:
        self.current["exceptions"] += 1
        self.record["captures"].append(
            {
                "kind": "rolled",
                "position": position,
                "attempt": self.attempts.get(("rolled", position), 0) + 1,
                "quality": None,
                "accepted": False,
                "digest": None,
                "exception": reason,
                "exception_signed_by": self.team.supervisor.get_username(),
                "device": "",
                "captured_at": at.isoformat(),
            }
        )

    def step(self, step: str, at: dt.datetime) -> None:
        # The laptop's own processing time for the step (storing images, checks).
        self.current["server_ms"] = round((time.perf_counter() - self.clock) * 1000)
        self.current["ended_at"] = at.isoformat()
        self.record["steps"].append(self.current)
        if step == "sign":
            self.record["completed_at"] = at.isoformat()
        else:
            from cancuoc.enrolment import lifecycle

            nxt = lifecycle.next_step(step)
            if nxt is not None:
                self._step_open(nxt, at)

    def push(self, *, received_at: dt.datetime) -> services.IngestResult:
        return services.application_ingest(station=self.station, record=self.record, at=received_at)


class ReplaySink(Sink):
    """The rows the intake services write, built in memory and inserted in bulk.

    Writing a month of intakes one service call at a time takes ~0.3 s per intake on
    this 2-core machine (measured: ~25 calls of 10–30 queries each), too slow for a
    demo of 300. The older intakes are therefore replayed: the same application, step
    timing, capture, encrypted image and audit rows the services write (same fields,
    same audit actions and details), inserted in bulk; then the services' own
    completion (``intake.complete``: the dossier through the desk services, the
    registry row, the event and rollup, the audit) runs for each as it does online.
    Their server times are sampled from the intakes the services did run.
    """

    def __init__(
        self,
        *,
        team: Team,
        station: Station,
        operator: User,
        citizen: Any,
        offline: bool,
        server_ms: dict[str, list[int]],
        rng: random.Random,
        **start: Any,
    ):
        self.team = team
        self.station = station
        self.operator = operator
        self.citizen = citizen
        self.offline = offline
        self.server_ms = server_ms
        self.rng = rng
        self.start_args = start
        self.application_id = start["application_id"]
        self.device = f"simulator:FP-{station.code}"
        self.policy = rules.QualityPolicy(
            finger_threshold=station.finger_threshold,
            finger_retries=station.finger_retries,
            face_threshold=station.face_threshold,
        )
        self.application: Application | None = None
        self.steps: list[Any] = []
        self.captures: list[Any] = []
        self.blobs: list[Any] = []
        self.audits: list[Any] = []
        self.attempts: dict[tuple[str, str], int] = {}
        self.current: Any = None

    def _audit(self, action: str, **detail: Any) -> None:
        from cancuoc.core.models import AuditEntry

        assert self.application is not None
        self.audits.append(
            AuditEntry(
                actor=self.operator,
                actor_label=self.operator.get_username(),
                action=f"enrolment.{action}",
                object_type=Application._meta.label_lower,
                object_id=str(self.application.pk),
                object_repr=str(self.application)[:200],
                unit=self.station.unit,
                unit_path=self.station.unit_path,
                detail={"citizen": self.citizen.pk, **detail},
            )
        )

    def _step_open(self, step: str, at: dt.datetime) -> None:
        from cancuoc.enrolment.models import StepTiming

        ms = self.server_ms.get(step) or [40]
        self.current = StepTiming(
            application_id=self.application_id,
            step=step,
            started_at=at,
            server_ms=self.rng.choice(ms),
        )
        self.steps.append(self.current)

    def start(self, at: dt.datetime) -> None:
        from cancuoc.enrolment.models import ApplicationKind
        from cancuoc.enrolment.services._common import law_on, local_day
        from cancuoc.enrolment.services.intake import RENEWABLE_KINDS
        from cancuoc.registry.models import DocumentStatus, IdentityDocument

        renews = IdentityDocument.objects.filter(
            citizen=self.citizen, kind__in=RENEWABLE_KINDS, status=DocumentStatus.VALID
        ).exists()
        kind = ApplicationKind.RENEW if renews else ApplicationKind.FIRST
        law = law_on(local_day(at))
        guardian = self.start_args.get("guardian_name", "")
        self.application = Application(
            id=self.application_id,
            citizen=self.citizen,
            province_code=self.station.province_code,
            unit=self.station.unit,
            unit_path=self.station.unit_path,
            station=self.station,
            session_id=self.start_args.get("session_id"),
            operator=self.operator,
            kind=kind,
            law=law,
            status=ApplicationStatus.IN_PROGRESS,
            step="sign",
            guardian_name=guardian,
            started_at=at,
            offline=self.offline,
        )
        self._audit(
            "start",
            station=self.station.code,
            kind=kind,
            law=law,
            guardian=bool(guardian),
            sync="ok",
        )
        self._step_open("confirm", at)

    def confirm(self, at: dt.datetime) -> None:
        from cancuoc.enrolment.services.intake import confirmed_snapshot

        assert self.application is not None
        self.application.confirmed_data = confirmed_snapshot(self.citizen)
        self._audit("confirm", correction=None)
        self.current.ended_at = at
        self._step_open("fingerprints", at)

    def capture(self, *, kind, position, image, quality, metrics, at) -> bool:  # type: ignore[no-untyped-def]
        import hashlib

        from cancuoc.enrolment import biostore
        from cancuoc.enrolment.models import BiometricBlob, Capture

        if kind == "face":
            quality = rules.face_score(image=image, metrics=metrics).score
            accepted = quality >= self.policy.face_threshold
        elif kind == "signature":
            accepted = True
        else:
            accepted = quality is not None and quality >= self.policy.finger_threshold
        # What biostore.blob_put does for a new image, less its per-image queries: the
        # images are the simulator's (valid by construction) and new (tagged uniquely).
        digest = hashlib.sha256(image).hexdigest()
        path = biostore.blob_path(digest)
        if not path.exists():
            biostore._write_once(path, biostore._encrypt(digest, image))
        self.blobs.append(
            BiometricBlob(
                digest=digest,
                province_code=self.station.province_code,
                content_type="image/png",
                size=len(image),
            )
        )
        attempt = self.attempts.get((kind, position), 0) + 1
        self.attempts[(kind, position)] = attempt
        if attempt > 1:
            self.current.retries += 1
        self.captures.append(
            Capture(
                application_id=self.application_id,
                kind=kind,
                position=position,
                attempt=attempt,
                quality=quality,
                accepted=accepted,
                blob_id=digest,
                device=self.device,
                captured_at=at,
            )
        )
        self._audit(
            "capture",
            kind=kind,
            position=position,
            attempt=attempt,
            quality=quality,
            accepted=accepted,
            digest=digest,
        )
        return accepted

    def exception(self, *, position: str, reason: str, at: dt.datetime) -> None:
        from cancuoc.enrolment.models import Capture

        attempt = self.attempts.get(("rolled", position), 0) + 1
        self.captures.append(
            Capture(
                application_id=self.application_id,
                kind="rolled",
                position=position,
                attempt=attempt,
                exception=reason,
                exception_signed_by=self.team.supervisor,
                captured_at=at,
            )
        )
        self.current.exceptions += 1
        self._audit(
            "finger_exception",
            position=position,
            reason=reason,
            supervisor=self.team.supervisor.get_username(),
        )

    def step(self, step: str, at: dt.datetime) -> None:
        from cancuoc.enrolment import lifecycle

        assert self.application is not None
        self._audit("step", step=step)
        self.current.ended_at = at
        if step == "sign":
            self.application.completed_at = at
            return
        nxt = lifecycle.next_step(step)
        if nxt is not None:
            self._step_open(nxt, at)

    @staticmethod
    def flush(sinks: list[ReplaySink]) -> list[tuple[uuid.UUID, dt.datetime]]:
        """Insert the replayed intakes and complete each through the services."""
        from cancuoc.core.models import AuditEntry
        from cancuoc.enrolment import lifecycle
        from cancuoc.enrolment.models import BiometricBlob, Capture, StepTiming
        from cancuoc.enrolment.services.intake import complete

        done = [s for s in sinks if s.application is not None]
        Application.objects.bulk_create([s.application for s in done])  # type: ignore[misc]
        StepTiming.objects.bulk_create([row for s in done for row in s.steps])
        BiometricBlob.objects.bulk_create(
            [row for s in done for row in s.blobs], ignore_conflicts=True
        )
        Capture.objects.bulk_create([row for s in done for row in s.captures])
        AuditEntry.objects.bulk_create([row for s in done for row in s.audits])
        completed = []
        for sink in done:
            application = sink.application
            assert application is not None and application.completed_at is not None
            complete(
                application,
                actor=sink.operator,
                at=application.completed_at,
                action=lifecycle.COMPLETE,
            )
            completed.append((application.pk, application.completed_at))
        return completed


class History:
    """Plans and writes the month of intakes, station by station and day by day."""

    def __init__(self, ctx: DemoContext, team: Team) -> None:
        self.ctx = ctx
        self.team = team
        self.rng = random.Random(SEED)  # noqa: S311 - demo data, reproducible on purpose
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.counts: dict[str, int] = {}
        self.completed: list[tuple[uuid.UUID, dt.datetime]] = []
        self.exceptions_left = 0
        self.unreadable_left = 0
        self.seconds: dict[str, float] = {}
        self.server_ms: dict[str, list[int]] = {}

    def timed(self, phase: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent = time.perf_counter() - started
            self.seconds[phase] = self.seconds.get(phase, 0.0) + spent

    # --- small pieces ----------------------------------------------------------------

    def _count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def _uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def _seconds(self, mean: float, spread: float, low: float) -> dt.timedelta:
        return dt.timedelta(seconds=max(low, self.rng.gauss(mean, spread)))

    def _image(self, kind: str, variant: str, tag: str) -> bytes:
        return synthetic_png(
            kind, variant=variant, tag=tag, index=self.rng.randrange(IMAGE_VARIANTS)
        )

    def _traits(self, age: int) -> Traits:
        traits = Traits()
        roll = self.rng.random()
        worn_share = 0.35 if age >= 60 else 0.12
        if self.unreadable_left and roll < 0.03:
            self.unreadable_left -= 1
            traits.unreadable = self.rng.choice(rules.FINGERS)
        elif self.exceptions_left and roll < 0.045:
            self.exceptions_left -= 1
            traits.missing = self.rng.choice(("L5", "R5", "L4"))
        elif roll < 0.045 + worn_share:
            for finger in self.rng.sample(rules.FINGERS, self.rng.choice((1, 1, 2))):
                traits.worn[finger] = self.rng.choice((1, 1, 2))
        return traits

    # --- the intake -----------------------------------------------------------------

    def intake(self, sink: Sink, *, citizen: Any, at: dt.datetime, until: str = "") -> dt.datetime:
        """Walk one intake from ``at``; return when it ended. ``until`` stops before a step."""
        tag = str(sink.application_id)
        age = _age(citizen.birth_date, at.astimezone(VN_TZ).date())
        required = rules.biometrics_required(age_years=age, law="2023")
        sink.start(at)
        # Step 1: the citizen reads the registry data back; now and then it takes a while.
        slow = self.rng.random() < 0.1
        at += self._seconds(150 if slow else 58, 30 if slow else 14, 25)
        if until == "confirm":
            return at
        sink.confirm(at)
        if required.fingerprints:
            at = self._fingerprints(sink, tag, age, at + self._seconds(20, 6, 6))
            if until == "fingerprints":
                return at
            at += self._seconds(6, 2, 2)
            sink.step("fingerprints", at)
        at = self._face(sink, tag, required.iris, at + self._seconds(24, 6, 8))
        at += self._seconds(12, 4, 3)
        sink.step("face", at)
        at += self._seconds(30, 8, 12)  # review with the citizen
        sink.step("review", at)
        at += self._seconds(28, 8, 10)
        signature = self._image("signature", "good", f"{tag}/signature")
        sink.capture(
            kind="signature", position="", image=signature, quality=None, metrics={}, at=at
        )
        at += self._seconds(30, 8, 10)  # CC01 printed and signed, CC02 handed over
        sink.step("sign", at)
        return at

    def _fingerprints(self, sink: Sink, tag: str, age: int, at: dt.datetime) -> dt.datetime:
        traits = self._traits(age)
        self._count("worn fingers", len(traits.worn))
        mean = 68 if age >= 60 else 76
        for slap, fingers in rules.SLAP_FINGERS.items():
            present = [f for f in fingers if f != traits.missing]
            for attempt in range(1, 4):
                score = max(0, min(100, round(self.rng.gauss(mean, 9))))
                if any(f in traits.worn for f in present) and attempt == 1:
                    score = self.rng.randint(20, 39)  # worn ridges smudge the slap too
                variant = f"{slap}:{','.join(present)}:{'good' if score >= 40 else 'poor'}"
                at += self._seconds(11, 3, 5)
                image = self._image("slap", variant, f"{tag}/{slap}/{attempt}")
                if sink.capture(
                    kind="slap",
                    position=slap,
                    image=image,
                    quality=score,
                    metrics={"fingers": present},
                    at=at,
                ):
                    break
        for finger in rules.FINGERS:
            if finger == traits.missing:
                at += self._seconds(35, 10, 15)  # the supervisor comes over and signs
                sink.exception(position=finger, reason="amputated", at=at)
                self._count("exceptions signed")
                continue
            fails = traits.worn.get(finger, 0)
            if finger == traits.unreadable:
                fails = 4  # the first capture and every retry fail
            for attempt in range(1, fails + 2):
                at += self._seconds(8.5, 2, 4)
                if attempt <= fails:
                    score = self.rng.randint(8, 35)
                    self._count("finger retries" if attempt > 1 else "poor reads")
                else:
                    score = max(42, min(100, round(self.rng.gauss(mean, 10))))
                if attempt > fails and finger == traits.unreadable:
                    at += self._seconds(40, 10, 15)
                    sink.exception(position=finger, reason="worn", at=at)
                    self._count("exceptions signed")
                    break
                image = self._image(
                    "rolled", "good" if score >= 40 else "poor", f"{tag}/{finger}/{attempt}"
                )
                sink.capture(
                    kind="rolled", position=finger, image=image, quality=score, metrics={}, at=at
                )
        return at

    def _face(self, sink: Sink, tag: str, iris: bool, at: dt.datetime) -> dt.datetime:
        for attempt in range(1, 5):
            sharpness = max(0, min(100, round(self.rng.gauss(95, 4))))
            if attempt == 4:
                sharpness = max(sharpness, 93)  # the officer adjusts until it passes
            variant = "good"
            if attempt == 1 and self.rng.random() < 0.04:
                variant = self.rng.choice(("dark", "small"))
            metrics = {"sharpness": sharpness, "yaw": round(self.rng.uniform(-4, 4), 1)}
            metrics["eyes_open"] = True
            image = self._image("face", variant, f"{tag}/face/{attempt}")
            if sink.capture(
                kind="face", position="", image=image, quality=None, metrics=metrics, at=at
            ):
                break
            self._count("face retries")
            at += self._seconds(20, 5, 8)
        if iris:
            for eye in rules.EYES:
                at += self._seconds(10, 3, 4)
                # Above the iris threshold (60): the demo keeps its retries for fingers and faces.
                score = max(62, min(100, round(self.rng.gauss(82, 7))))
                image = self._image("iris", "good", f"{tag}/iris/{eye}")
                sink.capture(
                    kind="iris", position=eye, image=image, quality=score, metrics={}, at=at
                )
        return at

    # --- the month ------------------------------------------------------------------

    def _guardian(self, citizen: Any, age: int) -> dict[str, str]:
        if age >= 14:
            return {}
        family = (citizen.full_name or "Nguyễn").split()[0]
        return {"guardian_name": f"{family} {self.rng.choice(GIVEN_NAMES)}"}

    def _session(self, station: Station, operator: User, day: dt.date, place: str) -> Any:
        opened = dt.datetime.combine(day, dt.time(7, 20), tzinfo=VN_TZ)
        return services.session_open(
            actor=operator, station_id=station.pk, day=day, place=place, at=opened
        )

    def day(
        self,
        *,
        station: Station,
        operator: User,
        day: dt.date,
        citizens: list[Any],
        place: str = "",
        offline: bool = False,
        replay: bool = False,
    ) -> None:
        """One station's working day: intakes one after another, a lunch break at 11:30.

        Online days go through the services call by call; an offline station's days are
        pushed in the evening; ``replay`` days are written in bulk (``ReplaySink``).
        """
        if not citizens:
            return
        session = self._session(station, operator, day, place)
        at = dt.datetime.combine(day, dt.time(7, 30), tzinfo=VN_TZ) + self._seconds(300, 200, 0)
        pushed: list[OfflineSink] = []
        replayed: list[ReplaySink] = []
        for citizen in citizens:
            local = at.astimezone(VN_TZ).time()
            if dt.time(11, 30) <= local < dt.time(13, 30):
                at = dt.datetime.combine(day, dt.time(13, 30), tzinfo=VN_TZ)
            age = _age(citizen.birth_date, day)
            start = {
                "application_id": self._uuid(),
                "session_id": session.pk,
                **self._guardian(citizen, age),
            }
            sink: Sink
            if replay:
                sink = ReplaySink(
                    team=self.team,
                    station=station,
                    operator=operator,
                    citizen=citizen,
                    offline=offline,
                    server_ms=self.server_ms,
                    rng=self.rng,
                    **start,
                )
                phase = "replayed intakes"
            elif offline:
                sink = OfflineSink(
                    team=self.team, station=station, operator=operator, citizen=citizen, **start
                )
                phase = "pushed intakes"
            else:
                sink = OnlineSink(
                    team=self.team, station=station, operator=operator, citizen=citizen, **start
                )
                phase = "online intakes"
            ended = self.timed(phase, self.intake, sink, citizen=citizen, at=at)
            if isinstance(sink, OfflineSink):
                pushed.append(sink)
            elif isinstance(sink, ReplaySink):
                replayed.append(sink)
            else:
                self.completed.append((sink.application_id, ended))
            self._count(phase)
            at = ended + self._seconds(90, 70, 15)  # the next citizen sits down
        closed = max(at, dt.datetime.combine(day, dt.time(16, 45), tzinfo=VN_TZ))
        services.session_close(actor=operator, session_id=session.pk, at=closed)
        if replayed:
            self.completed += self.timed("replayed intakes", ReplaySink.flush, replayed)
        if pushed:
            # Back in network in the evening, the team pushes the day's work.
            received = dt.datetime.combine(day, dt.time(21, 40), tzinfo=VN_TZ)
            for sink in pushed:
                result = self.timed(
                    "pushed intakes", sink.push, received_at=received + self._seconds(20, 5, 1)
                )
                self._count(f"pushed {result.status}")
                if result.status == "created":
                    completed = dt.datetime.fromisoformat(sink.record["completed_at"])
                    self.completed.append((sink.application_id, completed))
        if offline:
            received = dt.datetime.combine(day, dt.time(21, 40), tzinfo=VN_TZ)
            Station.objects.filter(pk=station.pk).update(
                last_pull_at=dt.datetime.combine(day, dt.time(6, 50), tzinfo=VN_TZ),
                last_push_at=received,
            )

    def _working_days(self) -> list[dt.date]:
        from cancuoc.dossiers.calendar import work_calendar

        calendar = work_calendar()
        first = self.today - dt.timedelta(days=HISTORY_DAYS)
        days = [first + dt.timedelta(days=i) for i in range(HISTORY_DAYS)]
        return [d for d in days if calendar.is_working_day(d)]

    def month(self, citizens: list[Any], count: int) -> None:
        days = self._working_days()
        if not days:
            return
        chosen = citizens[:count]
        mobile_days = [d for d in days if d.weekday() in (1, 3)] or days[-1:]
        n_mobile = round(count * MOBILE_SHARE) if len(days) > 1 else 0
        mobile_people, fixed_people = chosen[:n_mobile], chosen[n_mobile:]
        self.exceptions_left = max(1, count // 120)
        self.unreadable_left = max(1, count // 100) if self.team.can_sign else 0
        if not self.team.can_sign:
            self.exceptions_left = 0
        plan: dict[dt.date, dict[str, list[Any]]] = {d: {"fixed": [], "mobile": []} for d in days}
        for i, citizen in enumerate(fixed_people):
            plan[days[i * len(days) // max(1, len(fixed_people))]]["fixed"].append(citizen)
        for i, citizen in enumerate(mobile_people):
            day = mobile_days[i * len(mobile_days) // max(1, len(mobile_people))]
            plan[day]["mobile"].append(citizen)
        # The services run the last days' intakes call by call (and the last two mobile
        # days are pushed as the laptop does); older days are replayed in bulk, with
        # server times sampled from the services' own. Online days go first for that.
        online_days: list[dt.date] = []
        for day in reversed(days):
            if sum(len(plan[d]["fixed"]) for d in online_days) >= ONLINE_MAX:
                break
            online_days.append(day)
        pushed_days = [d for d in mobile_days if plan[d]["mobile"]][-PUSHED_DAYS:]
        for day in sorted(online_days):
            self.day(
                station=self.team.fixed,
                operator=self.team.operator,
                day=day,
                citizens=plan[day]["fixed"],
            )
        self._sample_server_ms()
        for n, day in enumerate(days):
            if day not in online_days:
                self.day(
                    station=self.team.fixed,
                    operator=self.team.operator,
                    day=day,
                    citizens=plan[day]["fixed"],
                    replay=True,
                )
            self.day(
                station=self.team.mobile,
                operator=self.team.mobile_operator,
                day=day,
                citizens=plan[day]["mobile"],
                place=VILLAGES[n % len(VILLAGES)],
                offline=True,
                replay=day not in pushed_days,
            )

    def _sample_server_ms(self) -> None:
        from cancuoc.enrolment.models import StepTiming

        rows = StepTiming.objects.filter(
            application__station=self.team.fixed, ended_at__isnull=False, server_ms__gt=0
        ).values_list("step", "server_ms")
        for step, ms in rows:
            self.server_ms.setdefault(step, []).append(ms)

    def _next_working(self, day: dt.date, n: int = 1) -> dt.date:
        from cancuoc.dossiers.calendar import work_calendar

        calendar = work_calendar()
        while n > 0:
            day += dt.timedelta(days=1)
            if calendar.is_working_day(day):
                n -= 1
        return day

    def afterwards(self) -> None:
        """Approve the older intakes' dossiers; the printed cards come back and go out."""
        by_day: dict[dt.date, list[uuid.UUID]] = {}
        for application_id, ended in self.completed:
            approve_day = self._next_working(ended.astimezone(VN_TZ).date())
            if approve_day < self.today:
                by_day.setdefault(approve_day, []).append(application_id)
        supervisor = self.team.supervisor
        operator = self.team.operator
        ready_batches: dict[dt.date, list[int]] = {}
        for day, ids in sorted(by_day.items()):
            approved_at = dt.datetime.combine(day, dt.time(15, 30), tzinfo=VN_TZ)
            cards = services.application_approve(
                actor=supervisor, application_ids=ids, at=approved_at
            )
            self._count("approved", len(cards))
            # The printing centre returns the cards about seven working days later.
            ready_day = self._next_working(day, 7)
            if ready_day < self.today:
                ready_batches.setdefault(ready_day, []).extend(card.pk for card in cards)
        for day, card_ids in sorted(ready_batches.items()):
            at = dt.datetime.combine(day, dt.time(9, 0), tzinfo=VN_TZ)
            services.card_mark_ready(actor=operator, card_ids=card_ids, at=at)
            self._count("cards ready", len(card_ids))
            for card_id in card_ids:
                if self.rng.random() < 0.25:
                    continue  # not collected yet
                handed = self._next_working(day, self.rng.choice((0, 1, 1, 2, 3)) or 0)
                if handed >= self.today:
                    continue
                # Citizens come by during office hours, after the cards were unpacked.
                at = dt.datetime.combine(handed, dt.time(9, 30), tzinfo=VN_TZ)
                at += self._seconds(3 * 3600, 2 * 3600, 0)
                services.card_hand_over(actor=operator, card_id=card_id, at=at)
                self._count("cards delivered")

    def conflict(self) -> None:
        """A mobile intake, offline, of a citizen who meanwhile enrolled at the office."""
        recent = (
            Application.objects.filter(
                station=self.team.fixed,
                status__in=(ApplicationStatus.COMPLETED, ApplicationStatus.APPROVED),
            )
            .select_related("citizen")
            .order_by("-started_at")
            .first()
        )
        if recent is None:
            return
        day = recent.started_at.astimezone(VN_TZ).date()
        at = dt.datetime.combine(day, dt.time(14, 10), tzinfo=VN_TZ)
        sink = OfflineSink(
            team=self.team,
            station=self.team.mobile,
            operator=self.team.mobile_operator,
            citizen=recent.citizen,
            application_id=self._uuid(),
        )
        self.intake(sink, citizen=recent.citizen, at=at)
        received = dt.datetime.combine(day, dt.time(21, 45), tzinfo=VN_TZ)
        result = sink.push(received_at=min(received, self.now))
        self._count(f"pushed {result.status}")

    def in_progress(self, citizens: list[Any]) -> None:
        """Intakes under way at the office right now: one at fingerprints, one just begun."""
        if not citizens:
            return
        session = services.session_open(
            actor=self.team.operator,
            station_id=self.team.fixed.pk,
            day=self.today,
            at=self.now - dt.timedelta(hours=1),
        )
        for citizen, minutes, until in zip(
            citizens, (7, 1), ("fingerprints", "confirm"), strict=False
        ):
            sink = OnlineSink(
                team=self.team,
                station=self.team.fixed,
                operator=self.team.operator,
                citizen=citizen,
                application_id=self._uuid(),
                session_id=session.pk,
                **self._guardian(citizen, _age(citizen.birth_date, self.today)),
            )
            self.intake(
                sink, citizen=citizen, at=self.now - dt.timedelta(minutes=minutes), until=until
            )
            self._count("in progress")


def _count_for(ctx: DemoContext, available: int) -> int:
    """About 300 intakes, fewer for a small registry, leaving citizens to enrol live."""
    wanted = min(DEFAULT_COUNT, max(12, ctx.people // 300))
    return max(0, min(wanted, available * 2 // 3))


@demo_step("enrolment")
def load_enrolment(ctx: DemoContext) -> None:
    if "commune" not in ctx.units:
        ctx.out("enrolment: no demo commune; skipped")
        return
    started = time.monotonic()
    try:
        with transaction.atomic():
            _ensure_card_procedures()
            team = _team(ctx)
            if Application.objects.filter(station=team.fixed).exists():
                ctx.out("enrolment: the demo stations' intakes are already there")
                return
            history = History(ctx, team)
            citizens = _candidates(team, history.today)
            history.rng.shuffle(citizens)
            count = _count_for(ctx, len(citizens))
            # Demo images are regenerated at will: writing them without an fsync each
            # keeps the step quick; production keeps BIOMETRIC_FSYNC on.
            with override_settings(BIOMETRIC_FSYNC=False):
                history.month(citizens, count)
                history.timed("cards", history.afterwards)
                history.conflict()
                history.in_progress(citizens[count : count + 2])
    except DomainError as exc:  # pragma: no cover - a broken catalogue or registry
        raise RuntimeError(f"demo enrolment: {exc.message}") from exc
    made = ", ".join(f"{k} {v}" for k, v in sorted(history.counts.items()))
    spent = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(history.seconds.items()))
    ctx.out(
        f"enrolment: stations {team.fixed.code} (fixed) and {team.mobile.code} (mobile), "
        f"{count} intakes over {HISTORY_DAYS} days ({made}); "
        f"{time.monotonic() - started:.1f} s ({spent})"
    )


def _ensure_card_procedures() -> None:
    """The card procedures come with the starter catalogue (the dossiers step loads it)."""
    from cancuoc.dossiers.models import Procedure

    if Procedure.objects.filter(code__in=tuple(services.PROCEDURES.values())).count() < len(
        set(services.PROCEDURES.values())
    ):
        from cancuoc.dossiers.catalogue import catalogue_load, starter_catalogue

        catalogue_load(starter_catalogue())


__all__ = ["load_enrolment"]
