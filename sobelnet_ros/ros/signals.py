"""SIGINT/SIGTERM for the detector: counted, never raised, from the first line of ``main``.

Installed before the heavy imports (torch, rclpy), so Ctrl-C while starting
ends quietly instead of with a KeyboardInterrupt traceback, and kept until
the process ends, so a second Ctrl-C during shutdown cannot kill it by signal
before it has published its last frames and logged its totals.
"""

from __future__ import annotations

import signal
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """Counts SIGINT/SIGTERM; the node's spin loop ends at the first."""

    def __init__(self) -> None:
        self.count = 0
        self.install()

    def install(self) -> None:
        """(Re)install the counting handlers (rclpy may have replaced them)."""
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._handle)

    def ignore_from_now(self) -> None:
        """Ignore further stops: for after the totals, while the interpreter tears down.

        Python puts the default handlers back as it finalizes (which takes
        torch and DDS a few tenths of a second), so a counting handler would
        not outlive ``main``; an ignored signal stays ignored.
        """
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)

    def _handle(self, signum: int, frame: Any) -> None:
        self.count += 1
