from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cancuoc.accounts.roles import Role, grantable_roles
from cancuoc.units.selectors import units_visible


class LoginForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)


def _unit_field(user: Any) -> forms.ModelChoiceField:
    # Current (2025) units only: new accounts belong to today's units.
    units = units_visible(user=user).filter(valid_to__isnull=True)
    return forms.ModelChoiceField(label=_("Unit"), queryset=units)


def _role_field(user: Any) -> forms.ChoiceField:
    choices = [(role, Role(role).label) for role in grantable_roles(user)]
    return forms.ChoiceField(label=_("Role"), choices=choices)


class UserCreateForm(forms.Form):
    username = forms.RegexField(
        label=_("Username"),
        max_length=150,
        regex=r"^[\w.@+-]+\Z",
        error_messages={"invalid": _("Letters, digits and . @ + - _ only.")},
    )
    full_name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"] = _role_field(actor)
        self.fields["unit"] = _unit_field(actor)


class UserUpdateForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False)

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"] = _role_field(actor)
        self.fields["unit"] = _unit_field(actor)


class TokenCreateForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100)
    user = forms.ModelChoiceField(label=_("Acts as user"), queryset=None)

    def __init__(self, *args: Any, users: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users
