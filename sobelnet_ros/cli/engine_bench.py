"""``sobelnet engine-bench``: every engine variant side by side, per input size.

For each size and variant: single-frame latency (submit -> result on the
host, one frame in flight) p50/p99; throughput with 1, 2 and 3 frames in
flight; median time per stage (GPU time from CUDA events on CUDA, the step's
host time on the CPU); kernels (and ATen calls) per frame from torch.profiler;
and agreement with the float32 eager extractor on the first image (share of
keypoints within 0.5 px, worst descriptor cosine among them), so a faster
variant can be judged at equal output.

On CUDA the variants are eager, graphed, graphed with fp16 or bf16 networks,
channels_last, concurrent streams and a ``torch.compile``d step (compiled
variants last: compiling takes longest). On the CPU: the worker-thread engine
and the slot pipeline on host threads; the CUDA variants are listed as
skipped. A variant that fails is recorded with its error and the others go
on; ``--budget-s`` skips what would start after the budget. The JSON file is
rewritten after every variant, so an interrupted run keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data import sample_images
from ..inference import ExtractorConfig, FeatureExtractor, Features
from ..inference.engine import CpuEngine, create_engine
from ..inference.host_slots import HostSlots
from ..inference.profiling import kernels_per_frame
from ..inference.slot_pipeline import SlotPipeline
from .options import add_extractor_arguments

# name -> (extractor options, engine options); the order is the order of measurement.
CUDA_VARIANTS: dict[str, tuple[dict, dict]] = {
    "eager": ({}, {"use_graphs": False}),
    "graphed": ({}, {"use_graphs": True}),
    "graphed_fp16": ({"half": True}, {"use_graphs": True}),
    "graphed_bf16": ({"half": True, "half_dtype": "bfloat16"}, {"use_graphs": True}),
    "graphed_fp16_channels_last": ({"half": True, "channels_last": True}, {"use_graphs": True}),
    "graphed_fp16_concurrent": ({"half": True}, {"use_graphs": True, "concurrent": True}),
    "compiled_graphed_fp16": ({"half": True}, {"use_graphs": True, "compiled": True}),
    "compiled_graphed": ({}, {"use_graphs": True, "compiled": True}),
}
CPU_VARIANTS: dict[str, tuple[dict, dict]] = {
    "cpu_worker": ({}, {"engine": "cpu"}),
    "host_slots": ({}, {"engine": "host"}),
}
IN_FLIGHT = (1, 2, 3)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", default="640x480,1280x720", help="comma-separated WxH")
    parser.add_argument("--frames", type=int, default=300, help="frames per measurement")
    parser.add_argument("--stage-frames", type=int, default=50, help="frames timed per stage")
    parser.add_argument("--kernel-frames", type=int, default=3, help="frames profiled")
    parser.add_argument("--modes", help="comma-separated variants (default: all of the device)")
    parser.add_argument(
        "--budget-s", type=float, default=0.0, help="start no variant after this (0: no limit)"
    )
    parser.add_argument("--json", help="write all figures to this JSON file")
    add_extractor_arguments(parser)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    base = ExtractorConfig(max_keypoints=args.max_keypoints, device=args.device)
    reference = _extractor(args, base.with_options(cpu_bf16=False), {})
    on_cuda = reference.device.type == "cuda"
    variants = _variants(on_cuda, args.modes)
    sizes = args.sizes.split(",")
    result: dict = {
        "device": torch.cuda.get_device_name(reference.device) if on_cuda else "cpu",
        "torch": torch.__version__,
        "max_keypoints": args.max_keypoints,
        "frames": args.frames,
        "sizes": {size: {} for size in sizes},
    }
    images = {size: _images(size) for size in sizes}
    _allow_recompiles()
    for name, size in _jobs(variants, sizes):
        extractor_options, engine_options = variants[name]
        figures = result["sizes"][size]
        if args.budget_s and time.monotonic() - started > args.budget_s:
            figures[name] = {"skipped": f"over the {args.budget_s:.0f} s budget"}
            continue
        print(f"measuring {name} at {size}", file=sys.stderr, flush=True)
        figures[name] = _measure_safely(
            args, base, extractor_options, engine_options, images[size], reference
        )
        _write(args.json, result)
    for name in _cuda_only(on_cuda, args.modes):
        for figures in result["sizes"].values():
            figures[name] = {"skipped": "needs CUDA"}
    _write(args.json, result)
    print(format_report(result))
    return 0


def _variants(on_cuda: bool, modes: str | None) -> dict[str, tuple[dict, dict]]:
    variants = CUDA_VARIANTS if on_cuda else CPU_VARIANTS
    if not modes:
        return variants
    names = modes.split(",")
    unknown = sorted(set(names) - set(CUDA_VARIANTS) - set(CPU_VARIANTS))
    if unknown:
        raise ValueError(f"unknown --modes {unknown}; known: {[*CUDA_VARIANTS, *CPU_VARIANTS]}")
    return {name: variants[name] for name in names if name in variants}


def _cuda_only(on_cuda: bool, modes: str | None) -> list[str]:
    if on_cuda:
        return []
    return [name for name in CUDA_VARIANTS if not modes or name in modes.split(",")]


def _allow_recompiles() -> None:
    """Each compiled variant and size compiles the step anew (a new extractor): past
    Dynamo's recompile limit (8) it would run eager unnoticed and mislabel the figures."""
    import torch._dynamo

    config = torch._dynamo.config
    name = "recompile_limit" if hasattr(config, "recompile_limit") else "cache_size_limit"
    setattr(config, name, max(getattr(config, name), 64))


def _jobs(variants: dict, sizes: list[str]) -> list[tuple[str, str]]:
    """(variant, size) in order of measurement: each plain variant at every size, then
    the compiled ones size by size (compiling takes longest; a budget cuts them first)."""
    plain = [name for name, (_, engine) in variants.items() if not engine.get("compiled")]
    compiled = [name for name in variants if name not in plain]
    return [(n, s) for n in plain for s in sizes] + [(n, s) for s in sizes for n in compiled]


def _images(size: str) -> list[np.ndarray]:
    width, height = (int(v) for v in size.split("x"))
    return [img for _, img in sample_images((width, height), names=("astronaut", "coffee"))]


def _extractor(args: argparse.Namespace, base: ExtractorConfig, options: dict) -> FeatureExtractor:
    return FeatureExtractor(
        base.with_options(**options),
        sobelnet_weights=args.sobelnet_weights,
        desnet_weights=args.desnet_weights,
        random_weights=args.random_weights,
    )


def _measure_safely(args, base, extractor_options, engine_options, images, reference) -> dict:
    try:
        extractor = _extractor(args, base, extractor_options)
        return _measure(args, extractor, engine_options, images, reference)
    except Exception as error:  # one variant failing must not cost the others' figures
        print(f"  failed: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        return {"error": f"{type(error).__name__}: {error}"}


def _factory(extractor: FeatureExtractor, engine_options: dict) -> Callable[..., Any]:
    """``make(in_flight, stage_times=False)`` -> a blocking engine of this variant."""
    kind = engine_options.get("engine")

    def make(in_flight: int, stage_times: bool = False):
        if kind == "cpu":
            return CpuEngine(extractor, max_in_flight=in_flight, drop_policy="block")
        if kind == "host":
            return SlotPipeline(HostSlots(extractor, in_flight), drop_policy="block")
        return create_engine(
            extractor, in_flight, "block", stage_times=stage_times, **engine_options
        )

    return make


def _measure(args, extractor, engine_options, images, reference) -> dict:
    make = _factory(extractor, engine_options)
    started = time.monotonic()
    latency = _latency(make(1), images, args.frames)
    figures: dict[str, Any] = {
        "latency_p50_ms": float(np.percentile(latency, 50)),
        "latency_p99_ms": float(np.percentile(latency, 99)),
        "stage_ms": _stage_times(make(1, stage_times=True), images, args.stage_frames),
    }
    for in_flight in IN_FLIGHT:
        figures[f"fps_in_flight_{in_flight}"] = _throughput(
            make(in_flight), images, args.frames, in_flight
        )
    engine = make(1)
    figures["per_frame"] = _optional(
        lambda: kernels_per_frame(engine, images[0], args.kernel_frames)
    )
    figures["agreement"] = _optional(lambda: _agreement(engine, images[0], reference))
    engine.close()
    figures["wall_s"] = time.monotonic() - started
    return figures


def _optional(measure: Callable[[], dict]) -> dict:
    """A figure that may fail (the profiler, say) without losing the variant's others."""
    try:
        return measure()
    except Exception as error:
        print(f"  failed: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        return {"error": f"{type(error).__name__}: {error}"}


def _warm(engine, images, count: int) -> None:
    for image in images * count:  # captures, cuDNN autotuning, compilation
        engine.submit(image)
    while engine.wait() is not None:
        pass


def _latency(engine, images, frames) -> list[float]:
    _warm(engine, images, 2)
    latency = []
    for i in range(frames):
        start = time.perf_counter()
        engine.submit(images[i % len(images)])
        result = engine.wait()
        latency.append((time.perf_counter() - start) * 1e3)
        if not result.ok:
            raise result.error
    engine.close()
    return latency


def _stage_times(engine, images, frames) -> dict[str, float]:
    _warm(engine, images, 1)
    stages: dict[str, list[float]] = {}
    for i in range(frames):
        engine.submit(images[i % len(images)])
        for name, value in engine.wait().timings_ms.items():
            if name != "latency":
                stages.setdefault(name, []).append(value)
    engine.close()
    return {name: statistics.median(values) for name, values in stages.items()}


def _throughput(engine, images, frames, in_flight) -> float:
    _warm(engine, images, in_flight)
    start = time.perf_counter()
    for i in range(frames):
        engine.submit(images[i % len(images)])  # blocks while every slot is busy
        engine.completed()
    while engine.wait() is not None:
        pass
    elapsed = time.perf_counter() - start
    engine.close()
    return frames / elapsed


def _agreement(engine, image: np.ndarray, reference: FeatureExtractor) -> dict[str, float]:
    engine.submit(image)
    got = engine.wait().features
    expected = reference.extract(image)
    return match_figures(got, expected)


def match_figures(got: Features, expected: Features) -> dict[str, float]:
    """Share of ``expected`` keypoints within 0.5 px of one in ``got``; worst cosine there."""
    if len(got) == 0 or len(expected) == 0:
        return {"keypoints_within_0.5px": 0.0, "min_descriptor_cosine": 0.0}
    distance = np.linalg.norm(expected.keypoints[:, None] - got.keypoints[None], axis=-1)
    nearest = distance.argmin(axis=1)
    close = distance.min(axis=1) < 0.5
    cosine = (expected.descriptors[close] * got.descriptors[nearest[close]]).sum(axis=1)
    return {
        "keypoints_within_0.5px": float(close.mean()),
        "min_descriptor_cosine": float(cosine.min()) if close.any() else 0.0,
    }


def _write(path: str | None, result: dict) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(result, indent=2))


def format_report(data: dict) -> str:
    """The tables of an engine-bench result: one per size, then stage times."""
    lines = [
        f"\nengine-bench on {data['device']} (torch {data['torch']}), "
        f"{data.get('max_keypoints', '?')} keypoints; latency = submit -> result on the host"
    ]
    head = (
        f"{'variant':<28}{'p50 ms':>8}{'p99 ms':>8}{'fps@1':>9}{'fps@2':>9}{'fps@3':>9}"
        f"{'kernels':>9}{'aten':>7}{'kp<.5px':>8}{'cos':>6}{'wall s':>8}"
    )
    for size, variants in data["sizes"].items():
        lines += [f"\n{size}", head]
        for name, f in variants.items():
            if "latency_p50_ms" not in f:
                lines.append(f"{name:<28}{f.get('skipped') or 'FAILED: ' + f.get('error', '')}")
                continue
            per, agree = f["per_frame"], f["agreement"]
            lines.append(
                f"{name:<28}{f['latency_p50_ms']:>8.3f}{f['latency_p99_ms']:>8.3f}"
                f"{f['fps_in_flight_1']:>9.1f}{f['fps_in_flight_2']:>9.1f}"
                f"{f['fps_in_flight_3']:>9.1f}{_cell(per, 'kernels', 9, 0)}"
                f"{_cell(per, 'aten_calls', 7, 0)}{_cell(agree, 'keypoints_within_0.5px', 8, 3)}"
                f"{_cell(agree, 'min_descriptor_cosine', 6, 3)}{f['wall_s']:>8.1f}"
            )
        for name, f in variants.items():
            if f.get("stage_ms"):
                stages = ", ".join(f"{k} {v:.3f}" for k, v in f["stage_ms"].items())
                lines.append(f"  {name} stage medians (ms): {stages}")
    return "\n".join(lines)


def _cell(figures: dict, key: str, width: int, digits: int) -> str:
    value = figures.get(key)
    return f"{value:>{width}.{digits}f}" if value is not None else f"{'err':>{width}}"


if __name__ == "__main__":  # python -m sobelnet_ros.cli.engine_bench REPORT.json
    print(format_report(json.loads(Path(sys.argv[1]).read_text())))
