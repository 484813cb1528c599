"""Background work of the registry. Tasks take ids and call the module that owns the work."""

from __future__ import annotations

from django_tasks import task

from cancuoc.registry.quality import quality_run_compute


@task()
def quality_run_task(run_id: int) -> dict[str, int]:
    """Compute one data-quality run (idempotent: a finished run is left as is)."""
    return quality_run_compute(run_id=run_id)
