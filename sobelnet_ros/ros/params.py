"""The detector's parameters: one table gives defaults, descriptors, ranges and checks.

The defaults equal ``config/detector.yaml`` (a test keeps them in step). Only
``descriptor`` needs ROS (rcl_interfaces); the table and checks do not. Those
marked ``runtime`` may change while the node runs; the rest are read-only and
need a restart (device, weights, QoS, engine size...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..inference.extractor import RUNTIME_OPTIONS
from ..inference.quantize import DESCRIPTOR_FORMATS
from ..inference.types import HALF_DTYPES, MAX_KEYPOINTS_LIMIT
from ..tracking.types import TrackerConfig

if TYPE_CHECKING:
    from rcl_interfaces.msg import ParameterDescriptor


@dataclass(frozen=True)
class Spec:
    default: Any
    description: str
    low: float | None = None  # inclusive range, ints or floats as the default
    high: float | None = None
    step: int = 0  # integer step from ``low`` (0: any)
    choices: tuple[str, ...] = ()
    runtime: bool = False  # may change while running


# The node's extractor parameters are exactly the options the extractor takes at run time.
EXTRACTOR_OPTIONS = RUNTIME_OPTIONS
# ``tracking.<name>``: the tracker's options a node may set, read at start
TRACKER_OPTIONS = ("memory_frames", "gate_px", "epipolar_px", "consistency_px", "bridge_frames",
                   "follow_levels", "min_distance_px")  # fmt: skip
_TRACKER = TrackerConfig()  # the library's defaults are the node's

SPECS: dict[str, Spec] = {
    "device": Spec("auto", "cpu, cuda, cuda:N or auto (CUDA when usable, else CPU)"),
    "half": Spec(False, "half-precision networks on CUDA (ignored on the CPU)"),
    "half_dtype": Spec("float16", "the half precision of 'half'", choices=HALF_DTYPES),
    "channels_last": Spec(False, "NHWC convolutions on CUDA (always on the CPU)"),
    "cpu_chains": Spec(True, "on the CPU, detect and describe a frame side by side, each on"
                       " half of torch's threads (with 2 or more)"),
    "max_keypoints": Spec(1024, "keypoints kept per image, best first", 1, MAX_KEYPOINTS_LIMIT,
                          runtime=True),
    "score_ratio": Spec(0.3, "scores below ratio x the image's maximum are dropped", 0.0,
                        0.999, runtime=True),
    "nms_window": Spec(3, "side of the non-maximum suppression window, px (odd)", 1, 31, 2,
                       runtime=True),
    "border": Spec(8, "keypoints closer than this to the image edge are dropped, px", 0, 256,
                   runtime=True),
    "subpixel": Spec(True, "refine keypoints to sub-pixel precision", runtime=True),
    "pyramid_levels": Spec(2, "1: the image only; 2-4: also its octaves (1/2, 1/4, 1/8), for"
                           " views 2x closer or farther", 1, 4, runtime=True),
    "coarse_share": Spec(0.25, "share of max_keypoints taken from the octaves", 0.0, 0.9,
                         runtime=True),
    "level_mix": Spec(0.0, "weight of the neighbouring pyramid levels' descriptors added to a"
                      " keypoint's own (0: its own level only)", 0.0, 4.0, runtime=True),
    "min_gradient": Spec(1.0, "RMS gradient a keypoint's window needs, 8-bit grey levels per px"
                         " (0: off); flat and noise-only frames give no keypoints", 0.0, 255.0,
                         runtime=True),
    "min_corner_ratio": Spec(0.045, "l2/l1 of the structure tensor a keypoint needs (0: off);"
                             " straight edges are near 0", 0.0, 1.0, runtime=True),
    "full_corner_ratio": Spec(0.2, "l2/l1 from which a keypoint keeps its whole score; below,"
                              " its score is scaled by sqrt(l2/l1 / this) (0: off)", 0.0, 1.0,
                              runtime=True),
    "resize_max_side": Spec(0, "downscale images whose longer side exceeds this, px (0: never);"
                            " keypoints stay in input pixels", 0, 16384),
    "max_in_flight": Spec(2, "frames queued or being processed; more drops per drop_policy", 1,
                          16),
    "drop_policy": Spec("drop_oldest", "when full: drop the oldest waiting frame, or block the"
                        " image callback", choices=("drop_oldest", "block")),
    "sobelnet_weights": Spec("", "SobelNet .safetensors file ('': the installed weights)"),
    "desnet_weights": Spec("", "DesNet .safetensors file ('': the installed weights)"),
    "input_transport": Spec("raw", "raw: sensor_msgs/Image on 'image'; compressed:"
                            " sensor_msgs/CompressedImage on 'image/compressed'",
                            choices=("raw", "compressed")),
    "qos_reliability": Spec("best_available", "input QoS reliability; best_available: reliable"
                            " from reliable publishers, best effort from best-effort ones",
                            choices=("best_available", "best_effort", "reliable")),
    "qos_depth": Spec(5, "input QoS history depth (keep last)", 1, 1000),
    "descriptor_format": Spec("int8", "descriptors in 'features': int8 (value / 127 ~ component,"
                              " D bytes a point) or float32 (4 D bytes)",
                              choices=DESCRIPTOR_FORMATS, runtime=True),
    "debug_image.enabled": Spec(True, "publish 'debug_image' while it has subscribers",
                                runtime=True),
    "debug_image.radius": Spec(3, "radius of the keypoint circles in 'debug_image', px", 1, 50,
                               runtime=True),
    "tracking.enabled": Spec(False, "track features across frames: publish 'tracks' and, with"
                             " camera_info, VINS-Mono's 'feature'"),
    "tracking.memory_frames": Spec(_TRACKER.memory_frames, "frames a lost track waits to be"
                                   " found again", 0, 30),
    "tracking.gate_px": Spec(_TRACKER.gate_px, "search radius around where a track is"
                             " predicted, px", 1.0, 256.0),
    "tracking.epipolar_px": Spec(_TRACKER.epipolar_px, "largest distance of a step from its"
                                 " epipolar line, px", 0.1, 10.0),
    "tracking.consistency_px": Spec(_TRACKER.consistency_px, "farthest a step may stray from"
                                    " the steps around it, beyond the motion, px (0: off)",
                                    0.0, 100.0),
    "tracking.bridge_frames": Spec(_TRACKER.bridge_frames, "frames in a row a track may be"
                                   " followed by its patch without a detection (0: never)",
                                   0, 30),
    "tracking.follow_levels": Spec(_TRACKER.follow_levels, "pyramid levels above the image when"
                                   " following a track by its patch", 0, 4),
    "tracking.min_distance_px": Spec(_TRACKER.min_distance_px, "spacing of new tracks from each"
                                     " other and from the tracks, px", 0.0, 200.0),
    "diagnostics_period_s": Spec(1.0, "period of the status on /diagnostics, s", 0.1, 60.0),
}  # fmt: skip


def descriptor(name: str) -> ParameterDescriptor:
    """The ParameterDescriptor of ``name``: description, range, read-only flag."""
    # Imported here: the table and ``check_value`` are usable without ROS.
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

    spec = SPECS[name]
    text = spec.description + (f" (one of: {', '.join(spec.choices)})" if spec.choices else "")
    desc = ParameterDescriptor(description=text, read_only=not spec.runtime)
    if spec.low is not None and isinstance(spec.default, float):
        desc.floating_point_range = [
            FloatingPointRange(from_value=float(spec.low), to_value=float(spec.high), step=0.0)
        ]
    elif spec.low is not None:
        desc.integer_range = [
            IntegerRange(from_value=int(spec.low), to_value=int(spec.high), step=spec.step)
        ]
    return desc


def allowed(name: str) -> str:
    """What ``name`` accepts, in words: ``an int in [1, 16384]``, ``one of [...]``..."""
    spec = SPECS[name]
    kind = {bool: "true or false", int: "an int", float: "a float", str: "a string"}[
        type(spec.default)
    ]
    if spec.choices:
        return f"one of {', '.join(spec.choices)}"
    if spec.low is None:
        return kind
    text = f"{kind} in [{spec.low}, {spec.high}]"
    return text + (f" in steps of {spec.step}" if spec.step else "")


def check_value(name: str, value: Any) -> str | None:
    """Why ``value`` is not acceptable for ``name`` (``name=value: allowed``), or None."""
    spec = SPECS.get(name)
    if spec is None:
        return None  # not ours (qos_overrides.*, use_sim_time): rclpy checks those
    good = type(value) is type(spec.default)
    good = good and (not spec.choices or value in spec.choices)
    good = good and (spec.low is None or spec.low <= value <= spec.high)
    good = good and not (spec.step and (value - spec.low) % spec.step)
    return None if good else f"{name}={_show(value)}: must be {allowed(name)}"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    return str(value).lower() if isinstance(value, bool) else str(value)
