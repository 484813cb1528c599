from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from cancuoc.accounts.roles import Capability, user_can

# Sections of the whole product. A section whose module has not shipped yet is
# shown greyed out rather than linking to an empty page.
_SECTIONS = [
    ("registry", _("Registry"), "registry:search", Capability.VIEW_REGISTRY),
    ("campaigns", _("Campaigns"), None, None),
    ("enrolment", _("Enrolment"), None, None),
    ("dossiers", _("One-stop desk"), "dossiers:desk", Capability.VIEW_DOSSIERS),
    ("reports", _("Reports"), "dossiers:timeliness", Capability.VIEW_REPORTS),
    ("units", _("Units"), "units:list", Capability.VIEW_UNITS),
]


def _url(url_name: str | None) -> str | None:
    # TEMPORARY while modules land in parallel: a section whose page is not routed yet
    # stays greyed out. Removed once every section above is routed.
    try:
        return reverse(url_name) if url_name else None
    except NoReverseMatch:
        return None


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_sections": []}
    sections = []
    for key, label, url_name, capability in _SECTIONS:
        allowed = url_name is not None and capability is not None and user_can(user, capability)
        sections.append({"key": key, "label": label, "url": _url(url_name) if allowed else None})
    admin_links = []
    if user_can(user, Capability.MANAGE_ACCOUNTS):
        admin_links.append((_("Users"), reverse("accounts:users")))
    if user_can(user, Capability.MANAGE_TOKENS):
        admin_links.append((_("API tokens"), reverse("accounts:tokens")))
    if user_can(user, Capability.VIEW_AUDIT):
        admin_links.append((_("Audit log"), reverse("core:audit")))
    return {"nav_sections": sections, "nav_admin_links": admin_links}
