"""OpenMP wait policy of the node.

Torch runs its CPU operators on an OpenMP team (libgomp). By default a
team's idle threads spin for a while before they sleep, which on an idle
machine saves a wake-up per operator; on cores shared with other work that
spins too (another torch process) the spinning threads take the time the
working ones need, and a frame waits at every operator for a thread that is
not running. Measured on the 2-core development VM, `sobelnet bench` at
640x480: idle, 26-35 ms per frame with libgomp's default against 34-36 ms
with passive threads; beside another `sobelnet bench`, 64-108 ms against
42 ms (beside two plain busy loops both about 118 ms; those two with the
previous CPU paths). A node shares its
cores with the camera driver and the front-end that reads it, so it sleeps
its threads; the ``sobelnet`` command and the library keep libgomp's default.
"""

from __future__ import annotations

import os
import sys

WAIT_POLICY = "OMP_WAIT_POLICY"


SPIN_COUNT = "GOMP_SPINCOUNT"


def prefer_passive_waits() -> bool:
    """Make idle OpenMP threads sleep at once, unless the user chose a policy.

    Setting ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` (e.g. libgomp's own
    default, 300000, to spin on an otherwise idle machine) keeps that choice.
    libgomp reads them when torch loads it, so this only acts before the
    first ``import torch``; returns whether it could still act.
    """
    if "torch" in sys.modules:
        return False
    if SPIN_COUNT not in os.environ:
        os.environ.setdefault(WAIT_POLICY, "PASSIVE")
    return True
