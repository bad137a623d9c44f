"""Celery tasks of the registry: thin wrappers over models_app.jobs."""

from __future__ import annotations

import os
import socket

from celery import shared_task

from models_app.jobs import run_training_job


@shared_task(name="models_app.train", acks_late=True, reject_on_worker_lost=True)
def train(job_id: int) -> None:
    run_training_job(job_id, worker=f"{socket.gethostname()}:{os.getpid()}")
