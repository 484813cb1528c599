"""Enrolment through the API: whole enrolments per second, and the software's time per step.

Run on PostgreSQL (the target's database)::

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/cancuoc_bench_enrol \\
        .venv/bin/python -m bench enrolment

The setup is made once and reused (units, the card procedures, and per worker a station
with its operator and an API token); every run adds fresh citizens, since a citizen
holds one open application at a time. Each enrolment is complete: start, confirm,
3 slaps + 10 rolled prints, a face, two irises, a signature, every step, and the dossier
the completion receives, transfers and appraises. Images are the simulator's, at its
realistic sizes (rolled ~15 KB, slap ~40 KB, face ~60 KB, iris ~15 KB, signature ~5 KB),
each one unique (a tagged PNG), sent as base64 JSON, stored encrypted with the
production settings (fsync on).

Concurrency: BENCH_ENROL_WORKERS processes (2 cores), each with its own
``django.test.Client`` (the whole Django stack: middleware, URL routing, django-ninja,
token authentication) on the same PostgreSQL database. By default each worker is a
station of its own commune: fifty enrolments a second come from hundreds of stations in
many communes (one operator enrols a citizen in about six minutes), and a commune's desk
draws its dossier numbers one at a time (the number row is locked until the receipt
commits), as it updates its own rollup rows. BENCH_ENROL_SPREAD=0 puts every worker at
one station of one commune instead, to see that queue. Request bodies are built before
the clock starts, so the figures are the server's work; the two cores are shared by
server and client code all the same, as they would be by a web server and its workers.

The one-request path runs ``services.application_enrol`` (one lock, each step's rules in
order, the images checked and then written and flushed together, captures, audit rows and
step timings inserted in bulk); the step path's capture requests run
``services.captures_record`` (a step's captures as one batch).

Paths measured:

* one request per enrolment: ``POST /applications/complete``;
* step by step, as a station client does: 9 requests (start, confirm, the fingerprint
  captures, fingerprints done, face + iris captures, face done, review done, signature,
  sign done); server time per request and per step (p50, p90), and the services' own
  ``StepTiming.server_ms``;
* the baseline: the raw cost of the same work without the software — the same images
  AES-GCM encrypted and written (same fsync), and the same rows (application, 5 step
  timings, 17 blobs, 17 captures) inserted with raw SQL in one transaction — at the same
  concurrency.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

WORKERS = int(os.environ.get("BENCH_ENROL_WORKERS", "2"))
PER_WORKER = int(os.environ.get("BENCH_ENROL_PER_WORKER", "60"))
#: "1": each worker a station of its own commune (default); "0": all at one station.
SPREAD = os.environ.get("BENCH_ENROL_SPREAD", "1") != "0"
PROVINCE = "42"
STATION_CODE = "BENCH-ENROL"
API = "/api/v1/enrolment"
NAME_PREFIX = "Bench Enrol "
FINGERS = ("R1", "R2", "R3", "R4", "R5", "L1", "L2", "L3", "L4", "L5")
SLAPS = {"LS": "L5,L4,L3,L2", "RS": "R2,R3,R4,R5", "TS": "L1,R1"}
CARD_PROCEDURES = ("1.001765", "1.001773", "1.001780", "1.012409", "1.012410", "1.012411")


# --- setup (parent process) -------------------------------------------------------------


def _setup(workers: int, spread: bool) -> list[dict[str, Any]]:
    """One desk per worker: a station, its operator and an API token.

    ``spread``: each desk in a commune of its own (its own dossier numbers and rollup
    rows), as a real load of this size comes from many stations in many communes; else
    every worker enrols at the same station of one commune, so their transactions queue
    on that commune's dossier-number row and rollup rows.
    """
    from cancuoc.accounts.models import ApiToken, User
    from cancuoc.accounts.roles import Role
    from cancuoc.accounts.services import api_token_create, user_create
    from cancuoc.dossiers.catalogue import catalogue_load, starter_catalogue
    from cancuoc.dossiers.models import Procedure
    from cancuoc.enrolment.models import Station
    from cancuoc.units.importers import units_import
    from cancuoc.units.models import Edition, Level, Unit

    if not Unit.objects.filter(edition=Edition.Y2025, level=Level.PROVINCE, code=PROVINCE):
        units_import(edition=Edition.Y2025)
    province = Unit.objects.get(edition=Edition.Y2025, level=Level.PROVINCE, code=PROVINCE)
    communes = list(province.children.order_by("code")[: workers if spread else 1])
    if Procedure.objects.filter(code__in=CARD_PROCEDURES).count() < len(CARD_PROCEDURES):
        data = starter_catalogue()
        data["procedures"] = [p for p in data["procedures"] if p["code"] in CARD_PROCEDURES]
        catalogue_load(data)

    def account(username: str, role: str, unit: Any) -> Any:
        user = User.objects.filter(username=username).first()
        return user or user_create(
            actor=None, username=username, role=role, unit=unit, password=uuid.uuid4().hex
        )

    def station_of(code: str, commune: Any) -> Any:
        station = Station.objects.filter(code=code).first()
        return station or Station.objects.create(
            code=code,
            name="Bench station",
            kind="fixed",
            unit=commune,
            unit_path=commune.path,
            province_code=commune.province_code or PROVINCE,
            device_profile={"adapter": "bridge"},
        )

    admin = account("bench.enrol.admin", Role.SYSTEM_ADMIN, Unit.objects.get(path="/"))
    desks = []
    for n in range(workers):
        if spread:
            commune = communes[n]
            operator = account(f"bench.enrol.c{n}", Role.STATION_OPERATOR, commune)
            station = station_of(f"{STATION_CODE}-{n}", commune)
        else:
            commune = communes[0]
            operator = account(f"bench.enrol.op{n}", Role.STATION_OPERATOR, commune)
            station = station_of(STATION_CODE, commune)
        station.operators.add(operator)
        desks.append({"commune": commune, "station": station, "operator": operator})
    operators = [desk["operator"] for desk in desks]
    # A fresh token per run (raw tokens are shown once); the old ones are revoked.
    ApiToken.objects.filter(user__in=operators, revoked_at__isnull=True).update(
        revoked_at=dt.datetime.now(dt.UTC)
    )
    for desk in desks:
        desk["token"] = api_token_create(actor=admin, user=desk["operator"], name="bench")[1]
    return desks


def _citizens(commune: Any, count: int) -> list[int]:
    """``count`` new adult citizens of ``commune`` with valid ID numbers (no phone)."""
    from cancuoc.core.text import fold
    from cancuoc.registry.idnumber import generate
    from cancuoc.registry.models import Citizen

    base = Citizen.objects.filter(full_name__startswith=NAME_PREFIX).count()
    rows = []
    for k in range(base, base + count):
        year = 1960 + k % 45
        sex = "M" if k % 2 else "F"
        name = f"{NAME_PREFIX}{k}"
        rows.append(
            Citizen(
                province_code=commune.province_code or PROVINCE,
                id_number=generate("042", "male" if sex == "M" else "female", year, 100000 + k),
                full_name=name,
                search_name=fold(name),
                birth_date=dt.date(year, 1 + k % 12, 1 + k % 28),
                birth_year=year,
                sex=sex,
                permanent_unit=commune,
                current_unit=commune,
                unit_path=commune.path,
                permanent_address="Thôn 1",
            )
        )
    made = Citizen.objects.bulk_create(rows, batch_size=2000)
    return [c.pk for c in made]


# --- request bodies ---------------------------------------------------------------------


def _capture(kind: str, position: str, tag: str, quality: int | None, **extra: Any) -> dict:
    from cancuoc.enrolment.devices.simulator import synthetic_png

    variant = "good"
    if kind == "slap":
        variant = f"{position}:{SLAPS[position]}:good"
    image = synthetic_png(kind, variant=variant, tag=tag, index=hash(tag) % 8)
    return {
        "kind": kind,
        "position": position,
        "image": base64.b64encode(image).decode("ascii"),
        "content_type": "image/png",
        "quality": quality,
        "device": "simulator:BENCH",
        **extra,
    }


def _captures(tag: str) -> dict[str, list[dict]]:
    """The 17 captures of one enrolment, by the step that takes them."""
    fingerprints = [_capture("slap", slap, f"{tag}/{slap}", 80) for slap in SLAPS]
    fingerprints += [_capture("rolled", f, f"{tag}/{f}", 80) for f in FINGERS]
    face = [
        _capture("face", "", f"{tag}/face", None, metrics={"sharpness": 96, "yaw": 1.0}),
        _capture("iris", "R", f"{tag}/iris/R", 80),
        _capture("iris", "L", f"{tag}/iris/L", 80),
    ]
    sign = [_capture("signature", "", f"{tag}/signature", None)]
    return {"fingerprints": fingerprints, "face": face, "sign": sign}


# --- workers (forked processes) ---------------------------------------------------------


def _client(token: str) -> Any:
    from django.test import Client

    return Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {token}")


def _post(client: Any, path: str, body: Any, timings: list[tuple[str, float]], label: str) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    started = time.perf_counter()
    response = client.post(path, data=data, content_type="application/json")
    timings.append((label, (time.perf_counter() - started) * 1000))
    if response.status_code >= 300:
        raise RuntimeError(f"{label}: {response.status_code} {response.content[:300]!r}")
    return response


def _worker_complete(args: tuple) -> dict[str, Any]:
    token, station_id, citizen_ids, barrier = args
    client = _client(token)
    bodies = []
    for citizen_id in citizen_ids:
        app_id = str(uuid.uuid4())
        captures = _captures(app_id)
        body = {
            "station_id": station_id,
            "citizen_id": citizen_id,
            "application_id": app_id,
            "captures": captures["fingerprints"] + captures["face"] + captures["sign"],
        }
        bodies.append(json.dumps(body).encode())
    barrier.wait()
    timings: list[tuple[str, float]] = []
    started = time.time()
    for body in bodies:
        _post(client, f"{API}/applications/complete", body, timings, "complete")
    return {"start": started, "end": time.time(), "timings": timings}


def _worker_steps(args: tuple) -> dict[str, Any]:
    token, station_id, citizen_ids, barrier = args
    client = _client(token)
    plans = []
    for citizen_id in citizen_ids:
        app_id = str(uuid.uuid4())
        captures = _captures(app_id)
        plans.append(
            (
                app_id,
                json.dumps(
                    {"station_id": station_id, "citizen_id": citizen_id, "application_id": app_id}
                ).encode(),
                {k: json.dumps({"captures": v}).encode() for k, v in captures.items()},
            )
        )
    barrier.wait()
    timings: list[tuple[str, float]] = []
    started = time.time()
    for app_id, start, captures in plans:
        base = f"{API}/applications/{app_id}"
        _post(client, f"{API}/applications", start, timings, "confirm:start")
        _post(client, f"{base}/confirm", b"{}", timings, "confirm:confirm")
        _post(
            client, f"{base}/captures", captures["fingerprints"], timings, "fingerprints:captures"
        )
        _post(client, f"{base}/steps/fingerprints/complete", b"", timings, "fingerprints:complete")
        _post(client, f"{base}/captures", captures["face"], timings, "face:captures")
        _post(client, f"{base}/steps/face/complete", b"", timings, "face:complete")
        _post(client, f"{base}/steps/review/complete", b"", timings, "review:complete")
        _post(client, f"{base}/captures", captures["sign"], timings, "sign:captures")
        _post(client, f"{base}/steps/sign/complete", b"", timings, "sign:complete")
    return {"start": started, "end": time.time(), "timings": timings}


def _worker_baseline(args: tuple) -> dict[str, Any]:
    """The same images encrypted and written, the same rows inserted with raw SQL."""
    from django.db import connection, transaction

    from cancuoc.enrolment import biostore

    _token, station_id, citizen_ids, barrier, operator_id, unit_id, unit_path = args
    bodies = []
    for _citizen_id in citizen_ids:
        captures = _captures(str(uuid.uuid4()))
        images = [
            (c["kind"], c["position"], base64.b64decode(c["image"]))
            for step in captures.values()
            for c in step
        ]
        bodies.append(images)
    barrier.wait()
    started = time.time()
    timings: list[tuple[str, float]] = []
    now = dt.datetime.now(dt.UTC)
    for citizen_id, images in zip(citizen_ids, bodies, strict=True):
        t0 = time.perf_counter()
        app_id = uuid.uuid4()
        blobs = []
        for _kind, _position, image in images:
            digest = hashlib.sha256(image).hexdigest()
            biostore._write_once(biostore.blob_path(digest), biostore._encrypt(digest, image))
            blobs.append(digest)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO enrolment_application (id, citizen_id, province_code, unit_id, "
                "unit_path, station_id, operator_id, kind, law, status, step, guardian_name, "
                "guardian_id_number, confirmed_data, started_at, completed_at, offline, "
                "received_at, note) VALUES (%s,%s,%s,%s,%s,%s,%s,'first','2023','cancelled',"
                "'sign','','','{}',%s,%s,false,%s,'bench baseline')",
                [app_id, citizen_id, PROVINCE, unit_id, unit_path, station_id, operator_id]
                + [now] * 3,
            )
            cursor.executemany(
                "INSERT INTO enrolment_steptiming (application_id, step, started_at, ended_at, "
                "server_ms, retries, exceptions) VALUES (%s,%s,%s,%s,0,0,0)",
                [
                    (app_id, s, now, now)
                    for s in ("confirm", "fingerprints", "face", "review", "sign")
                ],
            )
            cursor.executemany(
                "INSERT INTO enrolment_biometricblob (digest, province_code, content_type, size, "
                "stored_at) VALUES (%s,%s,'image/png',%s,%s) ON CONFLICT DO NOTHING",
                [
                    (d, PROVINCE, len(img), now)
                    for d, (_k, _p, img) in zip(blobs, images, strict=True)
                ],
            )
            cursor.executemany(
                "INSERT INTO enrolment_capture (application_id, kind, position, attempt, quality, "
                "accepted, blob_id, exception, device, captured_at) "
                "VALUES (%s,%s,%s,1,80,true,%s,'','bench',%s)",
                [(app_id, k, p, d, now) for d, (k, p, _img) in zip(blobs, images, strict=True)],
            )
        timings.append(("baseline", (time.perf_counter() - t0) * 1000))
    return {"start": started, "end": time.time(), "timings": timings}


def _child(fn: Any, args: tuple, queue: Any) -> None:
    import traceback

    try:
        queue.put(fn(args))
    except BaseException:
        args[3].abort()  # release the others waiting at the barrier
        queue.put({"error": traceback.format_exc()})


def _run_workers(fn: Any, per_worker_args: list[tuple]) -> dict[str, Any]:
    from django.db import connections

    connections.close_all()  # each forked worker opens its own connection
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(len(per_worker_args))
    queue = ctx.Queue()
    processes = [
        ctx.Process(target=_child, args=(fn, (*a[:3], barrier, *a[3:]), queue))
        for a in per_worker_args
    ]
    for process in processes:
        process.start()
    results = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    failed = [r["error"] for r in results if "error" in r]
    if failed:
        raise RuntimeError(failed[0])
    start = min(r["start"] for r in results)
    end = max(r["end"] for r in results)
    timings = [t for r in results for t in r["timings"]]
    return {"wall": end - start, "timings": timings}


def _q(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# --- the suite ----------------------------------------------------------------------------


def run(**_scale: Any) -> list[tuple[str, str, str]]:
    import shutil

    from django.conf import settings
    from django.db import connection

    from cancuoc.enrolment.models import Application, StepTiming

    if connection.vendor != "postgresql":
        print("enrolment: the target is PostgreSQL; figures on SQLite are indicative only")
    # The images go to a scratch store, never the working one.
    store = Path(tempfile.mkdtemp(prefix="cancuoc-bench-bio-"))
    settings.BIOMETRIC_ROOT = store
    fsync = getattr(settings, "BIOMETRIC_FSYNC", True)
    workers, per = WORKERS, PER_WORKER
    try:
        desks = _setup(workers, SPREAD)
        stations = [desk["station"] for desk in desks]

        def args(count: int, baseline: bool = False) -> list[tuple]:
            """Each worker's token, station and ``count`` new citizens of its commune."""
            out = []
            for desk in desks:
                commune = desk["commune"]
                row: tuple = (desk["token"], desk["station"].pk, _citizens(commune, count))
                if baseline:
                    row += (desk["operator"].pk, commune.pk, commune.path)
                out.append(row)
            return out

        # Warm-up (first queries, the simulator's image pool) outside the measure.
        _run_workers(_worker_complete, args(1))
        one_args = args(per)
        # The machine is shared: its load (1-minute average) before and after the measure.
        load = [os.getloadavg()[0]]
        one = _run_workers(_worker_complete, one_args)
        load.append(os.getloadavg()[0])
        started_at = dt.datetime.now(dt.UTC)
        steps = _run_workers(_worker_steps, args(per))
        base = _run_workers(_worker_baseline, args(per, baseline=True))
        # The same without the fsync per image, to show what the disk's flushes cost.
        settings.BIOMETRIC_FSYNC = False
        base_nosync = _run_workers(_worker_baseline, args(per, baseline=True))
        settings.BIOMETRIC_FSYNC = fsync
        server_ms: dict[str, list[int]] = {}
        for step, ms in StepTiming.objects.filter(
            application__station__in=stations,
            application__started_at__gte=started_at,
            application__status="completed",
        ).values_list("step", "server_ms"):
            server_ms.setdefault(step, []).append(ms)
        done = Application.objects.filter(
            station__in=stations, started_at__gte=started_at, status="completed"
        ).count()
        assert done == workers * per, f"{done} step-by-step enrolments completed"
        # The database work of one whole enrolment (one request), counted in the parent.
        from django.test.utils import CaptureQueriesContext

        desk = desks[0]
        counted = _citizens(desk["commune"], 1)[0]
        app_id = str(uuid.uuid4())
        captures = _captures(app_id)
        body = {
            "station_id": desk["station"].pk,
            "citizen_id": counted,
            "application_id": app_id,
            "captures": captures["fingerprints"] + captures["face"] + captures["sign"],
        }
        with CaptureQueriesContext(connection) as queries:
            _post(_client(desk["token"]), f"{API}/applications/complete", body, [], "count")
        query_count = len(queries.captured_queries)
    finally:
        settings.BIOMETRIC_FSYNC = fsync
        shutil.rmtree(store, ignore_errors=True)

    n = workers * per
    rate_one = n / one["wall"]
    rate_steps = n / steps["wall"]
    rate_base = n / base["wall"]
    rate_nosync = n / base_nosync["wall"]
    nosync_ms = [ms for _l, ms in base_nosync["timings"]]
    one_ms = [ms for _l, ms in one["timings"]]
    by_request: dict[str, list[float]] = {}
    for label, ms in steps["timings"]:
        by_request.setdefault(label, []).append(ms)
    # Per step: the sum of the step's requests for one enrolment (in order, per worker).
    per_step: dict[str, list[float]] = {}
    step_of = [label.split(":")[0] for label, _ in steps["timings"]]
    current: dict[str, float] = {}
    for (label, ms), step in zip(steps["timings"], step_of, strict=True):
        current[step] = current.get(step, 0.0) + ms
        if label.endswith(":complete") or label == "confirm:confirm":
            per_step.setdefault(step, []).append(current.pop(step))
    all_steps = [ms for values in per_step.values() for ms in values]
    base_ms = [ms for _l, ms in base["timings"]]
    where = "each a station of its own commune" if SPREAD else "all at one station"
    conc = f"{workers} worker processes × {per}, {where}, PostgreSQL, django.test.Client"
    rows = [
        (
            f"whole enrolments per second, one request each ({conc}; target ≥ 50)",
            f"{rate_one:.1f}/s (request p50 {statistics.median(one_ms):.0f} ms, "
            f"p90 {_q(one_ms, 0.9):.0f} ms; load average {load[0]:.2f} before, "
            f"{load[1]:.2f} after)",
            f"raw encrypt+write+SQL: {rate_base:.1f}/s (p50 {statistics.median(base_ms):.0f} ms); "
            f"without fsync {rate_nosync:.1f}/s (p50 {statistics.median(nosync_ms):.0f} ms)",
        ),
        (
            "SQL statements per whole enrolment (one request, with the dossier's receipt, "
            "transfer and appraisal, events, audit rows)",
            f"{query_count}",
            "raw: 5 statements (application, timings, blobs, captures, commit)",
        ),
        (
            f"whole enrolments per second, step by step: 9 requests each ({conc})",
            f"{rate_steps:.1f}/s",
            f"raw encrypt+write+SQL: {rate_base:.1f}/s",
        ),
        (
            "server time per step request, all steps (target median ≤ 200 ms)",
            f"p50 {statistics.median(all_steps):.0f} ms, p90 {_q(all_steps, 0.9):.0f} ms",
            f"raw work per whole enrolment p50 {statistics.median(base_ms):.0f} ms "
            f"(fsync on: {'yes' if fsync else 'no'})",
        ),
    ]
    for step in ("confirm", "fingerprints", "face", "review", "sign"):
        values = per_step.get(step, [])
        own = server_ms.get(step, [])
        if not values:
            continue
        rows.append(
            (
                f"step {step}: server time (requests), services' own server_ms",
                f"p50 {statistics.median(values):.0f} ms, p90 {_q(values, 0.9):.0f} ms; "
                f"server_ms p50 {statistics.median(own) if own else 0:.0f}",
                " + ".join(
                    f"{label.split(':')[1]} {statistics.median(v):.0f}"
                    for label, v in by_request.items()
                    if label.startswith(step + ":")
                )
                + " ms (p50 per request)",
            )
        )
    return rows
