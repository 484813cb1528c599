# SQL here is assembled from model table names and fixed column lists only; every value
# travels as a parameter or through COPY, so S608 does not apply.
# ruff: noqa: S608
"""Writing validated rows: set-based upserts keyed by the ID number.

``write_chunk`` applies one chunk in one transaction and returns what it did. If the
database refuses the chunk, it is rolled back and retried row by row, each row in its
own savepoint, so a row is applied wholly (citizen, household, documents) or not at all.

- PostgreSQL: COPY the chunk into temporary staging tables (each row drawing its
  citizen id in advance, replaced by the existing id for a known citizen), then one
  set-based statement per table: households (with their head), citizens
  (``INSERT ... ON CONFLICT (id_number) DO UPDATE ... WHERE <something changed>``, rows
  already identical left out first), documents. The deferred foreign keys are checked
  at the end of the chunk, so a conflict falls back to the row-by-row path.
- SQLite (and the row-by-row retry everywhere): the same upserts with executemany.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from cancuoc.registry.importing.validation import (
    CITIZEN_COLUMNS,
    DOCUMENT_COLUMNS,
    CleanRow,
    Issue,
)
from cancuoc.registry.models import Citizen, Household, IdentityDocument
from cancuoc.units.models import Unit

CITIZEN = Citizen._meta.db_table
HOUSEHOLD = Household._meta.db_table
DOCUMENT = IdentityDocument._meta.db_table
UNIT = Unit._meta.db_table

#: Column key of the file -> citizen columns it sets (updated on conflict only if mapped).
KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "ho_ten": ("full_name", "search_name"),
    "ngay_sinh": ("birth_date", "birth_precision", "birth_year"),
    "gioi_tinh": ("sex",),
    "dan_toc": ("ethnicity",),
    "ton_giao": ("religion",),
    "quoc_tich": ("nationality",),
    "noi_dang_ky_khai_sinh": ("birth_registration_place",),
    "que_quan": ("place_of_origin",),
    "ma_xa_thuong_tru": ("permanent_unit_id", "unit_path", "province_code"),
    "dia_chi_thuong_tru": ("permanent_address",),
    "ma_xa_tam_tru": ("current_unit_id",),
    "dia_chi_tam_tru": ("current_address",),
    "so_ho": ("household_id",),
    "quan_he_chu_ho": ("relationship",),
    "so_dien_thoai": ("phone",),
    "tinh_trang": ("life_status",),
    "ngay_mat": ("death_date",),
    "nguoi_cao_tuoi": ("frail_elderly",),
    "khuyet_tat": ("disability",),
    "benh_nang": ("serious_illness",),
    "song_mot_minh": ("living_alone",),
    "gia_dinh_chinh_sach": ("war_merit",),
    "truong_hoc": ("school",),
    "lop": ("grade",),
}
# Citizen table columns written from a clean row (row_number and household_number are
# only carried; household_id is resolved from the household number).
INSERT_COLUMNS = (
    *(c for c in CITIZEN_COLUMNS if c not in ("row_number", "household_number")),
    "household_id",
)
_INDEX = {name: i for i, name in enumerate(CITIZEN_COLUMNS)}
_DOC = {name: i for i, name in enumerate(DOCUMENT_COLUMNS)}


@dataclass
class ChunkResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    issues: list[Issue] = field(default_factory=list)

    def add(self, other: ChunkResult) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.issues.extend(other.issues)


def update_columns(mapped_keys: Sequence[str]) -> tuple[str, ...]:
    columns: list[str] = []
    for key in mapped_keys:
        columns.extend(c for c in KEY_COLUMNS.get(key, ()) if c not in columns)
    if "current_unit_id" in columns:
        columns += [c for c in ("unit_path", "province_code") if c not in columns]
    return tuple(columns)


class Writer:
    """Applies chunks of clean rows. ``scope_prefixes``: where the importer may write
    (``("/",)`` for the whole nation); ``unit_paths``: unit id -> (path, province code)."""

    def __init__(
        self,
        *,
        mapped_keys: Sequence[str],
        scope_prefixes: Sequence[str],
        unit_paths: dict[int, tuple[str, str]],
    ) -> None:
        self.columns = update_columns(mapped_keys)
        self.with_households = "so_ho" in mapped_keys
        self.prefixes = tuple(scope_prefixes)
        self.unit_paths = unit_paths
        self.postgres = connection.vendor == "postgresql"

    # -- the public step ------------------------------------------------------------------

    def write_chunk(self, rows: Sequence[CleanRow]) -> ChunkResult:
        if not rows:
            return ChunkResult()
        try:
            with transaction.atomic():
                if self.postgres:
                    return self._merge_postgres(rows)
                return self._upsert_rows(rows)
        except DatabaseError:
            return self._row_by_row(rows)

    def _row_by_row(self, rows: Sequence[CleanRow]) -> ChunkResult:
        total = ChunkResult()
        for row in rows:
            try:
                with transaction.atomic():
                    total.add(self._upsert_rows([row]))
            except DatabaseError as exc:
                detail = str(exc).strip().splitlines()[0][:150] if str(exc).strip() else "error"
                total.issues.append(
                    Issue(row.citizen[0], "", row.citizen[1], "database", {"detail": detail})
                )
        return total

    # -- scope of existing citizens ---------------------------------------------------------

    def _in_scope(self, path: str) -> bool:
        return any(path.startswith(p) for p in self.prefixes)

    def _out_of_scope_issue(self, row: CleanRow) -> Issue:
        return Issue(row.citizen[0], "so_dinh_danh", row.citizen[1], "citizen_out_of_scope")

    # -- generic path: executemany upserts (SQLite; row-by-row retry on PostgreSQL) ---------

    def _distinct(self, left: str, right: str) -> str:
        op = "IS DISTINCT FROM" if self.postgres else "IS NOT"
        return f"{left} {op} {right}"

    def _param(self, kind: str) -> str:
        return f"%s::{kind}" if self.postgres else "%s"

    def _adapt(self, value: Any) -> Any:
        if not self.postgres and hasattr(value, "isoformat"):
            return value.isoformat()
        return value

    def _existing(self, cursor: Any, numbers: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(numbers), 500):
            part = numbers[start : start + 500]
            marks = ", ".join(["%s"] * len(part))
            cursor.execute(
                f"SELECT id_number, unit_path FROM {CITIZEN} WHERE id_number IN ({marks})",
                part,
            )
            found.update(cursor.fetchall())
        return found

    def _households(self, cursor: Any, rows: Sequence[CleanRow]) -> dict[str, int]:
        heads: dict[str, tuple[Any, ...]] = {}
        others: dict[str, tuple[Any, ...]] = {}
        for row in rows:
            c = row.citizen
            number = c[_INDEX["household_number"]]
            if not number:
                continue
            unit_id = c[_INDEX["permanent_unit_id"]]
            path, province = self.unit_paths[unit_id]
            values = (province, number, unit_id, path, c[_INDEX["permanent_address"]])
            target = heads if c[_INDEX["relationship"]] == "head" else others
            target.setdefault(number, values)
        columns = "(province_code, number, unit_id, unit_path, address)"
        if heads:
            cursor.executemany(
                f"INSERT INTO {HOUSEHOLD} {columns} VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (number) DO UPDATE SET province_code = excluded.province_code, "
                "unit_id = excluded.unit_id, unit_path = excluded.unit_path, "
                "address = excluded.address WHERE "
                + self._distinct(f"{HOUSEHOLD}.unit_id", "excluded.unit_id")
                + " OR "
                + self._distinct(f"{HOUSEHOLD}.address", "excluded.address"),
                list(heads.values()),
            )
        rest = [v for number, v in others.items() if number not in heads]
        if rest:
            cursor.executemany(
                f"INSERT INTO {HOUSEHOLD} {columns} VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (number) DO NOTHING",
                rest,
            )
        numbers = list({*heads, *others})
        ids: dict[str, int] = {}
        for start in range(0, len(numbers), 500):
            part = numbers[start : start + 500]
            marks = ", ".join(["%s"] * len(part))
            cursor.execute(
                f"SELECT number, id FROM {HOUSEHOLD} WHERE number IN ({marks})",
                part,
            )
            ids.update(cursor.fetchall())
        return ids

    def _citizen_sql(self) -> str:
        names = ", ".join(INSERT_COLUMNS)
        marks = ", ".join(
            self._param("date") if n in ("birth_date", "death_date") else "%s"
            for n in INSERT_COLUMNS
        )
        sql = (
            f"INSERT INTO {CITIZEN} ({names}, created_at, updated_at) "
            f"VALUES ({marks}, %s, %s) ON CONFLICT (id_number) DO "
        )
        if not self.columns:
            return sql + "NOTHING"
        sets = ", ".join(f"{c} = excluded.{c}" for c in self.columns)
        changed = " OR ".join(
            self._distinct(f"{CITIZEN}.{c}", f"excluded.{c}") for c in self.columns
        )
        return sql + f"UPDATE SET {sets}, updated_at = excluded.updated_at WHERE {changed}"

    def _upsert_rows(self, rows: Sequence[CleanRow]) -> ChunkResult:
        result = ChunkResult()
        now = (
            self._adapt(timezone.now())
            if self.postgres
            else connection.ops.adapt_datetimefield_value(timezone.now())
        )
        with connection.cursor() as cursor:
            existing = self._existing(cursor, [r.citizen[1] for r in rows])
            if self.prefixes != ("/",):
                kept = []
                for row in rows:
                    path = existing.get(row.citizen[1])
                    if path is not None and not self._in_scope(path):
                        result.issues.append(self._out_of_scope_issue(row))
                    else:
                        kept.append(row)
                rows = kept
            households = self._households(cursor, rows) if self.with_households else {}
            params = []
            skip = (_INDEX["row_number"], _INDEX["household_number"])
            for row in rows:
                c = row.citizen
                values = [self._adapt(v) for i, v in enumerate(c) if i not in skip]
                values.append(households.get(c[_INDEX["household_number"]]))
                params.append((*values, now, now))
            if params:
                cursor.executemany(self._citizen_sql(), params)
                changed = max(cursor.rowcount, 0)
                inserted = sum(1 for r in rows if r.citizen[1] not in existing)
                result.inserted += inserted
                result.updated += max(changed - inserted, 0)
                result.unchanged += len(rows) - inserted - max(changed - inserted, 0)
            heads = [
                (r.citizen[1], r.citizen[_INDEX["household_number"]])
                for r in rows
                if self.with_households
                and r.citizen[_INDEX["relationship"]] == "head"
                and r.citizen[_INDEX["household_number"]]
            ]
            if heads:
                cursor.executemany(
                    f"UPDATE {HOUSEHOLD} SET head_id = (SELECT id FROM {CITIZEN} "
                    "WHERE id_number = %s) WHERE number = %s",
                    heads,
                )
            self._documents(cursor, [d for r in rows for d in r.documents])
        return result

    def _documents(self, cursor: Any, documents: list[tuple[Any, ...]]) -> None:
        if not documents:
            return
        date = self._param("date")
        updates, inserts = [], []
        for d in documents:
            issued, expiry = self._adapt(d[_DOC["issue_date"]]), self._adapt(d[_DOC["expiry_date"]])
            number, kind, doc = d[_DOC["id_number"]], d[_DOC["kind"]], d[_DOC["number"]]
            place, status = d[_DOC["issue_place"]], d[_DOC["status"]]
            updates.append((issued, place, place, expiry, status, number, kind, doc))
            inserts.append((kind, doc, issued, place, expiry, status, number, kind, doc))
        cursor.executemany(
            f"UPDATE {DOCUMENT} SET issue_date = COALESCE({date}, issue_date), "
            "issue_place = CASE WHEN %s = '' THEN issue_place ELSE %s END, "
            f"expiry_date = COALESCE({date}, expiry_date), status = %s "
            f"WHERE citizen_id = (SELECT id FROM {CITIZEN} WHERE id_number = %s) "
            "AND kind = %s AND number = %s",
            updates,
        )
        cursor.executemany(
            f"INSERT INTO {DOCUMENT} (citizen_id, province_code, kind, number, issue_date, "
            f"issue_place, expiry_date, status) SELECT c.id, c.province_code, %s, %s, {date}, "
            f"%s, {date}, %s FROM {CITIZEN} c WHERE c.id_number = %s AND NOT EXISTS "
            f"(SELECT 1 FROM {DOCUMENT} d WHERE d.citizen_id = c.id AND d.kind = %s "
            "AND d.number = %s)",
            inserts,
        )

    # -- PostgreSQL fast path: COPY into staging, then set-based merge ----------------------

    _STAGE_TYPES = {
        "row_number": "integer",
        "birth_date": "date",
        "birth_year": "smallint",
        "permanent_unit_id": "bigint",
        "current_unit_id": "bigint",
        "death_date": "date",
        "frail_elderly": "boolean",
        "disability": "boolean",
        "serious_illness": "boolean",
        "living_alone": "boolean",
        "war_merit": "boolean",
        "issue_date": "date",
        "expiry_date": "date",
    }

    def _ensure_stage(self, cursor: Any) -> None:
        def table(name: str, columns: Sequence[str], *extra: str) -> str:
            body = ", ".join(
                [*(f"{c} {self._STAGE_TYPES.get(c, 'text')}" for c in columns), *extra]
            )
            return f"CREATE TEMP TABLE {name} ({body}) ON COMMIT DELETE ROWS"

        cursor.execute("SELECT to_regclass('pg_temp.import_stage') IS NOT NULL")
        if cursor.fetchone()[0]:
            return
        # A chunk's staging rows stay in local buffers instead of spilling to temp files
        # (allowed only before the session's first temporary table is touched).
        cursor.execute("SET temp_buffers = '64MB'")
        # cid: the citizen's id, drawn from the citizen sequence as the row is copied in
        # (so households and documents can point at citizens not yet written), replaced
        # by the existing id for a citizen already registered (a drawn number is then
        # simply never used); old_path: the existing citizen's unit path (scope check).
        cursor.execute(
            table(
                "import_stage",
                CITIZEN_COLUMNS,
                f"cid bigint NOT NULL DEFAULT nextval(pg_get_serial_sequence('{CITIZEN}', "
                "'id')), fresh boolean NOT NULL DEFAULT true, old_path text, "
                "PRIMARY KEY (row_number)",
            )
        )
        cursor.execute(table("import_stage_doc", DOCUMENT_COLUMNS))

    def _copy(self, cursor: Any, name: str, columns: Sequence[str], rows: Any) -> None:
        with cursor.cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
            for values in rows:
                copy.write_row(values)

    def _merge_postgres(self, rows: Sequence[CleanRow]) -> ChunkResult:
        result = ChunkResult()
        with connection.cursor() as cursor:
            self._ensure_stage(cursor)
            # Empty after each commit (ON COMMIT DELETE ROWS), but not when the caller's
            # transaction holds several chunks (a chunk is then only a savepoint).
            cursor.execute("DELETE FROM import_stage")
            cursor.execute("DELETE FROM import_stage_doc")
            # A chunk is a few thousand rows against tables of millions: index lookups
            # (nested loops) beat hashing the whole citizen or household table per chunk,
            # which the planner picks for an unanalysed temporary table.
            cursor.execute("SET LOCAL enable_hashjoin = off")
            cursor.execute("SET LOCAL enable_mergejoin = off")
            # JIT compiling each merge costs ~0.2 s per statement and saves nothing here.
            cursor.execute("SET LOCAL jit = off")
            # An import can be re-run (the upsert is idempotent), so a crash losing the
            # last few chunk commits costs nothing: do not wait for each WAL flush.
            cursor.execute("SET LOCAL synchronous_commit = off")
            self._copy(cursor, "import_stage", CITIZEN_COLUMNS, (r.citizen for r in rows))
            self._copy(
                cursor,
                "import_stage_doc",
                DOCUMENT_COLUMNS,
                (d for r in rows for d in r.documents),
            )
            staged = len(rows)
            cursor.execute(
                f"UPDATE import_stage s SET cid = c.id, fresh = false, old_path = c.unit_path "
                f"FROM {CITIZEN} c WHERE c.id_number = s.id_number"
            )
            if self.prefixes != ("/",):
                cursor.execute(
                    "DELETE FROM import_stage WHERE old_path IS NOT NULL "
                    "AND NOT (old_path LIKE ANY(%s)) RETURNING row_number, id_number",
                    [[p + "%" for p in self.prefixes]],
                )
                refused = sorted(cursor.fetchall())
                if refused:
                    numbers = [r for r, _ in refused]
                    cursor.execute(
                        "DELETE FROM import_stage_doc WHERE row_number = ANY(%s)", [numbers]
                    )
                    result.issues += [
                        Issue(r, "so_dinh_danh", n, "citizen_out_of_scope") for r, n in refused
                    ]
                    staged -= len(refused)
            if self.with_households:
                self._merge_households(cursor)
            inserted, updated = self._merge_citizens(cursor)
            result.inserted, result.updated = inserted, updated
            result.unchanged = staged - inserted - updated
            self._merge_documents(cursor)
            # Households and documents point at ids drawn in advance; if a concurrent
            # writer created one of these citizens meanwhile, the deferred foreign keys
            # fail here, inside the chunk, and the chunk is retried row by row.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        return result

    def _merge_households(self, cursor: Any) -> None:
        # One row per household number: its head's row if the chunk has one (the head's
        # residence and address are the household's, and the head is recorded), else
        # the first member's, which only creates a household not yet known. Households
        # already as the file says are left out before the upsert, which would lock
        # (and so write) every one of them on a re-import.
        cursor.execute(
            f"INSERT INTO {HOUSEHOLD} (province_code, number, unit_id, unit_path, address, "
            "head_id) SELECT * FROM (SELECT DISTINCT ON (s.household_number) u.province_code, "
            "s.household_number AS number, s.permanent_unit_id AS unit_id, u.path, "
            "s.permanent_address AS address, CASE WHEN s.relationship = 'head' THEN s.cid END "
            f"AS head_id FROM import_stage s JOIN {UNIT} u ON u.id = s.permanent_unit_id "
            "WHERE s.household_number <> '' "
            "ORDER BY s.household_number, s.relationship <> 'head', s.row_number) x "
            f"WHERE NOT EXISTS (SELECT 1 FROM {HOUSEHOLD} e WHERE e.number = x.number AND "
            "(x.head_id IS NULL OR (e.unit_id, e.address, e.head_id) IS NOT DISTINCT FROM "
            "(x.unit_id, x.address, x.head_id))) "
            "ON CONFLICT (number) DO UPDATE SET province_code = EXCLUDED.province_code, "
            "unit_id = EXCLUDED.unit_id, unit_path = EXCLUDED.unit_path, "
            "address = EXCLUDED.address, head_id = EXCLUDED.head_id WHERE "
            f"EXCLUDED.head_id IS NOT NULL AND ({HOUSEHOLD}.unit_id, {HOUSEHOLD}.address, "
            f"{HOUSEHOLD}.head_id) IS DISTINCT FROM "
            "(EXCLUDED.unit_id, EXCLUDED.address, EXCLUDED.head_id)"
        )

    def _merge_citizens(self, cursor: Any) -> tuple[int, int]:
        names = ", ".join(INSERT_COLUMNS)

        def value(column: str) -> str:
            return "h.id" if column == "household_id" else f"s.{column}"

        values = ", ".join(value(c) for c in INSERT_COLUMNS)
        conflict = "NOTHING"
        # Rows already as the file says are left out before the upsert: ON CONFLICT would
        # lock (and so write) each of them, the bulk of a re-imported file's cost.
        wanted = "s.fresh"
        if self.columns:
            sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in self.columns)
            mine = ", ".join(f"{CITIZEN}.{c}" for c in self.columns)
            theirs = ", ".join(f"EXCLUDED.{c}" for c in self.columns)
            conflict = (
                f"UPDATE SET {sets}, updated_at = EXCLUDED.updated_at "
                f"WHERE ROW({mine}) IS DISTINCT FROM ROW({theirs})"
            )
            current = ", ".join(f"c.{c}" for c in self.columns)
            staged = ", ".join(value(c) for c in self.columns)
            wanted = (
                f"s.fresh OR NOT EXISTS (SELECT 1 FROM {CITIZEN} c WHERE c.id = s.cid AND "
                f"ROW({current}) IS NOT DISTINCT FROM ROW({staged}))"
            )
        cursor.execute(
            f"WITH up AS (INSERT INTO {CITIZEN} (id, {names}, created_at, updated_at) "
            f"SELECT s.cid, {values}, now(), now() FROM import_stage s LEFT JOIN {HOUSEHOLD} h "
            f"ON s.household_number <> '' AND h.number = s.household_number WHERE {wanted} "
            f"ON CONFLICT (id_number) DO {conflict} RETURNING (xmax = 0) AS fresh) "
            "SELECT count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh) FROM up"
        )
        inserted, updated = cursor.fetchone()
        return int(inserted), int(updated)

    def _merge_documents(self, cursor: Any) -> None:
        # Documents reach their citizen through the staged row (cid, fresh): no lookup
        # in the citizen table. A new citizen has no documents yet: a plain insert.
        columns = (
            f"INSERT INTO {DOCUMENT} (citizen_id, province_code, kind, number, issue_date, "
            "issue_place, expiry_date, status) SELECT s.cid, s.province_code, sd.kind, "
            "sd.number, sd.issue_date, sd.issue_place, sd.expiry_date, sd.status "
            "FROM import_stage_doc sd JOIN import_stage s ON s.row_number = sd.row_number "
        )
        cursor.execute(columns + "WHERE s.fresh")
        cursor.execute(
            f"UPDATE {DOCUMENT} d SET issue_date = COALESCE(sd.issue_date, d.issue_date), "
            "issue_place = COALESCE(NULLIF(sd.issue_place, ''), d.issue_place), "
            "expiry_date = COALESCE(sd.expiry_date, d.expiry_date), status = sd.status "
            "FROM import_stage_doc sd JOIN import_stage s ON s.row_number = sd.row_number "
            "WHERE NOT s.fresh AND d.citizen_id = s.cid AND d.kind = sd.kind "
            "AND d.number = sd.number "
            "AND (d.issue_date, d.issue_place, d.expiry_date, d.status) IS DISTINCT FROM "
            "(COALESCE(sd.issue_date, d.issue_date), COALESCE(NULLIF(sd.issue_place, ''), "
            "d.issue_place), COALESCE(sd.expiry_date, d.expiry_date), sd.status)"
        )
        cursor.execute(
            columns + f"WHERE NOT s.fresh AND NOT EXISTS (SELECT 1 FROM {DOCUMENT} d "
            "WHERE d.citizen_id = s.cid AND d.kind = sd.kind AND d.number = sd.number)"
        )
