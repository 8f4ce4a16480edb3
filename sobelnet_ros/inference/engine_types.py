"""What the engines hand back: per-frame results and running counts."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .types import Features

DROP_POLICIES = ("drop_oldest", "block")


@dataclass
class FrameResult:
    """One submitted frame, finished.

    Attributes:
        meta: whatever the caller passed to ``submit`` (a message header...).
        features: the features, or None when the frame failed.
        error: why the frame failed (``ValueError`` for bad input), else None.
        timings_ms: per-stage times of this frame in milliseconds, plus
            ``latency`` (submit to result ready).
        sequence: submission index, increasing by one per submitted frame.
    """

    meta: Any
    features: Features | None
    error: Exception | None
    timings_ms: dict[str, float]
    sequence: int

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class EngineStats:
    """Running counts; every submitted frame ends in exactly one of them."""

    submitted: int = 0
    completed: int = 0
    failed: Counter = field(default_factory=Counter)  # reason -> frames
    dropped: Counter = field(default_factory=Counter)  # reason -> frames
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "submitted": self.submitted,
                "completed": self.completed,
                "failed": dict(self.failed),
                "dropped": dict(self.dropped),
            }

    def count(self, kind: str, reason: str | None = None) -> None:
        with self._lock:
            if kind == "submitted":
                self.submitted += 1
            elif kind == "completed":
                self.completed += 1
            else:
                getattr(self, kind)[reason] += 1
