"""``sobelnet make-demo-bag``: write the deterministic demo bag from bundled photos."""

from __future__ import annotations

import argparse

from ..data.demo_sequence import DemoSequenceConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..ros.bench.bag_writer import FORMATS, STORAGES
    from ..ros.bench.demo_bag import DEFAULT_DEMO_BAG

    d = DemoSequenceConfig()
    parser.add_argument("--out", default=str(DEFAULT_DEMO_BAG),
                        help="bag to create (a folder; a .bag file for ros1)")  # fmt: skip
    parser.add_argument("--storage", choices=STORAGES, default="mcap")
    parser.add_argument("--format", choices=FORMATS, default="jpeg",
                        help="jpeg/png: CompressedImage; rgb8/bgr8/mono8: Image")  # fmt: skip
    parser.add_argument("--duration", type=float, default=d.duration_s, help="seconds")
    parser.add_argument("--rate", type=float, default=d.rate_hz, help="frames per second")
    parser.add_argument("--size", default=f"{d.width}x{d.height}", help="WIDTHxHEIGHT")
    parser.add_argument("--force", action="store_true", help="replace an existing bag")


def run(args: argparse.Namespace) -> int:
    import shutil
    from pathlib import Path

    from ..ros.bench.demo_bag import write_demo_bag

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size must look like 640x480, got {args.size!r}") from None
    config = DemoSequenceConfig(
        width=width, height=height, rate_hz=args.rate, duration_s=args.duration
    )
    out = Path(args.out)
    if out.exists():
        if not args.force:
            raise ValueError(f"{out} exists already; pass --force to replace it")
        shutil.rmtree(out) if out.is_dir() else out.unlink()
    path = write_demo_bag(out, config, storage=args.storage, image_format=args.format)
    size_mb = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() \
        else path.stat().st_size  # fmt: skip
    print(f"wrote {config.frame_count} frames {width}x{height} at {args.rate:g} Hz "
          f"({args.format}, {args.storage}) to {path} ({size_mb / 2**20:.1f} MB)")  # fmt: skip
    return 0
