"""Training-job progress as live events: what `/ws/jobs/{id}/` clients receive.

`jobs.py` publishes a job's state after each committed change; the WebSocket consumer starts a
client with the same `job_event` read from the database, so both views have one shape.
"""

from __future__ import annotations

from typing import Any

from mlplatform.events import send_event_on_commit
from models_app.models import JobStatus, TrainingJob

JOB_MESSAGE_TYPE = "job.progress"  # -> JobProgressConsumer.job_progress
TERMINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED})


def job_group(job_id: int) -> str:
    return f"jobs.{job_id}"


def job_event(job: TrainingJob) -> dict[str, Any]:
    model = job.model
    return {
        "type": "job",
        "id": job.pk,
        "status": job.status,
        "progress": job.progress,
        "message": job.message,
        "error": job.error or None,
        "metrics": job.metrics or None,
        "model": (
            {"id": model.pk, "name": model.name, "version": model.version}
            if model is not None
            else None
        ),
        "done": job.status in TERMINAL_STATUSES,
        # Grows with every recorded step: lets a client (and our consumer) drop stale events.
        "revision": len(job.progress_log),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def publish_job(job: TrainingJob) -> None:
    send_event_on_commit(job_group(job.pk), {"type": JOB_MESSAGE_TYPE, "job": job_event(job)})
