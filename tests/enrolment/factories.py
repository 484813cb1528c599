"""Builders for enrolment tests; other test modules import them.

Stations and sessions are made directly (plain rows); applications go through the real
services (``cancuoc.enrolment.services``) so statuses, step timings, audit rows and the
dossier are exactly what production writes. Images are small valid PNGs made with Pillow.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import uuid
from collections.abc import Iterable
from typing import Any

from cancuoc.accounts.models import User
from cancuoc.accounts.roles import Role
from cancuoc.core.workdays import VN_TZ
from tests import factories

_seq = itertools.count(1)

#: The card procedures of the starter catalogue (2014 law, then 2023 law).
CARD_PROCEDURES = ("1.001765", "1.001773", "1.001780", "1.012409", "1.012410", "1.012411")

#: Ten rolled fingers in capture order and the 4-4-2 slaps (mirrors quality.py).
FINGERS = ("R1", "R2", "R3", "R4", "R5", "L1", "L2", "L3", "L4", "L5")
SLAPS = ("LS", "RS", "TS")


def local(year: int, month: int, day: int, hour: int = 9, minute: int = 0, second: int = 0):
    """An aware datetime in Vietnam time."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=VN_TZ)


#: The default moment tests enrol at: a working Monday under the 2023 law.
AT = local(2025, 9, 15, 9, 0)


def load_card_procedures() -> None:
    """Load only the six ID-card procedures of the starter catalogue (fast)."""
    from cancuoc.dossiers.catalogue import catalogue_load, starter_catalogue

    data = starter_catalogue()
    data["procedures"] = [p for p in data["procedures"] if p["code"] in CARD_PROCEDURES]
    catalogue_load(data)


def operator(unit: Any, username: str | None = None) -> User:
    """A station operator of ``unit`` (ENROL, RECEIVE_DOSSIER, APPRAISE_DOSSIER)."""
    return factories.user(
        unit=unit, role=Role.STATION_OPERATOR, username=username or f"op{next(_seq)}"
    )


def supervisor(unit: Any, username: str | None = None) -> User:
    """The commune police leader: SUPERVISE_ENROLMENT and APPROVE_DOSSIER in ``unit``."""
    return factories.user(unit=unit, role=Role.APPROVER, username=username or f"sup{next(_seq)}")


def station(
    *,
    unit: Any,
    operators: Iterable[User] = (),
    code: str | None = None,
    name: str | None = None,
    kind: str = "fixed",
    **fields: Any,
):  # type: ignore[no-untyped-def]
    """A station of ``unit`` with ``operators``; ``fields`` set thresholds, device_profile..."""
    from cancuoc.enrolment.models import Station

    number = next(_seq)
    made = Station.objects.create(
        code=code or f"ST-{number:04d}",
        name=name or f"Trạm {number}",
        kind=kind,
        unit=unit,
        unit_path=unit.path,
        province_code=unit.province_code or "",
        **fields,
    )
    made.operators.set(list(operators))
    return made


def session(*, station: Any, day: dt.date | None = None, opened_by: User | None = None, **kw: Any):  # type: ignore[no-untyped-def]
    """An open session of ``station`` on ``day`` (default: the day of ``AT``)."""
    from cancuoc.enrolment.models import StationSession

    opened_by = opened_by or station.operators.first()
    return StationSession.objects.create(
        station=station,
        unit_path=station.unit_path,
        day=day or AT.date(),
        opened_by=opened_by,
        opened_at=kw.pop("opened_at", AT),
        **kw,
    )


def png(
    width: int = 64, height: int = 64, color: tuple[int, int, int] = (200, 180, 160), seed: int = 0
) -> bytes:
    """A small valid PNG; ``seed`` varies one pixel so digests differ."""
    from PIL import Image

    image = Image.new("RGB", (width, height), color)
    image.putpixel((seed % width, (seed // width) % height), (seed % 256, 0, 0))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def face_png(seed: int = 0) -> bytes:
    """A face-like picture: a skin ellipse on a plain light background."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (240, 320), (235, 235, 240))
    draw = ImageDraw.Draw(image)
    draw.ellipse((60, 60, 180, 230), fill=(205, 160, 130))
    draw.ellipse((90, 120, 105, 132), fill=(40, 30, 30))
    draw.ellipse((135, 120, 150, 132), fill=(40, 30, 30))
    image.putpixel((seed % 240, 0), (seed % 256, 1, 1))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def in_progress_application(
    *,
    station: Any,
    citizen: Any = None,
    actor: User | None = None,
    at: dt.datetime | None = None,
    application_id: uuid.UUID | None = None,
    until: str = "confirm",
    **kw: Any,
):  # type: ignore[no-untyped-def]
    """An application started through ``application_start`` and walked to step ``until``.

    ``until`` is the step the application should be *at* ("confirm" just started,
    "fingerprints" after confirming, ... "sign" after review).
    """
    from cancuoc.enrolment import services

    actor = actor or station.operators.first()
    at = at or AT
    citizen = citizen or factories.citizen(unit=station.unit)
    application = services.application_start(
        actor=actor,
        station_id=station.pk,
        citizen_id=citizen.pk,
        application_id=application_id or uuid.uuid4(),
        at=at,
        **kw,
    )
    return walk(application, actor=actor, until=until, at=at)


def capture_all(application: Any, *, actor: User, step: str, at: dt.datetime | None = None) -> None:
    """Record good captures for every requirement of ``step`` (quality given, as a device does)."""
    from cancuoc.enrolment import services

    at = at or AT
    seed = next(_seq) * 100
    # (kind, position, image, quality) of every capture the step needs.
    wanted: list[tuple[str, str, bytes, int | None]] = []
    if step == "fingerprints":
        for position in (*SLAPS, *FINGERS):
            seed += 1
            kind = "slap" if position in SLAPS else "rolled"
            wanted.append((kind, position, png(seed=seed), 80))
    elif step == "face":
        wanted.append(("face", "", face_png(seed=seed), 95))
        if application.law == "2023":
            for eye in ("R", "L"):
                seed += 1
                wanted.append(("iris", eye, png(seed=seed), 80))
    elif step == "sign":
        wanted.append(("signature", "", png(32, 16, seed=seed), None))
    for kind, position, image, quality in wanted:
        services.capture_record(
            actor=actor,
            application_id=application.pk,
            kind=kind,
            position=position,
            image=image,
            content_type="image/png",
            quality=quality,
            device="test",
            at=at,
        )


def walk(application: Any, *, actor: User, until: str, at: dt.datetime | None = None):  # type: ignore[no-untyped-def]
    """Complete steps (capturing what each needs) until the application is at ``until``.

    ``until="done"`` completes "sign" too, which completes the application.
    """
    from cancuoc.enrolment import services
    from cancuoc.enrolment.models import Application

    at = at or AT
    while True:
        application = Application.objects.get(pk=application.pk)
        if application.status != "in_progress" or application.step == until:
            return application
        step = application.step
        if step == "confirm":
            services.application_confirm(actor=actor, application_id=application.pk, at=at)
        else:
            capture_all(application, actor=actor, step=step, at=at)
            services.step_complete(actor=actor, application_id=application.pk, step=step, at=at)


def completed_application(
    *,
    station: Any,
    citizen: Any = None,
    actor: User | None = None,
    at: dt.datetime | None = None,
    **kw: Any,
):  # type: ignore[no-untyped-def]
    """A whole enrolment through the services: status completed, dossier received and
    appraised. Needs the card procedures loaded (``load_card_procedures``)."""
    return in_progress_application(
        station=station, citizen=citizen, actor=actor, at=at, until="done", **kw
    )


#: Every capture a complete intake of an adult under the 2023 law holds (one each).
FULL_INTAKE = (
    *[("slap", p) for p in ("LS", "RS", "TS")],
    *[("rolled", p) for p in ("R1", "R2", "R3", "R4", "R5", "L1", "L2", "L3", "L4", "L5")],
    ("face", ""),
    ("iris", "R"),
    ("iris", "L"),
    ("signature", ""),
)


def complete_capture_rows(rows: list[dict], *, digest: str, at: dt.datetime) -> list[dict]:
    """``rows`` (offline record captures) plus an accepted capture, all of one image
    ``digest``, for every position of :data:`FULL_INTAKE` they lack: the server refuses
    to complete an offline record whose steps are incomplete."""
    have = {(r["kind"], r["position"]) for r in rows}
    extra = [
        {
            "kind": kind,
            "position": position,
            "attempt": 1,
            "quality": 95,
            "accepted": True,
            "digest": digest,
            "exception": "",
            "exception_signed_by": None,
            "device": "simulator:T-1",
            "captured_at": at.isoformat(),
        }
        for kind, position in FULL_INTAKE
        if (kind, position) not in have
    ]
    return [*rows, *extra]
