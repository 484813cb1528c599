"""Forms of the registry pages. They only shape input; the services validate the rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cancuoc.registry.models import BirthPrecision, Citizen, Correction, Sex
from cancuoc.registry.services import CORRECTABLE_FIELDS

_DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]


def _date_field(label: Any, **kwargs: Any) -> forms.DateField:
    return forms.DateField(
        label=label,
        input_formats=_DATE_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        **kwargs,
    )


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


class CorrectionForm(forms.Form):
    """Every correctable field, pre-filled with the record: what the officer edits is proposed."""

    kind = forms.ChoiceField(label=_("Kind"), choices=Correction.Kind.choices)
    id_number = forms.CharField(label=_("personal ID number"), max_length=20, required=False)
    full_name = forms.CharField(label=_("full name"), max_length=200, required=False)
    birth_date = _date_field(_("birth date"), required=False)
    birth_precision = forms.ChoiceField(
        label=_("Birth date precision"), choices=BirthPrecision.choices, required=False
    )
    sex = forms.ChoiceField(label=_("sex"), choices=[("", "—"), *Sex.choices], required=False)
    ethnicity = forms.CharField(label=_("ethnicity"), max_length=50, required=False)
    religion = forms.CharField(label=_("religion"), max_length=50, required=False)
    nationality = forms.CharField(label=_("nationality"), max_length=50, required=False)
    birth_registration_place = forms.CharField(
        label=_("place of birth registration"), max_length=255, required=False
    )
    place_of_origin = forms.CharField(label=_("place of origin"), max_length=255, required=False)
    permanent_address = forms.CharField(
        label=_("permanent address"), max_length=255, required=False
    )
    current_address = forms.CharField(label=_("current address"), max_length=255, required=False)
    phone = forms.CharField(label=_("phone"), max_length=15, required=False)
    death_date = _date_field(
        _("date of death"), required=False, help_text=_("For a death registration only.")
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))
    evidence = forms.CharField(
        label=_("Evidence"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The document that proves the change, e.g. a birth certificate extract."),
    )

    def __init__(self, *args: Any, citizen: Citizen, **kwargs: Any) -> None:
        initial = {field: getattr(citizen, field) for field in CORRECTABLE_FIELDS}
        kwargs.setdefault("initial", {}).update(initial)
        super().__init__(*args, **kwargs)
        self.citizen = citizen

    def changes(self) -> dict[str, Any]:
        """Fields whose submitted value differs from the record (a death: only death_date)."""
        data = self.cleaned_data
        if data["kind"] == Correction.Kind.DEATH:
            return {"death_date": data.get("death_date")}
        changed: dict[str, Any] = {}
        for field in CORRECTABLE_FIELDS:
            value = data.get(field)
            if _as_text(value).strip() != _as_text(getattr(self.citizen, field)):
                changed[field] = value
        return changed


class DecisionForm(forms.Form):
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
