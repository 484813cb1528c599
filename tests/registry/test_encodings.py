"""Legacy Vietnamese encodings: round trips on all 134 letters, and detection."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cancuoc.registry.importing import encodings as enc

LETTERS = "".join(sorted(enc.vietnamese_letters()))
NAMES = "Nguyễn Thị Hằng; Trương Văn Đức; Lê Quỳnh Anh; Phạm Thị Ngọc Ánh; Hồ Sỹ Dũng\n"


def test_there_are_134_vietnamese_letters_beyond_ascii():
    assert len(LETTERS) == 134
    assert sum(ch.islower() for ch in LETTERS) == 67


@pytest.mark.parametrize("letter", list(LETTERS))
def test_every_letter_round_trips_through_tcvn3_vni_and_cp1258(letter):
    assert enc.tcvn3_decode(enc.tcvn3_encode(letter)) == letter
    assert len(enc.tcvn3_encode(letter)) == 1  # TCVN3: one byte per precomposed letter
    assert enc.vni_decode(enc.vni_encode(letter)) == letter
    assert len(enc.vni_encode(letter)) in (1, 2)  # VNI: a byte, or base + mark
    assert unicodedata.normalize("NFC", enc.cp1258_encode(letter).decode("cp1258")) == letter


def test_known_spellings_of_the_published_tables():
    assert enc.tcvn3_encode("nguyễn") == b"nguy\xd4n"
    assert enc.tcvn3_encode("Đ") == b"\xa7" and enc.tcvn3_encode("ư") == b"\xad"
    assert enc.vni_encode("Nguyễn") == b"Nguye\xe3n"
    assert enc.vni_encode("Đà Nẵng") == "Ñaø Naüng".encode("cp1252")
    assert enc.vni_decode("Thöøa Thieân Hueá".encode("cp1252")) == "Thừa Thiên Huế"
    # Capital letters with a lower-case mark byte, as some VNI files have them
    assert enc.vni_decode("AÙnh".encode("cp1252")) == "Ánh"


@given(st.text(alphabet=LETTERS + "abcdeghiklmnopqrstuvxy ABCDEGHIKLMNOPQRSTUVXY0123456789,."))
def test_any_vietnamese_text_round_trips(text):
    nfc = unicodedata.normalize("NFC", text)
    assert enc.tcvn3_decode(enc.tcvn3_encode(nfc)) == nfc
    assert enc.vni_decode(enc.vni_encode(nfc)) == nfc


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (NAMES.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + NAMES.encode("utf-8"), "utf-8-sig"),
        (NAMES.encode("utf-16"), "utf-16"),
        (NAMES.encode("utf-16-le"), "utf-16-le"),
        (enc.cp1258_encode(NAMES), "cp1258"),
        (enc.tcvn3_encode(NAMES), "tcvn3"),
        (enc.tcvn3_encode(NAMES.lower()), "tcvn3"),
        (enc.vni_encode(NAMES), "vni"),
        (b"so_dinh_danh,ho_ten\n001090000001,Nguyen Van An\n", "utf-8"),
    ],
)
def test_detection_names_the_encoding(data, expected):
    assert enc.detect(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        "日本語のテキストです".encode("shift_jis"),
        "Café crème, façade, naïve résumé".encode("cp1252"),
        bytes(range(128, 256)),
        b"PK\x00\x00binary\x00data",
    ],
)
def test_detection_refuses_what_is_not_vietnamese(data):
    with pytest.raises(enc.UndetectableEncoding):
        enc.detect(data)


def test_legacy_text_inside_excel_cells_is_recognised():
    tcvn3_cells = [enc.tcvn3_encode(n).decode("latin-1") for n in NAMES.lower().split(";")]
    assert enc.detect_in_strings(tcvn3_cells) == "tcvn3"
    fix = enc.legacy_cell_fixer("tcvn3")
    assert fix(enc.tcvn3_encode("nguyễn thị hằng").decode("latin-1")) == "nguyễn thị hằng"
    vni_cells = [enc.vni_encode(n).decode("cp1252") for n in NAMES.split(";")]
    assert enc.detect_in_strings(vni_cells) == "vni"
    assert enc.detect_in_strings(NAMES.split(";")) == "unicode"
