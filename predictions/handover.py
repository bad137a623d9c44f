"""The hand-over step shared by the two leader/follower queues (batching.py, recording.py).

A leader that is done wakes the first waiter to lead the next batch; with nobody waiting, the
queue has no leader until the next arrival becomes one.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol


class Waiter(Protocol):
    promoted: bool
    done: threading.Event


def hand_over(waiting: Sequence[Waiter]) -> bool:
    """Call holding the queue's lock; True when a waiter was woken to lead (still busy)."""
    if not waiting:
        return False
    waiting[0].promoted = True
    waiting[0].done.set()
    return True
