"""``sobelnet eval``: the HPatches protocol on a dataset folder or synthetic sequences.

Writes ``results.json`` (every number), ``report.md`` (tables, with the share
of edge-like keypoints and the keypoints on blank frames per method) and
``mma.png`` (MMA vs threshold) to ``--out``. ``--keypoint-stats DIR`` asks
only the placement questions, of any folder of images, and writes
``keypoint_stats.json``, ``keypoint_stats.md`` and ``edge_like.png``. A stopped run writes
``*.partial.*`` files instead and resumes from its cache when run again with
the same arguments; a finished run removes the cache and stale partial files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from .. import __version__
from ..evaluation.datasets import D2NET_EXCLUDED, load_dataset, read_image
from ..evaluation.keypoint_report import keypoint_markdown, write_keypoint_reports
from ..evaluation.keypoint_stats import (
    BLANK_SIZE,
    blank_frame_counts,
    keypoint_statistics,
    read_image_folder,
)
from ..evaluation.methods import BASELINES, build_methods
from ..evaluation.report import markdown_report, write_reports
from ..evaluation.runner import PartialEvaluation, ProtocolConfig, evaluate
from ..evaluation.synthetic import synthetic_sequences, zoom_sequences
from ..inference.quantize import DESCRIPTOR_FORMATS
from .options import add_extractor_arguments, extractor_from_args

logger = logging.getLogger(__name__)
DEFAULT_METHODS = ("ours", *BASELINES)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--dataset", help="HPatches or Oxford sequence folder, or a folder of several"
    )
    source.add_argument(
        "--synthetic", type=int, metavar="N", help="N deterministic sequences from bundled photos"
    )
    source.add_argument(
        "--keypoint-stats",
        metavar="DIR",
        help="any folder of images: edge-like share and keypoints per image, blank frames",
    )
    parser.add_argument("--sequences", metavar="GLOB", help="only sequences matching, e.g. 'v_*'")
    parser.add_argument(
        "--d2net-subset",
        action="store_true",
        help="leave out the 8 HPatches sequences D2-Net excludes (its published figures use 108)",
    )
    parser.add_argument("--synthetic-seed", type=int, default=0)
    parser.add_argument(
        "--synthetic-size", help="WxH of synthetic views (default: 512x384, zoom 320x240)"
    )
    parser.add_argument(
        "--synthetic-photos",
        metavar="DIR",
        help="render the synthetic sequences from this folder's photos, not the bundled ones",
    )
    parser.add_argument(
        "--synthetic-holdout",
        type=float,
        metavar="F",
        help="with --synthetic-photos: only the photos `sobelnet train --holdout F` holds out",
    )
    parser.add_argument(
        "--synthetic-zoom",
        action="store_true",
        help="with --synthetic-photos: zoom sequences (1.6-2.2x out or in, up to 30 deg turn)",
    )
    parser.add_argument(
        "--methods",
        default=",".join(DEFAULT_METHODS),
        help="comma-separated: ours, orb, sift, akaze, or module:callable (default: all four)",
    )
    parser.add_argument(
        "--descriptor-format",
        choices=DESCRIPTOR_FORMATS,
        default="float32",
        help="descriptors of 'ours' as the extractor gives them (float32) or as the node's "
        "default 'features' carry them (int8, read back); default: float32",
    )
    parser.add_argument("--out", default="sobelnet_eval", help="folder for the reports")
    parser.add_argument("--no-resume", action="store_true", help="ignore a stopped run's cache")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    add_extractor_arguments(parser)


def run(args: argparse.Namespace) -> int:
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    names = [n.strip() for n in args.methods.split(",") if n.strip()]
    if args.keypoint_stats is not None:
        return _run_keypoint_stats(args, names)
    sequences, dataset = _sequences(args)
    methods = build_methods(
        names,
        args.max_keypoints,
        ours=lambda: extractor_from_args(args),
        descriptor_format=args.descriptor_format,
    )
    protocol = ProtocolConfig()
    out = Path(args.out)
    meta = {
        "dataset": dataset,
        "max_keypoints": args.max_keypoints,
        "machine": _machine(),
        "command": {k: v for k, v in vars(args).items() if k != "module_name"},
    }
    cache = out / ".cache" / _fingerprint(dataset, methods, protocol, args)
    if args.no_resume and cache.exists():
        shutil.rmtree(cache)
    start = time.perf_counter()
    try:
        result = evaluate(
            sequences, methods, protocol, progress=not args.no_progress, cache_dir=cache
        )
    except PartialEvaluation as stopped:
        stopped.result.update(meta, run_time_s=time.perf_counter() - start)
        paths = write_reports(stopped.result, out)
        logger.error("run stopped; partial result in %s (rerun to resume)", paths["json"])
        raise stopped.__cause__ or stopped  # noqa: B904 - keep the original error
    for method in methods:  # blank frames: not cached, a few extractions per method
        result["methods"][method.name]["blank_frames"] = blank_frame_counts(method)
    result.update(meta, run_time_s=time.perf_counter() - start, blank_frame_size=list(BLANK_SIZE))
    paths = write_reports(result, out)
    for stale in out.glob("*.partial.*"):
        stale.unlink()
    shutil.rmtree(cache, ignore_errors=True)
    if cache.parent.is_dir() and not any(cache.parent.iterdir()):
        cache.parent.rmdir()
    print(markdown_report(result, paths["plot"].name))
    print(f"wrote {paths['json']}, {paths['markdown']}, {paths['plot']}")
    return 0


def _run_keypoint_stats(args: argparse.Namespace, names: list[str]) -> int:
    images = read_image_folder(args.keypoint_stats)
    methods = build_methods(names, args.max_keypoints, ours=lambda: extractor_from_args(args))
    start = time.perf_counter()
    result = keypoint_statistics(images, methods, progress=not args.no_progress)
    folder = {"name": Path(args.keypoint_stats).resolve().name, "path": args.keypoint_stats}
    result.update(
        folder=folder,
        max_keypoints=args.max_keypoints,
        machine=_machine(),
        command={k: v for k, v in vars(args).items() if k != "module_name"},
        run_time_s=time.perf_counter() - start,
    )
    paths = write_keypoint_reports(result, args.out)
    print(keypoint_markdown(result, paths["plot"].name))
    print(f"wrote {paths['json']}, {paths['markdown']}, {paths['plot']}")
    return 0


def _sequences(args: argparse.Namespace) -> tuple[list, dict[str, Any]]:
    if args.dataset is not None:
        exclude = D2NET_EXCLUDED if args.d2net_subset else ()
        sequences = load_dataset(args.dataset, args.sequences, exclude)
        dataset = {"name": Path(args.dataset).resolve().name, "path": str(Path(args.dataset))}
    else:
        default_size = "320x240" if args.synthetic_zoom else "512x384"
        size = _parse_size(args.synthetic_size or default_size)
        photos = _synthetic_photos(args)
        if args.synthetic_zoom:
            if photos is None:
                raise ValueError("--synthetic-zoom needs --synthetic-photos")
            sequences = zoom_sequences(args.synthetic, photos, args.synthetic_seed, size)
        else:
            sequences = synthetic_sequences(args.synthetic, args.synthetic_seed, size, photos)
        if args.sequences:
            import fnmatch

            sequences = [s for s in sequences if fnmatch.fnmatch(s.name, args.sequences)]
            if not sequences:
                raise ValueError(f"no synthetic sequence matches {args.sequences!r}")
        dataset = {
            "name": f"synthetic-{args.synthetic}",
            "seed": args.synthetic_seed,
            "size": list(size),
        }
        if photos is not None:
            dataset.update(
                photos=args.synthetic_photos,
                holdout=args.synthetic_holdout,
                zoom=args.synthetic_zoom,
                photo_names=[name for name, _ in photos],
            )
    dataset["sequences"] = [s.name for s in sequences]
    dataset["categories"] = {s.name: s.category for s in sequences}
    return sequences, dataset


def _synthetic_photos(args: argparse.Namespace) -> list[tuple[str, np.ndarray]] | None:
    """RGB photos of ``--synthetic-photos`` (the held-out split with ``--synthetic-holdout``),
    named by their paths in the folder as ``sobelnet train`` names them."""
    if args.synthetic_photos is None:
        if args.synthetic_holdout is not None:
            raise ValueError("--synthetic-holdout needs --synthetic-photos")
        return None
    from ..training.images import photos_of_folder

    photos = photos_of_folder(args.synthetic_photos, args.synthetic_holdout)
    return [(path.stem, read_image(path)) for _, path in photos]


def _parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--synthetic-size must be WxH, e.g. 512x384, got {text!r}") from None
    return width, height


def _fingerprint(dataset: dict, methods: list, protocol: ProtocolConfig, args) -> str:
    """A key that changes whenever a cached per-sequence result could differ."""
    paths = sorted(Path(args.dataset).rglob("*")) if args.dataset is not None else []
    for method in methods:  # weight files of ours: a retrained file must not reuse the cache
        weights = getattr(method, "describe", dict)().get("weights", {})
        paths += [Path(p) for p in weights.values()]
    files = []
    for path in paths:
        if path.is_file():
            stat = path.stat()
            files.append([str(path), stat.st_size, stat.st_mtime_ns])
    description = {
        "version": __version__,
        "dataset": dataset,
        "files": files,
        "protocol": str(protocol),
        "methods": [[m.name, m.metric, getattr(m, "describe", dict)()] for m in methods],
    }
    text = json.dumps(description, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "opencv": cv2.__version__,
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m sobelnet_ros.cli.eval``: the same as ``sobelnet eval``."""
    from .main import main as sobelnet_main

    return sobelnet_main(["eval", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    sys.exit(main())
