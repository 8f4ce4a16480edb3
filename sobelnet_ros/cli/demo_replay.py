"""The README's run command on the demo bag: make it if missing, replay it, report.

``sobelnet demo`` (``--source bag``, the default) generates the deterministic
demo bag when it is missing, starts the detector, replays the bag through it
and through the relay baseline, searches the sustained peak rate, saves one
annotated frame from the node's ``debug_image``, and prints the summary and
where the report and the frame are.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("demo bag (--source bag)")
    group.add_argument("--bag", help="bag to replay (default: the demo bag, made if missing)")
    group.add_argument("--no-peak", action="store_true", help="skip the peak-rate search")
    group.add_argument("--peak-trial-s", type=float, default=4.0, help="seconds per peak trial")


def run(args: argparse.Namespace) -> int:
    from ..ros.bench.demo_bag import DEFAULT_DEMO_BAG, ensure_demo_bag
    from . import bag_bench

    out = Path(args.out)
    if args.bag:
        bag = Path(args.bag)
    else:
        bag, made = ensure_demo_bag(out / DEFAULT_DEMO_BAG.name)
        print(f"demo bag: {bag}" + (" (generated now)" if made else ""))
    bench_args = bag_bench.build_defaults(str(bag))
    bench_args.no_peak = args.no_peak
    bench_args.peak_trial_s = args.peak_trial_s
    bench_args.out = str(out / "demo_bag_bench")
    bench_args.param = [f"device:={args.device}", f"max_keypoints:={args.max_keypoints}"]
    options = bag_bench.options_from_args(bench_args)
    options.annotated_frame = str(out / "demo_keypoints.png")
    result, _ = bag_bench.run_and_report(options)
    frame = result["targets"].get("detector", {}).get("annotated_frame")
    print(f"annotated frame: {frame or 'none (no debug_image arrived)'}")
    return bag_bench.exit_code(result)
