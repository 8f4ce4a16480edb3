import json

import pytest

from sobelnet_ros.cli.main import main


def test_extract_writes_annotated_pngs(tmp_path, capsys):
    assert main(["extract", "--random-weights", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "astronaut: 640x480" in out and "keypoints" in out
    assert (tmp_path / "astronaut_keypoints.png").stat().st_size > 10_000


def test_extract_reads_image_files(tmp_path, capsys):
    import cv2
    import numpy as np

    path = tmp_path / "noise.png"
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 255, (64, 80, 3), np.uint8))
    assert main(["extract", "--random-weights", "--out", str(tmp_path), str(path)]) == 0
    assert "noise.png: 80x64" in capsys.readouterr().out


def test_extract_reports_unreadable_images(tmp_path, capsys):
    assert main(["extract", "--random-weights", "--out", str(tmp_path), "missing.png"]) == 2
    assert "cannot read image missing.png" in capsys.readouterr().err


def test_bench_writes_json_with_stages_and_baselines(tmp_path, capsys):
    path = tmp_path / "bench.json"
    sizes = "96x64,160x128"  # the second has room for an octave (64 px)
    args = ["bench", "--random-weights", "--runs", "2", "--warmup", "1", "--sizes", sizes]
    assert main([*args, "--json", str(path)]) == 0
    result = json.loads(path.read_text())
    figures = result["sizes"]["96x64"]
    for name in ("sobelnet", "nms_topk", "desnet", "sampling", "ours_end_to_end", "orb", "sift"):
        assert figures[name]["median_ms"] > 0
    assert result["sizes"]["160x128"]["octaves"]["median_ms"] > figures["octaves"]["median_ms"]
    assert result["macs_640x480"]["sobelnet"] > 0
    assert result["macs_640x480"]["octaves"] > 0
    assert "MACs at 640x480" in capsys.readouterr().out


def test_unknown_subcommand_exits_with_usage():
    with pytest.raises(SystemExit):
        main(["fly"])


def test_engine_bench_on_the_cpu(tmp_path, capsys):
    path = tmp_path / "engine.json"
    args = ["engine-bench", "--random-weights", "--frames", "3", "--sizes", "96x64"]
    assert main([*args, "--json", str(path)]) == 0
    variants = json.loads(path.read_text())["sizes"]["96x64"]
    for name in ("cpu_worker", "host_slots"):
        figures = variants[name]
        assert figures["latency_p50_ms"] > 0 and figures["fps_in_flight_2"] > 0
        assert figures["per_frame"]["frames"] == 3 and figures["stage_ms"]
        assert 0 <= figures["agreement"]["keypoints_within_0.5px"] <= 1
    assert variants["graphed_fp16"] == {"skipped": "needs CUDA"}
    out = capsys.readouterr().out
    assert "fps@2" in out and "graphed_fp16" in out


def test_engine_bench_keeps_to_its_budget(tmp_path):
    path = tmp_path / "engine.json"
    args = ["engine-bench", "--random-weights", "--frames", "2", "--sizes", "96x64,64x64"]
    assert main([*args, "--budget-s", "1e-9", "--json", str(path)]) == 0
    sizes = json.loads(path.read_text())["sizes"]
    for size in ("96x64", "64x64"):
        assert sizes[size]["host_slots"] == {"skipped": "over the 0 s budget"}
