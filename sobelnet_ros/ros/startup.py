"""Building the extractor and engine from parameters, with the ``device: auto`` fallback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..inference import FeatureExtractor
from ..inference.engine import Engine, create_engine


def make_engine(params: dict[str, Any], device: str) -> tuple[FeatureExtractor, Engine]:
    """Extractor and engine on ``device`` with the node's parameters."""
    extractor = FeatureExtractor(
        device=device,
        half=params["half"],
        half_dtype=params["half_dtype"],
        channels_last=params["channels_last"],
        max_keypoints=params["max_keypoints"],
        score_ratio=params["score_ratio"],
        nms_window=params["nms_window"],
        border=params["border"],
        subpixel=params["subpixel"],
        pyramid_levels=params["pyramid_levels"],
        coarse_share=params["coarse_share"],
        min_gradient=params["min_gradient"],
        min_corner_ratio=params["min_corner_ratio"],
        sobelnet_weights=params["sobelnet_weights"] or None,
        desnet_weights=params["desnet_weights"] or None,
    )
    engine = create_engine(
        extractor, max_in_flight=params["max_in_flight"], drop_policy=params["drop_policy"]
    )
    warm_up = getattr(engine, "warm_up", None)
    if warm_up is not None:  # CUDA: capture and run once now, so failures show at start
        warm_up()
    return extractor, engine


def start_engine(
    params: dict[str, Any],
    log_error: Callable[[str], None],
    make: Callable[[dict[str, Any], str], tuple[FeatureExtractor, Engine]] = make_engine,
) -> tuple[FeatureExtractor, Engine]:
    """Start on the requested device; with ``auto``, a CUDA failure falls back to the CPU.

    Raises:
        RuntimeError: the device cannot be used (``cuda`` asked for without a
            usable GPU, out of memory...), naming the device and the cause.
        ValueError: a bad option or weight file.
    """
    device = params["device"]
    try:
        return make(params, device)
    except (RuntimeError, ImportError) as error:  # torch CUDA errors are RuntimeErrors
        if device != "auto":
            raise RuntimeError(f"cannot start on device {device!r}: {error}") from error
        log_error(f"CUDA start failed ({type(error).__name__}: {error}); falling back to the CPU")
    return make(params, "cpu")
