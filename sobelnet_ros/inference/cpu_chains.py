"""Two worker threads that run independent parts of one frame side by side on the CPU.

Torch splits each operator over its OpenMP threads. SobelNet's and DesNet's
operators are small (8-channel maps, 60x80 maps), so a second thread buys
little per operator: on 2 cores one 640x480 frame took 27 ms with two
threads against 43 ms with one. Detection and description of a frame are
independent until descriptors are sampled at the keypoints, so two chains,
each on its own thread with its own share of the OpenMP threads, keep both
cores busy with whole operators instead.

Each worker sets its OpenMP thread count once (torch keeps it per thread);
the thread that made the workers keeps its own. The workers are those of two
single-thread ``ThreadPoolExecutor``s: ``close`` or the garbage collector ends
them, and at interpreter exit Python stops and joins them before it tears
down (a daemon thread woken inside torch then would abort the process).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch

A = TypeVar("A")
B = TypeVar("B")
R = TypeVar("R")


class ChainWorkers:
    """Two threads, each running torch with ``threads_each`` OpenMP threads.

    ``run(first, second, join)`` runs ``first`` on one worker and ``second``
    on the other at the same time, then ``join(first's result, second's)`` on
    the first worker, and returns its result (exceptions are raised here).
    Calls are serialised: one frame at a time.
    """

    def __init__(self, threads_each: int) -> None:
        if threads_each < 1:
            raise ValueError(f"threads_each must be >= 1, got {threads_each}")
        self.threads_each = threads_each
        caller_threads = torch.get_num_threads()
        self._pools = [
            ThreadPoolExecutor(1, f"sobelnet-chain-{index}", _set_threads, (threads_each,))
            for index in range(2)
        ]
        for pool in self._pools:
            pool.submit(torch.get_num_threads).result()  # starts the thread, sets its count
        # torch.set_num_threads also sets the count that threads started later
        # begin with: give that back to the caller's count.
        torch.set_num_threads(caller_threads)
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _shut_down, self._pools)

    def run(self, first: Callable[[], A], second: Callable[[], B], join: Callable[[A, B], R]) -> R:
        if not self.alive:
            raise RuntimeError("ChainWorkers is closed")
        with self._lock:
            second_result = self._pools[1].submit(_inference, second)
            joined = self._pools[0].submit(
                _inference, lambda: join(first(), second_result.result())
            )
            try:
                return joined.result()
            finally:
                second_result.exception()  # never leave a frame's chain running

    @property
    def alive(self) -> bool:
        return self._finalizer.alive

    def close(self) -> None:
        """End both workers (after the frame that is running) and wait for them."""
        self._finalizer()
        _shut_down(self._pools, wait=True)

    def __enter__(self) -> ChainWorkers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _set_threads(threads: int) -> None:
    torch.set_num_threads(threads)


def _inference(fn: Callable[[], R]) -> R:
    with torch.inference_mode():
        return fn()


def _shut_down(pools: list[ThreadPoolExecutor], wait: bool = False) -> None:
    # Collected on any thread, maybe a worker's own: only ask them to end there.
    for pool in pools:
        pool.shutdown(wait=wait)


def threads_per_chain(threads: int) -> int:
    """OpenMP threads each chain gets of ``threads``; 0 where two chains do not pay."""
    return threads // 2 if threads >= 2 else 0
