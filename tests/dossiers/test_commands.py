"""`cancuoc load-procedures` and `cancuoc deadline`."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cancuoc.dossiers.models import Procedure, ProcedureVersion


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


@pytest.fixture
def loaded(db):
    return json.loads(run("load-procedures"))


def test_load_procedures_is_idempotent(loaded):
    assert loaded["procedures_created"] == 11
    counts = (Procedure.objects.count(), ProcedureVersion.objects.count())
    again = json.loads(run("load-procedures"))
    assert again["procedures_created"] == 0 and again["versions_created"] == 0
    assert (Procedure.objects.count(), ProcedureVersion.objects.count()) == counts


def test_load_procedures_refuses_a_bad_file(db, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"procedures": [{"code": "x"}]}', "utf-8")
    with pytest.raises(CommandError, match="code"):
        run("load-procedures", str(bad))
    with pytest.raises(CommandError):
        run("load-procedures", str(tmp_path / "missing.json"))
    assert Procedure.objects.count() == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # Marital status (3 days), Tuesday 9/2/2021 before Tết 2021 (10–16/2 off).
        (["--procedure", "1.004873", "--received", "2021-02-09T09:00"], "2021-02-19"),
        # The 15:00 rule, written the Vietnamese way.
        (["--procedure", "1.004873", "--received", "07/03/2025 15:30"], "2025-03-13"),
        (["--procedure", "1.004873", "--received", "2025-03-07 15:00"], "2025-03-12"),
        # Birth registration on a Saturday: due the next working day.
        (["--procedure", "1.001193", "--received", "2025-03-01"], "2025-03-03"),
        # ID card under the 2014 law in a mountain area: 20 working days.
        (
            ["--procedure", "1.001773", "--received", "2021-03-01T09:00", "--area", "remote"],
            "2021-03-29",
        ),
        # A working Saturday (26/4/2025) and the Tết 2026 week; a pause adds days.
        (["--procedure", "1.004873", "--received", "2025-04-24T09:00"], "2025-04-28"),
        (
            ["--procedure", "1.012410", "--received", "2026-02-11T09:00", "--paused", "2"],
            "2026-03-03",
        ),
    ],
)
def test_deadline_prints_the_due_date(loaded, args, expected):
    assert run("deadline", *args) == expected


def test_deadline_json(loaded):
    row = json.loads(
        run(
            "deadline",
            "--procedure",
            "1.012410",
            "--received",
            "2026-02-13T15:30+07:00",
            "--format",
            "json",
        )
    )
    assert row == {
        "procedure": "1.012410",
        "received": "2026-02-13T15:30:00+07:00",
        "area": "",
        "processing_days": 7,
        "paused_working_days": 0,
        "due_date": "2026-03-04",
    }


@pytest.mark.parametrize(
    "args",
    [
        ["--procedure", "9.999999", "--received", "2025-03-03"],
        ["--procedure", "1.004873", "--received", "yesterday"],
        ["--procedure", "1.012410", "--received", "2020-01-01"],
    ],
)
def test_deadline_errors(loaded, args):
    with pytest.raises(CommandError):
        run("deadline", *args)
