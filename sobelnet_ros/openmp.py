"""OpenMP wait policy of the processes sobelnet starts (the ``sobelnet`` command, the node).

Torch runs its CPU operators on an OpenMP team (libgomp). By default a
team's idle threads spin for a while before they sleep, which on an idle
machine saves a wake-up per operator; on cores shared with other work (a
camera driver, a player, other jobs) the spinning threads take the time the
working ones need, and a frame waits at every operator for a thread that is
not running. Measured on the 2-core development VM with other jobs
running: the extractor at 640x480 took 50-59 ms per frame with passive
threads against 334-1190 ms with spinning ones (SIFT 75-155 ms in the same runs).
"""

from __future__ import annotations

import os
import sys

WAIT_POLICY = "OMP_WAIT_POLICY"


def prefer_passive_waits() -> bool:
    """Make idle OpenMP threads sleep at once, unless ``OMP_WAIT_POLICY`` is already set.

    libgomp reads the variable when torch loads it, so this only acts before
    the first ``import torch``; returns whether it could still act.
    """
    if "torch" in sys.modules:
        return False
    os.environ.setdefault(WAIT_POLICY, "PASSIVE")
    return True
