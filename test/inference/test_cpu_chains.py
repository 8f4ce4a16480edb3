"""Two chains per frame on the CPU: concurrent, own thread counts, same features."""

import gc
import threading

import numpy as np
import pytest
import torch

from sobelnet_ros import FeatureExtractor
from sobelnet_ros.data import sample_images
from sobelnet_ros.inference.cpu_chains import ChainWorkers, threads_per_chain


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_chains_run_side_by_side_on_their_own_thread_counts(two_threads):
    second_started = threading.Event()
    seen = {}

    def first():
        # Only returns if the second chain runs meanwhile.
        assert second_started.wait(timeout=10)
        seen["first"] = (threading.current_thread().name, torch.get_num_threads())
        return 1

    def second():
        second_started.set()
        seen["second"] = (threading.current_thread().name, torch.get_num_threads())
        return 2

    with ChainWorkers(1) as chains:
        result = chains.run(first, second, lambda a, b: (a, b, threading.current_thread().name))
    assert result == (1, 2, seen["first"][0])
    assert seen["first"][0] != seen["second"][0] != threading.current_thread().name
    assert seen["first"][1] == seen["second"][1] == 1
    assert torch.get_num_threads() == 2  # the caller's count is its own
    started_later = []
    thread = threading.Thread(target=lambda: started_later.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    assert started_later == [2]  # and new threads start with it, not the chains'


@pytest.mark.parametrize("failing", ["first", "second", "join"])
def test_an_error_in_either_chain_reaches_the_caller_and_the_workers_go_on(failing):
    def part(name, value):
        def run(*_):
            if name == failing:
                raise ValueError(f"{name} failed")
            return value

        return run

    with ChainWorkers(1) as chains:
        with pytest.raises(ValueError, match=f"{failing} failed"):
            chains.run(part("first", 1), part("second", 2), part("join", 3))
        assert chains.run(lambda: 1, lambda: 2, lambda a, b: a + b) == 3


def _new_chain_threads(make):
    before = set(threading.enumerate())
    made = make()
    return made, [t for t in set(threading.enumerate()) - before if "sobelnet-chain" in t.name]


def test_workers_end_on_close_and_when_collected():
    chains, threads = _new_chain_threads(lambda: ChainWorkers(1))
    assert len(threads) == 2
    chains.close()
    assert not any(thread.is_alive() for thread in threads)
    with pytest.raises(RuntimeError, match="closed"):
        chains.run(lambda: 1, lambda: 2, lambda a, b: a)
    chains, threads = _new_chain_threads(lambda: ChainWorkers(1))
    del chains
    gc.collect()
    for thread in threads:
        thread.join(timeout=10)
    assert len(threads) == 2 and not any(thread.is_alive() for thread in threads)


def test_threads_per_chain():
    assert [threads_per_chain(n) for n in (1, 2, 3, 4, 8)] == [0, 1, 1, 2, 4]


def _photos(size=(640, 480)):
    return [photo for _, photo in sample_images(size, names=("astronaut", "coffee"))]


def _assert_same(a, b):
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(a.descriptors, b.descriptors)


@pytest.mark.parametrize("levels", [1, 2])
@pytest.mark.parametrize("random_weights", [True, False], ids=["random", "shipped"])
@pytest.mark.parametrize("level_mix", [0.0, 0.5])
def test_chains_give_the_features_of_one_chain_on_their_thread_count(
    two_threads, levels, random_weights, level_mix
):
    options = {"pyramid_levels": levels, "random_weights": random_weights, "level_mix": level_mix}
    chained = FeatureExtractor(**options)
    single = FeatureExtractor(**options, cpu_chains=False)
    photos = _photos() + _photos((333, 251))
    features = [chained.extract(photo) for photo in photos]
    assert chained._chains is not None and chained._chains.threads_each == 1
    torch.set_num_threads(1)
    for photo, expected in zip(photos, features, strict=True):
        _assert_same(single.extract(photo), expected)
    chained.close()


def test_a_batch_in_chains_gives_each_image_its_features(two_threads):
    extractor = FeatureExtractor(random_weights=True)
    photos = _photos()
    batch = torch.cat([extractor.preprocess(photo) for photo in photos])
    merged = extractor.extract_tensor(batch)
    for index, photo in enumerate(photos):
        alone = merged.to("cpu").unpad(index, photo.shape[1::-1])
        _assert_same(alone, extractor.extract(photo))
    extractor.close()


def test_one_thread_or_the_option_off_runs_one_chain(two_threads):
    extractor = FeatureExtractor(random_weights=True, cpu_chains=False)
    extractor.extract(_photos()[0])
    assert extractor._chains is None
    extractor = FeatureExtractor(random_weights=True)
    torch.set_num_threads(1)
    extractor.extract(_photos()[0])
    assert extractor._chains is None


@pytest.mark.parametrize("levels", [1, 2])
@pytest.mark.parametrize("failing", ["gain_of", "corners", "describe", "peaks"])
def test_an_error_on_either_chain_ends_the_frame_and_the_next_frame_runs(
    two_threads, levels, failing
):
    # Each failing step is one that the other chain waits on (or would wait
    # on) at some level count: the error reaches the caller instead of a hang.
    extractor = FeatureExtractor(pyramid_levels=levels, random_weights=True)
    photo = _photos()[0]
    expected = extractor.extract(photo)
    owner = extractor.sobelnet if failing == "gain_of" else extractor
    working = getattr(owner, failing)

    def broken(*args, **kwargs):
        raise ValueError(f"{failing} broke")

    setattr(owner, failing, broken)
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(_outcome(extractor, photo)))
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the frame hung"
    assert isinstance(outcome["error"], ValueError) and f"{failing} broke" in str(outcome["error"])
    setattr(owner, failing, working)
    _assert_same(extractor.extract(photo), expected)
    extractor.close()


def _outcome(extractor, photo):
    torch.set_num_threads(2)
    try:
        return {"features": extractor.extract(photo)}
    except Exception as error:  # the test looks at which one
        return {"error": error}
