"""Training-job metrics read from the database at scrape time.

Jobs run in Celery pool processes, which come and go; the database already knows every job's
status and duration, so the web process's `/metrics` reports them from there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Count
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

from models_app.models import JobStatus, TrainingJob

DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, float("inf"))
_RECENT = 10_000


class TrainingJobCollector:
    def collect(self) -> Iterator[Any]:
        counts = dict(
            TrainingJob.objects.values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        by_status = GaugeMetricFamily(
            "mlp_training_jobs", "Training jobs by status.", labels=["status"]
        )
        for status in JobStatus.values:
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status
        yield self._durations()

    def _durations(self) -> HistogramMetricFamily:
        finished = (
            TrainingJob.objects.filter(started_at__isnull=False, finished_at__isnull=False)
            .order_by("-finished_at")
            .values_list("status", "started_at", "finished_at")[:_RECENT]
        )
        samples: dict[str, list[float]] = {}
        for status, started, ended in finished:
            if started is not None and ended is not None:  # guaranteed by the filter above
                seconds = max((ended - started).total_seconds(), 0.0)
                samples.setdefault(status, []).append(seconds)
        family = HistogramMetricFamily(
            "mlp_training_job_duration_seconds",
            "Run time of finished training jobs (the latest 10,000), by outcome.",
            labels=["status"],
        )
        for status, values in samples.items():
            buckets = [
                (_le(bound), float(sum(v <= bound for v in values))) for bound in DURATION_BUCKETS
            ]
            family.add_metric([status], buckets, sum(values))
        return family


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else str(bound)


def training_job_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TrainingJobCollector())
    return registry
