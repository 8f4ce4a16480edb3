"""``sobelnet track-eval``: our tracker beside KLT (VINS-style) and ORB on ordered frames.

Writes ``tracks.json``, ``tracks.md`` and ``tracks.png`` to ``--out``. Frames
come from folders (images in name order; numeric names are time stamps, as in
TUM RGB-D) or from the image topic of a bag. With ``--poses`` (TUM or KITTI
file) and ``--intrinsics`` the share of track steps within 1 px of the true
epipolar line is measured too.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import os
import platform
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

from ..evaluation.poses import poses_for_frames, read_poses
from ..evaluation.track_eval import FrameSequence, evaluate_tracking, read_frame_folder
from ..evaluation.track_methods import TRACK_METHODS, build_track_methods
from ..evaluation.track_report import track_markdown, write_track_reports
from ..tracking import CameraModel, TrackerConfig
from .options import add_extractor_arguments, extractor_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--frames",
        action="append",
        default=[],
        metavar="FOLDER",
        help="folder of ordered frames (repeatable)",
    )
    parser.add_argument(
        "--bag", action="append", default=[], metavar="BAG", help="rosbag (repeatable)"
    )
    parser.add_argument("--topic", help="image topic of the bags (default: the first image topic)")
    parser.add_argument(
        "--poses",
        action="append",
        default=[],
        metavar="FILE",
        help="ground-truth poses (TUM or KITTI), one per source in the order given",
    )
    parser.add_argument("--intrinsics", metavar="FX,FY,CX,CY", help="pinhole intrinsics in px")
    parser.add_argument("--distortion", metavar="D0,D1,...", help="distortion coefficients")
    parser.add_argument("--distortion-model", default="plumb_bob")
    parser.add_argument("--methods", default=",".join(TRACK_METHODS), help="ours, klt, orb")
    parser.add_argument(
        "--tracker",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a TrackerConfig option of ours, e.g. refine_window_px=0 (repeatable)",
    )
    parser.add_argument("--max-frames", type=int, default=0, help="first N frames only (0: all)")
    parser.add_argument("--out", default="sobelnet_track_eval", help="folder for the reports")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch and OpenCV CPU threads (0: their default)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    add_extractor_arguments(parser)


def run(args: argparse.Namespace) -> int:
    if args.threads > 0:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    sources = [*args.frames, *args.bag]
    if not sources:
        raise ValueError("give --frames FOLDER or --bag BAG (either may repeat)")
    if args.poses and len(args.poses) != len(sources):
        raise ValueError(f"{len(args.poses)} --poses files for {len(sources)} sources")
    camera = _camera(args)
    if args.poses and camera is None:
        raise ValueError("--poses needs --intrinsics")
    names = [n.strip() for n in args.methods.split(",") if n.strip()]
    config = TrackerConfig().with_options(**_tracker_options(args.tracker))
    methods = build_track_methods(
        names, args.max_keypoints, lambda: extractor_from_args(args), config
    )
    max_frames = args.max_frames or None
    sequences = [read_frame_folder(f, max_frames) for f in args.frames]
    sequences += [_bag_sequence(b, args.topic, max_frames) for b in args.bag]
    results = []
    for index, sequence in enumerate(sequences):
        poses = None
        if args.poses:
            stamps, all_poses = read_poses(args.poses[index])
            poses = poses_for_frames(stamps, all_poses, sequence.stamps)
        results.append(
            evaluate_tracking(sequence, methods, poses, camera, progress=not args.no_progress)
        )
    result = {
        "sequences": results,
        "max_features": args.max_keypoints,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), OpenCV {cv2.__version__}",
        "tracker": dataclasses.asdict(config),
        "command": " ".join(sys.argv[1:]) or "track-eval",
    }
    paths = write_track_reports(result, Path(args.out))
    print(track_markdown(result, paths["plot"].name))
    print(f"wrote {paths['json']}, {paths['markdown']}, {paths['plot']}")
    return 0


def _tracker_options(pairs: list[str]) -> dict[str, object]:
    """``NAME=VALUE`` strings as options; values read as Python literals (3, 0.5, None, True)
    where they are one, else as text."""
    options: dict[str, object] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--tracker takes NAME=VALUE, got {pair!r}")
        try:
            options[name.strip()] = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            options[name.strip()] = text.strip()
    return options


def _camera(args: argparse.Namespace) -> CameraModel | None:
    if not args.intrinsics:
        return None
    try:
        fx, fy, cx, cy = (float(v) for v in args.intrinsics.split(","))
    except ValueError:
        raise ValueError(f"--intrinsics must be FX,FY,CX,CY, got {args.intrinsics!r}") from None
    D = [float(v) for v in args.distortion.split(",")] if args.distortion else []
    K = [[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]]
    return CameraModel.from_intrinsics(K, D, args.distortion_model)


def _bag_sequence(path: str, topic: str | None, max_frames: int | None) -> FrameSequence:
    """The image topic of a bag as gray frames (rosbags; no ROS install needed)."""
    from ..ros.bench.bag_reader import read_image_topic

    bag = read_image_topic(path, topic, max_frames)
    frames = [_gray(frame) for frame in bag.frames]
    stamps = [frame.stamp_ns / 1e9 for frame in bag.frames]
    return FrameSequence(f"{Path(path).name}:{bag.topic}", frames, stamps)


def _gray(frame) -> np.ndarray:
    channels = {"mono8": 1, "mono16": 1, "8UC1": 1, "rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4}
    if frame.encoding not in channels:
        raise ValueError(f"bag image encoding {frame.encoding!r} is not supported here")
    dtype = (
        np.dtype(">u2" if frame.is_bigendian else "<u2")
        if frame.encoding == "mono16"
        else np.dtype(np.uint8)
    )
    count = channels[frame.encoding]
    rows = np.frombuffer(frame.data, np.uint8).reshape(frame.height, frame.step)
    pixels = rows[:, : frame.width * count * dtype.itemsize].copy().view(dtype)
    pixels = pixels.reshape(frame.height, frame.width, count)
    if frame.encoding == "mono16":
        return (pixels[..., 0] >> 8).astype(np.uint8)
    if count == 1:
        return np.ascontiguousarray(pixels[..., 0])
    code = {
        "rgb8": cv2.COLOR_RGB2GRAY,
        "bgr8": cv2.COLOR_BGR2GRAY,
        "rgba8": cv2.COLOR_RGBA2GRAY,
        "bgra8": cv2.COLOR_BGRA2GRAY,
    }[frame.encoding]
    return cv2.cvtColor(pixels, code)
