"""`GET /metrics` on the web process: every worker's samples plus training jobs from the DB."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST

from mlplatform.metrics import exposition
from models_app.job_metrics import training_job_registry

_jobs = training_job_registry()


def metrics(request: HttpRequest) -> HttpResponse:
    return HttpResponse(exposition(_jobs), content_type=CONTENT_TYPE_LATEST)
