import cv2
import numpy as np
import pytest

from sobelnet_ros.evaluation.synthetic import synthetic_sequences, zoom_sequences

SIZE = (160, 120)


@pytest.fixture(scope="module")
def sequences():
    return synthetic_sequences(3, seed=5, size=SIZE)


def test_deterministic_and_seeded(sequences):
    again = synthetic_sequences(3, seed=5, size=SIZE)
    other = synthetic_sequences(1, seed=6, size=SIZE)
    for a, b in zip(sequences, again, strict=True):
        assert a.name == b.name
        np.testing.assert_array_equal(a.homographies, b.homographies)
        for index in range(6):
            np.testing.assert_array_equal(a.image(index), b.image(index))
    assert not np.allclose(other[0].homographies, sequences[0].homographies)


def test_categories_and_shapes(sequences):
    assert [s.category for s in sequences] == ["viewpoint", "illumination", "viewpoint"]
    assert sequences[0].name.startswith("v_") and sequences[1].name.startswith("i_")
    for sequence in sequences:
        for index in range(6):
            assert sequence.image(index).shape == (SIZE[1], SIZE[0], 3)
    np.testing.assert_array_equal(sequences[1].homographies, np.tile(np.eye(3), (5, 1, 1)))
    assert not np.allclose(sequences[0].homographies[4], np.eye(3), atol=0.05)


def test_homographies_match_the_pixels(sequences):
    """Warping view 1 by H_1_k reproduces view k where both see the scene."""
    sequence = sequences[0]
    reference = sequence.image(0).astype(np.float64)
    for index in range(1, 6):
        H = sequence.H_0to(index)
        warped = cv2.warpPerspective(reference, H, SIZE)
        covisible = cv2.warpPerspective(np.ones(SIZE[::-1]), H, SIZE) > 0.999
        assert covisible.mean() > 0.3
        error = np.abs(warped - sequence.image(index))[covisible].mean()
        assert error < 3.0, (index, error)
        wrong = cv2.warpPerspective(reference, np.linalg.inv(H), SIZE)
        assert np.abs(wrong - sequence.image(index))[covisible].mean() > 3 * error


def test_illumination_changes_grow(sequences):
    reference = sequences[1].image(0).astype(np.float64)
    change = [np.abs(sequences[1].image(k) - reference).mean() for k in range(1, 6)]
    assert min(change) > 1.0


def test_bad_arguments():
    with pytest.raises(ValueError, match="at least 1"):
        synthetic_sequences(0)
    with pytest.raises(ValueError, match="at least 64x64"):
        synthetic_sequences(1, size=(32, 32))


def _photos():
    rng = np.random.default_rng(3)
    tall = cv2.resize(rng.integers(0, 255, (30, 20, 3), dtype=np.uint8), (200, 300))
    wide = cv2.GaussianBlur(rng.integers(0, 255, (400, 700, 3), dtype=np.uint8), (5, 5), 1.5)
    return [("tall", tall), ("wide", wide)]


def test_sequences_from_other_photos():
    photos = _photos()
    sequences = synthetic_sequences(3, seed=5, size=SIZE, photos=photos)
    assert [s.name for s in sequences] == [
        "v_synth_000_tall",
        "i_synth_001_wide",
        "v_synth_002_tall",
    ]
    # The same warps as with the bundled photos: only the pixels differ.
    bundled = synthetic_sequences(3, seed=5, size=SIZE)
    np.testing.assert_array_equal(sequences[0].homographies, bundled[0].homographies)
    assert sequences[0].image(0).shape == (SIZE[1], SIZE[0], 3)
    assert not np.array_equal(sequences[0].image(0), bundled[0].image(0))


@pytest.fixture(scope="module")
def zooms():
    return zoom_sequences(2, _photos(), seed=4, size=SIZE)


def test_zoom_sequences_zoom_out_then_in(zooms):
    assert [s.category for s in zooms] == ["viewpoint", "viewpoint"]
    scales = [
        [np.sqrt(abs(np.linalg.det(s.H_0to(k)[:2, :2]))) for k in range(1, 6)] for s in zooms
    ]
    assert all(np.diff(scales[0]) < 0) and 1 / 2.2 <= scales[0][-1] <= 1 / 1.6
    assert all(np.diff(scales[1]) > 0) and 1.6 <= scales[1][-1] <= 2.2


def test_zoom_homographies_match_the_pixels(zooms):
    for sequence in zooms:
        reference = sequence.image(0).astype(np.float64)
        for index in (1, 5):
            H = sequence.H_0to(index)
            warped = cv2.warpPerspective(reference, H, SIZE)
            covisible = cv2.warpPerspective(np.ones(SIZE[::-1]), H, SIZE) > 0.999
            assert covisible.mean() > 0.1
            error = np.abs(warped - sequence.image(index))[covisible].mean()
            wrong = cv2.warpPerspective(reference, np.linalg.inv(H), SIZE)
            assert (
                error < 6.0 and np.abs(wrong - sequence.image(index))[covisible].mean() > 2 * error
            )
