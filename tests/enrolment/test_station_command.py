"""The ``cancuoc station`` command, in process: pull through the test client, simulate,
status and push (against a stub server: in one test database the station's push log and
the server's receipts would share the ``PushBatch`` table)."""

from __future__ import annotations

import io
import json
import stat

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import translation

from cancuoc.enrolment import services
from cancuoc.enrolment.management.commands import station as command
from cancuoc.enrolment.models import Application, Station
from cancuoc.enrolment.offline.transport import DjangoClientTransport, Response, TransportError
from tests import factories
from tests.enrolment import factories as ef

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def station_files(settings, tmp_path, monkeypatch):
    settings.BIOMETRIC_ROOT = tmp_path / "biometrics"
    settings.BIOMETRIC_FSYNC = False
    monkeypatch.setenv("CANCUOC_STATION_CONFIG", str(tmp_path / "station.json"))
    return tmp_path


class Stub:
    """A server that holds every image and answers each record with ``status``."""

    def __init__(self, status: str = "created", fail: bool = False) -> None:
        self.status, self.fail, self.records = status, fail, []

    def request(self, method, path, *, body=None, headers=None):  # type: ignore[no-untyped-def]
        if self.fail:
            raise TransportError("no network")
        if path == "/blobs/missing":
            return Response(200, b'{"missing": []}')
        payload = json.loads(body)
        self.records.extend(payload["records"])
        results = [
            {"id": r["id"], "status": self.status, "detail": "refused for the test"}
            for r in payload["records"]
        ]
        return Response(
            200, json.dumps({"batch_id": payload["batch_id"], "results": results}).encode()
        )


@pytest.fixture
def mobile(world, monkeypatch):
    ef.load_card_procedures()
    operator = ef.operator(world.commune_a, "op.mobile")
    station = ef.station(unit=world.commune_a, operators=[operator], code="MOB-1", kind="mobile")
    station, token = services.station_token_issue(
        actor=ef.supervisor(world.commune_a), station_id=station.pk
    )
    citizens = [factories.citizen(unit=world.commune_a) for _ in range(3)]
    transport = {"now": DjangoClientTransport(client=Client(), token=token)}
    monkeypatch.setattr(command.Command, "_transport", lambda self, config: transport["now"])
    return type(
        "Mobile",
        (),
        {"station": station, "token": token, "citizens": citizens, "transport": transport},
    )


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("station", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_pull_simulate_status_and_push(mobile, station_files):
    pulled = run("pull", "--server", "http://server.invalid", "--token", mobile.token)
    assert pulled.strip() == "station MOB-1: 3 citizens (0 rows new, 9 refreshed)"
    config = station_files / "station.json"
    assert json.loads(config.read_text()) == {
        "server": "http://server.invalid", "token": mobile.token, "station": "MOB-1",
    }  # fmt: skip
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert Station.objects.get(code="MOB-1").last_pull_at is not None

    assert run("simulate", "--count", "2").strip() == "enrolled 2"
    enrolled = Application.objects.filter(station=mobile.station)
    assert [a.status for a in enrolled] == ["completed", "completed"]
    assert all(a.captures.filter(device__startswith="simulator").exists() for a in enrolled)
    facts = json.loads(run("status"))
    assert (facts["station"], facts["unsent"], facts["applications"]) == (
        "MOB-1",
        2,
        {"completed": 2},
    )
    assert facts["sync"]["level"] == "ok"

    stub = Stub()
    mobile.transport["now"] = stub
    assert run("push").strip() == "pushed 1 batches, 0 images: created 2"
    assert sorted(r["id"] for r in stub.records) == sorted(str(a.pk) for a in enrolled)
    assert json.loads(run("status"))["unsent"] == 0
    assert run("push").strip() == "pushed 0 batches, 0 images: nothing to send"


def test_a_push_the_server_refuses_fails_and_keeps_the_enrolments(mobile):
    run("pull", "--server", "http://server.invalid", "--token", mobile.token)
    run("simulate", "--count", "1")
    mobile.transport["now"] = Stub(status="rejected")
    with pytest.raises(CommandError, match="1 enrolments were refused"):
        run("push")
    assert json.loads(run("status"))["unsent"] == 1


def test_a_push_without_network_says_nothing_is_lost(mobile):
    run("pull", "--server", "http://server.invalid", "--token", mobile.token)
    run("simulate", "--count", "1")
    mobile.transport["now"] = Stub(fail=True)
    with pytest.raises(CommandError, match="nothing lost"):
        run("push")
    facts = json.loads(run("status"))
    assert (facts["unsent"], facts["pending_batch"]) == (1, True)
    mobile.transport["now"] = Stub()
    assert run("push").strip() == "pushed 1 batches, 0 images: created 1"


def test_a_station_over_its_unsent_limit_refuses_to_simulate_more(mobile):
    run("pull", "--server", "http://server.invalid", "--token", mobile.token)
    Station.objects.filter(pk=mobile.station.pk).update(max_unsent=1)
    with translation.override("en"), pytest.raises(CommandError, match="push its work"):
        run("simulate", "--count", "3")
    assert Application.objects.filter(station=mobile.station).count() == 1


def test_commands_need_a_pulled_station_first(mobile):
    with pytest.raises(CommandError, match="station pull"):
        run("status")
    with pytest.raises(CommandError, match="station pull"):
        run("push")


def test_a_wrong_token_is_refused_at_pull(mobile, world):
    mobile.transport["now"] = DjangoClientTransport(client=Client(), token="cc_wrong")
    with pytest.raises(CommandError, match="401"):
        run("pull", "--server", "http://server.invalid", "--token", "cc_wrong")
