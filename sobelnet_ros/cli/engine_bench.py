"""``sobelnet engine-bench``: the asynchronous engine's latency, throughput and stage times.

Per input size and engine mode: single-frame latency (submit -> result on
host, one frame in flight) p50/p99; throughput with 1, 2 and 3 frames in
flight; and, in eager mode, GPU time per stage from CUDA events. On CUDA the
modes are eager, graphed, graphed+fp16 and variants (concurrent SobelNet and
DesNet streams, channels_last); on the CPU the worker-thread engine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from ..data import sample_images
from ..inference import ExtractorConfig, FeatureExtractor
from ..inference.engine import create_engine
from .options import add_extractor_arguments

CUDA_MODES = {
    "eager": {"use_graphs": False},
    "graphed": {"use_graphs": True},
    "graphed_fp16": {"use_graphs": True, "half": True},
    "graphed_fp16_concurrent": {"use_graphs": True, "half": True, "concurrent": True},
    "graphed_fp16_channels_last": {"use_graphs": True, "half": True, "channels_last": True},
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", default="640x480,1280x720", help="comma-separated WxH")
    parser.add_argument("--frames", type=int, default=300, help="frames per measurement")
    parser.add_argument("--modes", help="comma-separated CUDA modes (default: all)")
    parser.add_argument("--json", help="write all figures to this JSON file")
    add_extractor_arguments(parser)


def run(args: argparse.Namespace) -> int:
    base = ExtractorConfig(max_keypoints=args.max_keypoints, device=args.device)
    on_cuda = FeatureExtractor(base, random_weights=True).device.type == "cuda"
    modes = CUDA_MODES if on_cuda else {"cpu_worker": {}}
    if on_cuda and args.modes:
        modes = {name: CUDA_MODES[name] for name in args.modes.split(",")}
    result: dict = {"device": _device_name(on_cuda), "torch": torch.__version__, "sizes": {}}
    for size_text in args.sizes.split(","):
        width, height = (int(v) for v in size_text.split("x"))
        images = [img for _, img in sample_images((width, height), names=("astronaut", "coffee"))]
        result["sizes"][size_text] = {
            name: _measure(args, base, options, images, args.frames)
            for name, options in modes.items()
        }
        print(_table(size_text, result["sizes"][size_text]))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return 0


def _extractor(args: argparse.Namespace, base: ExtractorConfig, options: dict) -> FeatureExtractor:
    extractor = FeatureExtractor(
        base.with_options(half=options.get("half", False)),
        sobelnet_weights=args.sobelnet_weights,
        desnet_weights=args.desnet_weights,
        random_weights=args.random_weights,
    )
    if options.get("channels_last"):
        extractor.memory_format = torch.channels_last
        for net in (extractor.sobelnet, extractor.desnet):
            net.to(memory_format=torch.channels_last)
    return extractor


def _engine_options(options: dict) -> dict:
    return {k: v for k, v in options.items() if k in ("use_graphs", "concurrent")}


def _measure(args, base, options, images, frames) -> dict:
    extractor = _extractor(args, base, options)
    figures: dict = {}
    latency, stage_times = _latency(extractor, options, images, frames)
    figures["latency_p50_ms"] = float(np.percentile(latency, 50))
    figures["latency_p99_ms"] = float(np.percentile(latency, 99))
    figures["stage_ms"] = stage_times
    for in_flight in (1, 2, 3):
        figures[f"fps_in_flight_{in_flight}"] = _throughput(
            extractor, options, images, frames, in_flight
        )
    return figures


def _latency(extractor, options, images, frames) -> tuple[list[float], dict]:
    engine = create_engine(
        extractor, max_in_flight=1, drop_policy="block", **_engine_options(options)
    )
    for image in images * 3:  # warm-up: captures, cuDNN autotuning
        engine.submit(image)
        engine.wait()
    latency, stages = [], {}
    for i in range(frames):
        start = time.perf_counter()
        engine.submit(images[i % len(images)])
        result = engine.wait()
        latency.append((time.perf_counter() - start) * 1e3)
        for name, value in result.timings_ms.items():
            stages.setdefault(name, []).append(value)
    engine.close()
    return latency, {name: statistics.median(values) for name, values in stages.items()}


def _throughput(extractor, options, images, frames, in_flight) -> float:
    engine = create_engine(
        extractor, max_in_flight=in_flight, drop_policy="block", **_engine_options(options)
    )
    for image in images * 2:
        engine.submit(image)
    while engine.wait(timeout=5.0) is not None and engine.in_flight():
        pass
    engine.completed()
    start = time.perf_counter()
    for i in range(frames):
        engine.submit(images[i % len(images)])  # blocks while all slots are busy
        engine.completed()
    while engine.in_flight():
        engine.wait()
    elapsed = time.perf_counter() - start
    engine.close()
    return frames / elapsed


def _device_name(on_cuda: bool) -> str:
    return torch.cuda.get_device_name() if on_cuda else "cpu"


def _table(size: str, modes: dict) -> str:
    head = f"{'mode':<30}{'p50 ms':>8}{'p99 ms':>8}{'fps@1':>9}{'fps@2':>9}{'fps@3':>9}"
    lines = [f"\n{size}", head]
    for name, f in modes.items():
        lines.append(
            f"{name:<30}{f['latency_p50_ms']:>8.3f}{f['latency_p99_ms']:>8.3f}"
            f"{f['fps_in_flight_1']:>9.1f}{f['fps_in_flight_2']:>9.1f}{f['fps_in_flight_3']:>9.1f}"
        )
    for name, f in modes.items():
        stages = ", ".join(f"{k} {v:.3f}" for k, v in f["stage_ms"].items())
        lines.append(f"  {name} stage medians (ms): {stages}")
    return "\n".join(lines)


def print_report(path: str) -> None:
    """The tables of an ``engine-bench --json`` file."""
    data = json.loads(Path(path).read_text())
    print(
        f"\nengine-bench on {data['device']} (torch {data['torch']}); "
        "latency = submit -> result on the host"
    )
    for size, modes in data["sizes"].items():
        print(_table(size, modes))


if __name__ == "__main__":  # python -m sobelnet_ros.cli.engine_bench REPORT.json
    import sys

    print_report(sys.argv[1])
