"""Bulk import of citizens from CSV and XLSX files.

Pure modules (no Django import): ``encodings`` (legacy Vietnamese code pages and their
detection), ``readers`` (streaming CSV/XLSX rows), ``columns`` (the column format and the
header mapping), ``validation`` (one row in, a clean row or its issues out).
Django side: ``writers`` (set-based upserts, PostgreSQL COPY fast path), ``bulkload``
(secondary indexes rebuilt after a large first load), ``pipeline`` (the streaming loop),
``services`` / ``selectors`` / ``tasks`` / ``reports``.
"""
