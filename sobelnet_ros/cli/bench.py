"""``sobelnet bench``: extractor time per stage and end to end, beside ORB and SIFT.

All methods run on the same images in the same process, round-robin, so the
ratios hold even on a machine whose speed drifts; the extractor's stages are
timed one by one afterwards.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import torch

from ..data import sample_images
from ..inference import BatchFeatures, FeatureExtractor
from ..inference.cornerness import corner_weight
from ..inference.extractor import has_corner_test
from ..inference.pyramid import level_count, merge_levels
from ..models.macs import count_macs
from .options import add_extractor_arguments, extractor_from_args

SIZES = ((640, 480), (1280, 720))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=30, help="timed runs per size (default 30)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed runs first (default 5)")
    parser.add_argument("--sizes", default="640x480,1280x720", help="comma-separated WxH")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch CPU threads (0: torch's default)"
    )
    parser.add_argument("--json", help="write all figures to this JSON file")
    add_extractor_arguments(parser)


def run(args: argparse.Namespace) -> int:
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    extractor = extractor_from_args(args)
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    result = {
        "machine": _machine(extractor),
        "config": vars(args) | {"module_name": None},
        "sizes": {},
    }
    result["macs_640x480"] = {
        "sobelnet": count_macs(extractor.sobelnet, 480, 640),
        "desnet": count_macs(extractor.desnet, 480, 640),
        "octaves": sum(
            count_macs(net, 480 >> octave, 640 >> octave)
            for octave in range(1, level_count(480, 640, extractor.config.pyramid_levels))
            for net in (extractor.sobelnet, extractor.desnet)
        ),
    }
    print(_format_macs(result["macs_640x480"]))
    for width, height in sizes:
        images = [
            img
            for _, img in sample_images((width, height), names=("astronaut", "coffee", "rocket"))
        ]
        figures = _time_size(extractor, images, args.max_keypoints, args.runs, args.warmup)
        result["sizes"][f"{width}x{height}"] = figures
        print(_format_table(f"{width}x{height}", figures))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return 0


def _time_size(
    extractor: FeatureExtractor, images: list[np.ndarray], k: int, runs: int, warmup: int
) -> dict:
    grays = [cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) for img in images]
    orb = cv2.ORB_create(nfeatures=k)
    sift = cv2.SIFT_create(nfeatures=k)
    jobs: dict[str, Callable[[int], object]] = {
        "ours_end_to_end": lambda i: extractor.extract(images[i]),
        "orb": lambda i: orb.detectAndCompute(grays[i], None),
        "sift": lambda i: sift.detectAndCompute(grays[i], None),
    }
    extra: tuple[str, ...] = ()
    if has_corner_test(extractor.config):
        # The same networks without the corner test, to show what it costs.
        plain = copy.copy(extractor)
        plain.config = extractor.config.with_options(
            min_gradient=0.0, min_corner_ratio=0.0, full_corner_ratio=0.0
        )
        jobs["ours_no_corner_test"] = lambda i: plain.extract(images[i])
        extra = ("corner_test",)
    times: dict[str, list[float]] = {name: [] for name in [*_STAGES, *extra, *jobs]}
    # Stages in a loop of their own, after the methods: their operators run on
    # this thread's OpenMP team, whose idle threads then spin for a few ms
    # (libgomp's default), taking a core from the extractor's chains that
    # would follow (see inference/cpu_chains.py).
    for timer in (
        lambda i: {name: _timed(partial(job, i), extractor.device) for name, job in jobs.items()},
        lambda i: _time_stages(extractor, images[i]),
    ):
        for run_index in range(warmup + runs):
            figures = timer(run_index % len(images))
            if run_index >= warmup:
                for name, value in figures.items():
                    times[name].append(value)
    return _summarise(times)


_STAGES = ("preprocess", "sobelnet", "nms_topk", "desnet", "sampling", "octaves", "download")


def _time_stages(extractor: FeatureExtractor, image: np.ndarray) -> dict[str, float]:
    """Stages of the full-resolution level one by one, then the octaves and merge at once."""
    device = extractor.device
    out: dict[str, float] = {}
    with torch.inference_mode():
        out["preprocess"], tensor = _timed_value(lambda: extractor.preprocess(image), device)
        pyramid_ms, ((_, budget), *octaves) = _timed_value(
            lambda: extractor.pyramid(tensor), device
        )
        out["sobelnet"], scores = _timed_value(lambda: extractor.detect(tensor), device)
        out["nms_topk"], (kpts, values, count) = _timed_value(
            lambda: extractor.select(scores, tensor, budget), device
        )
        out["desnet"], dense = _timed_value(lambda: extractor.describe(tensor), device)
        out["sampling"], desc = _timed_value(lambda: extractor.sample(dense, kpts), device)
        full = BatchFeatures(kpts, values, desc, count)
        octaves_ms, merged = _timed_value(
            lambda: merge_levels([full, *(extractor.extract_level(*level) for level in octaves)]),
            device,
        )
        out["octaves"] = pyramid_ms + octaves_ms  # 2x2 averages, both networks, merge
        out["download"], _ = _timed_value(
            lambda: [t.cpu().numpy() for t in merged.tensors()], device
        )
        if has_corner_test(extractor.config):  # inside nms_topk and octaves; all levels
            c = extractor.config
            test = (c.min_gradient, c.min_corner_ratio, c.full_corner_ratio)
            levels = [tensor, *(level for level, _ in octaves)]
            out["corner_test"] = _timed(lambda: [corner_weight(x, *test) for x in levels], device)
    return out


def _timed(fn: Callable[[], object], device: torch.device) -> float:
    return _timed_value(fn, device)[0]


def _timed_value(fn: Callable[[], object], device: torch.device) -> tuple[float, object]:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    value = fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) * 1e3, value


def _summarise(times: dict[str, list[float]]) -> dict:
    out = {}
    reference = statistics.median(times["ours_end_to_end"])
    for name, values in times.items():
        median = statistics.median(values)
        out[name] = {
            "median_ms": median,
            "p90_ms": float(np.percentile(values, 90)),
            "min_ms": min(values),
            "fps": 1e3 / median if median > 0 else float("inf"),
            "time_vs_ours": median / reference,
        }
    out["stages_sum_ms"] = sum(out[s]["median_ms"] for s in _STAGES)
    return out


def _format_macs(macs: dict[str, int]) -> str:
    return "MACs at 640x480: " + ", ".join(f"{k} {v / 1e9:.3f} G" for k, v in macs.items())


def _format_table(size: str, figures: dict) -> str:
    lines = [
        f"\n{size}",
        f"{'stage / method':<18}{'median ms':>10}{'p90 ms':>9}{'FPS':>8}{'x ours':>8}",
    ]
    for name, f in figures.items():
        if isinstance(f, dict):
            fps = f"{f['fps']:.1f}" if f["fps"] < 1e5 else "-"  # a stage that did not run
            lines.append(
                f"{name:<18}{f['median_ms']:>10.2f}{f['p90_ms']:>9.2f}{fps:>8}{f['time_vs_ours']:>8.2f}"
            )
    lines.append(f"{'(sum of stages)':<18}{figures['stages_sum_ms']:>10.2f}")
    return "\n".join(lines)


def _machine(extractor: FeatureExtractor) -> dict:
    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "opencv": cv2.__version__,
        "device": str(extractor.device),
        "network_dtype": str(extractor.dtype).replace("torch.", ""),
        "weights": extractor.describe_sources(),
    }
    if extractor.device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(extractor.device)
    return info
