"""Vietnamese text encodings found in old files, and their detection.

Officers still receive lists typed years ago with the ABC (TCVN3) or VNI fonts, or
saved by Excel as Windows-1258 CSV. This module turns their bytes into Unicode NFC.

- **TCVN3 (ABC)**: TCVN 5712:1993. Each precomposed letter is one byte. The ABC fonts
  use table VN3 (lower-case letters with tones and the seven bare capitals Ă Â Ê Ô Ơ Ư Đ
  at 0xA1–0xFF); the full table VN1 also places the capitals with tones on C0 control
  positions and 0x80–0x9F. ``TCVN3_TABLE`` is VN1, so every one of the 134 Vietnamese
  letters round-trips and every VN3 file decodes.
- **VNI** (VNI-Windows fonts): Windows-1252 bytes; a letter with marks is the base letter
  followed by one byte that the font draws as the mark ("Nguyễn" is ``Nguye`` + ``ã`` +
  ``n``). A few letters are single bytes (đ = ñ, ơ = ô, ư = ö, ĩ = ó, ị = ò, ỉ = æ, ỵ = î).
- **Windows-1258**: Python's ``cp1258`` codec; tones come as combining marks, so the
  result is normalised to NFC.

Pure: no Django import.
"""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata
from collections.abc import Callable

__all__ = [
    "ENCODINGS",
    "TCVN3_TABLE",
    "UndetectableEncoding",
    "cell_fixer",
    "cp1258_encode",
    "detect",
    "tcvn3_decode",
    "tcvn3_encode",
    "vietnamese_letters",
    "vni_decode",
    "vni_encode",
]

#: Names the importer accepts, in the order detection prefers them on a tie.
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1258", "tcvn3", "vni")

# --- TCVN3 / TCVN 5712:1993 VN1 -----------------------------------------------------------

#: Byte -> character for every byte that is not plain ASCII or Latin-1 in TCVN 5712 VN1.
#: 0xB0–0xB4 are the combining tone marks; unlisted bytes 0x80–0xFF read as Latin-1
#: (0xA0 no-break space, 0xFD ý).
TCVN3_TABLE: dict[int, str] = {
    0x01: "\u00da", 0x02: "\u1ee4", 0x04: "\u1eea", 0x05: "\u1eec", 0x06: "\u1eee", 0x11: "\u1ee8",
    0x12: "\u1ef0", 0x13: "\u1ef2", 0x14: "\u1ef6", 0x15: "\u1ef8", 0x16: "\u00dd", 0x17: "\u1ef4",
    0x80: "\u00c0", 0x81: "\u1ea2", 0x82: "\u00c3", 0x83: "\u00c1", 0x84: "\u1ea0", 0x85: "\u1eb6",
    0x86: "\u1eac", 0x87: "\u00c8", 0x88: "\u1eba", 0x89: "\u1ebc", 0x8A: "\u00c9", 0x8B: "\u1eb8",
    0x8C: "\u1ec6", 0x8D: "\u00cc", 0x8E: "\u1ec8", 0x8F: "\u0128", 0x90: "\u00cd", 0x91: "\u1eca",
    0x92: "\u00d2", 0x93: "\u1ece", 0x94: "\u00d5", 0x95: "\u00d3", 0x96: "\u1ecc", 0x97: "\u1ed8",
    0x98: "\u1edc", 0x99: "\u1ede", 0x9A: "\u1ee0", 0x9B: "\u1eda", 0x9C: "\u1ee2", 0x9D: "\u00d9",
    0x9E: "\u1ee6", 0x9F: "\u0168", 0xA1: "\u0102", 0xA2: "\u00c2", 0xA3: "\u00ca", 0xA4: "\u00d4",
    0xA5: "\u01a0", 0xA6: "\u01af", 0xA7: "\u0110", 0xA8: "\u0103", 0xA9: "\u00e2", 0xAA: "\u00ea",
    0xAB: "\u00f4", 0xAC: "\u01a1", 0xAD: "\u01b0", 0xAE: "\u0111", 0xAF: "\u1eb0", 0xB0: "\u0300",
    0xB1: "\u0309", 0xB2: "\u0303", 0xB3: "\u0301", 0xB4: "\u0323", 0xB5: "\u00e0", 0xB6: "\u1ea3",
    0xB7: "\u00e3", 0xB8: "\u00e1", 0xB9: "\u1ea1", 0xBA: "\u1eb2", 0xBB: "\u1eb1", 0xBC: "\u1eb3",
    0xBD: "\u1eb5", 0xBE: "\u1eaf", 0xBF: "\u1eb4", 0xC0: "\u1eae", 0xC1: "\u1ea6", 0xC2: "\u1ea8",
    0xC3: "\u1eaa", 0xC4: "\u1ea4", 0xC5: "\u1ec0", 0xC6: "\u1eb7", 0xC7: "\u1ea7", 0xC8: "\u1ea9",
    0xC9: "\u1eab", 0xCA: "\u1ea5", 0xCB: "\u1ead", 0xCC: "\u00e8", 0xCD: "\u1ec2", 0xCE: "\u1ebb",
    0xCF: "\u1ebd", 0xD0: "\u00e9", 0xD1: "\u1eb9", 0xD2: "\u1ec1", 0xD3: "\u1ec3", 0xD4: "\u1ec5",
    0xD5: "\u1ebf", 0xD6: "\u1ec7", 0xD7: "\u00ec", 0xD8: "\u1ec9", 0xD9: "\u1ec4", 0xDA: "\u1ebe",
    0xDB: "\u1ed2", 0xDC: "\u0129", 0xDD: "\u00ed", 0xDE: "\u1ecb", 0xDF: "\u00f2", 0xE0: "\u1ed4",
    0xE1: "\u1ecf", 0xE2: "\u00f5", 0xE3: "\u00f3", 0xE4: "\u1ecd", 0xE5: "\u1ed3", 0xE6: "\u1ed5",
    0xE7: "\u1ed7", 0xE8: "\u1ed1", 0xE9: "\u1ed9", 0xEA: "\u1edd", 0xEB: "\u1edf", 0xEC: "\u1ee1",
    0xED: "\u1edb", 0xEE: "\u1ee3", 0xEF: "\u00f9", 0xF0: "\u1ed6", 0xF1: "\u1ee7", 0xF2: "\u0169",
    0xF3: "\u00fa", 0xF4: "\u1ee5", 0xF5: "\u1eeb", 0xF6: "\u1eed", 0xF7: "\u1eef", 0xF8: "\u1ee9",
    0xF9: "\u1ef1", 0xFA: "\u1ef3", 0xFB: "\u1ef7", 0xFC: "\u1ef9", 0xFE: "\u1ef5", 0xFF: "\u1ed0",
}  # fmt: skip

_TCVN3_DECODING = "".join(TCVN3_TABLE.get(b, chr(b)) for b in range(256))
_TCVN3_DECODE_MAP = codecs.charmap_build(_TCVN3_DECODING)
_TCVN3_ENCODE_MAP = {
    ch: bytes([b]) for b, ch in TCVN3_TABLE.items() if not unicodedata.combining(ch)
}


def tcvn3_decode(data: bytes) -> str:
    """TCVN3 bytes to Unicode NFC (the charmap codec runs in C)."""
    text, _ = codecs.charmap_decode(data, "strict", _TCVN3_DECODING)
    return unicodedata.normalize("NFC", text) if max(text, default=" ") >= "\u0300" else text


def tcvn3_encode(text: str) -> bytes:
    """Unicode to TCVN3; raises UnicodeEncodeError for what the table cannot hold."""
    out = bytearray()
    for position, ch in enumerate(unicodedata.normalize("NFC", text)):
        if ch in _TCVN3_ENCODE_MAP:
            out += _TCVN3_ENCODE_MAP[ch]
        elif (ord(ch) < 0x80 and ord(ch) not in TCVN3_TABLE) or ch in ("\u00a0", "\u00fd"):
            out.append(ord(ch))
        else:
            raise UnicodeEncodeError("tcvn3", text, position, position + 1, "not in TCVN3")
    return bytes(out)


# --- VNI ----------------------------------------------------------------------------------

# The mark bytes, as Windows-1252 characters (lower case; capitals use the upper-case forms).
_TONES = {"\u0301": "ù", "\u0300": "ø", "\u0309": "û", "\u0303": "õ", "\u0323": "ï"}
_CIRCUMFLEX = {"": "â", "\u0301": "á", "\u0300": "à", "\u0309": "å", "\u0303": "ã", "\u0323": "ä"}
_BREVE = {"": "ê", "\u0301": "é", "\u0300": "è", "\u0309": "ú", "\u0303": "ü", "\u0323": "ë"}
# Letters VNI writes as one byte.
_VNI_SINGLE = {
    "đ": "ñ", "ơ": "ô", "ư": "ö", "í": "í", "ì": "ì", "ỉ": "æ", "ĩ": "ó", "ị": "ò", "ỵ": "î",
}  # fmt: skip


def _vni_pairs() -> dict[str, str]:
    """Every lower-case Vietnamese letter with marks -> its VNI spelling."""
    table = dict(_VNI_SINGLE)
    for base in "aeiouy":
        for tone, mark in _TONES.items():
            letter = unicodedata.normalize("NFC", base + tone)
            table.setdefault(letter, base + mark)
    for base, hat in (("a", "\u0302"), ("e", "\u0302"), ("o", "\u0302")):
        for tone, mark in _CIRCUMFLEX.items():
            table[unicodedata.normalize("NFC", base + hat + tone)] = base + mark
    for tone, mark in _BREVE.items():
        table[unicodedata.normalize("NFC", "a\u0306" + tone)] = "a" + mark
    for base, horn in (("ô", "o\u031b"), ("ö", "u\u031b")):
        for tone, mark in _TONES.items():
            table[unicodedata.normalize("NFC", horn + tone)] = base + mark
    return table


_VNI_ENCODE = _vni_pairs()
_VNI_ENCODE.update({k.upper(): v.upper() for k, v in list(_VNI_ENCODE.items())})
_VNI_DECODE = {v: k for k, v in _VNI_ENCODE.items()}
# Mixed-case spellings seen in real files ("AÙ" and "Aù" both mean "Á"): the case of
# the base letter wins.
for _spelling, _letter in list(_VNI_DECODE.items()):
    if len(_spelling) == 2:
        base, mark = _spelling[0], _spelling[1]
        other = mark.lower() if mark.isupper() else mark.upper()
        _VNI_DECODE.setdefault(base + other, _letter)
_VNI_PATTERN = re.compile(
    "|".join(sorted((re.escape(s) for s in _VNI_DECODE), key=len, reverse=True))
)
# Windows-1252 with its five undefined bytes read as Latin-1, so no byte is an error.
_CP1252_DECODING = "".join(
    bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(256)
)


def vni_fix(text: str) -> str:
    """Text read as Windows-1252 from a VNI file -> Unicode NFC."""
    if text.isascii():
        return text
    return _VNI_PATTERN.sub(lambda m: _VNI_DECODE[m.group(0)], text)


def vni_decode(data: bytes) -> str:
    text, _ = codecs.charmap_decode(data, "strict", _CP1252_DECODING)
    return vni_fix(text)


def vni_encode(text: str) -> bytes:
    """Unicode to VNI bytes; raises UnicodeEncodeError for what VNI cannot write."""
    spelled = "".join(_VNI_ENCODE.get(ch, ch) for ch in unicodedata.normalize("NFC", text))
    return spelled.encode("cp1252")


# --- Windows-1258 --------------------------------------------------------------------------


def cp1258_encode(text: str) -> bytes:
    """Unicode to Windows-1258 the way Windows writes it: a precomposed letter when the
    code page has one, else the base letter followed by a combining tone mark."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        decomposed = unicodedata.normalize("NFD", ch)
        tone = "".join(c for c in decomposed if c in _TONE_MARKS)
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in tone))
        out += base.encode("cp1258") + tone.encode("cp1258")
    return bytes(out)


# --- Codec registration, so files can be streamed through io.TextIOWrapper ------------------


def _search(name: str) -> codecs.CodecInfo | None:
    # The stream codecs only map bytes to characters; combining pairs and NFC are
    # handled per cell by cell_fixer (a pair never spans two cells).
    if name == "cancuoc_tcvn3":
        table = _TCVN3_DECODING
    elif name == "cancuoc_vni":
        table = _CP1252_DECODING
    else:
        return None
    encoding_map = codecs.charmap_build(table)

    def encode(text: str, errors: str = "strict") -> tuple[bytes, int]:
        return codecs.charmap_encode(text, errors, encoding_map)

    def decode(data: bytes, errors: str = "strict") -> tuple[str, int]:
        return codecs.charmap_decode(data, errors, table)

    class IncrementalDecoder(codecs.IncrementalDecoder):
        def decode(self, data: bytes, final: bool = False) -> str:  # type: ignore[override]
            return codecs.charmap_decode(data, self.errors, table)[0]

    class IncrementalEncoder(codecs.IncrementalEncoder):
        def encode(self, text: str, final: bool = False) -> bytes:  # type: ignore[override]
            return codecs.charmap_encode(text, self.errors, encoding_map)[0]

    return codecs.CodecInfo(
        encode,
        decode,  # type: ignore[arg-type]
        name=name,
        incrementalencoder=IncrementalEncoder,
        incrementaldecoder=IncrementalDecoder,
    )


codecs.register(_search)

#: Encoding name -> Python codec used to stream the file.
STREAM_CODECS = {
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "utf-16": "utf-16",
    "utf-16-le": "utf-16-le",
    "utf-16-be": "utf-16-be",
    "cp1258": "cp1258",
    "tcvn3": "cancuoc_tcvn3",
    "vni": "cancuoc_vni",
}


def _nfc_if_needed(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def cell_fixer(encoding: str) -> Callable[[str], str]:
    """The per-cell step after streaming with STREAM_CODECS[encoding]: pairs, then NFC."""
    if encoding == "vni":
        return vni_fix
    return _nfc_if_needed


# --- Detection ----------------------------------------------------------------------------


class UndetectableEncoding(ValueError):
    """No candidate encoding reads the sample as Vietnamese text."""


@functools.cache
def vietnamese_letters() -> frozenset[str]:
    """The 134 letters of Vietnamese that are not plain ASCII (67 lower, 67 upper)."""
    letters = {"đ"}
    for vowel in "aăâeêioôơuưy":
        for tone in ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"):
            letter = unicodedata.normalize("NFC", vowel + tone)
            if not letter.isascii():
                letters.add(letter)
    return frozenset(letters | {ch.upper() for ch in letters})


_TONE_MARKS = frozenset("\u0300\u0301\u0309\u0303\u0323")
_SYLLABLE = re.compile(
    r"^(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnpqrstvx])?"
    r"[aăâeêioôơuưy]{1,3}(ch|ng|nh|[cmnpt])?$"
)
_WORD = re.compile(r"[^\W\d_]+")


def _is_syllable(word: str) -> bool:
    decomposed = unicodedata.normalize("NFD", word.lower())
    if sum(ch in _TONE_MARKS for ch in decomposed) > 1:
        return False
    bare = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
    return _SYLLABLE.match(bare) is not None


def _score(text: str) -> tuple[int, int]:
    """(plausible non-ASCII words, implausible words + stray characters)."""
    letters = vietnamese_letters()
    good = bad = 0
    for word in _WORD.findall(text):
        if word.isascii():
            continue
        if _is_syllable(word):
            good += 1
        else:
            bad += 1
    stray = sum(1 for ch in text if ord(ch) > 0x7F and ch not in letters and not ch.isspace())
    return good, bad + stray


_CANDIDATES: dict[str, Callable[[bytes], str]] = {
    "cp1258": lambda data: unicodedata.normalize("NFC", data.decode("cp1258", "replace")),
    "tcvn3": tcvn3_decode,
    "vni": vni_decode,
}


def _utf16_without_bom(sample: bytes) -> str | None:
    even, odd = sample[0::2], sample[1::2]
    if len(sample) >= 4 and odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if len(sample) >= 4 and even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def detect(sample: bytes) -> str:
    """The encoding of ``sample`` (the first bytes of a file), one of STREAM_CODECS' keys.

    Order: a byte-order mark; UTF-16 without one (NUL bytes every other byte); valid UTF-8
    (pure ASCII included); else the legacy 8-bit code page under which most words read
    as Vietnamese syllables. Raises UndetectableEncoding when none does (binary data,
    another language's code page).
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    utf16 = _utf16_without_bom(sample[:4096])
    if utf16:
        return utf16
    if b"\x00" in sample:
        raise UndetectableEncoding("binary data")
    try:
        # A sample cut mid-character is fine: final=False keeps the tail pending.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    scores = {name: _score(decode(sample)) for name, decode in _CANDIDATES.items()}
    name, (good, bad) = max(scores.items(), key=lambda item: item[1][0] - 2 * item[1][1])
    if good == 0 or bad * 3 > good:
        raise UndetectableEncoding(f"best guess {name}: {good} words read, {bad} not")
    return name


def detect_in_strings(values: list[str]) -> str:
    """Legacy text that an old Excel file stores as if it were Latin-1 ("NguyÔn").

    Returns "unicode" when the cells already hold Vietnamese Unicode (or plain ASCII), or
    "tcvn3" / "vni" / "cp1258" when their code points, taken as bytes, read better so.
    """
    letters = vietnamese_letters()
    text = "\n".join(values)
    if text.isascii() or any(ord(ch) > 0xFF and ch in letters for ch in text):
        return "unicode"
    try:
        data = text.encode("cp1252")
    except UnicodeEncodeError:
        try:
            data = text.encode("latin-1")
        except UnicodeEncodeError:
            return "unicode"
    unicode_score = _score(unicodedata.normalize("NFC", text))
    best, best_score = "unicode", unicode_score[0] - 2 * unicode_score[1]
    for name, decode in _CANDIDATES.items():
        good, bad = _score(decode(data))
        if good - 2 * bad > best_score:
            best, best_score = name, good - 2 * bad
    return best


def legacy_cell_fixer(encoding: str) -> Callable[[str], str]:
    """Per-cell conversion for XLSX text detected as ``encoding`` by detect_in_strings."""
    if encoding == "unicode":
        return _nfc_if_needed
    decode = _CANDIDATES[encoding]

    def fix(value: str) -> str:
        if value.isascii():
            return value
        try:
            data = value.encode("cp1252")
        except UnicodeEncodeError:
            try:
                data = value.encode("latin-1")
            except UnicodeEncodeError:
                return unicodedata.normalize("NFC", value)
        return decode(data)

    return fix
