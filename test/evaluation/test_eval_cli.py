import json
from pathlib import Path

from sobelnet_ros.cli.main import main
from sobelnet_ros.evaluation.report import markdown_report

FAST = ["--synthetic-size", "128x96", "--no-progress"]


def test_eval_synthetic_writes_json_markdown_and_plot(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["eval", "--synthetic", "2", "--methods", "ours,orb,akaze", "--random-weights"]
    assert main([*args, *FAST, "--out", str(out)]) == 0
    result = json.loads((out / "results.json").read_text())
    assert result["complete"] and list(result["methods"]) == ["ours", "orb", "akaze"]
    assert result["dataset"]["name"] == "synthetic-2" and result["max_keypoints"] == 1024
    assert result["run_time_s"] > 0
    report = (out / "report.md").read_text()
    assert "## Viewpoint" in report and "| orb | 1 | 5 |" in report and "PARTIAL" not in report
    assert "## Keypoint placement" in report and "kpts on grey+noise" in report
    assert result["methods"]["orb"]["blank_frames"] == {
        "black": 0,
        "white": 0,
        "grey": 0,
        "grey_noise": 0,
    }
    assert 0 <= result["methods"]["ours"]["summary"]["overall"]["edge_like_share"] <= 1
    assert (out / "mma.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(out.glob("*.partial.*")) and not (out / ".cache").exists()
    assert "## Overall" in capsys.readouterr().out


def test_eval_synthetic_from_held_out_photos(tmp_path, capsys):
    import hashlib

    import cv2
    import numpy as np

    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    names = [f"photo_{i}.png" for i in range(12)]
    for name in names:
        cv2.imwrite(str(photos / name), rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    # The split of ``sobelnet train --holdout 0.3``: a hash of each name.
    held = sorted(
        [
            n
            for n in names
            if int(hashlib.sha256(n.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < 0.3
        ]
    )
    assert 0 < len(held) < len(names)
    out = tmp_path / "out"
    source = ["--synthetic-photos", str(photos), "--synthetic-holdout", "0.3"]
    args = ["eval", "--synthetic", "2", "--methods", "orb", *source, "--synthetic-zoom"]
    assert main([*args, *FAST, "--out", str(out)]) == 0
    dataset = json.loads((out / "results.json").read_text())["dataset"]
    assert dataset["photo_names"] == [Path(n).stem for n in held] and dataset["zoom"]
    assert dataset["sequences"][0] == f"v_zoom_000_{Path(held[0]).stem}"
    assert main(["eval", "--synthetic", "1", "--synthetic-zoom", "--out", str(out)]) == 2
    assert "--synthetic-zoom needs --synthetic-photos" in capsys.readouterr().err
    assert main(["eval", "--synthetic", "1", *source[:2], "--synthetic-holdout", "0"]) == 2
    assert "holds out no photo" in capsys.readouterr().err


def test_eval_dataset_folder(hpatches_root, tmp_path):
    out = tmp_path / "out"
    args = ["eval", "--dataset", str(hpatches_root), "--methods", "sift", "--out", str(out)]
    assert main([*args, "--no-progress", "--max-keypoints", "64"]) == 0
    result = json.loads((out / "results.json").read_text())
    assert result["dataset"]["sequences"] == ["i_light", "v_wall"]
    assert result["methods"]["sift"]["summary"]["overall"]["keypoints_per_image"] <= 64


def test_eval_reports_malformed_dataset(tmp_path, capsys, hpatches_root):
    assert main(["eval", "--dataset", str(tmp_path / "none"), "--out", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err
    (hpatches_root / "v_wall" / "H_1_2").write_text("1 2 3")
    assert main(["eval", "--dataset", str(hpatches_root), "--out", str(tmp_path)]) == 2
    assert "H_1_2 must hold 9 numbers" in capsys.readouterr().err
    assert main(["eval", "--synthetic", "1", "--methods", "surf", "--out", str(tmp_path)]) == 2
    assert "unknown method 'surf'" in capsys.readouterr().err


def test_stopped_run_is_marked_partial_then_resumes(tmp_path, monkeypatch, capsys):
    (tmp_path / "flaky.py").write_text(
        "import os\n"
        "from sobelnet_ros.evaluation.methods import OpenCVMethod\n"
        "class Flaky(OpenCVMethod):\n"
        "    def __init__(self, max_keypoints):\n"
        "        super().__init__('orb', max_keypoints)\n"
        "        self.name, self.calls = 'flaky', 0\n"
        "    def extract(self, image):\n"
        "        self.calls += 1\n"
        "        if self.calls > 8 and os.environ.get('FLAKY_FAIL'):\n"
        "            raise RuntimeError('extractor crashed')\n"
        "        return super().extract(image)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("FLAKY_FAIL", "1")
    out = tmp_path / "out"
    args = ["eval", "--synthetic", "2", "--methods", "orb,flaky:Flaky", *FAST, "--out", str(out)]
    assert main(args) == 2
    assert "extractor crashed" in capsys.readouterr().err
    partial = json.loads((out / "results.partial.json").read_text())
    assert not partial["complete"] and partial["missing"] == ["flaky/i_synth_001_coffee"]
    assert "PARTIAL RESULT" in (out / "report.partial.md").read_text()
    assert not (out / "results.json").exists()

    monkeypatch.delenv("FLAKY_FAIL")
    assert main(args) == 0
    assert json.loads((out / "results.json").read_text())["complete"]
    assert not list(out.glob("*.partial.*"))


def test_markdown_marks_partial_results():
    result = {
        "complete": False,
        "stopped_by": "interrupted",
        "missing": ["orb/v_x"],
        "protocol": {
            "thresholds_px": [1.0, 3.0],
            "repeatability_px": 3.0,
            "homography_px": [3.0],
            "ransac_px": 3.0,
        },
        "methods": {"orb": {"sequences": {}, "summary": {}}},
    }
    text = markdown_report(result)
    assert "**PARTIAL RESULT** (stopped: interrupted); missing: orb/v_x." in text


def test_module_entry_point_takes_the_eval_options():
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    command = [sys.executable, "-m", "sobelnet_ros.cli.eval", "--help"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and "--synthetic" in done.stdout and "--dataset" in done.stdout


def test_evaluation_library_imports_no_command_line():
    import os
    import subprocess
    import sys

    code = (
        "import pkgutil, importlib, sys, sobelnet_ros.evaluation as e\n"
        "for m in pkgutil.iter_modules(e.__path__):\n"
        "    importlib.import_module(f'{e.__name__}.{m.name}')\n"
        "print(sorted(n for n in sys.modules if n.startswith('sobelnet_ros.cli')))"
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
