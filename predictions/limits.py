"""Request-rate limits per user and protocol, from settings (token buckets, per process).

`MLP_RATE_LIMIT` is the default for every protocol ("2000/s", "600/min", "0" for none) and
`MLP_RATE_LIMITS` overrides it per protocol ("graphql=50/s,mqtt=500/s"). Buckets live in each
process: with N processes a user gets at most N times the rate; a cluster-wide limit would cost a
Redis round trip per prediction, which the hot path cannot afford.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from mlplatform.errors import RateLimited


@dataclass(frozen=True, slots=True)
class Rate:
    per_second: float

    @classmethod
    def parse(cls, text: str) -> Rate:
        text = text.strip().lower()
        if text in ("", "0", "off", "none"):
            return cls(0.0)
        count, _, unit = text.partition("/")
        seconds = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0}
        if unit not in seconds:
            raise ValueError(f"rate {text!r}: use N/s or N/min")
        return cls(float(count) / seconds[unit])


class RateLimiter:
    def __init__(self, default: Rate, per_protocol: dict[str, Rate]) -> None:
        self.default = default
        self.per_protocol = per_protocol
        self._buckets: dict[tuple[int, str], tuple[float, float]] = {}  # tokens, last update
        self._lock = threading.Lock()

    def check(self, user_id: int, protocol: str) -> None:
        """Take one request from the user's bucket for this protocol, or raise RateLimited."""
        rate = self.per_protocol.get(protocol, self.default)
        if rate.per_second <= 0:
            return
        capacity = max(rate.per_second, 1.0)  # a burst of one second's worth
        now = time.monotonic()
        key = (user_id, protocol)
        with self._lock:
            tokens, updated = self._buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + (now - updated) * rate.per_second)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                raise RateLimited(
                    f"more than {rate.per_second:g} requests/s over {protocol} for this user",
                    details={"retry_after_seconds": round((1.0 - tokens) / rate.per_second, 3)},
                )
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > 100_000:  # users x protocols: keep memory bounded
                self._buckets.clear()


def parse_overrides(text: str) -> dict[str, Rate]:
    overrides: dict[str, Rate] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        protocol, _, rate = item.partition("=")
        overrides[protocol.strip()] = Rate.parse(rate)
    return overrides
