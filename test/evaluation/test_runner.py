import json

import numpy as np
import pytest

from sobelnet_ros.evaluation.datasets import Sequence
from sobelnet_ros.evaluation.methods import OpenCVMethod
from sobelnet_ros.evaluation.runner import PartialEvaluation, evaluate
from sobelnet_ros.evaluation.synthetic import synthetic_sequences


def _still(image, name="i_still", category="illumination"):
    return Sequence(name, category, np.tile(np.eye(3), (5, 1, 1)), arrays=[image] * 6)


class Counting:
    """SIFT that counts its calls and can fail on a chosen sequence's image."""

    metric = "l2"

    def __init__(self, fail_on=None):
        self.name, self.calls, self.fail_on = "counting", 0, fail_on
        self.sift = OpenCVMethod("sift", 200)

    def extract(self, image):
        self.calls += 1
        if self.fail_on is not None and image is self.fail_on:
            raise RuntimeError("boom")
        return self.sift.extract(image)


def test_identical_images_score_one(textured_image, random_extractor):
    result = evaluate(
        [_still(textured_image)], [OpenCVMethod("sift", 300), random_extractor], progress=False
    )
    assert result["complete"] and list(result["methods"]) == ["sift", "ours"]
    for entry in result["methods"].values():
        figures = entry["summary"]["overall"]
        np.testing.assert_allclose(figures["mma"], 1.0)
        assert figures["repeatability"] == 1.0
        assert figures["homography_accuracy"] == {"1": 1.0, "3": 1.0, "5": 1.0}
        assert figures["matches_per_pair"] == figures["keypoints_per_image"] > 20
        assert set(entry["summary"]) == {"illumination", "overall"}


def test_synthetic_viewpoint_with_sift_and_json_safe_result():
    sequences = synthetic_sequences(2, size=(192, 144))
    result = evaluate(sequences, [OpenCVMethod("sift", 300)], progress=False)
    summary = result["methods"]["sift"]["summary"]
    assert set(summary) == {"illumination", "viewpoint", "overall"}
    mma = summary["viewpoint"]["mma"]
    assert len(mma) == 10 and np.all(np.diff(mma) >= 0) and mma[2] > 0.5
    assert summary["overall"]["pairs"] == 10 and summary["viewpoint"]["pairs"] == 5
    record = result["methods"]["sift"]["sequences"][sequences[0].name]
    assert [p["k"] for p in record["pairs"]] == [2, 3, 4, 5, 6] and len(record["extract_ms"]) == 6
    json.dumps(result, allow_nan=False)


def test_failure_gives_a_partial_result_and_the_cache_resumes(tmp_path, textured_image):
    first, second = _still(textured_image, "i_a"), _still(textured_image[::-1].copy(), "i_b")
    failing = Counting(fail_on=second.arrays[3])
    with pytest.raises(PartialEvaluation) as stopped:
        evaluate([first, second], [failing], progress=False, cache_dir=tmp_path)
    partial = stopped.value.result
    assert not partial["complete"] and partial["missing"] == ["counting/i_b"]
    assert list(partial["methods"]["counting"]["sequences"]) == ["i_a"]
    assert partial["methods"]["counting"]["summary"]["overall"]["sequences"] == 1
    assert isinstance(stopped.value.__cause__, RuntimeError)

    resumed = Counting()
    result = evaluate([first, second], [resumed], progress=False, cache_dir=tmp_path)
    assert result["complete"] and resumed.calls == 1 + 6  # warm-up + i_b only
    assert result["methods"]["counting"]["summary"]["overall"]["sequences"] == 2


def test_no_sequences_is_an_error():
    with pytest.raises(ValueError, match="no sequences"):
        evaluate([], [OpenCVMethod("orb", 10)], progress=False)
