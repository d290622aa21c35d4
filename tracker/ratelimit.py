"""A sliding-window rate limit per key, in process: login attempts (tracker/web/throttle.py) and
messages to one group robot (notifications/outbox.py).

Hand-written because no installed library keys windows cheaply: pyrate-limiter (here as a test tool's
dependency) keeps one bucket for every name unless given a bucket factory of one's own, whose per-key
buckets stay registered with its leak thread until disposed (a bound on keys is extra code either
way), and its PostgreSQL bucket is one table under a table lock; `limits` is not installed. Forty
lines with a lock and a bound on keys do what is needed.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0


class SlidingWindow:
    """At most `limit` hits per key in any `window` seconds (a log of the accepted hits' times)."""

    def __init__(
        self,
        limit: int,
        window: float = WINDOW_SECONDS,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ):
        self.limit, self.window, self.clock, self.max_keys = limit, window, clock, max_keys
        self._hits: dict[str, deque[float]] = {}
        self._refused: set[str] = set()  # keys refused since their last accepted hit
        self._lock = threading.Lock()

    def hit(self, key: str) -> float:
        """Count a hit on `key`: 0 when allowed, else the seconds until one is (the hit is not counted)."""
        if self.limit <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= self.max_keys:
                    self._prune(now)
                hits = self._hits[key] = deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(hits[0] + self.window - now, 0.001)
            hits.append(now)
            self._refused.discard(key)
            return 0.0

    def first_refusal(self, key: str) -> bool:
        """True once per run of refusals of `key` (until a hit of it is accepted again): the audit log gets
        one record per run, not one per attempt of a flood."""
        with self._lock:
            if key in self._refused:
                return False
            self._refused.add(key)
            return True

    def _prune(self, now: float) -> None:
        """Forget keys with no hit in the window; if that is not enough, the least recently hit half."""
        for key in [k for k, h in self._hits.items() if not h or h[-1] <= now - self.window]:
            del self._hits[key]
        if len(self._hits) >= self.max_keys:
            for key in sorted(self._hits, key=lambda k: self._hits[k][-1])[: len(self._hits) // 2]:
                del self._hits[key]
        self._refused &= self._hits.keys()
