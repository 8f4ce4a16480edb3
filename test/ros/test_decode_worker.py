"""The decoder thread: the caller never waits on a decode; every job is handled or counted."""

from __future__ import annotations

import threading
import time

from sobelnet_ros.ros.decode_worker import DecodeWorker


class Recorder:
    def __init__(self) -> None:
        self.handled: list[int] = []
        self.dropped: list[tuple[int, str]] = []
        self.release = threading.Event()
        self.started = threading.Event()

    def handle(self, job: int) -> None:
        self.started.set()
        assert self.release.wait(10)
        if job < 0:
            raise ValueError("bad frame")
        self.handled.append(job)

    def drop(self, job: int, reason: str) -> None:
        self.dropped.append((job, reason))


def test_put_returns_while_a_decode_runs_and_the_newest_wins():
    jobs = Recorder()
    worker = DecodeWorker(jobs.handle, jobs.drop, depth=1)
    worker.put(1)
    assert jobs.started.wait(5)  # job 1 is being decoded and will not finish by itself
    begin = time.monotonic()
    for job in (2, 3, 4):
        worker.put(job)
    assert time.monotonic() - begin < 1.0
    jobs.release.set()
    worker.close(timeout=5)
    assert jobs.handled == [1, 4]
    assert jobs.dropped == [(2, "decoder_busy"), (3, "decoder_busy")]


def test_block_waits_for_room_instead_of_dropping():
    jobs = Recorder()
    worker = DecodeWorker(jobs.handle, jobs.drop, depth=1, block=True)
    worker.put(1)
    assert jobs.started.wait(5)
    worker.put(2)  # waits in the queue
    third = threading.Thread(target=worker.put, args=(3,))
    third.start()
    third.join(0.3)
    assert third.is_alive()  # blocked until job 1 is done
    jobs.release.set()
    third.join(5)
    worker.close(timeout=5)
    assert jobs.handled == [1, 2, 3] and jobs.dropped == []


def test_errors_and_shutdown_are_counted():
    jobs = Recorder()
    jobs.release.set()
    worker = DecodeWorker(jobs.handle, jobs.drop, depth=4)
    worker.put(-1)
    worker.put(5)
    worker.close(timeout=5)
    worker.put(6)
    assert jobs.handled == [5]
    assert jobs.dropped == [(-1, "ValueError"), (6, "shutdown")]
