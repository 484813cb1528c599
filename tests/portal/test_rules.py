"""The pure portal rules: the second factor and the complaint moves."""

from hypothesis import given
from hypothesis import strategies as st

from cancuoc.portal import rules

digits = st.text(alphabet="0123456789", min_size=10, max_size=12)


@given(phone=digits, id_number=st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_the_last_4_of_the_phone_or_the_last_6_of_the_id_match(phone, id_number):
    assert rules.factor_matches(phone[-4:], phone=phone, id_number=id_number)
    assert rules.factor_matches(id_number[-6:], phone=phone, id_number=id_number)


@given(phone=digits, guess=st.text(alphabet="0123456789", min_size=4, max_size=4))
def test_any_other_four_digits_do_not_match(phone, guess):
    assert rules.factor_matches(guess, phone=phone, id_number="") is (guess == phone[-4:])


@given(factor=st.text(max_size=8))
def test_nothing_matches_a_dossier_without_phone_or_id(factor):
    assert not rules.factor_matches(factor, phone="", id_number="")


def test_only_exact_4_or_6_digit_answers_count():
    phone, id_number = "0912 345 678", "042190001234"
    assert rules.factor_matches("5678", phone=phone, id_number=id_number)
    assert rules.factor_matches(" 001234 ", phone=phone, id_number=id_number)
    for wrong in ("678", "45678", "1234567", "", "５６７８", "56 78", "0001234"):
        assert not rules.factor_matches(wrong, phone=phone, id_number=id_number), wrong
    # The 6 digits are checked against the ID, never the phone, and the other way round.
    assert not rules.factor_matches("345678", phone=phone, id_number=id_number)
    assert not rules.factor_matches("1234", phone=phone, id_number=id_number)


def test_codes_are_compared_without_spaces_and_case():
    assert rules.code_normalise(" 000.00.00.h29-210316-0001 ") == "000.00.00.H29-210316-0001"


def test_complaints_move_forward_and_stay_closed():
    assert rules.complaint_move_allowed("received", "in_progress")
    assert rules.complaint_move_allowed("received", "answered")
    assert rules.complaint_move_allowed("answered", "closed")
    assert not rules.complaint_move_allowed("received", "closed")
    assert not rules.complaint_move_allowed("closed", "in_progress")
    assert not rules.complaint_move_allowed("in_progress", "received")
