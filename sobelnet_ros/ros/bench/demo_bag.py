"""The demo bag: the synthetic camera sequence over bundled photos, written with rosbags.

Deterministic and generated locally (never downloaded); the README's run
command makes it when it is missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tqdm import tqdm

from ...data.demo_sequence import DemoSequenceConfig, demo_frames
from .bag_writer import write_image_bag

DEFAULT_DEMO_BAG = Path("sobelnet_out") / "demo_bag"
DEMO_TOPIC = "/camera/image_raw"
START_NS = 1_700_000_000_000_000_000  # a fixed start time keeps the bag's bytes reproducible


def write_demo_bag(
    path: str | Path = DEFAULT_DEMO_BAG,
    config: DemoSequenceConfig | None = None,
    storage: str = "mcap",
    image_format: str = "jpeg",
) -> Path:
    """Write the demo sequence as a bag at ``path`` (which must not exist); returns the path.

    The bag is written beside ``path`` first and moved into place at the end,
    so an interrupted run never leaves a half-written bag behind.
    """
    config = config or DemoSequenceConfig()
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists already; remove it to write a new demo bag")
    # Written in a scratch folder under the final name (rosbag2 names its storage file
    # after the bag), then moved into place.
    scratch = path.parent / f".{path.name}.partial"
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    period_ns = round(1e9 / config.rate_hz)
    frames = (
        (START_NS + i * period_ns, frame)
        for i, (_, frame, _) in enumerate(
            tqdm(demo_frames(config), total=config.frame_count, desc="demo bag", unit="frame")
        )
    )
    write_image_bag(
        scratch / path.name, frames, topic=DEMO_TOPIC, storage=storage, image_format=image_format
    )
    (scratch / path.name).rename(path)
    scratch.rmdir()
    return path


def ensure_demo_bag(path: str | Path = DEFAULT_DEMO_BAG) -> tuple[Path, bool]:
    """The demo bag at ``path``, written first if missing; ``(path, written now)``."""
    path = Path(path)
    if path.exists():
        return path, False
    return write_demo_bag(path), True
