"""``sobelnet``: the project's command line, one subcommand per job.

Subcommand modules are imported only when chosen, so ``sobelnet extract``
never imports ROS and ``sobelnet bag-bench`` needs ROS only when run.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# name -> (module under sobelnet_ros, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("cli.demo", "run on the bundled demo input and show the results"),
    "extract": ("cli.extract", "extract features from images and draw them"),
    "bench": ("cli.bench", "time the extractor per stage beside ORB and SIFT"),
    "bag-bench": ("cli.bag_bench", "replay a rosbag through the detector node and measure"),
    "make-demo-bag": ("cli.make_demo_bag", "write the deterministic demo bag (no download)"),
    "engine-bench": ("cli.engine_bench", "latency and throughput of the asynchronous engine"),
    "eval": ("cli.eval", "HPatches-protocol evaluation beside ORB, SIFT and AKAZE"),
    "track-eval": ("cli.track_eval", "feature tracks beside KLT (VINS-style) and ORB on frames"),
    "render-sequence": (
        "cli.render_sequence",
        "render a hand-held or driving sequence with exact poses, for track-eval",
    ),
    "train": ("cli.train", "train SobelNet (detector) or DesNet (descriptor) on homography pairs"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sobelnet", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(module_name=module_name, missing=None)
        try:
            _module(module_name).add_arguments(sub)
        except ModuleNotFoundError as error:  # an extra or ROS: said when the command is run
            sub.set_defaults(missing=error)
    return parser


def _module(module_name: str):
    return importlib.import_module(f"sobelnet_ros.{module_name}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.missing is None:  # a command that cannot load takes any arguments
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.missing is not None:
            raise args.missing
        return int(_module(args.module_name).run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as error:  # ROS or an extra that this command needs
        from ..missing import missing_piece

        print(f"sobelnet {args.command}: error: {missing_piece(error)}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError, FileExistsError, RuntimeError) as error:
        print(f"sobelnet {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
