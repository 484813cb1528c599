"""Background task: the web page enqueues it; `cancuoc db_worker` runs it."""

from __future__ import annotations

from django_tasks import task


@task()
def import_citizens_task(job_id: str) -> dict[str, object]:
    """Run one import job (ids only: the job row holds everything else)."""
    from cancuoc.registry.importing.services import import_run

    job = import_run(job_id=job_id)
    return {"job": str(job.pk), "status": job.status, "rejected": job.rejected}
