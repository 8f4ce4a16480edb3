"""``sobelnet train detector|descriptor``: train SobelNet or DesNet on homography pairs."""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import asdict
from pathlib import Path

import torch

from ..models import DesNetConfig, SobelNetConfig
from ..training.detector import DetectorConfig
from ..training.photometric import PhotometricRanges

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", choices=("detector", "descriptor"), help="which network to train")
    parser.add_argument(
        "--images",
        type=Path,
        help="folder of training images (recursive); "
        "default: scikit-image's bundled photos plus synthetic shapes",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="run folder: checkpoint, logs, curves, final weights; a run already there is resumed",
    )
    parser.add_argument("--steps", type=int, default=2000, help="total steps of the run")
    parser.add_argument("--batch-size", type=int, default=8, help="pairs per step")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--size", type=int, default=192, help="side of each view, px")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch default)")
    parser.add_argument(
        "--loader-workers",
        type=int,
        default=0,
        help="processes making the next batches meanwhile (0: none); the batches are the same",
    )
    parser.add_argument("--val-every", type=int, default=250)
    parser.add_argument("--val-pairs", type=int, default=48)
    parser.add_argument("--checkpoint-every", type=int, default=250)
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=0.0,
        help="stop with a checkpoint after this long (a stage); 0: no limit",
    )
    parser.add_argument(
        "--stop-at",
        type=int,
        default=0,
        help="stop with a checkpoint at this step (a stage); 0: run to --steps",
    )
    parser.add_argument(
        "--holdout",
        type=float,
        default=0.05,
        help="share of images held out for validation (by name hash)",
    )
    parser.add_argument(
        "--synthetic-fraction",
        type=float,
        help="share of pairs made from synthetic shapes (default 0.1 with --images, "
        "0.5 without, as the fallback has only a few photos)",
    )
    parser.add_argument("--max-rotation", type=float, default=60.0, help="degrees, +-")
    parser.add_argument("--max-scale", type=float, default=2.0, help="zoom in [1/s, s]")
    parser.add_argument(
        "--max-exposure",
        type=float,
        default=PhotometricRanges().exposure,
        help="views brightened or darkened by up to this factor, clipped (1: never)",
    )
    parser.add_argument(
        "--max-shade",
        type=float,
        default=PhotometricRanges().shade,
        help="uneven light: one part of a view up to e^this x brighter than another (0: never)",
    )
    parser.add_argument(
        "--target",
        choices=("corners", "peaks"),
        default="corners",
        help="detector: Gaussian-loss target variant",
    )
    parser.add_argument(
        "--sigma",
        type=float,
        default=DetectorConfig().sigma,
        help="detector: width of the target Gaussians, px (smaller: sharper peaks)",
    )
    parser.add_argument(
        "--raw-gradients",
        action="store_true",
        help="detector: feed SobelNet unnormalised edge maps, as the paper does",
    )
    parser.add_argument(
        "--detector", type=Path, help="descriptor: frozen SobelNet weights giving the candidates"
    )
    parser.add_argument("--candidates", type=int, default=512)
    parser.add_argument(
        "--init", type=Path, help="start a new run from these weights of the same network"
    )
    parser.add_argument(
        "--negative-px",
        type=float,
        default=4.0,
        help="descriptor: candidates farther than this from the positive are negatives",
    )
    parser.add_argument(
        "--min-gradient",
        type=float,
        default=0.0,
        help="the extractor's corner test, gradient floor (grey levels per px; 0: off): "
        "descriptor: on the candidates; detector (peaks target): on the targets",
    )
    parser.add_argument(
        "--min-corner-ratio",
        type=float,
        default=0.0,
        help="the extractor's corner test, least l2/l1 (0: off), applied as --min-gradient",
    )
    parser.add_argument("--gamma", type=float, default=512.0, help="circle-loss scale")
    parser.add_argument("--margin", type=float, default=0.1, help="circle-loss margin")
    parser.add_argument(
        "--desnet-widths",
        default="16,32,64",
        help="descriptor: channels of DesNet's stride-2 stages",
    )
    parser.add_argument(
        "--desnet-extra", default="0,1,0", help="descriptor: extra same-size convs per stage"
    )
    parser.add_argument(
        "--fine-detail",
        action=argparse.BooleanOptionalAction,
        default=DesNetConfig().fine_detail,
        help="descriptor: add DesNet's stride-4 features at each keypoint (grows a net "
        "given by --init that lacks them)",
    )


def _ints(text: str, name: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError as error:
        raise ValueError(f"{name} must be comma-separated integers, got {text!r}") from error


def _synthetic_fraction(args: argparse.Namespace) -> float:
    if args.synthetic_fraction is not None:
        return args.synthetic_fraction
    return 0.1 if args.images is not None else 0.5


def _sources(args: argparse.Namespace):
    from ..training.images import load_folder, skimage_photos, split_holdout

    if args.images is not None:
        images, names = load_folder(args.images)
    else:
        images, names = skimage_photos()
        logger.info(
            "no --images: training on %d scikit-image photos + synthetic shapes", len(images)
        )
    train, held = split_holdout(names, args.holdout)
    if not held:  # tiny folders: hold out synthetic shapes only
        logger.warning("no image held out (folder too small); validating on synthetic shapes")
    return [images[i] for i in train], [images[i] for i in held], len(images)


def run(args: argparse.Namespace) -> int:
    from ..inference.device import resolve_device
    from ..training.descriptor import DescriptorConfig, DescriptorTask, frozen_detector
    from ..training.detector import DetectorTask
    from ..training.homography import HomographyRanges
    from ..training.pairs import PairConfig, PairSampler
    from ..training.trainer import LoopConfig, run_training

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    train_images, val_images, count = _sources(args)
    pair_config = PairConfig(
        size=args.size,
        synthetic_fraction=_synthetic_fraction(args),
        homography=HomographyRanges(max_rotation_deg=args.max_rotation, max_scale=args.max_scale),
        photometric=PhotometricRanges(exposure=args.max_exposure, shade=args.max_shade),
    )
    val_config = PairConfig(
        **{**pair_config.__dict__, "synthetic_fraction": 0.0 if val_images else 1.0}
    )
    train_sampler = PairSampler(train_images, pair_config, args.seed)
    val_sampler = PairSampler(val_images, val_config, args.seed + 1)
    if args.task == "detector":
        task = DetectorTask(
            DetectorConfig(
                target=args.target,
                sigma=args.sigma,
                min_gradient=args.min_gradient,
                min_corner_ratio=args.min_corner_ratio,
            ),
            SobelNetConfig(normalize_gradients=not args.raw_gradients),
        )
    else:
        if args.detector is None:
            raise ValueError("sobelnet train descriptor needs --detector SOBELNET.safetensors")
        widths, extra = (
            _ints(args.desnet_widths, "--desnet-widths"),
            _ints(args.desnet_extra, "--desnet-extra"),
        )
        task = DescriptorTask(
            DescriptorConfig(
                candidates=args.candidates,
                negative_px=args.negative_px,
                gamma=args.gamma,
                margin=args.margin,
                min_gradient=args.min_gradient,
                min_corner_ratio=args.min_corner_ratio,
            ),
            frozen_detector(args.detector, device),
            DesNetConfig(widths=widths, extra_convs=extra, fine_detail=args.fine_detail),
        )
    loop = LoopConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        val_every=args.val_every,
        val_pairs=args.val_pairs,
        checkpoint_every=args.checkpoint_every,
        seed=args.seed,
        max_minutes=args.max_minutes,
        stop_at=args.stop_at,
        loader_workers=args.loader_workers,
    )
    settings = {
        "task": args.task,
        "images": str(args.images) if args.images else "scikit-image photos",
        "image_count": count,
        "train_images": len(train_images),
        "val_images": len(val_images),
        "pairs": {
            k: (asdict(v) if hasattr(v, "__dataclass_fields__") else v)
            for k, v in pair_config.__dict__.items()
        },
        "task_config": asdict(task.config),
        "detector": str(args.detector) if args.detector else None,
        "init": str(args.init) if args.init else None,
        "device": str(device),
    }
    result = run_training(
        task, train_sampler, val_sampler, loop, args.out, device, settings, args.init
    )
    if int(os.environ.get("RANK", "0")) == 0:  # one report under torchrun
        print(f"{args.task}: step {result['step']}, validation {result['validation']}")
        print(f"weights: {args.out / (task.name + '.safetensors')}")
    return 0
