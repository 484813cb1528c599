"""The import's fast paths: bulk-load mode, the row-by-row fallback, chunks per household."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection

from cancuoc.registry.idnumber import generate
from cancuoc.registry.importing import bulkload, pipeline
from cancuoc.registry.importing.services import import_run, import_start_from_path
from cancuoc.registry.importing.validation import CITIZEN_COLUMNS
from cancuoc.registry.importing.writers import Writer
from cancuoc.registry.models import Citizen, Household, IdentityDocument, ImportJob

HEADER = "so_dinh_danh,ho_ten,ngay_sinh,gioi_tinh,ma_xa_thuong_tru,so_ho,quan_he_chu_ho,cmnd_cu\n"
HANG = generate("042", "female", 1985, 123)
NAM = generate("042", "male", 1982, 124)
CON = generate("042", "male", 2010, 125)
GOOD = (
    HEADER
    + f"{HANG},Nguyễn Thị Hằng,17/05/1985,Nữ,18100,HK001,Vợ,123456789\n"
    + f"{NAM},Trần Văn Nam,1982,Nam,18100,HK001,Chủ hộ,\n"
    + f"{CON},Trần Văn Con,03/2010,Nam,18100,HK001,Con,\n"
)
HOUSEHOLD = CITIZEN_COLUMNS.index("household_number")
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="bulk-load mode exists on PostgreSQL only"
)


def _run(tmp_path, text, name="people.csv", **options):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return import_run(job_id=import_start_from_path(actor=None, path=path).pk, **options)


def _index_definitions() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename IN "
            "('registry_citizen', 'registry_household', 'registry_identitydocument')"
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.parametrize(
    ("new_rows", "existing_rows", "expected"),
    [
        (100_000, 0, True),
        (99_999, 0, False),  # a small file never rebuilds indexes
        (100_000, 200_000, True),  # half the table: rebuilding is cheaper
        (100_000, 200_001, False),
        (1_100_000, 90_000_000, False),  # one province into a national registry
    ],
)
def test_bulk_mode_is_wanted_only_for_a_load_large_against_the_registry(
    new_rows, existing_rows, expected
):
    assert bulkload.wanted(new_rows=new_rows, existing_rows=existing_rows) is expected


@postgres_only
def test_a_large_first_load_drops_the_secondary_indexes_and_restores_them(
    world, tmp_path, monkeypatch
):
    before = _index_definitions()
    seen: list[set[str]] = []
    original = Writer.write_chunk

    def spy(self, rows):
        seen.append(_index_definitions())
        return original(self, rows)

    monkeypatch.setattr(bulkload, "BULK_MIN_ROWS", 1)
    monkeypatch.setattr(bulkload, "BULK_RATIO", 0)
    monkeypatch.setattr(Writer, "write_chunk", spy)
    job = _run(tmp_path, GOOD)
    assert (job.status, job.inserted, job.rejected) == ("done", 3, 0)
    dropped = before - seen[0]
    assert any("citizen_name_words" in d for d in dropped)
    assert any("citizen_path_name" in d for d in dropped)
    # The keys the upsert needs stay while the rows are written.
    assert any("registry_citizen_id_number_key" in d for d in seen[0])
    assert any("registry_household_number_key" in d for d in seen[0])
    assert _index_definitions() == before
    assert "dropped_indexes" not in ImportJob.objects.get(pk=job.pk).mapping
    household = Household.objects.get(number="HK001")
    assert household.head == Citizen.objects.get(id_number=NAM)
    assert IdentityDocument.objects.get().citizen.id_number == HANG


@postgres_only
def test_a_file_of_known_citizens_does_not_enter_bulk_mode(world, tmp_path, monkeypatch):
    _run(tmp_path, GOOD)
    monkeypatch.setattr(bulkload, "BULK_MIN_ROWS", 1)
    entered: list[bool] = []
    monkeypatch.setattr(bulkload.BulkLoad, "begin", lambda self: entered.append(True))
    job = _run(tmp_path, GOOD, name="again.csv")
    assert (job.status, job.unchanged, entered) == ("done", 3, [])


@postgres_only
def test_a_failed_bulk_load_still_restores_the_indexes(world, tmp_path, monkeypatch):
    before = _index_definitions()

    def broken(self, rows):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(bulkload, "BULK_MIN_ROWS", 1)
    monkeypatch.setattr(bulkload, "BULK_RATIO", 0)
    monkeypatch.setattr(Writer, "write_chunk", broken)
    job = _run(tmp_path, GOOD)
    assert job.status == "failed"
    assert _index_definitions() == before
    assert Citizen.objects.count() == 0


@postgres_only
def test_indexes_left_dropped_by_a_dead_import_are_restored_by_the_next(world, tmp_path):
    before = _index_definitions()
    dead = ImportJob.objects.create(unit=world.nation, unit_path="/", original_name="x.csv")
    with connection.cursor() as cursor:
        indexes = bulkload.droppable_indexes(cursor)
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    dead.mapping = {"dropped_indexes": [d for _, d in indexes]}
    dead.save()
    assert _index_definitions() == before - {d for _, d in indexes}
    job = _run(tmp_path, GOOD)
    assert (job.status, job.inserted) == ("done", 3)
    assert _index_definitions() == before
    assert ImportJob.objects.get(pk=dead.pk).mapping == {}


def test_a_chunk_the_database_refuses_is_retried_row_by_row(world, tmp_path, monkeypatch):
    """The set-based step fails as a whole; each row then stands alone in a savepoint."""
    single = Writer._upsert_rows

    def set_based_fails(self, rows):
        raise IntegrityError("refused")

    def row_by_row(self, rows):
        if len(rows) > 1:
            raise IntegrityError("refused")
        if rows[0].citizen[1] == CON:
            raise IntegrityError("value too long for type character varying(32)")
        return single(self, rows)

    monkeypatch.setattr(Writer, "_merge_postgres", set_based_fails)
    monkeypatch.setattr(Writer, "_upsert_rows", row_by_row)
    job = _run(tmp_path, GOOD)
    assert (job.status, job.inserted, job.rejected) == ("done", 2, 1)
    error = job.row_errors.get()
    assert (error.row_number, error.code, error.value) == (4, "database", CON)
    assert set(Citizen.objects.values_list("id_number", flat=True)) == {HANG, NAM}
    assert Household.objects.get(number="HK001").head.id_number == NAM


@pytest.mark.django_db(transaction=True)
def test_two_writers_never_split_a_household_and_merge_every_chunk(world, tmp_path, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the writer threads are used on PostgreSQL only")
    lines = [HEADER.strip()]
    for h in range(12):
        for member, role in enumerate(("Chủ hộ", "Vợ", "Con")):
            number = generate("042", "male", 1970 + member, h * 3 + member)
            lines.append(f"{number},Người {h} {member},{1970 + member},Nam,18100,HK{h:03},{role},")
    path = tmp_path / "families.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    chunks: list[set[str]] = []
    original = Writer.write_chunk

    def spy(self, rows):
        chunks.append({r.citizen[HOUSEHOLD] for r in rows})
        return original(self, rows)

    monkeypatch.setattr(pipeline, "chunk_size", lambda: 4)
    monkeypatch.setattr(Writer, "write_chunk", spy)
    job = import_run(job_id=import_start_from_path(actor=None, path=path).pk, parallel=True)
    assert (job.status, job.inserted, job.rejected) == ("done", 36, 0)
    assert len(chunks) == 6 and all(len(c) == 2 for c in chunks)
    assert sorted(n for c in chunks for n in c) == [f"HK{h:03}" for h in range(12)]
    for household in Household.objects.select_related("head"):
        assert household.head.full_name.endswith(" 0")
        assert household.members.count() == 3


def test_a_new_head_of_household_is_recorded_and_unchanged_members_stay(world, tmp_path):
    _run(tmp_path, GOOD)
    before = Citizen.objects.get(id_number=CON).updated_at
    swapped = GOOD.replace("HK001,Vợ", "HK001,Chủ hộ").replace("HK001,Chủ hộ,\n", "HK001,Chồng,\n")
    job = _run(tmp_path, swapped, name="swapped.csv")
    assert (job.inserted, job.updated, job.unchanged) == (0, 2, 1)
    household = Household.objects.get(number="HK001")
    assert household.head.id_number == HANG
    assert Citizen.objects.get(id_number=NAM).relationship == "spouse"
    assert Citizen.objects.get(id_number=CON).updated_at == before
    assert Household.objects.count() == 1 and IdentityDocument.objects.count() == 1
