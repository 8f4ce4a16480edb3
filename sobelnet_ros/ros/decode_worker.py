"""A thread that decodes incoming frames, so the executor never waits on a decoder.

The image callback only queues the message; this worker turns it into pixels
and hands it to the engine. A slow decode (a large JPEG) then delays frames
behind it, never the executor's timers, services or other callbacks.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

Job = TypeVar("Job")


class DecodeWorker(Generic[Job]):
    """Runs ``handle(job)`` for queued jobs in order on one thread.

    At most ``depth`` jobs wait. When full, ``block`` makes ``put`` wait for
    room (back-pressure, as the engine's ``block`` policy); otherwise the
    oldest waiting job is dropped. Every job not handled goes to
    ``on_drop(job, reason)`` (``decoder_busy``, ``shutdown``, or the name of
    the exception ``handle`` raised) so that it is counted.
    """

    def __init__(
        self,
        handle: Callable[[Job], None],
        on_drop: Callable[[Job, str], None],
        depth: int = 1,
        block: bool = False,
    ) -> None:
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self._handle = handle
        self._on_drop = on_drop
        self._depth = depth
        self._block = block
        self._jobs: deque[Job] = deque()
        self._closing = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="sobelnet-decoder", daemon=True)
        self._thread.start()

    def put(self, job: Job) -> None:
        """Queue ``job``; after ``close`` it is dropped at once."""
        dropped: list[tuple[Job, str]] = []
        with self._cond:
            while self._block and len(self._jobs) >= self._depth and not self._closing:
                self._cond.wait()
            if self._closing:
                dropped.append((job, "shutdown"))
            else:
                while len(self._jobs) >= self._depth:
                    dropped.append((self._jobs.popleft(), "decoder_busy"))
                self._jobs.append(job)
                self._cond.notify_all()
        for old, reason in dropped:  # outside the lock: counting may log
            self._on_drop(old, reason)

    def close(self, timeout: float | None = 5.0) -> None:
        """Finish the jobs already queued (up to ``timeout``), then stop; later puts drop."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        with self._cond:  # jobs left after the timeout are accounted as dropped
            left, self._jobs = list(self._jobs), deque()
        for job in left:
            self._on_drop(job, "shutdown")

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._jobs and not self._closing:
                    self._cond.wait()
                if not self._jobs:
                    return
                job = self._jobs.popleft()
                self._cond.notify_all()  # room for a blocked put
            try:
                self._handle(job)
            except Exception as error:  # the worker must outlive any one frame
                self._on_drop(job, type(error).__name__)
