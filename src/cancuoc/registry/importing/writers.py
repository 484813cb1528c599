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


#: Statuses an import never changes: a card cancelled (death, replacement), reported
#: lost, or enrolled / in production since the file was exported. Re-importing an old
#: list must not bring such a card back to "valid".
HELD_STATUSES = ("cancelled", "lost", "enrolled", "in_production")


def kept_status(current: str, status: str, *, stated: bool) -> str:
    """A known document's status after the import: the file's only if it states one and
    the document is not held."""
    return status if stated and current not in HELD_STATUSES else current


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

    def _household_issue(self, row_number: int, number: str) -> Issue:
        return Issue(row_number, "so_ho", number, "household_out_of_scope", {"number": number})

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

    def _household_paths(self, cursor: Any, numbers: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(numbers), 500):
            part = numbers[start : start + 500]
            marks = ", ".join(["%s"] * len(part))
            cursor.execute(
                f"SELECT number, unit_path FROM {HOUSEHOLD} WHERE number IN ({marks})", part
            )
            found.update(cursor.fetchall())
        return found

    def _scoped(
        self, cursor: Any, rows: Sequence[CleanRow], existing: dict[str, str], result: ChunkResult
    ) -> list[CleanRow]:
        """The rows the importer may write: an existing citizen, or an existing household
        (numbers are national), outside the importer's scope refuses the whole row."""
        if self.prefixes == ("/",):
            return list(rows)
        households: dict[str, str] = {}
        if self.with_households:
            numbers = {r.citizen[_INDEX["household_number"]] for r in rows} - {""}
            households = self._household_paths(cursor, sorted(numbers))
        kept = []
        for row in rows:
            path = existing.get(row.citizen[1])
            number = row.citizen[_INDEX["household_number"]]
            held = households.get(number) if number else None
            if path is not None and not self._in_scope(path):
                result.issues.append(self._out_of_scope_issue(row))
            elif held is not None and not self._in_scope(held):
                result.issues.append(self._household_issue(row.citizen[0], number))
            else:
                kept.append(row)
        return kept

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
            rows = self._scoped(cursor, rows, existing, result)
            households = self._households(cursor, rows) if self.with_households else {}
            params = []
            skip = (_INDEX["row_number"], _INDEX["household_number"])
            for row in rows:
                c = row.citizen
                values = [self._adapt(v) for i, v in enumerate(c) if i not in skip]
                values.append(households.get(c[_INDEX["household_number"]]))
                params.append((*values, now, now))
            known = [r.citizen[1] for r in rows if r.citizen[1] in existing]
            changed: set[str] = set()
            if params:
                cursor.executemany(self._citizen_sql(), params)
                # The upsert stamps updated_at only on the citizens it changed.
                changed = self._stamped(cursor, known, now)
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
            changed |= self._documents(cursor, [d for r in rows for d in r.documents], set(known))
            inserted = len(rows) - len(known)
            result.inserted += inserted
            result.updated += len(changed)
            result.unchanged += len(known) - len(changed)
        return result

    def _stamped(self, cursor: Any, numbers: list[str], now: Any) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(numbers), 500):
            part = numbers[start : start + 500]
            marks = ", ".join(["%s"] * len(part))
            cursor.execute(
                f"SELECT id_number FROM {CITIZEN} WHERE id_number IN ({marks}) AND updated_at = %s",
                [*part, now],
            )
            found.update(n for (n,) in cursor.fetchall())
        return found

    def _current_documents(
        self, cursor: Any, numbers: list[str]
    ) -> dict[tuple[str, str, str], tuple[Any, ...]]:
        """(citizen ID number, kind, number) -> (issue date, place, expiry, status)."""
        found: dict[tuple[str, str, str], tuple[Any, ...]] = {}
        for start in range(0, len(numbers), 500):
            part = numbers[start : start + 500]
            marks = ", ".join(["%s"] * len(part))
            cursor.execute(
                f"SELECT c.id_number, d.kind, d.number, d.issue_date, d.issue_place, "
                f"d.expiry_date, d.status FROM {DOCUMENT} d JOIN {CITIZEN} c "
                f"ON c.id = d.citizen_id WHERE c.id_number IN ({marks})",
                part,
            )
            for number, kind, doc, *rest in cursor.fetchall():
                found[(number, kind, doc)] = tuple(self._adapt(v) for v in rest)
        return found

    def _documents(
        self, cursor: Any, documents: list[tuple[Any, ...]], known: set[str]
    ) -> set[str]:
        """Write the documents; the ID numbers of known citizens whose documents changed."""
        if not documents:
            return set()
        current = self._current_documents(
            cursor, sorted({d[_DOC["id_number"]] for d in documents} & known)
        )
        date = self._param("date")
        updates, inserts = [], []
        changed: set[str] = set()
        for d in documents:
            issued, expiry = self._adapt(d[_DOC["issue_date"]]), self._adapt(d[_DOC["expiry_date"]])
            number, kind, doc = d[_DOC["id_number"]], d[_DOC["kind"]], d[_DOC["number"]]
            place, status = d[_DOC["issue_place"]], d[_DOC["status"]]
            old = current.get((number, kind, doc))
            if old is None:
                inserts.append((kind, doc, issued, place, expiry, status, number, kind, doc))
                if number in known:
                    changed.add(number)
                continue
            new = (
                issued if issued is not None else old[0],
                place or old[1],
                expiry if expiry is not None else old[2],
                kept_status(old[3], status, stated=d[_DOC["set_status"]]),
            )
            if new != old:
                updates.append((*new, number, kind, doc))
                changed.add(number)
        if updates:
            cursor.executemany(
                f"UPDATE {DOCUMENT} SET issue_date = {date}, issue_place = %s, "
                f"expiry_date = {date}, status = %s "
                f"WHERE citizen_id = (SELECT id FROM {CITIZEN} WHERE id_number = %s) "
                "AND kind = %s AND number = %s",
                updates,
            )
        if not inserts:
            return changed
        cursor.executemany(
            f"INSERT INTO {DOCUMENT} (citizen_id, province_code, kind, number, issue_date, "
            f"issue_place, expiry_date, status) SELECT c.id, c.province_code, %s, %s, {date}, "
            f"%s, {date}, %s FROM {CITIZEN} c WHERE c.id_number = %s AND NOT EXISTS "
            f"(SELECT 1 FROM {DOCUMENT} d WHERE d.citizen_id = c.id AND d.kind = %s "
            "AND d.number = %s)",
            inserts,
        )
        return changed

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
        "set_status": "boolean",
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
        # simply never used); old_path: the existing citizen's unit path, household_path:
        # the existing household's (scope checks).
        cursor.execute(
            table(
                "import_stage",
                CITIZEN_COLUMNS,
                f"cid bigint NOT NULL DEFAULT nextval(pg_get_serial_sequence('{CITIZEN}', "
                "'id')), fresh boolean NOT NULL DEFAULT true, old_path text, "
                "household_path text, PRIMARY KEY (row_number)",
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
                staged -= self._refuse_out_of_scope(cursor, result)
            if self.with_households:
                self._merge_households(cursor)
            inserted, updated = self._merge_citizens(cursor)
            updated |= self._merge_documents(cursor)
            result.inserted, result.updated = inserted, len(updated)
            result.unchanged = staged - inserted - len(updated)
            # Households and documents point at ids drawn in advance; if a concurrent
            # writer created one of these citizens meanwhile, the deferred foreign keys
            # fail here, inside the chunk, and the chunk is retried row by row.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        return result

    def _refuse_out_of_scope(self, cursor: Any, result: ChunkResult) -> int:
        """Drop the staged rows of citizens, or households (numbers are national), that
        exist outside the importer's scope; the number of rows dropped."""
        likes = [[p + "%" for p in self.prefixes]]
        cursor.execute(
            "DELETE FROM import_stage WHERE old_path IS NOT NULL "
            "AND NOT (old_path LIKE ANY(%s)) RETURNING row_number, id_number",
            likes,
        )
        refused = sorted(cursor.fetchall())
        result.issues += [Issue(r, "so_dinh_danh", n, "citizen_out_of_scope") for r, n in refused]
        rows = [r for r, _ in refused]
        if self.with_households:
            cursor.execute(
                f"UPDATE import_stage s SET household_path = h.unit_path FROM {HOUSEHOLD} h "
                "WHERE s.household_number <> '' AND h.number = s.household_number"
            )
            cursor.execute(
                "DELETE FROM import_stage WHERE household_path IS NOT NULL "
                "AND NOT (household_path LIKE ANY(%s)) RETURNING row_number, household_number",
                likes,
            )
            held = sorted(cursor.fetchall())
            result.issues += [self._household_issue(r, n) for r, n in held]
            rows += [r for r, _ in held]
        if rows:
            cursor.execute("DELETE FROM import_stage_doc WHERE row_number = ANY(%s)", [rows])
        return len(rows)

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

    def _merge_citizens(self, cursor: Any) -> tuple[int, set[int]]:
        """(citizens inserted, ids of known citizens updated)."""
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
            f"ON CONFLICT (id_number) DO {conflict} RETURNING id, (xmax = 0) AS fresh) "
            "SELECT NULL, count(*) FROM up WHERE fresh UNION ALL "
            "SELECT id, 0 FROM up WHERE NOT fresh"
        )
        inserted, updated = 0, set()
        for citizen_id, count in cursor.fetchall():
            if citizen_id is None:
                inserted = int(count)
            else:
                updated.add(int(citizen_id))
        return inserted, updated

    def _merge_documents(self, cursor: Any) -> set[int]:
        """Write the documents; the ids of known citizens whose documents changed."""
        # Documents reach their citizen through the staged row (cid, fresh): no lookup
        # in the citizen table. A new citizen has no documents yet: a plain insert.
        columns = (
            f"INSERT INTO {DOCUMENT} (citizen_id, province_code, kind, number, issue_date, "
            "issue_place, expiry_date, status) SELECT s.cid, s.province_code, sd.kind, "
            "sd.number, sd.issue_date, sd.issue_place, sd.expiry_date, sd.status "
            "FROM import_stage_doc sd JOIN import_stage s ON s.row_number = sd.row_number "
        )
        cursor.execute(columns + "WHERE s.fresh")
        # The status as kept_status() says: the file's only if stated and not held.
        status = "CASE WHEN sd.set_status AND d.status <> ALL(%s) THEN sd.status ELSE d.status END"
        held = [list(HELD_STATUSES)]
        cursor.execute(
            f"UPDATE {DOCUMENT} d SET issue_date = COALESCE(sd.issue_date, d.issue_date), "
            "issue_place = COALESCE(NULLIF(sd.issue_place, ''), d.issue_place), "
            f"expiry_date = COALESCE(sd.expiry_date, d.expiry_date), status = {status} "
            "FROM import_stage_doc sd JOIN import_stage s ON s.row_number = sd.row_number "
            "WHERE NOT s.fresh AND d.citizen_id = s.cid AND d.kind = sd.kind "
            "AND d.number = sd.number "
            "AND (d.issue_date, d.issue_place, d.expiry_date, d.status) IS DISTINCT FROM "
            "(COALESCE(sd.issue_date, d.issue_date), COALESCE(NULLIF(sd.issue_place, ''), "
            f"d.issue_place), COALESCE(sd.expiry_date, d.expiry_date), {status}) "
            "RETURNING d.citizen_id",
            held + held,
        )
        changed = {int(c) for (c,) in cursor.fetchall()}
        cursor.execute(
            columns + f"WHERE NOT s.fresh AND NOT EXISTS (SELECT 1 FROM {DOCUMENT} d "
            "WHERE d.citizen_id = s.cid AND d.kind = sd.kind AND d.number = sd.number) "
            "RETURNING citizen_id"
        )
        changed.update(int(c) for (c,) in cursor.fetchall())
        return changed
