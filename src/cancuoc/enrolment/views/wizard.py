"""Pages: find the citizen, then the five-step intake wizard and its printed forms.

Keyboard-first: every step has one primary button that has the focus, so Enter
advances; device captures run by themselves in sequence ("capture all fingers"). The
page works without JavaScript: each button is a plain form post and the server runs the
same sequence. A small script (static/enrolment/wizard.js) only adds live progress.

Double submissions change nothing: a start carries the application UUID chosen when the
page was drawn, a capture carries the attempt number it was drawn for, and a step that is
already behind the application is answered with the page as it is.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cancuoc.accounts.roles import Capability
from cancuoc.core.errors import DomainError, OutOfScope, PermissionDenied
from cancuoc.enrolment import lifecycle, quality, selectors, services
from cancuoc.enrolment.forms import (
    CORRECTION_FIELDS,
    CancelForm,
    ConfirmForm,
    ExceptionForm,
    FindForm,
    StartForm,
)
from cancuoc.enrolment.models import (
    Application,
    ApplicationStatus,
    Capture,
    FingerException,
    Step,
)
from cancuoc.enrolment.services._common import policy_for
from cancuoc.enrolment.services.intake import biometric_exception_sign
from cancuoc.enrolment.views.common import (
    EYE_LABELS,
    FINGERS,
    POSITION_LABELS,
    SLAPS,
    application_or_404,
    pdf_inline,
    require,
    station_or_404,
    wants_json,
)
from cancuoc.enrolment.views.stations import open_session

#: How many times the server-side sequence re-asks the camera for a face photo below
#: the threshold before it leaves the decision to the operator.
FACE_AUTO_ATTEMPTS = 3
STEP_ORDER = list(lifecycle.STEPS)


def _age(birth: dt.date | None, on: dt.date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _policy(application: Application) -> quality.QualityPolicy:
    # The services' own policy (its iris threshold included), so the page and the rules agree.
    return policy_for(application.station)


#: Why an eye gives no iris image (quality.EYE_EXCEPTIONS), as the page shows it.
EYE_EXCEPTION_LABELS = {
    "missing": gettext_lazy("Missing eye"),
    "blind": gettext_lazy("Blind eye"),
    "injured": gettext_lazy("Injured or bandaged eye"),
    "unreadable": gettext_lazy("Unreadable after the retries"),
}


class EyeExceptionForm(forms.Form):
    """An eye whose iris cannot be captured, signed off on the spot by a supervisor."""

    position = forms.ChoiceField(label=gettext_lazy("Eye"), choices=[(e, e) for e in quality.EYES])
    reason = forms.ChoiceField(
        label=gettext_lazy("Reason"), choices=list(EYE_EXCEPTION_LABELS.items())
    )
    supervisor_username = forms.CharField(
        label=gettext_lazy("Supervisor's username"), max_length=150
    )
    supervisor_password = forms.CharField(
        label=gettext_lazy("Supervisor's password"), max_length=128, widget=forms.PasswordInput
    )


# --- Find and start ----------------------------------------------------------------------


@login_required
def find(request: HttpRequest, pk: int) -> HttpResponse:
    """Find the citizen (GET), then start the application (POST).

    The station's in-progress applications come first: after a cut connection the
    operator continues with one keypress.
    """
    user = request.user
    require(user, Capability.ENROL, Capability.SUPERVISE_ENROLMENT)
    station = station_or_404(user, pk)
    if request.method == "POST":
        return _start(request, station)
    form = FindForm(request.GET or None)
    results: list[dict[str, Any]] = []
    searched = False
    if form.is_valid():
        searched = True
        today = timezone.localdate()
        for citizen in selectors.citizen_find(user=user, query=form.cleaned_data["q"])[:20]:
            age = _age(citizen.birth_date, today)
            results.append(
                {
                    "citizen": citizen,
                    "age": age,
                    "guardian": age is not None and age < 14,
                    "form": StartForm(
                        initial={"citizen_id": citizen.pk, "application_id": uuid.uuid4()}
                    ),
                }
            )
    return render(
        request,
        "enrolment/find.html",
        {
            "station": station,
            "form": form,
            "results": results,
            "searched": searched,
            "current": list(selectors.application_current(user=user, station_id=station.pk)),
            "session": open_session(station),
        },
    )


def _start(request: HttpRequest, station: Any) -> HttpResponse:
    form = StartForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The citizen could not be read from the form; search again."))
        return redirect("enrolment:find", pk=station.pk)
    data = form.cleaned_data
    session = open_session(station)
    try:
        application = services.application_start(
            actor=request.user,
            station_id=station.pk,
            citizen_id=data["citizen_id"],
            application_id=data["application_id"],
            kind=data["kind"] or None,
            session_id=session.pk if session else None,
            guardian_name=data["guardian_name"],
            guardian_id_number=data["guardian_id_number"],
        )
    except OutOfScope:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(reverse("enrolment:find", kwargs={"pk": station.pk}))
    return redirect("enrolment:wizard", pk=application.pk)


# --- The wizard page -----------------------------------------------------------------------


def _finger_tiles(application: Application, captures: list[Capture]) -> list[dict[str, Any]]:
    """One tile per slap and rolled finger: its attempts, last score and what to do next."""
    policy = _policy(application)
    by_position: dict[tuple[str, str], list[Capture]] = {}
    for c in captures:
        by_position.setdefault((c.kind, c.position), []).append(c)
    tiles = []
    for kind, positions in (("slap", SLAPS), ("rolled", FINGERS)):
        for position in positions:
            rows = sorted(by_position.get((kind, position), []), key=lambda c: c.attempt)
            tiles.append(_tile(kind, position, rows, policy))
    return tiles


def _tile(kind: str, position: str, rows: list[Capture], policy: Any) -> dict[str, Any]:
    attempts = [c for c in rows if not c.exception]
    excepted = next((c for c in rows if c.exception), None)
    accepted = next((c for c in attempts if c.accepted), None)
    last = attempts[-1] if attempts else None
    if excepted is not None:
        state = "excepted"
    elif accepted is not None:
        state = "accepted"
    elif last is None:
        state = "pending"
    elif kind in ("rolled", "iris"):
        verdict = quality.finger_verdict(
            score=last.quality or 0, attempt=last.attempt, policy=policy, kind=kind
        )
        state = "exception" if verdict == "exception_allowed" else "retry"
    elif len(attempts) < quality.finger_attempts_allowed(policy):
        state = "retry"
    else:
        # Slaps only help matching the rolled prints: after the retries the best one is
        # kept as it is, and no sign-off is needed.
        state = "kept"
    shown = accepted or last
    exception = ""
    if excepted is not None:
        exception = (
            str(EYE_EXCEPTION_LABELS.get(excepted.exception, excepted.exception))
            if kind == "iris"
            else excepted.get_exception_display()
        )
    return {
        "kind": kind,
        "position": position,
        "label": EYE_LABELS.get(position, "") if kind == "iris" else POSITION_LABELS[position],
        "attempts": len(attempts),
        "next_attempt": (last.attempt + 1) if last else 1,
        "quality": shown.quality if shown else None,
        "capture": shown,
        "state": state,
        "exception": exception,
        "signed_by": excepted.exception_signed_by if excepted else None,
        "done": state in ("accepted", "excepted", "kept"),
    }


def _eye_tiles(application: Application, captures: list[Capture]) -> list[dict[str, Any]]:
    """One tile per eye (2023 law): like a rolled finger, retries then a signed exception."""
    policy = _policy(application)
    return [
        _tile(
            "iris",
            eye,
            sorted((c for c in captures if c.kind == "iris" and c.position == eye), key=_attempt),
            policy,
        )
        for eye in quality.EYES
    ]


def _attempt(capture: Capture) -> int:
    return capture.attempt


def _single(captures: list[Capture], kind: str, position: str = "") -> dict[str, Any]:
    rows = sorted(
        (c for c in captures if c.kind == kind and c.position == position and not c.exception),
        key=lambda c: c.attempt,
    )
    accepted = next((c for c in reversed(rows) if c.accepted), None)
    last = rows[-1] if rows else None
    shown = accepted or last
    return {
        "kind": kind,
        "position": position,
        "label": EYE_LABELS.get(position, "") if kind == "iris" else "",
        "attempts": len(rows),
        "next_attempt": (last.attempt + 1) if last else 1,
        "quality": shown.quality if shown else None,
        "capture": shown,
        "state": "accepted" if accepted else ("retry" if last else "pending"),
        "done": accepted is not None,
    }


def _required(application: Application) -> Any:
    birth = application.citizen.birth_date
    age = _age(birth, timezone.localtime(application.started_at).date())
    return quality.biometrics_required(
        age_years=age if age is not None else 99, law=application.law
    )


def _citizen_rows(citizen: Any) -> list[tuple[str, str, str]]:
    """(field, label, value) of the data the card prints, for step 1 and the review."""
    rows = []
    for field in CORRECTION_FIELDS:
        value = getattr(citizen, field, "")
        if field == "sex":
            value = citizen.get_sex_display() if value else ""
        elif isinstance(value, dt.date):
            value = value.strftime("%d/%m/%Y")
        label = citizen._meta.get_field(field).verbose_name
        rows.append((field, str(label), "" if value is None else str(value)))
    return rows


def _review_rows(citizen: Any, confirmed: dict[str, Any]) -> list[dict[str, Any]]:
    """The data as the citizen confirmed it at step 1 (with any proposed correction)."""
    rows = []
    for field, label, current in _citizen_rows(citizen):
        value = confirmed.get(field)
        if value is None:
            rows.append({"label": label, "value": current, "corrected": False})
            continue
        if field == "birth_date" and value:
            with contextlib.suppress(ValueError):  # an odd snapshot is shown as stored
                value = dt.date.fromisoformat(value).strftime("%d/%m/%Y")
        elif field == "sex":
            value = dict(type(citizen)._meta.get_field("sex").choices).get(value, value)
        value = str(value)
        rows.append({"label": label, "value": value, "corrected": value != current})
    return rows


def _elapsed(application: Application) -> int:
    end = application.completed_at or timezone.now()
    return max(0, int((end - application.started_at).total_seconds()))


def wizard_context(
    request: HttpRequest,
    application: Application,
    *,
    confirm_form: ConfirmForm | None = None,
    exception_form: ExceptionForm | None = None,
    eye_exception_form: EyeExceptionForm | None = None,
) -> dict[str, Any]:
    captures = list(
        application.captures.select_related("exception_signed_by").order_by("kind", "attempt")
    )
    required = _required(application)
    tiles = _finger_tiles(application, captures)
    face = _single(captures, "face")
    irises = _eye_tiles(application, captures) if required.iris else []
    signature = _single(captures, "signature")
    current = application.step if application.status == ApplicationStatus.IN_PROGRESS else ""
    steps = []
    for name in STEP_ORDER:
        index = STEP_ORDER.index(name)
        done = application.status != ApplicationStatus.IN_PROGRESS or (
            current and index < STEP_ORDER.index(current)
        )
        skipped = (name == "fingerprints" and not required.fingerprints) or (
            name == "face" and not required.face
        )
        steps.append(
            {
                "name": name,
                "label": Step(name).label,
                "number": index + 1,
                "current": name == current,
                "done": bool(done),
                "skipped": skipped,
            }
        )
    needing = [t for t in tiles if t["kind"] == "rolled" and not t["done"]]
    exception_positions = [
        {"position": t["position"], "label": t["label"], "state": t["state"]} for t in needing
    ]
    asked = request.GET.get("exception", "")
    if exception_form is None:
        first = next((t for t in needing if t["position"] == asked), None) or next(
            (t for t in needing if t["state"] == "exception"), None
        )
        # A finger the device could not see at all is most likely missing; one whose
        # retries were used up is worn.
        reason = "worn" if first and first["state"] == "exception" else "missing"
        exception_form = ExceptionForm(
            initial={"position": first["position"] if first else "", "reason": reason}
        )
    eyes_needing = [t for t in irises if not t["done"]]
    asked_eye = request.GET.get("eye", "")
    if eye_exception_form is None:
        first_eye = next((t for t in eyes_needing if t["position"] == asked_eye), None) or next(
            (t for t in eyes_needing if t["state"] == "exception"), None
        )
        eye_exception_form = EyeExceptionForm(
            initial={
                "position": first_eye["position"] if first_eye else "",
                # Retries used up on a seeing eye: unreadable; asked at once: most likely
                # the eye is missing or cannot be opened.
                "reason": "unreadable"
                if first_eye and first_eye["state"] == "exception"
                else "missing",
            }
        )
    citizen = application.citizen
    today = timezone.localdate()
    return {
        "application": application,
        "citizen": citizen,
        "age": _age(citizen.birth_date, today),
        "station": application.station,
        "steps": steps,
        "step": current,
        "required": required,
        "tiles": tiles,
        "slap_tiles": [t for t in tiles if t["kind"] == "slap"],
        "right_tiles": [t for t in tiles if t["kind"] == "rolled" and t["position"][0] == "R"],
        "left_tiles": [t for t in tiles if t["kind"] == "rolled" and t["position"][0] == "L"],
        "fingers_done": all(t["done"] for t in tiles),
        "fingers_left": sum(1 for t in tiles if not t["done"]),
        "fingers_pending": any(t["state"] in ("pending", "retry") for t in tiles),
        "finger_limit": 1 + application.station.finger_retries,
        "exception_open": bool(asked) and any(t["position"] == asked for t in needing),
        "exception_needed": any(t["state"] == "exception" for t in tiles),
        "exception_positions": exception_positions,
        "exception_reasons": FingerException.choices,
        "exception_form": exception_form,
        "face": face,
        "irises": irises,
        "face_done": face["done"] and all(i["done"] for i in irises),
        "eye_exception_positions": eyes_needing,
        "eye_exception_reasons": list(EYE_EXCEPTION_LABELS.items()),
        "eye_exception_form": eye_exception_form,
        "eye_exception_open": any(t["state"] == "exception" for t in eyes_needing)
        or any(t["position"] == asked_eye for t in eyes_needing),
        "signature": signature,
        "citizen_rows": _citizen_rows(citizen),
        "review_rows": _review_rows(citizen, application.confirmed_data or {}),
        "confirm_form": confirm_form or ConfirmForm(citizen=citizen),
        "policy": _policy(application),
        "elapsed": _elapsed(application),
        "norm_seconds": 360,
        "excepted": [t for t in tiles if t["state"] == "excepted"],
        "eyes_excepted": [t for t in irises if t["state"] == "excepted"],
        "retried": [t for t in tiles if t["attempts"] > 1],
    }


def _can_work(user: Any, application: Application) -> bool:
    from cancuoc.enrolment.views.common import can_enrol, can_supervise

    return can_supervise(user) or (
        can_enrol(user) and application.station.operators.filter(pk=user.pk).exists()
    )


@login_required
def wizard(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """The application's page: the current step, or, once signed, the forms to print."""
    user = request.user
    require(user, Capability.ENROL, Capability.SUPERVISE_ENROLMENT)
    application = application_or_404(user, pk)
    context = wizard_context(request, application)
    context["can_work"] = _can_work(user, application)
    template = (
        "enrolment/wizard/page.html"
        if application.status == ApplicationStatus.IN_PROGRESS
        else "enrolment/wizard/done.html"
    )
    return render(request, template, context)


# --- Captures ----------------------------------------------------------------------------


def _existing(application: Application, kind: str, position: str, attempt: int | None) -> Any:
    if not attempt:
        return None
    return Capture.objects.filter(
        application=application, kind=kind, position=position, attempt=attempt
    ).first()


def _capture_state(application: Application, capture: Capture) -> str:
    if capture.accepted:
        return "accepted"
    if capture.kind in ("rolled", "iris"):
        verdict = quality.finger_verdict(
            score=capture.quality or 0,
            attempt=capture.attempt,
            policy=_policy(application),
            kind=capture.kind,
        )
        return "exception" if verdict == "exception_allowed" else "retry"
    if capture.kind == "slap" and capture.attempt >= quality.finger_attempts_allowed(
        _policy(application)
    ):
        return "kept"
    return "retry"


def _capture_one(
    user: Any, application: Application, kind: str, position: str, attempt: int | None
) -> dict[str, Any]:
    """Ask the station's device once; the answer as the page's script reads it."""
    result: dict[str, Any] = {"kind": kind, "position": position}
    capture = _existing(application, kind, position, attempt)
    if capture is None:
        try:
            capture = services.capture_from_device(
                actor=user, application_id=application.pk, kind=kind, position=position
            )
        except OutOfScope:
            raise Http404 from None
        except DomainError as exc:
            result.update(ok=False, state="error", error=exc.message)
            return result
    result.update(
        ok=True,
        attempt=capture.attempt,
        quality=capture.quality,
        accepted=capture.accepted,
        state=_capture_state(application, capture),
        next_attempt=capture.attempt + 1,
    )
    return result


def _sequence(application: Application, group: str) -> list[tuple[str, str]]:
    """What "capture all" asks the devices for, in order, skipping what is done."""
    context_captures = list(application.captures.all())
    if group == "fingerprints":
        tiles = _finger_tiles(application, context_captures)
        return [(t["kind"], t["position"]) for t in tiles if t["state"] in ("pending", "retry")]
    if group == "face":
        items = [] if _single(context_captures, "face")["done"] else [("face", "")]
        if _required(application).iris:
            # An eye signed off, or whose retries are used up, is not asked again.
            items += [
                ("iris", t["position"])
                for t in _eye_tiles(application, context_captures)
                if t["state"] in ("pending", "retry")
            ]
        return items
    if group == "signature":
        return [] if _single(context_captures, "signature")["done"] else [("signature", "")]
    return []


def _run_sequence(user: Any, application: Application, group: str) -> list[dict[str, Any]]:
    """The whole sequence server-side (the no-script path): each item is retried while its
    verdict says retry, as a device waiting for the finger again would."""
    results = []
    for kind, position in _sequence(application, group):
        limit = (
            FACE_AUTO_ATTEMPTS
            if kind == "face"
            else 1 + application.station.finger_retries
            if kind in ("rolled", "slap", "iris")
            else 1
        )
        for _try in range(limit):
            result = _capture_one(user, application, kind, position, None)
            results.append(result)
            if result["state"] != "retry":
                break
    return results


@login_required
@require_POST
def capture(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """One device capture (``kind`` + ``position``), or a whole group (``group``)."""
    user = request.user
    require(user, Capability.ENROL, Capability.SUPERVISE_ENROLMENT)
    application = application_or_404(user, pk, audit=False)
    group = request.POST.get("group", "")
    kind = request.POST.get("kind", "")
    position = request.POST.get("position", "")
    try:
        attempt = int(request.POST.get("attempt") or 0) or None
    except ValueError:
        attempt = None
    if group:
        results = _run_sequence(user, application, group)
    elif kind:
        results = [_capture_one(user, application, kind, position, attempt)]
    else:
        results = []
    if wants_json(request):
        return JsonResponse({"results": results})
    errors = [r for r in results if not r["ok"]]
    for r in errors:
        label = POSITION_LABELS.get(r["position"]) or EYE_LABELS.get(r["position"]) or ""
        messages.error(request, f"{label}: {r['error']}" if label else r["error"])
    url = reverse("enrolment:wizard", kwargs={"pk": application.pk})
    stuck = [
        r["position"]
        for r in results
        if r["kind"] == "rolled" and r["state"] in ("error", "exception")
    ]
    if stuck:
        # Open the exception form on the first finger that needs one.
        return redirect(f"{url}?exception={stuck[0]}")
    eyes = [r["position"] for r in results if r["kind"] == "iris" and r["state"] == "exception"]
    if eyes:
        return redirect(f"{url}?eye={eyes[0]}")
    return redirect(url)


@login_required
@require_POST
def exception(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """A finger (or, with ``kind=iris``, an eye) that cannot be captured: the supervisor
    signs off on the spot."""
    user = request.user
    require(user, Capability.ENROL, Capability.SUPERVISE_ENROLMENT)
    application = application_or_404(user, pk, audit=False)
    if request.POST.get("kind") == "iris":
        return _eye_exception(request, application)
    form = ExceptionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.finger_exception_sign(
                actor=user,
                application_id=application.pk,
                position=data["position"],
                reason=data["reason"],
                supervisor_username=data["supervisor_username"],
                supervisor_password=data["supervisor_password"],
            )
        except OutOfScope:
            raise Http404 from None
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("The exception for %(finger)s was signed off.")
                % {"finger": POSITION_LABELS.get(data["position"], data["position"])},
            )
            return redirect("enrolment:wizard", pk=application.pk)
    # The password is never sent back into the page.
    data = {**request.POST.dict(), "supervisor_password": ""}
    bound = ExceptionForm(data)
    bound._errors = form.errors  # type: ignore[attr-defined]  # the failed attempt's messages
    context = wizard_context(request, application, exception_form=bound)
    context["can_work"] = _can_work(user, application)
    context["exception_open"] = True
    return render(request, "enrolment/wizard/page.html", context, status=400)


def _eye_exception(request: HttpRequest, application: Application) -> HttpResponse:
    user = request.user
    form = EyeExceptionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            biometric_exception_sign(
                actor=user,
                application_id=application.pk,
                kind="iris",
                position=data["position"],
                reason=data["reason"],
                supervisor_username=data["supervisor_username"],
                supervisor_password=data["supervisor_password"],
            )
        except OutOfScope:
            raise Http404 from None
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("The exception for the %(eye)s was signed off.")
                % {"eye": str(EYE_LABELS.get(data["position"], data["position"])).lower()},
            )
            return redirect("enrolment:wizard", pk=application.pk)
    # The password is never sent back into the page.
    bound = EyeExceptionForm({**request.POST.dict(), "supervisor_password": ""})
    bound._errors = form.errors  # type: ignore[attr-defined]  # the failed attempt's messages
    context = wizard_context(request, application, eye_exception_form=bound)
    context["can_work"] = _can_work(user, application)
    context["eye_exception_open"] = True
    return render(request, "enrolment/wizard/page.html", context, status=400)


# --- Steps -------------------------------------------------------------------------------


def _behind(application: Application, step: str) -> bool:
    """The step was already completed: a second submission of an old page."""
    if application.status != ApplicationStatus.IN_PROGRESS:
        return True
    return STEP_ORDER.index(step) < STEP_ORDER.index(application.step)


@login_required
@require_POST
def step(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """Complete the current step (step 1 with its corrections, if any)."""
    user = request.user
    require(user, Capability.ENROL, Capability.SUPERVISE_ENROLMENT)
    application = application_or_404(user, pk, audit=False)
    name = request.POST.get("step", "")
    if name not in STEP_ORDER:
        messages.error(request, _("Unknown step."))
        return redirect("enrolment:wizard", pk=application.pk)
    if _behind(application, name):
        messages.info(request, _("This step was already completed; nothing was changed."))
        return redirect("enrolment:wizard", pk=application.pk)
    try:
        if name == "confirm":
            form = ConfirmForm(request.POST, citizen=application.citizen)
            if not form.is_valid():
                context = wizard_context(request, application, confirm_form=form)
                context["can_work"] = _can_work(user, application)
                context["correction_open"] = True
                return render(request, "enrolment/wizard/page.html", context, status=400)
            corrections = form.corrections()
            services.application_confirm(
                actor=user,
                application_id=application.pk,
                corrections=corrections or None,
                evidence=form.cleaned_data.get("evidence", ""),
            )
            if corrections:
                messages.success(
                    request,
                    _("The correction was sent to the registry for approval."),
                )
        else:
            services.step_complete(actor=user, application_id=application.pk, step=name)
    except OutOfScope:
        raise Http404 from None
    except PermissionDenied as exc:
        messages.error(request, exc.message)
        return redirect("enrolment:wizard", pk=application.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("enrolment:wizard", pk=application.pk)
    if name == "sign":
        messages.success(request, _("The enrolment is complete."))
    return redirect("enrolment:wizard", pk=application.pk)


@login_required
@require_POST
def cancel(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    user = request.user
    require(user, Capability.ENROL, Capability.SUPERVISE_ENROLMENT)
    application = application_or_404(user, pk, audit=False)
    form = CancelForm(request.POST)
    if application.status == ApplicationStatus.CANCELLED:
        return redirect("enrolment:wizard", pk=application.pk)
    if not form.is_valid():
        messages.error(request, _("Give the reason for cancelling."))
        return redirect("enrolment:wizard", pk=application.pk)
    try:
        services.application_cancel(
            actor=user, application_id=application.pk, reason=form.cleaned_data["reason"]
        )
    except OutOfScope:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("enrolment:wizard", pk=application.pk)
    messages.success(request, _("The application was cancelled."))
    return redirect("enrolment:find", pk=application.station_id)


# --- Printed forms and images -------------------------------------------------------------


def _pdf(request: HttpRequest, pk: uuid.UUID, form: str) -> HttpResponse:
    from cancuoc.enrolment import printing

    require(request.user, Capability.ENROL, Capability.SUPERVISE_ENROLMENT)
    application = application_or_404(request.user, pk, audit=False)
    make = printing.form_cc01_pdf if form == "cc01" else printing.form_cc02_pdf
    try:
        content = make(actor=request.user, application_id=application.pk)
    except (OutOfScope, DomainError):
        raise Http404 from None
    return pdf_inline(content, filename=f"{application.citizen.id_number}-{form}.pdf")


@login_required
def cc01(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    return _pdf(request, pk, "cc01")


@login_required
def cc02(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    return _pdf(request, pk, "cc02")


@login_required
def capture_image(request: HttpRequest, pk: uuid.UUID, capture_id: int) -> HttpResponse:
    """A face or signature image for the operator's check (each read is audited)."""
    from cancuoc.enrolment import biostore

    require(request.user, Capability.ENROL, Capability.SUPERVISE_ENROLMENT)
    application = application_or_404(request.user, pk, audit=False)
    row = (
        application.captures.filter(pk=capture_id, kind__in=("face", "signature"))
        .select_related("blob")
        .first()
    )
    if row is None or row.blob is None or row.blob.purged_at is not None:
        raise Http404
    try:
        content = biostore.blob_read(
            actor=request.user, digest=row.blob.digest, purpose="enrolment check"
        )
    except DomainError:
        raise Http404 from None
    response = HttpResponse(content, content_type=row.blob.content_type)
    # Biometric images must not linger in shared caches or the browser's disk cache.
    response["Cache-Control"] = "no-store, private"
    return response
