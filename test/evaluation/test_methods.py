import numpy as np
import pytest

from sobelnet_ros.evaluation.methods import (
    OpenCVMethod,
    OursMethod,
    build_methods,
    check_output,
    load_user_method,
)

USER_MODULE = """
import numpy as np

class Grid:
    name, metric = "grid", "l2"

    def __init__(self, max_keypoints):
        self.max_keypoints = max_keypoints

    def extract(self, image):
        ys, xs = np.mgrid[8:image.shape[0] - 8:8, 8:image.shape[1] - 8:8]
        points = np.stack([xs.ravel(), ys.ravel()], 1)[: self.max_keypoints].astype(float)
        patches = [image[int(y) - 2:int(y) + 3, int(x) - 2:int(x) + 3].ravel() for x, y in points]
        return points, np.array(patches, dtype=np.float32)

def no_extract(max_keypoints):
    return object()

NOT_CALLABLE = 3
"""


@pytest.mark.parametrize(
    ("name", "metric", "dtype"),
    [
        ("orb", "hamming", np.uint8),
        ("sift", "l2", np.float32),
        ("akaze", "hamming", np.uint8),
    ],
)
def test_opencv_baselines_keep_to_the_budget(textured_image, name, metric, dtype):
    method = OpenCVMethod(name, max_keypoints=50)
    keypoints, descriptors = method.extract(textured_image)
    assert method.metric == metric and descriptors.dtype == dtype
    assert 10 <= len(keypoints) <= 50 and len(descriptors) == len(keypoints)
    check_output(method, keypoints, descriptors, "test image")


def test_opencv_baseline_on_a_blank_image_returns_empty_arrays():
    for name in ("orb", "sift", "akaze"):
        keypoints, descriptors = OpenCVMethod(name, 100).extract(np.zeros((64, 64, 3), np.uint8))
        assert keypoints.shape == (0, 2) and descriptors.shape[0] == 0


def test_ours_wraps_the_extractor(random_extractor, textured_image):
    keypoints, descriptors = OursMethod(random_extractor).extract(textured_image)
    assert keypoints.shape[1] == 2 and descriptors.shape == (len(keypoints), 128)


def test_user_method_from_module_and_callable(tmp_path, monkeypatch, textured_image):
    (tmp_path / "usermethods.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    method = load_user_method("usermethods:Grid", max_keypoints=20)
    keypoints, descriptors = method.extract(textured_image)
    assert method.name == "grid" and len(keypoints) == 20 and descriptors.shape == (20, 75)
    names = [m.name for m in build_methods(["orb", "usermethods:Grid"], 20)]
    assert names == ["orb", "grid"]
    with pytest.raises(ValueError, match="no extract"):
        load_user_method("usermethods:no_extract", 20)
    with pytest.raises(ValueError, match="no callable 'NOT_CALLABLE'"):
        load_user_method("usermethods:NOT_CALLABLE", 20)
    with pytest.raises(ValueError, match="cannot import module 'nomodule_here'"):
        load_user_method("nomodule_here:X", 20)


def test_build_methods_rejects_unknown_and_duplicate_names():
    with pytest.raises(ValueError, match="unknown method 'surf'"):
        build_methods(["surf"], 10)
    with pytest.raises(ValueError, match="more than once"):
        build_methods(["orb", "orb"], 10)
    with pytest.raises(ValueError, match="needs an extractor"):
        build_methods(["ours"], 10)


def test_check_output_names_the_problem():
    method = OpenCVMethod("orb", 10)
    with pytest.raises(ValueError, match=r"orb returned keypoints of shape \(3,\)"):
        check_output(method, np.zeros(3), np.zeros((3, 32), np.uint8), "img")
    with pytest.raises(ValueError, match="for 3 keypoints"):
        check_output(method, np.zeros((3, 2)), np.zeros((2, 32), np.uint8), "img")
    with pytest.raises(ValueError, match="needs uint8"):
        check_output(method, np.zeros((3, 2)), np.zeros((3, 32)), "img")
    with pytest.raises(ValueError, match="non-finite"):
        check_output(method, np.full((3, 2), np.nan), np.zeros((3, 32), np.uint8), "img")
