"""Compile the translation catalogues without GNU gettext.

Every ``src/cancuoc/locale/<lang>/LC_MESSAGES/<domain>.po`` becomes the
``.mo`` beside it. Fuzzy, obsolete and untranslated entries are left out, as
msgfmt does, so Django falls back to the English msgid for them. Needs only
the standard library and polib, so a fresh machine needs no msgfmt.

polib's parser is lenient: an unterminated string or a missing msgstr is
silently read as "untranslated" instead of failing. So each file is first
checked line by line, and python-format placeholders are compared between
msgid and msgstr (a wrong ``%(name)s`` would raise KeyError at run time).

Feature fragments: ``locale/<lang>/fragments/*.po`` are merged into the
catalogue of the same language before compiling, so parallel work on
separate features never edits one file. A translation in the main
``django.po`` wins over a fragment's.

Exit status: 0 when every catalogue compiled; 1 when any failed (each
problem is reported on stderr and no .mo is written for that file); 2 when
there is no .po at all.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "src" / "cancuoc" / "locale"

_STRING = r'"(?:[^"\\]|\\.)*"'
_KEYWORD_LINE = re.compile(rf"^(msgctxt|msgid|msgid_plural|msgstr|msgstr\[\d+\])\s*{_STRING}\s*$")
_CONTINUATION_LINE = re.compile(rf"^\s*{_STRING}\s*$")
# printf-style conversions as Python's % operator reads them.
_PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]"
)


class CatalogueError(Exception):
    pass


def check_syntax(po_path: Path) -> list[str]:
    """Report what msgfmt would reject but polib lets through."""
    problems: list[str] = []
    entry: list[str] = []  # keywords of the entry being read
    start = 0

    def close_entry() -> None:
        if not entry:
            return
        if "msgid" not in entry:
            problems.append(f"line {start}: entry without msgid")
        elif "msgid_plural" in entry:
            if "msgstr" in entry or "msgstr[0]" not in entry:
                problems.append(f"line {start}: plural entry needs msgstr[0], msgstr[1]...")
        elif "msgstr" not in entry or any(k.startswith("msgstr[") for k in entry):
            problems.append(f"line {start}: entry needs exactly one msgstr")
        if len(entry) != len(set(entry)):
            problems.append(f"line {start}: keyword repeated within one entry")

    text = po_path.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):  # comments, flags, obsolete (#~)
            continue
        match = _KEYWORD_LINE.match(stripped)
        if match:
            keyword = match.group(1)
            # A new entry begins at msgctxt, or at msgid unless msgctxt opened it.
            if keyword == "msgctxt" or (keyword == "msgid" and entry != ["msgctxt"]):
                close_entry()
                entry, start = [], number
            entry.append(keyword)
        elif not (_CONTINUATION_LINE.match(line) and entry):
            problems.append(f"line {number}: cannot parse {stripped[:60]!r}")
    close_entry()
    return problems


def _placeholders(text: str) -> tuple[set[str], int]:
    """Named placeholders, and how many unnamed ones (``%%`` is not one)."""
    names, unnamed = set(), 0
    for match in _PLACEHOLDER.finditer(text):
        if match.group(0) == "%%":
            continue
        if match.group("name") is None:
            unnamed += 1
        else:
            names.add(match.group("name"))
    return names, unnamed


def check_placeholders(po: polib.POFile) -> list[str]:
    problems = []
    for entry in po.translated_entries():
        if "python-format" not in entry.flags:
            continue
        if entry.msgid_plural:
            # With one plural form (Vietnamese) msgstr[0] serves both English
            # forms, so it may use any name the singular or the plural uses.
            id_names = _placeholders(entry.msgid)[0] | _placeholders(entry.msgid_plural)[0]
            for index, translation in sorted(entry.msgstr_plural.items()):
                names, unnamed = _placeholders(translation)
                if not names <= id_names or unnamed:
                    problems.append(
                        f"line {entry.linenum}: msgstr[{index}] placeholders "
                        f"{sorted(names)} do not fit msgid {entry.msgid!r}"
                    )
        elif _placeholders(entry.msgstr) != _placeholders(entry.msgid):
            problems.append(
                f"line {entry.linenum}: msgstr placeholders differ from msgid {entry.msgid!r}"
            )
    return problems


def merge_fragments(po: polib.POFile, po_path: Path) -> list[str]:
    """Add the translations of ``<lang>/fragments/*.po`` that the main catalogue lacks."""
    problems: list[str] = []
    fragment_dir = po_path.parent.parent / "fragments"
    for fragment_path in sorted(fragment_dir.glob("*.po")):
        shown = fragment_path.name
        problems += [f"{shown} {p}" for p in check_syntax(fragment_path)]
        if problems:
            continue
        fragment = polib.pofile(str(fragment_path), encoding="utf-8")
        for entry in fragment.translated_entries():
            existing = po.find(entry.msgid, msgctxt=entry.msgctxt or False)
            if existing is None:
                po.append(entry)
            elif not existing.translated():
                existing.msgstr = entry.msgstr
                existing.msgstr_plural = entry.msgstr_plural
                existing.flags = [f for f in existing.flags if f != "fuzzy"]
    return problems


def compile_catalogue(po_path: Path) -> tuple[int, int]:
    """Write the .mo for one .po; return (messages compiled, messages skipped)."""
    problems = check_syntax(po_path)
    if not problems:
        try:
            po = polib.pofile(str(po_path), encoding="utf-8", check_for_duplicates=True)
        except (OSError, ValueError) as exc:  # polib's syntax errors and duplicates
            raise CatalogueError(f"\n  {exc}") from exc
        problems = merge_fragments(po, po_path)
        problems += check_placeholders(po)
    if problems:
        raise CatalogueError("\n  ".join(["", *problems]))
    # translated_entries() is exactly what save_as_mofile() writes: it leaves
    # out fuzzy, obsolete and untranslated entries. The header always goes in,
    # so Django still gets Plural-Forms.
    compiled = len(po.translated_entries())
    skipped = len(po.fuzzy_entries()) + len(po.untranslated_entries())
    po.save_as_mofile(str(po_path.with_suffix(".mo")))
    return compiled, skipped


def main() -> int:
    po_paths = sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po"))
    if not po_paths:
        print(f"compile_messages: no .po files under {LOCALE_DIR}", file=sys.stderr)
        return 2
    failed = 0
    for po_path in po_paths:
        shown = po_path.relative_to(ROOT)
        try:
            compiled, skipped = compile_catalogue(po_path)
        except (CatalogueError, OSError, UnicodeDecodeError) as exc:
            detail = str(exc) if isinstance(exc, CatalogueError) else f" {exc}"
            print(f"compile_messages: cannot compile {shown}:{detail}", file=sys.stderr)
            failed += 1
            continue
        note = f", skipped {skipped} fuzzy or untranslated" if skipped else ""
        print(f"compiled {shown} ({compiled} messages{note})")
    if failed:
        print(f"compile_messages: {failed} catalogue(s) failed; fix and rerun", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
