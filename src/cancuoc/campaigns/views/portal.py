"""Citizen portal pages for invitations (no login): look one up with its code and the last
6 digits of the ID number, see it, move it to another free time.

Wired by the portal's URLconf at /portal/invitation/ (names ``portal:invitation_lookup``
and ``portal:invitation``). The lookup is throttled like the dossier lookup
(`services.invitations.invitation_lookup`); a browser session remembers the invitations
it has proved, so the page and the move need no second lookup.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from cancuoc.campaigns import lifecycle
from cancuoc.campaigns.models import Invitation
from cancuoc.campaigns.services import invitations as inv
from cancuoc.core.errors import DomainError
from cancuoc.core.middleware import request_client_address

_VERIFIED = "portal_invitations"
_VERIFIED_MAX = 10


class InvitationLookupForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Invitation code"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    id_last6 = forms.RegexField(
        label=gettext_lazy("Last 6 digits of your ID number"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": gettext_lazy("Enter exactly 6 digits.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


class RescheduleForm(forms.Form):
    slot_id = forms.TypedChoiceField(label=gettext_lazy("New time"), coerce=int)

    def __init__(self, *args: object, slots: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["slot_id"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = slots
        field.widget = forms.RadioSelect(choices=slots)


def _verified(request: HttpRequest) -> list[int]:
    return list(request.session.get(_VERIFIED, []))


def _verify(request: HttpRequest, invitation_id: int) -> None:
    ids = [i for i in _verified(request) if i != invitation_id] + [invitation_id]
    request.session[_VERIFIED] = ids[-_VERIFIED_MAX:]


@require_http_methods(["GET", "POST"])
def invitation_lookup(request: HttpRequest) -> HttpResponse:
    form = InvitationLookupForm(request.POST or None, initial={"code": request.GET.get("code", "")})
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            found = inv.invitation_lookup(
                code=form.cleaned_data["code"],
                id_last6=form.cleaned_data["id_last6"].strip(),
                client_address=request_client_address(request),
            )
        except inv.InvitationLookupThrottled as exc:
            form.add_error(None, exc.message)
            status = 429
        else:
            if found is None:
                form.add_error(
                    None,
                    _(
                        "No invitation matches this code and these digits. "
                        "Check both and try again."
                    ),
                )
            else:
                _verify(request, found.pk)
                return redirect("portal:invitation", code=found.code)
    return render(request, "campaigns/portal/lookup.html", {"form": form}, status=status)


def _slot_label(slot: object) -> str:
    session = slot.session  # type: ignore[attr-defined]
    return (
        f"{session.day:%d/%m/%Y} {slot.start:%H:%M}–{slot.end:%H:%M} · "  # type: ignore[attr-defined]
        f"{session.site_name}"
    )


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, code: str) -> HttpResponse:
    code = inv.code_normalise(code)
    found = (
        Invitation.objects.select_related("citizen", "session__unit", "slot", "campaign")
        .filter(code=code, pk__in=_verified(request))
        .first()
    )
    if found is None:
        return redirect(f"{_lookup_url()}?{urlencode({'code': code})}")
    movable = lifecycle.invitation_can(found.status, "rescheduled")
    slots = inv.portal_free_slots(invitation=found) if movable else []
    form = RescheduleForm(request.POST or None, slots=[(s.pk, _slot_label(s)) for s in slots])
    status = 200
    if request.method == "POST" and movable and form.is_valid():
        try:
            inv.invitation_reschedule(
                actor=None, invitation_id=found.pk, slot_id=form.cleaned_data["slot_id"]
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = 409
        else:
            messages.success(request, _("Your invitation was moved. Please come at the new time."))
            return redirect("portal:invitation", code=found.code)
    elif request.method == "POST":
        status = 400
    context = {
        "invitation": found,
        "code": inv.code_display(found.code),
        "movable": movable,
        "form": form,
        "slots": slots,
    }
    return render(request, "campaigns/portal/invitation.html", context, status=status)


def _lookup_url() -> str:
    from django.urls import reverse

    return reverse("portal:invitation_lookup")
