"""Vietnamese text helpers with no Django import.

`fold` produces the search key used everywhere a person types a name: no
diacritics, lower case, đ→d, single spaces. "Nguyễn Thị Hằng" and
"nguyen thi hang" fold to the same key.
"""

import unicodedata

# đ is a letter of its own, not d with a mark, so NFD does not strip it; typographic
# apostrophes and dashes in names ("Cư M’gar") fold to what a keyboard types.
_D_MAP = str.maketrans({"đ": "d", "Đ": "d", "’": "'", "‘": "'", "–": "-", "—": "-"})


def nfc(text: str) -> str:
    """Unicode NFC with outer whitespace removed and inner runs collapsed."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.translate(_D_MAP))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())
