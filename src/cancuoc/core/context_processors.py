from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from cancuoc.accounts.roles import Capability, user_can

# Sections of the whole product. A section whose module has not shipped yet is
# shown greyed out rather than linking to an empty page.
_SECTIONS = [
    ("registry", _("Registry"), "registry:search", Capability.VIEW_REGISTRY),
    ("campaigns", _("Campaigns"), "campaigns:home", Capability.VIEW_CAMPAIGNS),
    ("enrolment", _("Enrolment"), "enrolment:home", Capability.VIEW_ENROLMENT),
    ("dossiers", _("One-stop desk"), "dossiers:desk", Capability.VIEW_DOSSIERS),
    ("reports", _("Reports"), "dossiers:timeliness", Capability.VIEW_REPORTS),
    ("units", _("Units"), "units:list", Capability.VIEW_UNITS),
]


# Pages inside a section, shown as a second row when the user is in that section
# (the section is the URL namespace of the current page).
_SUBSECTIONS = {
    "campaigns": [
        (_("Campaigns"), "campaigns:home", Capability.VIEW_CAMPAIGNS),
        (_("New campaign"), "campaigns:create", Capability.MANAGE_CAMPAIGNS),
        (_("Resources"), "campaigns:resources", Capability.VIEW_CAMPAIGNS),
    ],
    "enrolment": [
        (_("Overview"), "enrolment:home", Capability.VIEW_ENROLMENT),
        (_("Stations"), "enrolment:station_list", Capability.VIEW_ENROLMENT),
        (_("Timing statistics"), "enrolment:stats", Capability.VIEW_ENROLMENT),
        (_("Cards"), "enrolment:cards", Capability.VIEW_ENROLMENT),
        (_("Conflicts"), "enrolment:conflicts", Capability.SUPERVISE_ENROLMENT),
    ],
    "registry": [
        (_("Search"), "registry:search", Capability.VIEW_REGISTRY),
        (_("Who is due"), "registry:cohort", Capability.VIEW_REGISTRY),
        (_("Data quality"), "registry:quality", Capability.VIEW_REGISTRY),
        (_("Corrections"), "registry:corrections", Capability.VIEW_REGISTRY),
        (_("Imports"), "registry:imports", Capability.IMPORT_CITIZENS),
    ],
    "dossiers": [
        (_("Dossiers"), "dossiers:desk", Capability.VIEW_DOSSIERS),
        (_("Receive"), "dossiers:receive", Capability.RECEIVE_DOSSIER),
        (_("Timeliness"), "dossiers:timeliness", Capability.VIEW_REPORTS),
        (_("Late dossiers"), "dossiers:late", Capability.VIEW_REPORTS),
        (_("Tracking log"), "dossiers:tracking_log", Capability.VIEW_DOSSIERS),
        (_("Complaints"), "portal:complaints", Capability.HANDLE_COMPLAINTS),
        (_("Procedures"), "dossiers:catalogue", Capability.VIEW_DOSSIERS),
        (_("Working days"), "dossiers:calendar", Capability.VIEW_DOSSIERS),
    ],
}
# Complaint handling lives in the portal app but belongs to the desk's work.
_SECTION_OF_NAMESPACE = {
    "registry": "registry",
    "dossiers": "dossiers",
    "portal": "dossiers",
    "enrolment": "enrolment",
    "campaigns": "campaigns",
}


def _subnav(request: HttpRequest, user: object) -> list[dict]:
    match = getattr(request, "resolver_match", None)
    section = _SECTION_OF_NAMESPACE.get(match.namespace if match else "", "")
    current = match.view_name if match else ""
    links = []
    for label, url_name, capability in _SUBSECTIONS.get(section, []):
        url = _url(url_name) if user_can(user, capability) else None
        if url:
            links.append({"label": label, "url": url, "current": url_name == current})
    return links


def _url(url_name: str | None) -> str | None:
    return reverse(url_name) if url_name else None


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
    return {
        "nav_sections": sections,
        "nav_admin_links": admin_links,
        "nav_subsections": _subnav(request, user),
    }
