"""Forms of the one-stop desk: receipt, per-action fields, fees, delivery, calendar.

Forms only validate shapes (lengths, formats, choices). Every rule about what may
happen to a dossier lives in `dossiers.services`; its DomainErrors are shown as is.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cancuoc.dossiers.applicant import ID_NUMBER, phone_normalise, phone_valid
from cancuoc.dossiers.models import Area, Channel, DeliveryStatus, ReturnMethod

# Lifecycle actions an officer can take on an existing dossier from its page.
# (receive, reject_intake and on_the_spot start a dossier, so they live on the receipt form.)
DOSSIER_ACTIONS = (
    "transfer",
    "appraise",
    "supplement_request",
    "supplement_receive",
    "approve",
    "refuse",
    "sign",
    "result_ready",
    "return",
    "withdraw",
    "apologise",
    "route",
)
# Side operations on a dossier that do not change its status.
SIDE_ACTIONS = ("fee_pay", "fee_exempt", "delivery_update")


def new_submission_key() -> str:
    return uuid.uuid4().hex


class ReceiveForm(forms.Form):
    """The receipt form (tiếp nhận hồ sơ). `procedures` and `units` are given by the view."""

    procedure_code = forms.ChoiceField(label=_("Procedure"))
    channel = forms.ChoiceField(
        label=_("Channel"), choices=Channel.choices, initial=Channel.COUNTER
    )
    applicant_id_number = forms.RegexField(
        label=_("Personal ID number"),
        regex=ID_NUMBER,
        required=False,
        error_messages={
            "invalid": _("The ID number must have 12 digits (or 9 for an old ID card).")
        },
    )
    citizen_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    applicant_name = forms.CharField(label=_("Applicant's full name"), max_length=200)
    applicant_phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    applicant_address = forms.CharField(label=_("Address"), max_length=255, required=False)
    competent_unit_id = forms.TypedChoiceField(
        label=_("Competent unit"), coerce=int, required=False
    )
    return_method = forms.ChoiceField(
        label=_("Return of the result"), choices=ReturnMethod.choices, initial=ReturnMethod.COUNTER
    )
    delivery_address = forms.CharField(label=_("Delivery address"), max_length=255, required=False)
    fee_exemption_reason = forms.CharField(
        label=_("Fee exemption reason"), max_length=255, required=False
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    on_the_spot = forms.BooleanField(label=_("Resolve on the spot"), required=False)
    intake_refusal_reason = forms.CharField(
        label=_("Reason for refusing at intake"), max_length=500, required=False
    )
    submission_key = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        procedures: Iterable[tuple[str, str]],
        units: Iterable[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        procedure_field = self.fields["procedure_code"]
        unit_field = self.fields["competent_unit_id"]
        assert isinstance(procedure_field, forms.ChoiceField)
        assert isinstance(unit_field, forms.ChoiceField)
        procedure_field.choices = [("", "—"), *procedures]
        unit_field.choices = list(units)
        if not self.is_bound:
            self.initial.setdefault("submission_key", new_submission_key())

    def clean_applicant_phone(self) -> str:
        # The service's rule: separators dropped, then 8 to 15 digits (a leading + allowed).
        phone = phone_normalise(self.cleaned_data.get("applicant_phone"))
        if phone and not phone_valid(phone):
            raise forms.ValidationError(
                _("Enter a phone number of 8 to 15 digits (for example 0912 345 678).")
            )
        return phone

    def clean_applicant_name(self) -> str:
        return " ".join(self.cleaned_data["applicant_name"].split())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("return_method") == ReturnMethod.POST and not data.get("delivery_address"):
            self.add_error(
                "delivery_address", _("Give the delivery address for a result sent by post.")
            )
        return data

    def service_kwargs(self) -> dict[str, Any]:
        """The arguments of `dossier_receive` (and `dossier_on_the_spot`)."""
        d = self.cleaned_data
        return {
            "procedure_code": d["procedure_code"],
            "applicant_name": d["applicant_name"],
            "applicant_id_number": d.get("applicant_id_number") or "",
            "applicant_phone": d.get("applicant_phone") or "",
            "applicant_address": d.get("applicant_address") or "",
            "channel": d["channel"],
            "citizen_id": d.get("citizen_id") or None,
            "competent_unit_id": d.get("competent_unit_id") or None,
            "return_method": d["return_method"],
            "delivery_address": d.get("delivery_address") or "",
            "fee_exemption_reason": d.get("fee_exemption_reason") or "",
            "note": d.get("note") or "",
            "submission_key": d["submission_key"],
        }


class ActForm(forms.Form):
    """One action on a dossier. Only the fields the action needs are read."""

    action = forms.ChoiceField(choices=[(a, a) for a in DOSSIER_ACTIONS + SIDE_ACTIONS])
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)
    missing = forms.CharField(label=_("Missing documents"), required=False, max_length=2000)
    new_date = forms.DateField(label=_("New return date"), required=False)
    unit_id = forms.IntegerField(label=_("Competent unit"), required=False)
    method = forms.ChoiceField(
        label=_("Return method"), choices=[("", "—"), *ReturnMethod.choices], required=False
    )
    tracking_number = forms.CharField(label=_("Tracking number"), required=False, max_length=40)
    receipt_number = forms.CharField(label=_("Receipt number"), required=False, max_length=40)
    delivery_status = forms.ChoiceField(
        label=_("Delivery status"),
        choices=[c for c in DeliveryStatus.choices if c[0]],
        required=False,
    )
    delivered_on = forms.DateField(label=_("Delivered on"), required=False)

    # Fields each action must have; checked here so the message names the field.
    REQUIRED = {
        "refuse": ("reason",),
        "withdraw": ("reason",),
        "supplement_request": ("missing",),
        "apologise": ("new_date", "reason"),
        "route": ("unit_id",),
        "fee_pay": ("receipt_number",),
        "fee_exempt": ("reason",),
        "delivery_update": ("delivery_status",),
    }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in self.REQUIRED.get(data.get("action", ""), ()):
            if data.get(name) in (None, ""):
                self.add_error(name, _("This field is required for this action."))
        return data


def action_kwargs(action: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments an action's service takes, picked from submitted fields.

    Shared by the page form and the API so both send the services the same thing.
    """
    if action in ("refuse", "withdraw"):
        return {"reason": fields.get("reason") or ""}
    if action == "supplement_request":
        missing = fields.get("missing") or []
        if isinstance(missing, str):
            missing = missing.splitlines()
        return {"missing": [line.strip() for line in missing if line and line.strip()]}
    if action == "apologise":
        return {"new_date": fields.get("new_date"), "reason": fields.get("reason") or ""}
    if action == "route":
        return {"unit_id": fields.get("unit_id")}
    if action == "return":
        return {
            "method": fields.get("method") or None,
            "tracking_number": fields.get("tracking_number") or "",
        }
    if action == "fee_pay":
        return {"receipt_number": fields.get("receipt_number") or ""}
    if action == "fee_exempt":
        return {"reason": fields.get("reason") or ""}
    if action == "delivery_update":
        return {
            "status": fields.get("delivery_status") or "",
            "tracking_number": fields.get("tracking_number") or "",
            "delivered_on": fields.get("delivered_on"),
        }
    return {}


class AdjustmentForm(forms.Form):
    """One working-day adjustment (an official swap or an extra day off)."""

    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))
    is_working_day = forms.TypedChoiceField(
        label=_("Kind"),
        coerce=lambda v: v in (True, "True", "true", "1"),
        choices=[("False", _("Day off")), ("True", _("Working day"))],
    )
    note = forms.CharField(label=_("Note"), max_length=255, required=False)
    source = forms.CharField(label=_("Source (decision, notice)"), max_length=255, required=False)


class DeskSettingsForm(forms.Form):
    """A unit's desk settings. `units` (the units in the manager's scope) come from the view."""

    unit_id = forms.TypedChoiceField(label=_("Unit"), coerce=int)
    identifier = forms.CharField(label=_("Unit identifier in dossier codes"), max_length=40)
    code_pattern = forms.CharField(
        label=_("Dossier code pattern"),
        max_length=80,
        required=False,
        help_text=_("Placeholders: {identifier}, {yymmdd} or {yyyymmdd}, {seq:04d}."),
    )
    area = forms.ChoiceField(
        label=_("Area (2014 ID-card law times)"), choices=Area.choices, required=False
    )

    def __init__(self, *args: Any, units: Iterable[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unit_field = self.fields["unit_id"]
        assert isinstance(unit_field, forms.ChoiceField)
        unit_field.choices = list(units)
