"""Quality rules: finger verdicts, the face assessment, who must give which biometrics."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from cancuoc.enrolment import quality
from cancuoc.enrolment.devices.simulator import synthetic_png
from cancuoc.enrolment.quality import (
    FACE_CHECKS,
    QualityPolicy,
    Required,
    biometrics_required,
    face_score,
    finger_attempts_allowed,
    finger_verdict,
)
from tests.enrolment.factories import face_png

POLICY = QualityPolicy()

# --- fingers ---------------------------------------------------------------------------------


def test_the_default_policy_is_moisps_40_90_and_3_retries():
    assert (POLICY.finger_threshold, POLICY.finger_retries, POLICY.face_threshold) == (40, 3, 90)
    assert finger_attempts_allowed(POLICY) == 4


@pytest.mark.parametrize(
    ("score", "attempt", "verdict"),
    [
        (40, 1, "accept"),
        (100, 4, "accept"),
        (39, 1, "retry"),
        (0, 3, "retry"),
        (39, 4, "exception_allowed"),
        (10, 7, "exception_allowed"),
        (55, 9, "accept"),
    ],
)
def test_finger_verdict_table(score, attempt, verdict):
    assert finger_verdict(score=score, attempt=attempt, policy=POLICY) == verdict


def test_no_retries_means_one_attempt_then_an_exception():
    policy = QualityPolicy(finger_retries=0)
    assert finger_verdict(score=10, attempt=1, policy=policy) == "exception_allowed"


def test_attempts_start_at_one():
    with pytest.raises(ValueError):
        finger_verdict(score=50, attempt=0, policy=POLICY)


policies = st.builds(
    QualityPolicy,
    finger_threshold=st.integers(0, 100),
    finger_retries=st.integers(0, 10),
    face_threshold=st.integers(0, 100),
)


@given(score=st.integers(0, 100), attempt=st.integers(1, 20), policy=policies)
def test_a_score_at_the_threshold_is_always_accepted_and_below_never(score, attempt, policy):
    verdict = finger_verdict(score=score, attempt=attempt, policy=policy)
    assert (verdict == "accept") == (score >= policy.finger_threshold)


@given(score=st.integers(0, 100), attempt=st.integers(1, 20), policy=policies)
def test_an_exception_is_allowed_exactly_when_the_retries_are_used_up(score, attempt, policy):
    verdict = finger_verdict(score=score, attempt=attempt, policy=policy)
    if score < policy.finger_threshold:
        used_up = attempt >= 1 + policy.finger_retries
        assert verdict == ("exception_allowed" if used_up else "retry")


@given(score=st.integers(0, 100), attempt=st.integers(1, 19), policy=policies)
def test_one_more_attempt_never_takes_back_an_allowed_exception(score, attempt, policy):
    before = finger_verdict(score=score, attempt=attempt, policy=policy)
    after = finger_verdict(score=score, attempt=attempt + 1, policy=policy)
    if before == "exception_allowed":
        assert after == "exception_allowed"


# --- who gives what ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "law", "expected"),
    [
        (0, "2023", Required(fingerprints=False, face=False, iris=False, guardian=True)),
        (5, "2023", Required(fingerprints=False, face=False, iris=False, guardian=True)),
        (6, "2023", Required(fingerprints=True, face=True, iris=True, guardian=True)),
        (13, "2023", Required(fingerprints=True, face=True, iris=True, guardian=True)),
        (14, "2023", Required(fingerprints=True, face=True, iris=True, guardian=False)),
        (90, "2023", Required(fingerprints=True, face=True, iris=True, guardian=False)),
        (14, "2014", Required(fingerprints=True, face=True, iris=False, guardian=False)),
        (40, "2014", Required(fingerprints=True, face=True, iris=False, guardian=False)),
        (10, "2014", Required(fingerprints=True, face=True, iris=False, guardian=True)),
    ],
)
def test_biometrics_required_by_age_and_law(age, law, expected):
    assert biometrics_required(age_years=age, law=law) == expected


@given(age=st.integers(0, 130), law=st.sampled_from(["2014", "2023"]))
def test_biometrics_rules_hold_for_every_age(age, law):
    required = biometrics_required(age_years=age, law=law)
    assert required.guardian == (age < 14)
    # The 2014 law exempted no age from biometrics (it issued no card under 14 at all).
    assert required.fingerprints == required.face == (age >= 6 or law == "2014")
    assert required.iris == (age >= 6 and law == "2023")


def test_an_unknown_law_or_a_negative_age_is_refused():
    with pytest.raises(ValueError):
        biometrics_required(age_years=20, law="2030")
    with pytest.raises(ValueError):
        biometrics_required(age_years=-1, law="2023")


# --- face ----------------------------------------------------------------------------------


def test_a_good_simulated_face_passes_every_check():
    assessment = face_score(image=synthetic_png("face", variant="good"), metrics={})
    assert assessment.checks == dict.fromkeys(FACE_CHECKS, True)
    assert assessment.score == 100
    assert assessment.reasons == []
    assert assessment.passes(POLICY)


def test_the_test_factory_face_passes_too():
    assessment = face_score(image=face_png(seed=3), metrics={})
    assert assessment.checks == dict.fromkeys(FACE_CHECKS, True)
    assert assessment.score == 100


@pytest.mark.parametrize(
    ("variant", "failed", "reason"),
    [
        ("dark", {"lighting"}, quality.REASON_DARK),
        ("small", {"face_size"}, quality.REASON_SIZE),
        ("busy", {"background"}, quality.REASON_BACKGROUND),
    ],
)
def test_a_defect_in_the_image_fails_its_check(variant, failed, reason):
    assessment = face_score(image=synthetic_png("face", variant=variant), metrics={})
    assert failed <= {name for name, ok in assessment.checks.items() if not ok}
    assert assessment.checks["face_present"] is True
    assert reason in assessment.reasons
    assert assessment.score < 90


def test_no_face_scores_almost_nothing():
    assessment = face_score(image=synthetic_png("face", variant="absent"), metrics={})
    assert assessment.checks["face_present"] is False
    assert assessment.checks["face_size"] is False
    assert assessment.score == 5
    assert assessment.reasons == [quality.REASON_NO_FACE]


def test_a_device_that_finds_no_face_overrides_the_image():
    assessment = face_score(
        image=synthetic_png("face", variant="good"), metrics={"face_detected": False}
    )
    assert assessment.checks["face_present"] is False
    assert assessment.score == 5


def test_device_metrics_lower_the_score_of_a_good_image():
    image = synthetic_png("face", variant="good")
    blurred = face_score(image=image, metrics={"sharpness": 80})
    assert blurred.score == 80
    assert blurred.reasons == [quality.REASON_BLUR]
    turned = face_score(image=image, metrics={"yaw": -15})
    assert turned.score == 80  # 10 degrees beyond the 5 tolerated, 2 points each
    assert turned.reasons == [quality.REASON_POSE]
    closed = face_score(image=image, metrics={"eyes_open": False})
    assert closed.score == 70
    assert closed.reasons == [quality.REASON_EYES]


def _portrait(*, face_fill, background, size=(240, 320), box=(60, 50, 180, 230)):
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    draw.ellipse((box[0] - 40, box[3] - 10, box[2] + 40, size[1] + 60), fill=(40, 60, 110))
    draw.ellipse(box, fill=face_fill)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_an_overexposed_face_fails_lighting():
    assessment = face_score(
        image=_portrait(face_fill=(252, 252, 252), background=(200, 200, 200)), metrics={}
    )
    assert assessment.checks["lighting"] is False
    assert quality.REASON_BRIGHT in assessment.reasons


def test_a_dark_background_fails_the_background_check():
    assessment = face_score(
        image=_portrait(face_fill=(205, 160, 130), background=(40, 40, 40)), metrics={}
    )
    assert assessment.checks["background"] is False
    assert assessment.checks["face_present"] is True


def test_garbage_is_not_a_face_and_does_not_raise():
    assessment = face_score(image=b"not an image at all", metrics={})
    assert assessment.score == 0
    assert assessment.checks == dict.fromkeys(FACE_CHECKS, False)
    assert assessment.reasons == [quality.REASON_UNREADABLE]


@given(
    sharpness=st.integers(-50, 150),
    yaw=st.floats(-90, 90, allow_nan=False),
    eyes=st.booleans(),
)
def test_the_face_score_stays_in_0_100_and_never_exceeds_the_sharpness(sharpness, yaw, eyes):
    image = synthetic_png("face", variant="good")
    assessment = face_score(
        image=image, metrics={"sharpness": sharpness, "yaw": yaw, "eyes_open": eyes}
    )
    assert 0 <= assessment.score <= 100
    assert assessment.score <= max(0, min(100, sharpness))
