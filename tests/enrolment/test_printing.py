"""CC01 and CC02 print as PDFs with the citizen's data, are audited and scoped."""

from __future__ import annotations

import io

import pytest

from cancuoc.core.errors import OutOfScope
from cancuoc.core.models import AuditEntry
from cancuoc.enrolment import printing, services
from tests import factories
from tests.enrolment import factories as ef


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path, db):
    settings.BIOMETRIC_ROOT = tmp_path / "bio"
    ef.load_card_procedures()


def _text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def application(world):
    op = ef.operator(world.commune_a, "op_a")
    station = ef.station(unit=world.commune_a, operators=[op], code="ST-A", name="Trạm Thạch Hà")
    citizen = factories.citizen(unit=world.commune_a, full_name="Phạm Thị Lựu", sex="F")
    return op, ef.completed_application(station=station, citizen=citizen, actor=op)


def test_cc01_prints_the_confirmed_data(application):
    op, app = application
    pdf = printing.form_cc01_pdf(actor=op, application_id=app.pk)
    assert pdf.startswith(b"%PDF")
    text = _text(pdf)
    assert "TỜ KHAI THẺ CĂN CƯỚC" in text
    assert "PHẠM THỊ LỰU" in text and app.citizen.id_number in text
    assert "CC01" in text
    entry = AuditEntry.objects.get(action="enrolment.form_print")
    assert entry.detail == {"form": "CC01", "citizen": app.citizen_id}


def test_cc02_prints_the_due_date(application):
    op, app = application
    pdf = printing.form_cc02_pdf(actor=op, application_id=app.pk)
    text = _text(pdf)
    due = app.dossier.due_date
    assert f"ngày {due:%d} tháng {due:%m} năm {due:%Y}" in text
    assert app.dossier.code in text and "GIẤY HẸN TRẢ THẺ CĂN CƯỚC" in text


def test_cc02_needs_a_completed_intake_and_scope(world, application, carl):
    op, app = application
    busy = ef.in_progress_application(station=app.station, actor=op)
    with pytest.raises(services.EnrolmentError):
        printing.form_cc02_pdf(actor=op, application_id=busy.pk)
    with pytest.raises(OutOfScope):
        printing.form_cc01_pdf(actor=carl, application_id=app.pk)
    assert not AuditEntry.objects.filter(action="enrolment.form_print").exists()
