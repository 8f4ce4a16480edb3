import numpy as np
import pytest

from sobelnet_ros.evaluation.datasets import (
    DatasetError,
    load_dataset,
    read_homography,
    read_sequence,
)

H_SHIFT = np.array([[1.0, 0.0, 3.0], [0.0, 1.0, -2.0], [0.0, 0.0, 1.0]])


def test_hpatches_parent_folder(hpatches_root):
    sequences = load_dataset(hpatches_root)
    assert [(s.name, s.category) for s in sequences] == [
        ("i_light", "illumination"),
        ("v_wall", "viewpoint"),
    ]
    for sequence in sequences:
        for index in range(6):
            image = sequence.image(index)
            assert image.shape == (48, 64, 3) and image.dtype == np.uint8
        np.testing.assert_allclose(sequence.H_0to(5), H_SHIFT)  # normalised from 2 * H
    assert sequences[1].paths[0].name == "1.png"
    assert [s.name for s in load_dataset(hpatches_root, "v_*")] == ["v_wall"]


def test_oxford_folder_alone_and_in_a_parent(tmp_path, make_sequence):
    make_sequence(tmp_path / "graf", layout="oxford", suffix=".png")
    make_sequence(tmp_path / "leuven", layout="oxford")
    make_sequence(tmp_path / "bikes", layout="oxford")
    (tmp_path / "notes").mkdir()  # unrelated folders are skipped with a warning
    alone = load_dataset(tmp_path / "graf")
    assert [(s.name, s.category) for s in alone] == [("graf", "viewpoint")]
    both = {s.name: s.category for s in load_dataset(tmp_path)}
    assert both == {"bikes": "other", "graf": "viewpoint", "leuven": "illumination"}
    np.testing.assert_allclose(alone[0].homographies[0], H_SHIFT)


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "nowhere")
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no HPatches or Oxford sequence"):
        load_dataset(tmp_path / "empty")


def test_incomplete_sequence_names_what_is_missing(hpatches_root):
    (hpatches_root / "v_wall" / "H_1_4").unlink()
    (hpatches_root / "v_wall" / "6.png").unlink()
    with pytest.raises(DatasetError, match=r"v_wall lacks 6, H_1_4"):
        load_dataset(hpatches_root)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 0 0 0 1 0 0 0", "must hold 9 numbers, found 8"),
        ("1 0 0 0 1 0 0 0 x", "non-number"),
        ("1 0 0 1 0 0 0 0 1", "not a finite invertible"),
        ("1 0 0 0 1 0 0 0 nan", "not a finite invertible"),
    ],
)
def test_bad_homography_files(tmp_path, text, message):
    path = tmp_path / "H_1_2"
    path.write_text(text)
    with pytest.raises(DatasetError, match=message) as error:
        read_homography(path)
    assert str(path) in str(error.value)


def test_bad_homography_in_a_sequence_names_the_file(hpatches_root):
    (hpatches_root / "i_light" / "H_1_3").write_text("garbage")
    with pytest.raises(DatasetError, match="H_1_3"):
        read_sequence(hpatches_root / "i_light")


def test_unreadable_image_names_the_file(hpatches_root):
    (hpatches_root / "i_light" / "3.ppm").write_bytes(b"not an image")
    sequence = read_sequence(hpatches_root / "i_light")
    sequence.image(1)
    with pytest.raises(DatasetError, match=r"cannot read image .*3\.ppm"):
        sequence.image(2)


def test_pattern_and_exclusions(hpatches_root):
    assert [s.name for s in load_dataset(hpatches_root, exclude=("i_light",))] == ["v_wall"]
    (hpatches_root / "i_light" / "H_1_2").unlink()  # excluded folders are not even read
    assert [s.name for s in load_dataset(hpatches_root, exclude=("i_light",))] == ["v_wall"]
    with pytest.raises(DatasetError, match="no sequence left"):
        load_dataset(hpatches_root, "x_*", exclude=("i_light",))
    with pytest.raises(DatasetError, match="no sequence left"):
        load_dataset(hpatches_root, exclude=("i_light", "v_wall"))
