"""Hands a committed training job to the Celery broker; a broker that refuses fails the job."""

from __future__ import annotations

import logging

from django.utils import timezone

from models_app.models import JobStatus, TrainingJob

logger = logging.getLogger(__name__)

RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5}


def dispatch_training_job(job_id: int) -> None:
    from models_app.tasks import train

    try:
        train.apply_async(args=[job_id], retry=True, retry_policy=RETRY_POLICY)
    except Exception as exc:  # kombu raises several types when the broker is unreachable
        logger.error("could not queue training job %s: %s", job_id, exc)
        TrainingJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
            status=JobStatus.FAILED,
            error=f"could not queue the job: the broker is unavailable ({exc})",
            message="failed",
            finished_at=timezone.now(),
        )
