"""``sobelnet bag-bench BAG``: replay a bag's images through the detector over DDS and measure.

The same player and monitor also run a plain relay first (the transport
baseline), so the detector's own cost is the difference. Writes JSON, a
markdown summary and a PNG; exits 3 when figures are partial (a timeout, a
node that died), 130 when interrupted (the figures so far are still written).
"""

from __future__ import annotations

import argparse
import datetime
import shutil
from pathlib import Path

SOAK_DURATION_S = 600.0
SOAK_RATE_HZ = 30.0


def _rate(text: str) -> float | None:
    if text == "recorded":
        return None
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"rate must be > 0 Hz or 'recorded', got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..ros.bench.phases import PhaseSettings

    d = PhaseSettings()
    parser.add_argument("bag", help="rosbag2 folder (sqlite3 or mcap) or ROS 1 .bag file")
    parser.add_argument("--topic", help="image topic (default: the first Image/CompressedImage)")
    parser.add_argument("--max-frames", type=int, help="preload at most this many frames")
    play = parser.add_argument_group("playback")
    play.add_argument("--rate", type=_rate, default=None,
                      help="'recorded' (default) or a fixed rate in Hz")  # fmt: skip
    play.add_argument("--duration", type=float, help="loop the bag to this many seconds")
    play.add_argument("--repeats", type=int, default=1, help="fixed-rate runs (median reported)")
    play.add_argument("--no-relay", action="store_true", help="skip the relay baseline")
    play.add_argument("--no-peak", action="store_true", help="skip the peak-rate search")
    play.add_argument("--soak", action="store_true",
                      help=f"soak test: {SOAK_DURATION_S:.0f} s at {SOAK_RATE_HZ:.0f} Hz "
                           "(unless --duration/--rate say otherwise), RSS over time, "
                           "no relay or peak search")  # fmt: skip
    play.add_argument("--reliability", choices=("best_effort", "reliable"),
                      default=d.publisher_reliability, help="player QoS")  # fmt: skip
    play.add_argument("--dds-profile", choices=("large-images", "stock"), default="large-images",
                      help="large-images: Fast DDS shared memory that fits big frames in one "
                           "piece for the player and relay (see ros/bench/dds_profile.py); "
                           "stock: leave Fast DDS as the environment configures it")  # fmt: skip
    peak = parser.add_argument_group("peak search")
    peak.add_argument("--peak-trial-s", type=float, default=d.peak_trial_s)
    peak.add_argument("--peak-max-hz", type=float, default=d.peak_max_hz)
    peak.add_argument("--peak-steps", type=int, default=d.peak_steps, help="bisection steps")
    peak.add_argument("--drop-threshold", type=float, default=d.drop_threshold_percent,
                      help="a rate passes with fewer drops than this, %%")  # fmt: skip
    node = parser.add_argument_group("node under test")
    node.add_argument("--attach", action="store_true",
                      help="use a detector already running (e.g. your ros2 launch)")  # fmt: skip
    node.add_argument("--input-topic", help="--attach: the detector's image topic")
    node.add_argument("--output-topic", help="--attach: the detector's features topic")
    node.add_argument("--node-pid", type=int, help="--attach: sample CPU/RSS of this process")
    node.add_argument("--node-command", help="detector executable (default: this Python)")
    node.add_argument("--params-file", help="detector parameters YAML")
    node.add_argument("--param", action="append", default=[], metavar="NAME:=VALUE",
                      help="detector parameter, repeatable (e.g. device:=cpu)")  # fmt: skip
    node.add_argument("--gpu", choices=("auto", "yes", "no"), default="auto",
                      help="GPU memory from nvidia-smi (auto: where it exists)")  # fmt: skip
    timing = parser.add_argument_group("timeouts")
    timing.add_argument("--warmup-s", type=float, default=d.warmup_s)
    timing.add_argument("--startup-timeout", type=float, default=d.startup_timeout_s)
    timing.add_argument("--answer-timeout", type=float, default=d.answer_timeout_s)
    timing.add_argument("--drain-s", type=float, default=d.drain_s)
    timing.add_argument("--sample-interval", type=float, default=d.sample_interval_s)
    parser.add_argument("--out", help="report folder (default: sobelnet_out/bag_bench/<time>)")


def build_defaults(bag: str) -> argparse.Namespace:
    """The parsed defaults for ``bag`` (for callers that adjust a few options)."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args([bag])


def options_from_args(args: argparse.Namespace):
    """BenchOptions from the parsed command line (soak defaults applied)."""
    from ..ros.bench.bench import BenchOptions
    from ..ros.bench.phases import PhaseSettings

    rate, duration = args.rate, args.duration
    if args.soak:
        rate = SOAK_RATE_HZ if rate is None else rate
        duration = SOAK_DURATION_S if duration is None else duration
    if args.repeats < 1:
        raise ValueError(f"--repeats must be >= 1, got {args.repeats}")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    settings = PhaseSettings(
        warmup_s=args.warmup_s,
        startup_timeout_s=args.startup_timeout,
        answer_timeout_s=args.answer_timeout,
        drain_s=args.drain_s,
        sample_interval_s=args.sample_interval,
        gpu=args.gpu == "yes" or (args.gpu == "auto" and shutil.which("nvidia-smi") is not None),
        publisher_reliability=args.reliability,
        drop_threshold_percent=args.drop_threshold,
        peak_trial_s=args.peak_trial_s,
        peak_max_hz=args.peak_max_hz,
        peak_steps=args.peak_steps,
    )
    return BenchOptions(
        bag=args.bag,
        topic=args.topic,
        max_frames=args.max_frames,
        rate_hz=rate,
        duration_s=duration,
        repeats=args.repeats,
        relay=not (args.no_relay or args.soak),
        peak=not (args.no_peak or args.soak),
        soak=args.soak,
        attach=args.attach,
        input_topic=args.input_topic,
        output_topic=args.output_topic,
        node_pid=args.node_pid,
        node_command=args.node_command,
        params_file=args.params_file,
        node_params=list(args.param),
        out_dir=args.out or str(Path("sobelnet_out") / "bag_bench" / stamp),
        settings=settings,
        dds_profile=args.dds_profile,
    )


def run_and_report(options) -> tuple[dict, dict]:
    """Run the bench, write the report, print the summary; returns (result, paths)."""
    from ..ros.bench.bench import run_bench
    from ..ros.bench.report import summary_lines, write_report

    result = run_bench(options)
    paths = write_report(result, options.out_dir)
    for line in summary_lines(result):
        print(line)
    for name, target in result["targets"].items():
        if target.get("error"):
            print(f"{name}: error: {target['error']}")
    print(f"report: {paths['md']} (JSON {paths['json'].name}, plot {paths['png'].name})")
    return result, paths


def exit_code(result: dict) -> int:
    if result.get("interrupted"):
        return 130
    return 3 if result["partial"] else 0


def run(args: argparse.Namespace) -> int:
    result, _ = run_and_report(options_from_args(args))
    return exit_code(result)
