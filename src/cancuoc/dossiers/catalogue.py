"""Loading the procedure catalogue from a JSON file (the starter set ships in data/).

The file holds ``{"procedures": [...]}``; each procedure has its catalogue fields and a
list of dated ``versions`` (processing time in working days, fee in integer đồng, an
optional area). Loading is idempotent: a procedure is matched by its code and a version
by (procedure, valid_from, area), so running the command again updates in place and
never duplicates. Nothing is deleted: a procedure or version that left the file stays
(old dossiers point to it); retire a procedure with ``"is_active": false``.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import json
from pathlib import Path
from typing import Any

from django.db import transaction

from cancuoc.core.text import fold
from cancuoc.dossiers.models import Area, CompetentLevel, OnlineLevel, Procedure, ProcedureVersion

STARTER_FILE = "procedures.json"
_CODE_CHARS = set("0123456789.")


class CatalogueError(ValueError):
    """The catalogue file is malformed; the message names the entry and the field."""


def starter_catalogue() -> dict[str, Any]:
    text = (
        importlib.resources.files("cancuoc.dossiers")
        .joinpath("data", STARTER_FILE)
        .read_text("utf-8")
    )
    return json.loads(text)


def catalogue_read(path: str | Path | None = None) -> dict[str, Any]:
    if path is None:
        return starter_catalogue()
    try:
        return json.loads(Path(path).read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CatalogueError(f"{path}: {exc}") from exc


def _date(value: Any, where: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise CatalogueError(f"{where}: bad date {value!r}") from exc


def _non_negative_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CatalogueError(f"{where}: expected a whole number >= 0, got {value!r}")
    return value


def _choice(value: Any, choices: list[str], where: str) -> str:
    if value not in choices:
        raise CatalogueError(f"{where}: {value!r} is not one of {choices}")
    return str(value)


def _procedure_fields(entry: dict[str, Any], where: str) -> dict[str, Any]:
    name = str(entry.get("name") or "").strip()
    if not name:
        raise CatalogueError(f"{where}: name is required")
    documents = entry.get("required_documents", [])
    if not isinstance(documents, list) or not all(isinstance(d, str) for d in documents):
        raise CatalogueError(f"{where}: required_documents must be a list of strings")
    return {
        "name": name,
        "search_name": fold(name),
        "field": str(entry.get("field") or "").strip(),
        "competent_level": _choice(
            entry.get("competent_level"), CompetentLevel.values, f"{where} competent_level"
        ),
        "result_type": str(entry.get("result_type") or "").strip(),
        "online_level": _choice(
            entry.get("online_level", OnlineLevel.NONE), OnlineLevel.values, f"{where} online_level"
        ),
        "on_the_spot": bool(entry.get("on_the_spot", False)),
        "required_documents": documents,
        "is_active": bool(entry.get("is_active", True)),
    }


def _version_fields(version: dict[str, Any], where: str) -> tuple[dt.date, str, dict[str, Any]]:
    valid_from = _date(version.get("valid_from"), f"{where} valid_from")
    if valid_from is None:
        raise CatalogueError(f"{where}: valid_from is required")
    valid_to = _date(version.get("valid_to"), f"{where} valid_to")
    if valid_to is not None and valid_to < valid_from:
        raise CatalogueError(f"{where}: valid_to is before valid_from")
    area = _choice(version.get("area", ""), Area.values, f"{where} area")
    return (
        valid_from,
        area,
        {
            "valid_to": valid_to,
            "processing_days": _non_negative_int(
                version.get("processing_days"), f"{where} processing_days"
            ),
            "fee": _non_negative_int(version.get("fee", 0), f"{where} fee"),
            "fee_note": str(version.get("fee_note") or "")[:255],
            "legal_basis": str(version.get("legal_basis") or "")[:255],
        },
    )


def catalogue_load(data: dict[str, Any]) -> dict[str, int]:
    """Create or update procedures and versions from ``data``; all or nothing.

    Returns counts: procedures created/updated, versions created/updated.
    """
    entries = data.get("procedures")
    if not isinstance(entries, list):
        raise CatalogueError("the file must hold a list under 'procedures'")
    counts = dict.fromkeys(
        ("procedures_created", "procedures_updated", "versions_created", "versions_updated"), 0
    )
    seen: set[str] = set()
    with transaction.atomic():
        for index, entry in enumerate(entries, start=1):
            code = str(entry.get("code") or "").strip()
            where = f"procedure #{index} ({code or 'no code'})"
            if not code or not set(code) <= _CODE_CHARS or len(code) > 20:
                raise CatalogueError(f"{where}: code must look like 1.000494")
            if code in seen:
                raise CatalogueError(f"{where}: code listed twice")
            seen.add(code)
            procedure, created = Procedure.objects.update_or_create(
                code=code, defaults=_procedure_fields(entry, where)
            )
            counts["procedures_created" if created else "procedures_updated"] += 1
            versions = entry.get("versions") or []
            if not versions:
                raise CatalogueError(f"{where}: at least one version is required")
            for number, version in enumerate(versions, start=1):
                valid_from, area, fields = _version_fields(version, f"{where} version {number}")
                _, made = ProcedureVersion.objects.update_or_create(
                    procedure=procedure, valid_from=valid_from, area=area, defaults=fields
                )
                counts["versions_created" if made else "versions_updated"] += 1
    return counts
