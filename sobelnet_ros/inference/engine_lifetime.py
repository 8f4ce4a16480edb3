"""How an engine ends: ``with create_engine(...) as engine:``, ``close()``, or at exit.

An engine left open when the interpreter exits would still be running torch
on a frame while Python tears down; torch's threads then end the process with
"terminate called without an active exception" (SIGABRT). So each engine
closes itself at interpreter exit (dropping queued frames, finishing the one
running) unless its user closed it first.
"""

from __future__ import annotations

import weakref
from typing import Any

EXIT_TIMEOUT_S = 30.0  # a running frame on a slow CPU; torch cannot be interrupted


class EngineLifetime:
    """Mixin: context manager and close-at-exit for an engine with ``close(drain, timeout)``."""

    def _close_at_exit(self) -> None:
        # The finalizer holds the engine until it is closed, as its worker thread does.
        self._exit_hook = weakref.finalize(self, self._exit_close)

    def _exit_close(self) -> None:
        self.close(drain=False, timeout=EXIT_TIMEOUT_S)  # type: ignore[attr-defined]

    def _closed(self) -> None:
        """Called by ``close``: nothing left to do at exit."""
        hook = getattr(self, "_exit_hook", None)
        if hook is not None:
            hook.detach()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()  # type: ignore[attr-defined]
