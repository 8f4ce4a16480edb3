"""Training batches made ahead in worker processes, so that a GPU does not wait for them.

A batch is a function of the sampler's seed, the step and the process rank
alone (``PairSampler.batch``), so the batches, and with them the run, are the
same with any number of workers: only the time differs. Made in the training
process, the homography warps and photometric changes of each batch wait for
the step before and hold up the next; on a GPU, where the forward and
backward passes are quick, they would set the pace.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import torch
from torch.utils.data import DataLoader, Dataset

from .pairs import PairBatch, PairSampler

PREFETCH_PER_WORKER = 4  # batches each worker keeps ready


class _StepBatches(Dataset):
    """The batch of each step, by index."""

    def __init__(self, sampler: PairSampler, batch_size: int, rank: int) -> None:
        self.sampler, self.batch_size, self.rank = sampler, batch_size, rank

    def __getitem__(self, step: int) -> PairBatch:
        return self.sampler.batch(step, self.batch_size, self.rank)


def _one_thread(_: int) -> None:
    """Each worker warps with one OpenCV thread: the workers are the parallelism."""
    cv2.setNumThreads(1)


def step_batches(
    sampler: PairSampler, first: int, end: int, batch_size: int, rank: int = 0, workers: int = 0
) -> Iterator[PairBatch]:
    """The batches of steps ``first`` .. ``end - 1`` in order, made by ``workers`` processes
    ahead of use (0: each made here when asked for)."""
    if workers <= 0:
        return (sampler.batch(step, batch_size, rank) for step in range(first, end))
    loader = DataLoader(
        _StepBatches(sampler, batch_size, rank),
        batch_size=None,  # a dataset item is a whole batch already
        sampler=range(first, end),
        num_workers=workers,
        prefetch_factor=PREFETCH_PER_WORKER,
        worker_init_fn=_one_thread,
        multiprocessing_context=_start_method(),
    )
    return iter(loader)


def _start_method() -> str:
    """Workers started clean, not forked: a process forked after OpenCV or torch ran their
    thread pools can hang in its first parallel call."""
    methods = torch.multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"
