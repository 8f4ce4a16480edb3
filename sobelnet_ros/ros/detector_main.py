"""The ``detector`` executable: help, a missing ROS, and signals, before the node starts.

It imports nothing heavy before the signal handlers are in place, so Ctrl-C
while torch and rclpy load ends quietly, and ``detector --help`` or a machine
without rclpy gets a plain answer instead of a node start or a traceback.
"""

from __future__ import annotations

import sys

from ..openmp import prefer_passive_waits
from .signals import StopSignals

USAGE = """usage: detector [-h] [--ros-args [-p NAME:=VALUE ...] [--params-file FILE] ...]

The sobelnet_detector node: subscribes 'image' (sensor_msgs/Image) or
'image/compressed' (input_transport: compressed) and publishes 'features'
and 'keypoints' (sensor_msgs/PointCloud2), 'debug_image' while subscribed,
and its status on /diagnostics. Stop with Ctrl-C (SIGINT) or SIGTERM.

parameters (default; allowed values):"""

INTERRUPTED = 130  # 128 + SIGINT, as a shell reports an interrupted command


def main(args: list[str] | None = None) -> int:
    """Run the node; 0 after a clean stop, 1 if it cannot start, 130 if stopped while loading."""
    stop = StopSignals()  # first: a Ctrl-C during the imports below is only counted
    prefer_passive_waits()  # before torch loads
    argv = sys.argv if args is None else args
    if _wants_help(argv[1:]):
        print(help_text())
        return 0
    try:
        from .spin import run
    except ModuleNotFoundError as error:
        from ..missing import missing_piece

        print(f"detector: cannot start: {missing_piece(error)}", file=sys.stderr)
        return 1
    if stop.count:
        print("detector: interrupted while loading; not started", file=sys.stderr)
        return INTERRUPTED
    code = run(args, stop)
    stop.ignore_from_now()  # stopped and counted: a late Ctrl-C must not kill the teardown
    return code


def _wants_help(argv: list[str]) -> bool:
    ours = argv[: argv.index("--ros-args")] if "--ros-args" in argv else argv
    return any(arg in ("-h", "--help") for arg in ours)


def help_text() -> str:
    from .params import SPECS, allowed

    lines = [USAGE]
    for name, spec in SPECS.items():
        default = str(spec.default).lower() if isinstance(spec.default, bool) else spec.default
        shown = "''" if default == "" else default
        flag = "" if spec.runtime else ", read-only"
        lines.append(f"  {name} ({shown}; {allowed(name)}{flag})")
        lines.append(f"      {spec.description}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
