"""Starting the node: parameters read and checked, extractor and engine built.

Every reason not to start is one line, ``<param>=<value>: must be <allowed>``
for a bad parameter, so that ``[FATAL] cannot start: ...`` says it all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..inference import FeatureExtractor
from ..inference.engine import Engine, create_engine
from .params import SPECS, check_value, descriptor


class StartupError(ValueError):
    """The node cannot start; the message is one line naming the cause."""


def first_line(error: BaseException) -> str:
    """The first line of an error's message (rcl and torch errors run over several)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def declare_parameters(node: Any) -> dict[str, Any]:
    """Declare every parameter of the table on ``node``; their values.

    Values given with ``-p`` or a params file are checked against the table
    first, so a bad one ends in one line instead of rclpy's exception.

    Raises:
        StartupError: a value out of range, of the wrong type or not a choice.
    """
    from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException

    overrides = getattr(node, "_parameter_overrides", {})  # -p and params files, by name
    for name in SPECS:
        if name in overrides:
            reason = check_value(name, overrides[name].value)
            if reason:
                raise StartupError(reason)
    for name, spec in SPECS.items():
        try:
            node.declare_parameter(name, spec.default, descriptor(name))
        except (InvalidParameterTypeException, InvalidParameterValueException) as error:
            raise StartupError(f"{name}: {first_line(error)}") from None
    params = {name: node.get_parameter(name).value for name in SPECS}
    for name, value in params.items():
        reason = check_value(name, value)
        if reason:
            raise StartupError(reason)
    return params


def make_engine(params: dict[str, Any], device: str) -> tuple[FeatureExtractor, Engine]:
    """Extractor and engine on ``device`` with the node's parameters."""
    extractor = FeatureExtractor(
        device=device,
        half=params["half"],
        half_dtype=params["half_dtype"],
        channels_last=params["channels_last"],
        cpu_chains=params["cpu_chains"],
        max_keypoints=params["max_keypoints"],
        score_ratio=params["score_ratio"],
        nms_window=params["nms_window"],
        border=params["border"],
        subpixel=params["subpixel"],
        pyramid_levels=params["pyramid_levels"],
        coarse_share=params["coarse_share"],
        level_mix=params["level_mix"],
        min_gradient=params["min_gradient"],
        min_corner_ratio=params["min_corner_ratio"],
        full_corner_ratio=params["full_corner_ratio"],
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
