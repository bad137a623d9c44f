"""The Celery app (Redis broker, JSON only). Workers also run the stalled-job reaper."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from celery import Celery
from celery.signals import worker_ready, worker_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlplatform.settings")

app = Celery("mlplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)
_stop_reaper = threading.Event()


@worker_ready.connect
def start_reaper(**_: Any) -> None:
    """Every worker looks for jobs whose worker died; conditional updates keep it safe to share."""
    from django.conf import settings

    def loop() -> None:
        from django.db import close_old_connections

        from models_app.dispatch import dispatch_training_job
        from models_app.jobs import reap_stalled_jobs

        while not _stop_reaper.is_set():
            try:
                close_old_connections()
                for job_id in reap_stalled_jobs():
                    logger.warning("re-queued training job %s after its worker stopped", job_id)
                    dispatch_training_job(job_id)
            except Exception:  # the reaper must outlive a passing database error
                logger.exception("reaping stalled training jobs failed")
            _stop_reaper.wait(settings.MLP_JOB_REAP_SECONDS)

    threading.Thread(target=loop, name="job-reaper", daemon=True).start()


@worker_shutdown.connect
def stop_reaper(**_: Any) -> None:
    _stop_reaper.set()
