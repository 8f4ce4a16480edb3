"""``sobelnet render-sequence``: a rendered sequence with exact poses, for ``track-eval``.

Writes ``--out/frames/*.png`` (named by time stamp), ``--out/poses.txt`` (TUM)
and ``--out/intrinsics.txt``, and prints the ``sobelnet track-eval`` command
that measures every tracker's share of steps within 1 px of the true
epipolar line on it (``evaluation/rendered_sequences.py`` describes the scenes).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from ..evaluation.rendered_sequences import (
    KINDS,
    free_frames_folder,
    render_sequence,
    write_sequence,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", choices=KINDS, default="handheld", help="the scene and motion")
    parser.add_argument("--frames", type=int, default=20, help="frames to render")
    parser.add_argument("--rate", type=float, default=10.0, help="frames per second")
    parser.add_argument("--seed", type=int, default=0, help="scene, motion and noise")
    parser.add_argument(
        "--exposure-ms",
        type=float,
        default=0.0,
        help="motion blur: each frame integrates this long around its pose (0: none)",
    )
    parser.add_argument(
        "--photos",
        metavar="FOLDER",
        help="photos for the textures (default: the bundled scikit-image photos)",
    )
    parser.add_argument(
        "--holdout",
        type=float,
        metavar="FRACTION",
        help="with --photos: only the photos `sobelnet train` holds out at this fraction",
    )
    parser.add_argument("--out", required=True, help="folder to write the sequence to")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bar")


def run(args: argparse.Namespace) -> int:
    free_frames_folder(args.out)  # before minutes of rendering, not after
    photos = _photos(args.photos, args.holdout)
    with tqdm(
        total=args.frames,
        desc=f"render {args.kind}",
        unit="frame",
        disable=args.no_progress or not sys.stderr.isatty(),
    ) as bar:
        sequence = render_sequence(
            args.kind,
            args.frames,
            args.rate,
            args.seed,
            photos,
            progress=bar.update,
            exposure_s=args.exposure_ms / 1e3,
        )
    paths = write_sequence(sequence, args.out)
    intrinsics = paths["intrinsics"].read_text().strip()
    print(f"wrote {len(sequence.frames)} frames to {paths['frames']}, {paths['poses']}")
    print(
        f"sobelnet track-eval --frames {paths['frames']} --poses {paths['poses']} "
        f"--intrinsics {intrinsics} --out {Path(args.out) / 'track_eval'}"
    )
    return 0


def _photos(folder: str | None, holdout: float | None):
    if folder is None:
        if holdout is not None:
            raise ValueError("--holdout needs --photos")
        return None
    from ..evaluation.datasets import read_image
    from ..training.images import photos_of_folder

    return [read_image(path) for _, path in photos_of_folder(folder, holdout)]
