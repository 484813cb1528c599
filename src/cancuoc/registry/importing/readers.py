"""Streaming readers: a CSV or XLSX file of any size becomes (row number, cells) pairs.

Memory stays flat in the file's size: CSV is decoded and parsed line by line; XLSX is
read with openpyxl's read-only mode, which parses the sheet XML as a stream. Every
file-level problem (empty file, unknown encoding, no header row, several header rows,
merged cells over the data) is found by ``open_source`` *before* a single row is
returned, so an import that fails on them has written nothing.

Pure: no Django import. Errors are ``FileProblem`` with a stable ``code`` and ``params``.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cancuoc.registry.importing import encodings
from cancuoc.registry.importing.columns import match_count, normalise_heading

__all__ = ["FileProblem", "Source", "open_source"]

SAMPLE_BYTES = 1 << 20  # detection reads the first MiB
HEADER_SEARCH_ROWS = 10
MIN_HEADER_MATCHES = 3
csv.field_size_limit(1 << 20)
_SURROGATE = re.compile("[\udc80-\udcff]")
BAD_LINE_MARK = "\x00bad\x00"


class FileProblem(ValueError):
    """The file as a whole cannot be imported. ``code`` is stable (messages live in Django)."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code, params)
        self.code = code
        self.params = params


class RowProblem(ValueError):
    """One line cannot be read (malformed CSV); the import goes on with the next."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code, params)
        self.code = code
        self.params = params


@dataclass
class Source:
    """An opened file: its header, and an iterator over the data rows.

    ``rows()`` yields ``(row_number, cells)`` with the row number as a spreadsheet shows
    it (the header row counts), or ``(row_number, RowProblem)`` for a line that cannot
    be read. ``total_rows`` is an estimate for the progress bar (exact for XLSX).
    """

    format: str
    encoding: str
    header: list[str]
    header_row: int
    total_rows: int
    _rows: Callable[[], Iterator[tuple[int, Sequence[object] | RowProblem]]]
    _close: Callable[[], None] = field(default=lambda: None)

    def rows(self) -> Iterator[tuple[int, Sequence[object] | RowProblem]]:
        return self._rows()

    def close(self) -> None:
        self._close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_source(path: str | Path, *, encoding: str = "auto") -> Source:
    """Open ``path`` (CSV or XLSX, told apart by content, not by name)."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise FileProblem("empty_file")
    with path.open("rb") as probe:
        head = probe.read(4)
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(path)
    if head.startswith((b"\xd0\xcf\x11\xe0",)):
        raise FileProblem("xls_unsupported")
    return _open_csv(path, encoding=encoding, size=size)


# --- Header detection, shared by both formats ----------------------------------------------


def _find_header(first_rows: list[Sequence[object]]) -> int:
    """Index (0-based) of the header row among the first rows, or FileProblem."""
    for index, cells in enumerate(first_rows[:HEADER_SEARCH_ROWS]):
        if match_count(cells) >= MIN_HEADER_MATCHES:
            return index
    raise FileProblem("no_header")


def _is_blank(cells: Sequence[object]) -> bool:
    return all(c is None or str(c).strip() == "" for c in cells)


def _check_single_header(first_rows: list[Sequence[object]], index: int) -> None:
    """Several header rows: a group-heading row above, or a second heading row below."""
    filled = [sum(1 for c in cells if c not in (None, "")) for cells in first_rows]
    above = [i for i in range(index) if filled[i] >= 2]
    below = index + 1
    second = False
    if below < len(first_rows):
        cells = first_rows[below]
        known = match_count(cells)
        numbered = [normalise_heading(c) for c in cells if c not in (None, "")]
        # "(1) (2) (3)" column-number rows under the header, common in official forms
        counting = len(numbered) >= 3 and all(n.isdigit() for n in numbered)
        second = known >= MIN_HEADER_MATCHES or counting
    if above or second:
        first = (above[0] if above else index) + 1
        last = below + 1 if second else index + 1
        raise FileProblem("several_header_rows", first=first, last=last)


# --- CSV ----------------------------------------------------------------------------------


def _count_lines(path: Path) -> int:
    count, last = 0, b"\n"
    with path.open("rb") as f:
        while chunk := f.read(1 << 24):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def _sniff_delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _open_csv(path: Path, *, encoding: str, size: int) -> Source:
    with path.open("rb") as probe:
        sample = probe.read(SAMPLE_BYTES)
    if not sample.strip(b"\xef\xbb\xbf\xff\xfe\x00 \r\n\t"):
        raise FileProblem("empty_file")
    if encoding == "auto":
        try:
            encoding = encodings.detect(sample)
        except encodings.UndetectableEncoding as exc:
            raise FileProblem("encoding_undetectable") from exc
    codec = encodings.STREAM_CODECS.get(encoding)
    if codec is None:
        raise FileProblem("encoding_unknown", encoding=encoding)
    fix = encodings.cell_fixer(encoding)
    binary = path.open("rb")

    def text_stream() -> io.TextIOWrapper:
        binary.seek(0)
        # surrogateescape keeps undecodable bytes visible, so the row holding them is
        # rejected (bad_characters) instead of the whole file failing mid-way.
        return io.TextIOWrapper(binary, encoding=codec, errors="surrogateescape", newline="")

    stream = text_stream()
    first_line = stream.readline()
    delimiter = _sniff_delimiter(first_line)
    stream.detach()
    stream = text_stream()
    reader = csv.reader(stream, delimiter=delimiter, strict=True)
    first_rows: list[Sequence[object]] = []
    try:
        for cells in reader:
            first_rows.append([fix(c) for c in cells])
            if len(first_rows) > HEADER_SEARCH_ROWS:
                break
    except (csv.Error, UnicodeError) as exc:
        # A bad line after the header is a row problem, reported when rows are read.
        if not any(match_count(r) >= MIN_HEADER_MATCHES for r in first_rows):
            binary.close()
            raise FileProblem("malformed_header", detail=str(exc)) from exc
    index = _find_header(first_rows)
    _check_single_header(first_rows, index)
    header = [str(c).strip() for c in first_rows[index]]
    lines = _count_lines(path)
    stream.detach()

    def decoded_lines() -> Iterator[str]:
        # Decode fixes (VNI pairs, NFC) run once per line, not once per cell; a line
        # with undecodable bytes is marked so its row is rejected, not the file.
        for line in text_stream():
            if line.isascii():
                yield line
            elif _SURROGATE.search(line):
                yield BAD_LINE_MARK + line
            else:
                yield fix(line)

    def rows() -> Iterator[tuple[int, Sequence[object] | RowProblem]]:
        reader = csv.reader(decoded_lines(), delimiter=delimiter, strict=True)
        width = len(header)
        number = 0  # records, as Excel numbers the rows of a CSV it opens
        while True:
            number += 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield number, RowProblem("malformed_line", detail=str(exc))
                continue
            if number <= index + 1:
                continue
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if cells[0].startswith(BAD_LINE_MARK):
                yield number, RowProblem("bad_characters", encoding=encoding)
                continue
            if len(cells) != width and not (len(cells) > width and _is_blank(cells[width:])):
                yield number, RowProblem("column_count", found=len(cells), expected=width)
                continue
            yield number, cells

    return Source(
        format="csv",
        encoding=encoding,
        header=header,
        header_row=index + 1,
        total_rows=max(lines - index - 1, 0),
        _rows=rows,
        _close=binary.close,
    )


# --- XLSX ---------------------------------------------------------------------------------

_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


def _sheet_part(path: Path) -> str:
    """The zip member of the first worksheet (what openpyxl's ``active`` usually is)."""
    with zipfile.ZipFile(path) as archive:
        names = sorted(
            (n for n in archive.namelist() if re.match(r"xl/worksheets/sheet\d+\.xml$", n)),
            key=lambda n: int(re.findall(r"\d+", n)[-1]),
        )
    if not names:
        raise FileProblem("xlsx_unreadable", detail="no worksheet")
    return names[0]


def _merged_rows(path: Path, part: str) -> list[tuple[int, int]]:
    """Row spans of merged ranges, found by streaming the sheet XML (mergeCells come
    after the data, and openpyxl's read-only mode does not report them)."""
    spans: list[tuple[int, int]] = []
    tail = b""
    with zipfile.ZipFile(path) as archive, archive.open(part) as sheet:
        while chunk := sheet.read(1 << 20):
            window = tail + chunk
            if b"mergeCell" in window:
                for match in _MERGE.finditer(window):
                    first = int(match.group(2))
                    last = int(match.group(4) or first)
                    spans.append((first, last))
            tail = window[-200:]
    return sorted(set(spans))


def _open_xlsx(path: Path) -> Source:
    import openpyxl  # imported here: CSV imports never pay for it

    try:
        part = _sheet_part(path)
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except FileProblem:
        raise
    except Exception as exc:  # a corrupt zip or a non-Excel zip
        raise FileProblem("xlsx_unreadable", detail=str(exc)[:200]) from exc
    sheet = workbook.worksheets[0]
    first_rows: list[Sequence[object]] = []
    for cells in sheet.iter_rows(values_only=True, max_row=HEADER_SEARCH_ROWS + 1):
        first_rows.append(list(cells))
    if not first_rows or all(_is_blank(r) for r in first_rows):
        workbook.close()
        raise FileProblem("empty_file")
    index = _find_header(first_rows)
    header_row = index + 1
    merged = [(a, b) for a, b in _merged_rows(path, part) if b >= header_row]
    if merged:
        workbook.close()
        first, last = merged[0]
        raise FileProblem("merged_cells", first=first, last=last, count=len(merged))
    _check_single_header(first_rows, index)
    header = ["" if c is None else str(c).strip() for c in first_rows[index]]
    sample = [
        c
        for cells in sheet.iter_rows(
            values_only=True, min_row=header_row + 1, max_row=header_row + 2000
        )
        for c in cells
        if isinstance(c, str)
    ]
    legacy = encodings.detect_in_strings(sample)
    fix = encodings.legacy_cell_fixer(legacy)
    total = max((sheet.max_row or header_row) - header_row, 0)

    def rows() -> Iterator[tuple[int, Sequence[object] | RowProblem]]:
        number = header_row
        for cells in sheet.iter_rows(values_only=True, min_row=header_row + 1):
            number += 1
            if _is_blank(cells):
                continue
            yield number, [fix(c) if isinstance(c, str) else c for c in cells]

    return Source(
        format="xlsx",
        encoding="unicode" if legacy == "unicode" else legacy,
        header=header,
        header_row=header_row,
        total_rows=total,
        _rows=rows,
        _close=workbook.close,
    )
