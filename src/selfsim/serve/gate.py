"""Bounded inference: a few requests compute at once, a bounded number wait, the
rest are told to come back (503 with ``Retry-After``) instead of queueing for ever."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from selfsim.serve.errors import ServiceError


class Gate:
    """At most ``slots`` holders at once and ``queue`` waiting; lives in one event loop.

    Args:
        slots: concurrent holders (inference is CPU-bound: about the cores' count).
        queue: requests allowed to wait for a slot; one more gets 503 at once.
        wait_s: a waiting request gets 503 after this long.
    """

    def __init__(self, slots: int, queue: int, wait_s: float) -> None:
        if slots < 1 or queue < 0 or wait_s <= 0:
            raise ValueError(f"bad gate: slots={slots}, queue={queue}, wait_s={wait_s}")
        self.slots = slots
        self.queue = queue
        self.wait_s = wait_s
        self.running = 0
        self.waiting = 0
        self._free: asyncio.Semaphore | None = None
        self._mean_s = 0.5  # running mean of a slot's hold time, for Retry-After

    def _semaphore(self) -> asyncio.Semaphore:
        if self._free is None:  # made inside the server's loop
            self._free = asyncio.Semaphore(self.slots)
        return self._free

    def retry_after(self) -> int:
        """Seconds until a slot is likely free for a request arriving now."""
        ahead = self.waiting + self.running
        return max(1, min(60, math.ceil(self._mean_s * ahead / self.slots)))

    def _busy(self, why: str) -> ServiceError:
        seconds = self.retry_after()
        return ServiceError(503, f"server busy ({why}); retry in {seconds} s",
                            {"Retry-After": str(seconds)})

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot, or raise 503 when none comes in time."""
        free = self._semaphore()
        if self.waiting >= self.queue and free.locked():
            raise self._busy(f"{self.running} requests running, {self.waiting} waiting")
        self.waiting += 1
        try:
            await asyncio.wait_for(free.acquire(), self.wait_s)
        except TimeoutError:
            raise self._busy(f"no slot free within {self.wait_s:g} s") from None
        finally:
            self.waiting -= 1
        self.running += 1
        start = time.monotonic()
        try:
            yield
        finally:
            self.running -= 1
            free.release()
            self._mean_s = 0.8 * self._mean_s + 0.2 * (time.monotonic() - start)
