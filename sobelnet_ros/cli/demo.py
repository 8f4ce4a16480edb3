"""``sobelnet demo``: the README's run command on the bundled default input."""

from __future__ import annotations

import argparse

from . import extract


def add_arguments(parser: argparse.ArgumentParser) -> None:
    extract.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return extract.run(args)
