"""Portal forms: they check shapes only; the services decide."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from cancuoc.portal.models import ComplaintKind, ComplaintStatus, Score


class LookupForm(forms.Form):
    code = forms.CharField(
        label=_("Dossier code"),
        max_length=60,
        help_text=_("As printed on your receipt, e.g. 000.00.00.H29-210316-0001"),
    )
    factor = forms.CharField(
        label=_("Last 4 digits of your phone, or last 6 of your ID number"),
        min_length=4,
        max_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


class RatingForm(forms.Form):
    score = forms.ChoiceField(
        label=_("How satisfied are you with the service?"),
        choices=Score.choices,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment (optional)"), required=False, max_length=4000, widget=forms.Textarea
    )


class ComplaintForm(forms.Form):
    kind = forms.ChoiceField(label=_("About"), choices=ComplaintKind.choices)
    text = forms.CharField(label=_("What happened"), max_length=4000, widget=forms.Textarea)
    officer_named = forms.CharField(
        label=_("Officer concerned (name, desk or time)"), required=False, max_length=200
    )
    contact_name = forms.CharField(label=_("Your name"), max_length=200)
    contact_phone = forms.CharField(
        label=_("Your phone (for the answer)"), required=False, max_length=15
    )
    dossier_code = forms.CharField(
        label=_("Dossier code (if it is about a dossier)"), required=False, max_length=60
    )
    factor = forms.CharField(
        label=_("Last 4 digits of your phone, or last 6 of your ID number"),
        required=False,
        max_length=6,
    )
    province = forms.TypedChoiceField(label=_("Province"), required=False, coerce=int)
    unit = forms.TypedChoiceField(label=_("Office"), required=False, coerce=int)

    def __init__(
        self,
        *args: Any,
        provinces: list[tuple[int, str]],
        communes: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        blank: list[tuple[Any, Any]] = [("", _("— choose —"))]
        for name, options in (("province", provinces), ("unit", communes)):
            cast(forms.ChoiceField, self.fields[name]).choices = blank + options


class HandleForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=ComplaintStatus.choices)
    answer = forms.CharField(
        label=_("Answer to the citizen"), required=False, max_length=4000, widget=forms.Textarea
    )
