"""Rate limits: parsing the settings and the token bucket per user and protocol."""

from __future__ import annotations

import time

import pytest

from mlplatform.errors import RateLimited
from predictions.limits import Rate, RateLimiter, parse_overrides


@pytest.mark.parametrize(
    ("_case", "text", "per_second"),
    [
        ("per second", "20/s", 20.0),
        ("per minute", "120/min", 2.0),
        ("off", "0", 0.0),
        ("empty", "", 0.0),
    ],
)
def test_rates_parse(_case: str, text: str, per_second: float) -> None:
    assert Rate.parse(text).per_second == per_second


def test_a_bad_rate_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="N/s or N/min"):
        Rate.parse("10 per hour")


def test_buckets_are_per_user_and_per_protocol() -> None:
    limiter = RateLimiter(Rate(2.0), parse_overrides("mqtt=0, graphql=1/s"))

    limiter.check(1, "rest")
    limiter.check(1, "rest")
    with pytest.raises(RateLimited):
        limiter.check(1, "rest")
    limiter.check(2, "rest")  # another user has their own bucket
    limiter.check(1, "graphql")
    with pytest.raises(RateLimited):
        limiter.check(1, "graphql")
    for _ in range(100):
        limiter.check(1, "mqtt")  # 0 = unlimited


def test_tokens_come_back_with_time() -> None:
    limiter = RateLimiter(Rate(20.0), {})
    for _ in range(20):
        limiter.check(1, "rest")
    with pytest.raises(RateLimited):
        limiter.check(1, "rest")

    time.sleep(0.12)

    limiter.check(1, "rest")
