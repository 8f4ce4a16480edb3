"""Where installed resources live: the shipped weights."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = "sobelnet_ros"
WEIGHTS_ENV = "SOBELNET_WEIGHTS_DIR"
SOBELNET_FILE = "sobelnet.safetensors"
DESNET_FILE = "desnet.safetensors"


def weights_dir_candidates() -> list[Path]:
    """Folders searched for the shipped weights, first match wins.

    ``$SOBELNET_WEIGHTS_DIR``; then, walking up from this package, a
    ``share/sobelnet_ros/weights`` (``pip install`` into a venv and
    ``colcon build`` both put it there) or a ``weights/`` beside the package
    (a source checkout).
    """
    found = [Path(os.environ[WEIGHTS_ENV])] if os.environ.get(WEIGHTS_ENV) else []
    here = Path(__file__).resolve().parent
    for parent in here.parents:
        found.append(parent / "share" / PACKAGE / "weights")
        if parent == here.parent:
            found.append(parent / "weights")
    return found


def default_weight_path(file_name: str) -> Path:
    """The first existing candidate for ``file_name``, else where a checkout keeps it."""
    for folder in weights_dir_candidates():
        if (folder / file_name).is_file():
            return folder / file_name
    return Path(__file__).resolve().parent.parent / "weights" / file_name
