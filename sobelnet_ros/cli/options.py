"""Command-line options shared by subcommands that build a FeatureExtractor."""

from __future__ import annotations

import argparse

from ..inference import ExtractorConfig, FeatureExtractor
from ..inference.types import HALF_DTYPES


def add_extractor_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = ExtractorConfig()
    group = parser.add_argument_group("extractor")
    group.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default: cpu)")
    group.add_argument("--half", action="store_true", help="half-precision networks on CUDA")
    group.add_argument(
        "--half-dtype", choices=HALF_DTYPES, default=defaults.half_dtype, help="with --half"
    )
    group.add_argument("--channels-last", action="store_true", help="NHWC convolutions on CUDA")
    group.add_argument(
        "--cpu-bf16",
        choices=("auto", "on", "off"),
        default="auto",
        help="bf16 networks on the CPU (auto: where the CPU computes bf16 natively)",
    )
    group.add_argument(
        "--cpu-chains",
        choices=("on", "off"),
        default="on" if defaults.cpu_chains else "off",
        help="on the CPU with 2+ threads, detect and describe a frame side by side, "
        "each on half the threads (default: %(default)s)",
    )
    group.add_argument("--max-keypoints", type=int, default=defaults.max_keypoints)
    group.add_argument("--score-ratio", type=float, default=defaults.score_ratio)
    group.add_argument("--nms-window", type=int, default=defaults.nms_window)
    group.add_argument("--border", type=int, default=defaults.border)
    group.add_argument(
        "--pyramid-levels",
        type=int,
        default=defaults.pyramid_levels,
        help="1: the image only; 2-4: also its octaves (default: %(default)s)",
    )
    group.add_argument(
        "--coarse-share",
        type=float,
        default=defaults.coarse_share,
        help="share of --max-keypoints taken from the octaves (default: %(default)s)",
    )
    group.add_argument(
        "--level-mix",
        type=float,
        default=defaults.level_mix,
        help="weight of the neighbouring pyramid levels' descriptors added to a keypoint's "
        "own; 0: its own level only (default: %(default)s)",
    )
    group.add_argument(
        "--min-gradient",
        type=float,
        default=defaults.min_gradient,
        help="RMS gradient (grey levels/px) a keypoint's window needs; 0: off "
        "(default: %(default)s)",
    )
    group.add_argument(
        "--min-corner-ratio",
        type=float,
        default=defaults.min_corner_ratio,
        help="l2/l1 of the structure tensor a keypoint needs (edges are near 0); 0: off "
        "(default: %(default)s)",
    )
    group.add_argument(
        "--full-corner-ratio",
        type=float,
        default=defaults.full_corner_ratio,
        help="l2/l1 from which a keypoint keeps its whole score; below, the score is scaled "
        "by sqrt(l2/l1 / this); 0: off (default: %(default)s)",
    )
    group.add_argument("--sobelnet-weights", help=".safetensors file (default: shipped weights)")
    group.add_argument("--desnet-weights", help=".safetensors file (default: shipped weights)")
    group.add_argument(
        "--random-weights", action="store_true", help="random networks (timing, tests)"
    )


def extractor_from_args(args: argparse.Namespace) -> FeatureExtractor:
    config = ExtractorConfig(
        max_keypoints=args.max_keypoints,
        score_ratio=args.score_ratio,
        nms_window=args.nms_window,
        border=args.border,
        pyramid_levels=args.pyramid_levels,
        coarse_share=args.coarse_share,
        level_mix=args.level_mix,
        min_gradient=args.min_gradient,
        min_corner_ratio=args.min_corner_ratio,
        full_corner_ratio=args.full_corner_ratio,
        device=args.device,
        half=args.half,
        half_dtype=args.half_dtype,
        channels_last=args.channels_last,
        cpu_bf16={"auto": None, "on": True, "off": False}[args.cpu_bf16],
        cpu_chains=args.cpu_chains == "on",
    )
    return FeatureExtractor(
        config,
        sobelnet_weights=args.sobelnet_weights,
        desnet_weights=args.desnet_weights,
        random_weights=args.random_weights,
    )
