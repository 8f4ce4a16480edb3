import cv2
import numpy as np
import pytest

from sobelnet_ros.evaluation.synthetic import synthetic_sequences

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
