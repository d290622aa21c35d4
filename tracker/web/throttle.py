"""What keeps a login flood from taking the pages down with it (issue 13).

- Rate limits: login attempts per client address (`RECTIFY_LOGIN_RATE_PER_ADDRESS`) and per name
  (`RECTIFY_LOGIN_RATE_PER_NAME`) in any 60 seconds; beyond them the form answers 429 at once, with
  Retry-After, without hashing anything; only the first refusal of a run is written to the audit log.
- Password checks at once: argon2 takes 64 MB and tens to hundreds of milliseconds of both cores, so at
  most `RECTIFY_LOGIN_HASH_CONCURRENCY` run at a time, in threads of their own so the event loop keeps
  serving pages; the others wait their turn in the event loop (holding no thread) for up to
  `QUEUE_SECONDS`, then get 503. Those threads run at a lower CPU priority (nice +10 on Linux; the
  hasher's lane threads inherit it), so when logins and pages compete for the cores, pages win.

The limits are in-process (tracker/ratelimit.py says why no library is used). With several `rectify
serve` processes each has its own windows (N processes: N times the rate); the lockout
(tracker/lockout.py) is in the database and holds across them.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import os
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import anyio
from fastapi import FastAPI

from tracker.config import get_settings
from tracker.ratelimit import SlidingWindow

QUEUE_SECONDS = 10.0  # longest wait for a password-check slot before 503
T = TypeVar("T")


class LoginLimits:
    """The per-address and per-name windows of one app."""

    def __init__(self, per_address: int, per_name: int, *, clock: Callable[[], float] = time.monotonic):
        self.by_address = SlidingWindow(per_address, clock=clock)
        self.by_name = SlidingWindow(per_name, clock=clock)

    def check(self, *, name: str, address: str | None) -> tuple[int, bool]:
        """(0, False) when this attempt may go ahead, else (whole seconds to wait, for the message and
        Retry-After; whether it is the first refusal of its run, which the audit log records)."""
        for window, key in ((self.by_address, address or "?"), (self.by_name, name)):
            wait = window.hit(key)
            if wait:
                return math.ceil(wait), window.first_refusal(key)
        return 0, False


def login_limits(app: FastAPI) -> LoginLimits:
    limits = getattr(app.state, "login_limits", None)
    if limits is None:
        settings = get_settings()
        limits = app.state.login_limits = LoginLimits(settings.login_rate_per_address, settings.login_rate_per_name)
    return limits


class Busy(Exception):
    """No password-check slot came free in time."""


# One limiter per event loop (a serving process has one; the test client makes one per request).
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = weakref.WeakKeyDictionary()
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
HASH_NICE = 10  # added to the niceness of the password-check threads


def _gate() -> anyio.CapacityLimiter:
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = anyio.CapacityLimiter(get_settings().login_hash_concurrency)
    return gate


def _lower_priority() -> None:
    try:  # Linux: a thread's own niceness (raising it needs no privilege)
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0) + HASH_NICE)
    except (AttributeError, OSError):
        pass


def _hash_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=get_settings().login_hash_concurrency,
                thread_name_prefix="rectify-login",
                initializer=_lower_priority,
            )
        return _pool


async def check_password_in_thread(fn: Callable[[], T]) -> T:
    """Run `fn` (which checks a password) in a low-priority thread once a slot is free; Busy after QUEUE_SECONDS."""
    gate = _gate()
    with anyio.move_on_after(QUEUE_SECONDS) as waited:
        await gate.acquire()
    if waited.cancelled_caught:
        raise Busy()
    try:
        context = contextvars.copy_context()  # the request's context (the audit journal's client address)
        return await asyncio.get_running_loop().run_in_executor(_hash_pool(), context.run, fn)
    finally:
        gate.release()
