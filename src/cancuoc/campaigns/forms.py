"""Forms of the campaign pages.

Forms only validate shapes (numbers, dates, times, choices). Every rule about campaigns,
quotas, sessions and invitations lives in `campaigns.services`; its DomainErrors are shown
as they are. Unit and team choices are given by the view, already limited to the user's
scope, so a tampered id fails as an invalid choice before any service runs.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cancuoc.campaigns.models import (
    EquipmentState,
    InvitationStatus,
    SiteKind,
    TargetKind,
)

Choices = Iterable[tuple[Any, str]]

_DATE = {"type": "date"}
_TIME = {"type": "time"}

PRIORITY_CHOICES = [
    ("", _("Anyone")),
    ("frail_elderly", _("Elderly, frail")),
    ("disability", _("Disability")),
    ("serious_illness", _("Serious illness")),
    ("living_alone", _("Living alone")),
    ("war_merit", _("War-merit family")),
]
WEEKDAY_CHOICES = [
    (1, _("Monday")),
    (2, _("Tuesday")),
    (3, _("Wednesday")),
    (4, _("Thursday")),
    (5, _("Friday")),
    (6, _("Saturday")),
    (7, _("Sunday")),
]
# What an officer may set by hand on the attendance list; "attended" comes from enrolment.
MARK_CHOICES = [
    (InvitationStatus.REMINDED, InvitationStatus.REMINDED.label),
    (InvitationStatus.NO_SHOW, InvitationStatus.NO_SHOW.label),
    (InvitationStatus.CANCELLED, InvitationStatus.CANCELLED.label),
]
PER_PAGE_CHOICES = [(1, _("One notice a page")), (2, _("Two to an A4")), (4, _("Four to an A4"))]


def _choices(form: forms.Form, name: str, choices: Any) -> None:
    """Give a choice field its choices (from the view, already limited to the user's scope)."""
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    slug = forms.SlugField(
        label=_("Short name"),
        max_length=60,
        help_text=_("Used in addresses and the report command, e.g. ha-tinh-2024."),
    )
    unit_id = forms.TypedChoiceField(label=_("Unit"), coerce=int)
    start_date = forms.DateField(label=_("Start date"), widget=forms.DateInput(attrs=_DATE))
    deadline = forms.DateField(label=_("Deadline"), widget=forms.DateInput(attrs=_DATE))
    target_kind = forms.ChoiceField(
        label=_("Target"), choices=TargetKind.choices, initial=TargetKind.NUMBER
    )
    target = forms.IntegerField(label=_("Number of cards"), min_value=1, required=False)
    law = forms.ChoiceField(
        label=_("Legal regime"),
        choices=[("2023", _("Law on Identity 2023")), ("2014", _("Law on Citizen ID 2014"))],
        initial="2023",
    )
    open_weekends = forms.BooleanField(label=_("Open on weekends"), required=False, initial=True)
    open_holidays = forms.BooleanField(label=_("Open on public holidays"), required=False)
    service_minutes = forms.IntegerField(
        label=_("Minutes per citizen"), min_value=1, max_value=120, initial=6
    )
    show_up_rate = forms.IntegerField(
        label=_("Show-up rate (%)"), min_value=1, max_value=100, initial=85
    )

    def __init__(self, *args: Any, units: Choices = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "unit_id", list(units))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, deadline = data.get("start_date"), data.get("deadline")
        if start and deadline and deadline < start:
            self.add_error("deadline", _("The deadline must not be before the start date."))
        if data.get("target_kind") == TargetKind.NUMBER and not data.get("target"):
            self.add_error("target", _("Give the number of cards to issue."))
        if data.get("target_kind") == TargetKind.COHORT:
            data["target"] = None
        return data


class AllocationsForm(forms.Form):
    """One number per child unit; the service refuses a total other than the target."""

    def __init__(self, *args: Any, units: Iterable[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for unit in units:
            self.fields[f"unit_{unit.pk}"] = forms.IntegerField(
                label=unit.name, min_value=0, required=True
            )

    def targets(self) -> dict[int, int]:
        return {
            int(name.removeprefix("unit_")): value
            for name, value in self.cleaned_data.items()
            if name.startswith("unit_")
        }


class QuotaForm(forms.Form):
    unit_id = forms.TypedChoiceField(label=_("Unit"), coerce=int)
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs=_DATE))
    quota = forms.IntegerField(label=_("Quota"), min_value=0)

    def __init__(self, *args: Any, units: Choices = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "unit_id", list(units))


class CampaignDayForm(forms.Form):
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs=_DATE))
    # Empty: the day goes back to the campaign's rules (weekends, holidays).
    is_open = forms.TypedChoiceField(
        label=_("Intake"),
        choices=[
            ("1", _("Open for intake")),
            ("0", _("Closed for intake")),
            ("", _("As the rules say")),
        ],
        coerce=lambda v: v == "1",
        required=False,
        empty_value=None,
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class ManualCountForm(forms.Form):
    unit_id = forms.TypedChoiceField(label=_("Unit"), coerce=int)
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs=_DATE))
    received = forms.IntegerField(label=_("Dossiers received"), min_value=0)

    def __init__(self, *args: Any, units: Choices = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "unit_id", list(units))


# --- Resources --------------------------------------------------------------------------


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Team name"), max_length=120)
    unit_id = forms.TypedChoiceField(label=_("Base unit"), coerce=int)
    mobile = forms.BooleanField(label=_("Mobile team"), required=False)
    member_ids = forms.TypedMultipleChoiceField(label=_("Members"), coerce=int, required=False)

    def __init__(
        self, *args: Any, units: Choices = (), members: Choices = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "unit_id", list(units))
        _choices(self, "member_ids", list(members))


class EquipmentSetForm(forms.Form):
    serial = forms.CharField(label=_("Serial"), max_length=40)
    unit_id = forms.TypedChoiceField(label=_("Unit"), coerce=int)
    team_id = forms.TypedChoiceField(label=_("Team"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args: Any, units: Choices = (), teams: Choices = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        _choices(self, "unit_id", list(units))
        _choices(self, "team_id", [("", _("No team")), *teams])


class EquipmentAssignForm(forms.Form):
    equipment_id = forms.IntegerField(widget=forms.HiddenInput)
    team_id = forms.TypedChoiceField(label=_("Team"), coerce=int, required=False, empty_value=None)
    state = forms.ChoiceField(label=_("State"), choices=EquipmentState.choices)

    def __init__(self, *args: Any, teams: Choices = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "team_id", [("", _("No team")), *teams])


_SHIFT = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*(?:[x×*]\s*(\d+))?\s*$")


def parse_shifts(text: str) -> list[dict[str, Any]]:
    """ "06:00-11:00 x 6; 13:00-17:00 x 6" → [{"start": "06:00", "end": "11:00", "staff": 6}, …].

    Only the shape is checked here; the service checks that the times make sense.
    """
    shifts = []
    for part in re.split(r"[;\n]+", text):
        if not part.strip():
            continue
        match = _SHIFT.match(part)
        if not match:
            raise forms.ValidationError(
                _("Write each shift as 06:00-11:00 x 6 (times, then the number of staff).")
            )
        h1, m1, h2, m2, staff = match.groups()
        try:
            start, end = dt.time(int(h1), int(m1)), dt.time(int(h2), int(m2))
        except ValueError:
            raise forms.ValidationError(_("A shift has an impossible time.")) from None
        shifts.append({"start": f"{start:%H:%M}", "end": f"{end:%H:%M}", "staff": int(staff or 0)})
    if not shifts:
        raise forms.ValidationError(_("Give at least one shift."))
    return shifts


class ShiftPatternForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    unit_id = forms.TypedChoiceField(label=_("Unit"), coerce=int)
    shifts = forms.CharField(
        label=_("Shifts"),
        help_text=_("e.g. 06:00-11:00 x 6; 11:00-16:00 x 6; 16:00-21:00 x 6"),
        widget=forms.TextInput(attrs={"size": 48}),
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Days of the week"),
        choices=WEEKDAY_CHOICES,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        initial=[1, 2, 3, 4, 5, 6, 7],
    )
    on_holidays = forms.BooleanField(label=_("Works on public holidays"), required=False)

    def __init__(self, *args: Any, units: Choices = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "unit_id", list(units))

    def clean_shifts(self) -> list[dict[str, Any]]:
        return parse_shifts(self.cleaned_data["shifts"])


# --- Sessions ---------------------------------------------------------------------------


class SessionForm(forms.Form):
    unit_id = forms.TypedChoiceField(label=_("Unit"), coerce=int)
    team_id = forms.TypedChoiceField(label=_("Team"), coerce=int)
    site_kind = forms.ChoiceField(label=_("Site"), choices=SiteKind.choices)
    site_name = forms.CharField(label=_("Place"), max_length=200)
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs=_DATE))
    # A pattern's shifts set the hours and staff (the times below are then not used).
    pattern_id = forms.TypedChoiceField(
        label=_("Shift pattern"),
        coerce=int,
        required=False,
        empty_value=None,
        help_text=_("Its shifts set the opening hours and the staff; the times are then ignored."),
    )
    start_time = forms.TimeField(
        label=_("Starts at"), widget=forms.TimeInput(attrs=_TIME), required=False
    )
    end_time = forms.TimeField(
        label=_("Ends at"), widget=forms.TimeInput(attrs=_TIME), required=False
    )
    sets = forms.IntegerField(label=_("Equipment sets"), min_value=1, max_value=50, initial=1)
    # Proposed by the view (the measured median or the campaign's figure, with its source).
    service_minutes = forms.DecimalField(
        label=_("Minutes per citizen"),
        min_value=1,
        max_value=120,
        decimal_places=1,
        required=False,
    )
    slot_minutes = forms.IntegerField(
        label=_("Minutes per time slot"), min_value=5, max_value=240, initial=30
    )
    equipment_ids = forms.TypedMultipleChoiceField(label=_("Equipment"), coerce=int, required=False)

    def __init__(
        self,
        *args: Any,
        units: Choices = (),
        teams: Choices = (),
        equipment: Choices = (),
        patterns: Choices = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "unit_id", list(units))
        _choices(self, "team_id", list(teams))
        _choices(self, "equipment_ids", list(equipment))
        _choices(self, "pattern_id", [("", _("None: the times below")), *patterns])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start_time"), data.get("end_time")
        if data.get("pattern_id") is not None or "pattern_id" in self.errors:
            return data  # the pattern's shifts give the hours
        for name in ("start_time", "end_time"):
            if not data.get(name) and name not in self.errors:
                self.add_error(name, _("Give the opening hours, or choose a shift pattern."))
        if start and end and end <= start:
            self.add_error("end_time", _("The session must end after it starts."))
        return data


class SessionChangeForm(forms.Form):
    start_time = forms.TimeField(label=_("Starts at"), widget=forms.TimeInput(attrs=_TIME))
    end_time = forms.TimeField(label=_("Ends at"), widget=forms.TimeInput(attrs=_TIME))
    sets = forms.IntegerField(label=_("Equipment sets"), min_value=1, max_value=50)


class InviteForm(forms.Form):
    """Who to invite from the cohort of the session's unit; every field narrows the choice."""

    hamlet = forms.CharField(label=_("Hamlet"), max_length=120, required=False)
    household = forms.CharField(label=_("Household number"), max_length=32, required=False)
    priority = forms.ChoiceField(label=_("Priority"), choices=PRIORITY_CHOICES, required=False)
    school = forms.CharField(label=_("School"), max_length=200, required=False)
    age_from = forms.IntegerField(label=_("Age from"), min_value=0, max_value=130, required=False)
    age_to = forms.IntegerField(label=_("Age to"), min_value=0, max_value=130, required=False)
    limit = forms.IntegerField(label=_("At most"), min_value=1, max_value=10_000, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("age_from"), data.get("age_to")
        if low is not None and high is not None and high < low:
            self.add_error("age_to", _("The age band ends before it starts."))
        return data


class NoticeForm(forms.Form):
    per_page = forms.TypedChoiceField(
        label=_("Layout"), choices=PER_PAGE_CHOICES, coerce=int, initial=1
    )


class MarkForm(forms.Form):
    invitation_id = forms.IntegerField(widget=forms.HiddenInput)
    status = forms.ChoiceField(choices=MARK_CHOICES)


class HomeVisitForm(forms.Form):
    unit_id = forms.TypedChoiceField(label=_("Unit"), coerce=int)
    team_id = forms.TypedChoiceField(label=_("Team"), coerce=int)
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs=_DATE))

    def __init__(self, *args: Any, units: Choices = (), teams: Choices = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        _choices(self, "unit_id", list(units))
        _choices(self, "team_id", list(teams))


class SchoolSessionForm(forms.Form):
    unit_id = forms.TypedChoiceField(label=_("Unit"), coerce=int)
    team_id = forms.TypedChoiceField(label=_("Team"), coerce=int)
    school = forms.CharField(label=_("School"), max_length=200)
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs=_DATE))
    start_time = forms.TimeField(
        label=_("Starts at"), widget=forms.TimeInput(attrs=_TIME), initial="07:30"
    )
    end_time = forms.TimeField(
        label=_("Ends at"), widget=forms.TimeInput(attrs=_TIME), initial="11:00"
    )
    sets = forms.IntegerField(label=_("Equipment sets"), min_value=1, max_value=50, initial=1)

    def __init__(self, *args: Any, units: Choices = (), teams: Choices = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        _choices(self, "unit_id", list(units))
        _choices(self, "team_id", list(teams))
