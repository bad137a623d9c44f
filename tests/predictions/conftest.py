"""Fixtures for the inference core's tests."""

from __future__ import annotations

import pytest
import redis
from django.conf import settings


@pytest.fixture(autouse=True)
def empty_prediction_cache() -> None:
    """Each core test starts with no cached predictions (this run's key prefix only)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(f"{settings.MLP_CACHE_PREFIX}:pred:*"):
        client.delete(key)
