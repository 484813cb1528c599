"""Campaign reads, scoped to the user.

A campaign is visible to the officers of its unit's subtree (a province manager sees the
province's campaigns and any a district runs) and to the officers of the units it covers
(a commune officer sees the province campaign their commune takes part in). What they
see *inside* it (report rows, sessions) is still limited to their own subtree.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from cancuoc.accounts.roles import Capability, user_can
from cancuoc.campaigns.models import Campaign, Invitation
from cancuoc.core.audit import audit_record
from cancuoc.core.errors import OutOfScope, PermissionDenied
from cancuoc.core.scoping import scope_prefixes, scope_q


def ancestor_paths(path: str) -> list[str]:
    """ "/2025/42/18100/" → ["/", "/2025/", "/2025/42/", "/2025/42/18100/"]."""
    parts = [p for p in path.split("/") if p]
    return ["/"] + ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def campaigns_for(user: Any) -> QuerySet[Campaign]:
    """The campaigns `user` may see, newest first."""
    if not user_can(user, Capability.VIEW_CAMPAIGNS):
        return Campaign.objects.none()
    below = scope_q(user, "unit_path")
    if below is None:
        return Campaign.objects.none()
    if not below:
        # National scope: an empty Q would vanish from the OR below and hide everything.
        return Campaign.objects.select_related("unit")
    above = [path for prefix in scope_prefixes(user) for path in ancestor_paths(prefix)]
    return Campaign.objects.filter(below | Q(unit_path__in=above)).select_related("unit")


def campaign_get(user: Any, key: int | str) -> Campaign:
    """One campaign by id or slug, if the user may see it (else OutOfScope: a 404)."""
    if not user_can(user, Capability.VIEW_CAMPAIGNS):
        raise PermissionDenied()
    campaigns = campaigns_for(user)
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
        found = campaigns.filter(pk=int(key)).first()
    else:
        found = campaigns.filter(slug=str(key)).first()
    if found is None:
        raise OutOfScope()
    return found


def campaign_manageable(user: Any, campaign: Campaign) -> bool:
    """May `user` change the campaign itself (allocations, quotas, calendar)?"""
    return user_can(user, Capability.MANAGE_CAMPAIGNS) and any(
        campaign.unit_path.startswith(prefix) for prefix in scope_prefixes(user)
    )


def invitation_get(user: Any, invitation_id: int) -> Invitation:
    """One invitation in the user's scope (else OutOfScope: a 404); the read is audited,
    since it shows the citizen's name and ID."""
    from cancuoc.campaigns.services.invitations import invitations_visible

    found = invitations_visible(user=user).filter(pk=invitation_id).first()
    if found is None:
        raise OutOfScope()
    audit_record(
        actor=user,
        action="campaigns.invitation.view",
        obj=found,
        unit=found.session.unit,
        detail={"citizen": found.citizen_id},
    )
    return found


def invitations_list_record(user: Any, *, shown: int, **filters: Any) -> None:
    """Audit one page of invitations (citizens' names were shown), as the desk audits its
    dossier list; an empty page leaves no row."""
    if not shown:
        return
    detail: dict[str, Any] = {k: str(v)[:200] for k, v in filters.items() if v not in (None, "")}
    detail["shown"] = shown
    audit_record(
        actor=user,
        action="campaigns.invitation.list",
        unit=getattr(user, "unit", None),
        detail=detail,
    )


def notices_download_record(user: Any, job: Any) -> None:
    """Audit a download of printed notices (names, addresses and ID digits of citizens)."""
    audit_record(
        actor=user,
        action="campaigns.notices.download",
        object_type="campaigns.noticejob",
        object_id=str(job.pk),
        object_repr=f"notices {str(job.pk)[:8]}",
        unit=job.session.unit if job.session_id else getattr(user, "unit", None),
        detail={"notices": job.total, "session": job.session_id},
    )
