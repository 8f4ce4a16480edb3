"""The bag replay benchmark: relay baseline, then the detector, through one player and monitor.

``run_bench`` returns one result dict (what ``report`` writes): metadata, the
bag, per target its fixed-rate phases (repeated), the detector's peak search,
and the detector's own cost as the difference to the relay.
"""

from __future__ import annotations

import logging
import statistics
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import metadata
from .bag_reader import BagFrames, bag_sha256, read_image_topic
from .dds_profile import apply_large_image_profile
from .phases import NoAnswerError, PhaseRunner, PhaseSettings, Target
from .processes import ManagedProcess, detector_command, relay_command
from .relay import INPUT_TOPIC as RELAY_INPUT
from .relay import OUTPUT_TOPIC as RELAY_OUTPUT

LOG = logging.getLogger(__name__)
NAMESPACE = "/sobelnet_bench"


@dataclass
class BenchOptions:
    """Everything a run depends on (saved in the result's metadata)."""

    bag: str
    topic: str | None = None
    max_frames: int | None = None
    rate_hz: float | None = None  # None: the recorded timing
    duration_s: float | None = None  # None: one pass of the bag
    repeats: int = 1
    relay: bool = True
    peak: bool = True
    soak: bool = False
    attach: bool = False  # use a running detector instead of starting one
    input_topic: str | None = None  # attach: the detector's image topic
    output_topic: str | None = None  # attach: its features topic
    node_pid: int | None = None  # attach: sample this process
    node_command: str | None = None
    params_file: str | None = None
    node_params: list[str] = field(default_factory=list)
    out_dir: str = "sobelnet_out/bag_bench"
    annotated_frame: str | None = None  # save one debug_image of the detector here
    dds_profile: str = "large-images"  # or "stock": Fast DDS as configured by the environment
    settings: PhaseSettings = field(default_factory=PhaseSettings)


def _rate_label(rate_hz: float | None, bag: BagFrames) -> str:
    if rate_hz is None:
        return f"recorded rate ({bag.recorded_rate_hz or 0:.1f} Hz)"
    return f"{rate_hz:g} Hz"


@contextmanager
def _target(name: str, options: BenchOptions, logs: Path):
    """A started (and afterwards stopped) relay or detector, or the attached detector."""
    from sensor_msgs.msg import Image, PointCloud2

    if name == "relay":
        ns = f"{NAMESPACE}/relay"
        process = ManagedProcess("relay", relay_command(ns), logs / "relay.log")
        target = Target(name, f"{ns}/{RELAY_INPUT}", f"{ns}/{RELAY_OUTPUT}", Image, process)
    elif options.attach:
        if not (options.input_topic and options.output_topic):
            raise ValueError("--attach needs --input-topic and --output-topic")
        target = Target(name, options.input_topic, options.output_topic, PointCloud2)
        target.pid = options.node_pid
        yield target
        return
    else:
        ns = f"{NAMESPACE}/detector"
        command = detector_command(
            ns, options.params_file, options.node_params, options.node_command
        )
        process = ManagedProcess("detector", command, logs / "detector.log")
        target = Target(name, f"{ns}/image", f"{ns}/features", PointCloud2, process)
    target.pid = process.pid
    try:
        yield target
    finally:
        target.exit_code = process.stop()


def _combine(phases: list[dict]) -> dict:
    """Median over repeated phases of every numeric figure (ros2_benchmark repeats too)."""

    def numeric(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    keys = [k for k, v in phases[0].items() if numeric(v)]
    out = {}
    for key in keys:
        values = [p[key] for p in phases if numeric(p.get(key))]
        out[key] = round(statistics.median(values), 3) if values else None
    out["partial"] = any(p["partial"] for p in phases)
    out["resources"] = phases[-1].get("resources")
    return out


def _run_target(name, options, session, monitor, bag, logs) -> dict[str, Any]:
    result: dict[str, Any] = {"phases": [], "partial": False, "error": None}
    settings = options.settings
    with _target(name, options, logs) as target:
        result["input_topic"], result["output_topic"] = target.input_topic, target.output_topic
        runner = PhaseRunner(session, monitor, bag, target, settings)
        try:
            runner.start(options.rate_hz)
            label = _rate_label(options.rate_hz, bag)
            for _ in range(1 if options.soak else options.repeats):
                result["phases"].append(runner.phase(label, options.rate_hz, options.duration_s))
                if runner.interrupted:
                    break
            if name == "detector" and options.peak and not runner.interrupted:
                start = options.rate_hz or bag.recorded_rate_hz or 30.0
                result["peak"] = runner.peak_search(start)
            result["node_info"] = monitor.node_info()
            if name == "detector" and options.annotated_frame and not runner.interrupted:
                debug_topic = target.output_topic.rsplit("/", 1)[0] + "/debug_image"
                frame = runner.grab_debug_frame(debug_topic)
                result["annotated_frame"] = _save_frame(frame, options.annotated_frame)
        except NoAnswerError as error:
            result.update(error=str(error), partial=True, warmup=error.partial)
        except RuntimeError as error:
            result.update(error=str(error), partial=True)
        except KeyboardInterrupt:
            runner.interrupted = True
            result.update(error="interrupted by the user", partial=True)
        finally:
            runner.close()
        result["interrupted"] = runner.interrupted
    result["exit_code"] = target.exit_code
    if result["phases"]:
        result["summary"] = _combine(result["phases"])
        result["partial"] = result["partial"] or result["summary"]["partial"]
    return result


def _save_frame(rgb, path: str) -> str | None:
    if rgb is None:
        LOG.warning("no debug_image arrived; no annotated frame saved")
        return None
    from ...visualize import save_rgb

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_rgb(path, rgb)
    return path


def _node_cost(targets: dict[str, dict]) -> dict[str, float] | None:
    detector = targets.get("detector", {}).get("summary")
    relay = targets.get("relay", {}).get("summary")
    if not detector or not relay:
        return None
    cost = {}
    for key in ("latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "latency_mean_ms"):
        if detector.get(key) is not None and relay.get(key) is not None:
            cost[key] = round(detector[key] - relay[key], 3)
    return cost


def run_bench(options: BenchOptions) -> dict[str, Any]:
    """Read the bag, run the relay and the detector, and return the full result."""
    from .monitor import Monitor
    from .session import BenchSession

    bag = read_image_topic(options.bag, options.topic, options.max_frames)
    first = bag.frames[0]
    out_dir = Path(options.out_dir)
    config = asdict(options)
    if options.dds_profile == "large-images":
        config["dds_profile_applied"] = apply_large_image_profile(out_dir / "logs")
    result: dict[str, Any] = {
        "metadata": metadata.collect(config),
        "bag": {
            "path": str(bag.path),
            "sha256": bag_sha256(bag.path),
            "topic": bag.topic,
            "msgtype": bag.msgtype,
            "frames": len(bag.frames),
            "size": f"{first.width}x{first.height}",
            "encoding": first.encoding,
            "recorded_rate_hz": bag.recorded_rate_hz,
            "duration_s": round(float(bag.offsets_s()[-1]), 3),
        },
        "targets": {},
    }
    names = (["relay"] if options.relay else []) + ["detector"]
    with BenchSession() as session:
        monitor = Monitor(session.node)
        for name in names:
            LOG.info("benchmarking the %s", name)
            target = _run_target(name, options, session, monitor, bag, out_dir / "logs")
            result["targets"][name] = target
            if target["interrupted"]:
                break
    result["node_cost_ms"] = _node_cost(result["targets"])
    result["partial"] = any(t["partial"] for t in result["targets"].values()) or len(
        result["targets"]
    ) < len(names)
    result["interrupted"] = any(t.get("interrupted") for t in result["targets"].values())
    return result
