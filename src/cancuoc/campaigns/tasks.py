"""Background work of campaigns. Tasks take ids and call the module that owns the work."""

from __future__ import annotations

from django_tasks import task


@task()
def notices_render_task(job_id: str) -> dict[str, object]:
    """Make one batch of printed notices (idempotent: a finished job is left as is)."""
    from cancuoc.campaigns.notices import notices_render

    job = notices_render(job_id=job_id)
    return {"job": str(job.pk), "status": job.status, "done": job.done, "total": job.total}
