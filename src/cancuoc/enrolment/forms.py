"""Forms of the enrolment pages: they check shapes; the services decide and write."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cancuoc.enrolment.models import ApplicationKind, FingerException, StationKind

#: The registry fields an operator may propose to correct from step 1 (the ones a card
#: prints). Everything else goes through the registry's own correction page.
CORRECTION_FIELDS: tuple[str, ...] = (
    "full_name",
    "birth_date",
    "sex",
    "ethnicity",
    "religion",
    "nationality",
    "place_of_origin",
    "permanent_address",
    "current_address",
)


def _set_choices(form: forms.Form, name: str, choices: list[Any]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


def _date(value: str) -> dt.date | None:
    value = value.strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


class FindForm(forms.Form):
    q = forms.CharField(
        label=_("ID number, old CMND, name and birth date, or scan the invitation QR"),
        max_length=500,
        strip=True,
    )


class StartForm(forms.Form):
    """Start an application; ``application_id`` is chosen when the page is drawn, so a
    second submission of the same page returns the same application."""

    citizen_id = forms.IntegerField(widget=forms.HiddenInput)
    application_id = forms.UUIDField(widget=forms.HiddenInput)
    kind = forms.ChoiceField(
        label=_("Application"),
        required=False,
        choices=[
            ("", _("Automatic (first card or renewal)")),
            (ApplicationKind.REISSUE, _("Re-issue (lost or damaged card)")),
        ],
    )
    guardian_name = forms.CharField(label=_("Guardian's full name"), max_length=200, required=False)
    guardian_id_number = forms.CharField(
        label=_("Guardian's ID number"), max_length=12, required=False
    )

    def clean_guardian_id_number(self) -> str:
        value = "".join(
            ch for ch in self.cleaned_data.get("guardian_id_number", "") if ch.isdigit()
        )
        if value and len(value) != 12:
            raise forms.ValidationError(_("An ID number has 12 digits."))
        return value


class ConfirmForm(forms.Form):
    """Step 1: the data is confirmed as is, or corrections are proposed with evidence."""

    full_name = forms.CharField(label=_("full name"), max_length=200, required=False)
    birth_date = forms.CharField(label=_("date of birth"), max_length=10, required=False)
    sex = forms.ChoiceField(
        label=_("sex"), required=False, choices=[("", "—"), ("M", _("Male")), ("F", _("Female"))]
    )
    ethnicity = forms.CharField(label=_("ethnicity"), max_length=50, required=False)
    religion = forms.CharField(label=_("religion"), max_length=50, required=False)
    nationality = forms.CharField(label=_("nationality"), max_length=50, required=False)
    place_of_origin = forms.CharField(label=_("place of origin"), max_length=255, required=False)
    permanent_address = forms.CharField(
        label=_("permanent address"), max_length=255, required=False
    )
    current_address = forms.CharField(label=_("current address"), max_length=255, required=False)
    evidence = forms.CharField(
        label=_("Evidence"),
        required=False,
        max_length=1000,
        help_text=_("The document that proves the correction, e.g. a birth certificate extract."),
    )

    def __init__(self, *args: Any, citizen: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.citizen = citizen
        for field in CORRECTION_FIELDS:
            self.initial.setdefault(field, self._current(field))

    def _current(self, field: str) -> str:
        value = getattr(self.citizen, field, "")
        if isinstance(value, dt.date):
            return value.strftime("%d/%m/%Y")
        return "" if value is None else str(value)

    def corrections(self) -> dict[str, Any]:
        """The fields the operator changed (blank means "unchanged", not "erase")."""
        changed: dict[str, Any] = {}
        for field in CORRECTION_FIELDS:
            value = (self.cleaned_data.get(field) or "").strip()
            if not value or value == self._current(field):
                continue
            if field == "birth_date":
                changed[field] = _date(value)
            else:
                changed[field] = value
        return changed

    def clean_birth_date(self) -> str:
        value = self.cleaned_data.get("birth_date", "").strip()
        if value and _date(value) is None:
            raise forms.ValidationError(_("Write the date as dd/mm/yyyy."))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and self.corrections() and not (data.get("evidence") or "").strip():
            self.add_error("evidence", _("A correction needs its evidence."))
        return data


class ExceptionForm(forms.Form):
    """A finger that cannot be captured, signed off on the spot by a supervisor."""

    position = forms.CharField(label=_("Finger"), max_length=4)
    reason = forms.ChoiceField(label=_("Reason"), choices=FingerException.choices)
    supervisor_username = forms.CharField(label=_("Supervisor's username"), max_length=150)
    supervisor_password = forms.CharField(
        label=_("Supervisor's password"), max_length=128, widget=forms.PasswordInput
    )


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)


class SessionOpenForm(forms.Form):
    place = forms.CharField(label=_("Place"), max_length=200, required=False)


def _json_object(value: Any) -> dict[str, Any]:
    if value in (None, ""):
        return {}
    if isinstance(value, dict):
        return value
    try:
        data = json.loads(value)
    except (TypeError, ValueError):
        raise forms.ValidationError(_("Write a JSON object.")) from None
    if not isinstance(data, dict):
        raise forms.ValidationError(_("Write a JSON object."))
    return data


class StationForm(forms.Form):
    code = forms.CharField(label=_("code"), max_length=32)
    name = forms.CharField(label=_("name"), max_length=120)
    kind = forms.ChoiceField(label=_("kind"), choices=StationKind.choices)
    unit_id = forms.TypedChoiceField(label=_("Unit"), coerce=int)
    operator_ids = forms.TypedMultipleChoiceField(
        label=_("operators"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    finger_threshold = forms.IntegerField(
        label=_("finger quality threshold"), min_value=0, max_value=100, initial=40
    )
    finger_retries = forms.IntegerField(
        label=_("retries per finger"), min_value=0, max_value=10, initial=3
    )
    face_threshold = forms.IntegerField(
        label=_("face quality threshold"), min_value=0, max_value=100, initial=90
    )
    max_days_unsynced = forms.IntegerField(
        label=_("days without sync allowed"), min_value=1, max_value=60, initial=3
    )
    max_unsent = forms.IntegerField(
        label=_("unsent enrolments allowed"), min_value=1, max_value=100000, initial=300
    )
    device_profile = forms.CharField(
        label=_("device profile"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("JSON: the adapter and the simulator's settings."),
    )
    is_active = forms.BooleanField(label=_("active"), required=False, initial=True)

    #: The fields ``station_update`` takes besides the operators.
    UPDATE_FIELDS = (
        "name",
        "kind",
        "finger_threshold",
        "finger_retries",
        "face_threshold",
        "max_days_unsynced",
        "max_unsent",
        "device_profile",
        "is_active",
    )

    def __init__(
        self,
        *args: Any,
        units: list[tuple[int, str]],
        operators: list[tuple[int, str]],
        editing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "unit_id", units)
        _set_choices(self, "operator_ids", operators)
        if editing:
            # A station keeps its code (its token and pushed batches name it) and its unit.
            self.fields["code"].disabled = True
            self.fields["unit_id"].disabled = True

    def clean_device_profile(self) -> dict[str, Any]:
        return _json_object(self.cleaned_data.get("device_profile"))


class CardActionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("mark_ready", _("Mark ready")), ("hand_over", _("Hand over"))]
    )
    card_ids = forms.TypedMultipleChoiceField(coerce=int, choices=[])

    def __init__(self, *args: Any, card_choices: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "card_ids", [(pk, str(pk)) for pk in card_choices])


class ExportForm(forms.Form):
    unit_id = forms.TypedChoiceField(label=_("Unit"), coerce=int)
    file_format = forms.ChoiceField(
        label=_("Format"), choices=[("csv", "CSV"), ("json", "JSON")], initial="csv"
    )

    def __init__(self, *args: Any, units: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "unit_id", units)


class ResolveForm(forms.Form):
    keep = forms.TypedChoiceField(coerce=lambda v: v == "1", choices=[("1", "1"), ("0", "0")])
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class StatsForm(forms.Form):
    station = forms.TypedChoiceField(
        label=_("Station"), coerce=int, required=False, empty_value=None
    )
    operator = forms.TypedChoiceField(
        label=_("Operator"), coerce=int, required=False, empty_value=None
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(
        self,
        *args: Any,
        stations: list[tuple[int, str]],
        operators: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "station", [("", _("All")), *stations])
        _set_choices(self, "operator", [("", _("All")), *operators])
