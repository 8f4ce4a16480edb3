"""``sobelnet demo``: the README's run command.

By default (``--source bag``) it replays the demo bag: see ``demo_replay``
(made if missing, replayed through the node and a relay baseline, summary,
report and an annotated frame). ``--source photos`` does what follows.

Starts the detector node (its own process group) on the bundled default
input (photos shipped with scikit-image, published at 30 Hz), shows features
flowing (rate, latency, keypoints per frame), saves an annotated frame from
the node's ``debug_image``, stops the node cleanly and says where things are.
Writes ``demo_summary.json``, ``demo_report.md`` and ``demo_latency.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from . import demo_replay

    parser.add_argument(
        "--source",
        choices=("bag", "photos"),
        default="bag",
        help="bag: replay the demo bag (default); photos: publish bundled photos at --rate "
        "for --duration (the options below up to --max-keypoints)",
    )
    demo_replay.add_arguments(parser)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured (10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds not measured (2)")
    parser.add_argument("--rate", type=float, default=30.0, help="images per second (30)")
    parser.add_argument("--size", default="640x480", help="image size WxH (640x480)")
    parser.add_argument("--encoding", default="rgb8", choices=("rgb8", "mono8", "bgr8"))
    parser.add_argument("--device", default="auto", help="node device: cpu, cuda, auto (auto)")
    parser.add_argument("--max-keypoints", type=int, default=1024)
    parser.add_argument("--out", default="sobelnet_out", help="output folder (sobelnet_out)")


def run(args: argparse.Namespace) -> int:
    import rclpy  # first: without ROS, say so before making the bag

    if args.source == "bag":
        from . import demo_replay

        return demo_replay.run(args)
    from ..ros.bench.dds_profile import apply_large_image_profile
    from ..ros.monitor import FeatureMonitor
    from ..ros.sample_source import SampleImageSource, SourcePublisher

    width, height = _size(args.size)
    if args.duration <= 0 or args.rate <= 0:
        raise ValueError("--duration and --rate must be positive")
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    source = SampleImageSource((width, height), args.encoding)  # before the node: slow import
    # Stock Fast DDS loses most best-effort frames larger than its 512 KB shared-memory
    # segment (640x480 rgb8 is 900 KB): give the demo's processes the large-image profile.
    print(f"Fast DDS profile: {apply_large_image_profile(out)}")
    node_process = _start_node(args, out / "detector.log")
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = rclpy.create_node("sobelnet_demo", context=context)
        executor = rclpy.executors.SingleThreadedExecutor(context=context)
        executor.add_node(node)
        publisher = SourcePublisher(node, source, "image", args.rate)
        monitor = FeatureMonitor(node)
        print(f"node starting (pid {node_process.pid}, log {out / 'detector.log'}) ...")
        started = lambda: bool(monitor.arrivals) or node_process.poll() is not None  # noqa: E731
        _spin_until(executor, started, 180)
        if not monitor.arrivals:
            raise RuntimeError(f"the node sent no features; see {out / 'detector.log'}")
        _spin_for(executor, args.warmup)
        summary = _measure(args, executor, monitor, publisher, node_process.pid)
        summary["annotated_frame"] = _save_debug_frame(executor, monitor, out)
        executor.shutdown()
        node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)
        code = _stop_node(node_process)
    summary["node_exit_code"] = code
    summary["node_log"] = str(out / "detector.log")
    _write(summary, out)
    return 0 if code == 0 else 1


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size must look like 640x480, got {text!r}") from None
    return width, height


def _start_node(args: argparse.Namespace, log_path: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "sobelnet_ros.ros.detector_main", "--ros-args", "-p",
               f"device:={args.device}", "-p", f"max_keypoints:={args.max_keypoints}"]  # fmt: skip
    log = open(log_path, "w")  # noqa: SIM115 - the child holds it; closed when we exit
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )


def _stop_node(process: subprocess.Popen) -> int:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
    try:
        return process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.wait()


def _spin_until(executor: Any, done: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)


def _spin_for(executor: Any, seconds: float) -> None:
    _spin_until(executor, lambda: False, seconds)


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), all its threads."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(args, executor, monitor, publisher, pid: int) -> dict[str, Any]:
    start, sent0, cpu0 = time.monotonic(), publisher.sent, _cpu_seconds(pid)
    status0 = dict(monitor.status)
    end = start + args.duration
    while time.monotonic() < end:
        tick = time.monotonic()
        _spin_for(executor, min(1.0, end - tick))
        now = time.monotonic()
        recent = monitor.summary(now - 1.0, now)
        node = monitor.status
        print(
            f"t={now - start:5.1f}s  in {node.get('input_rate_hz', '?')} Hz  "
            f"out {recent['rate_hz']:.1f} Hz  latency p50 {_ms(recent['latency_p50_ms'])} "
            f"p99 {_ms(recent['latency_p99_ms'])}  keypoints/frame "
            f"{recent['keypoints_per_frame'] or 0:.0f}  dropped {node.get('dropped_total', '?')}"
            f"  rejected {node.get('rejected_total', '?')}"
        )
    cpu1, now = _cpu_seconds(pid), time.monotonic()
    seen = monitor.summary(start, now)
    node = monitor.status

    def delta(key: str) -> int:
        return int(node.get(key, 0)) - int(status0.get(key, 0))

    return {
        "encoding": args.encoding, "size": args.size, "rate_hz": args.rate,
        "duration_s": round(now - start, 2), "device": node.get("device"),
        "weights": {k: node.get(f"{k}_weights") for k in ("sobelnet", "desnet")},
        "frames_sent": publisher.sent - sent0, "frames_received": seen["frames"],
        "received_rate_hz": seen["rate_hz"],
        "latency_end_to_end_p50_ms": seen["latency_p50_ms"],
        "latency_end_to_end_p99_ms": seen["latency_p99_ms"],
        "keypoints_per_frame": seen["keypoints_per_frame"],
        "node_frames_in": delta("frames_in"), "node_frames_published": delta("frames_published"),
        "node_rejected": delta("rejected_total"), "node_dropped": delta("dropped_total"),
        "node_failed": delta("failed_total"),
        "node_latency_p50_ms_last_5s": float(node.get("latency_p50_ms", "nan")),
        "node_latency_p99_ms_last_5s": float(node.get("latency_p99_ms", "nan")),
        "node_cpu_percent_of_one_core": None if cpu0 is None or cpu1 is None
        else round(100 * (cpu1 - cpu0) / (now - start), 1),
        "cpu_cores": os.cpu_count(),
        "latency_trace": [(round(t - start, 3), round(ms, 2)) for t, ms, _ in monitor.arrivals
                          if start <= t <= now],
    }  # fmt: skip


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def _save_debug_frame(executor: Any, monitor: Any, out: Path) -> str | None:
    from ..ros.monitor import image_to_rgb
    from ..visualize import save_rgb

    monitor.grab_debug_image()
    _spin_until(executor, lambda: monitor.debug_image is not None, 10.0)
    if monitor.debug_image is None:
        print("no debug image arrived within 10 s; no annotated frame saved")
        return None
    path = out / "demo_keypoints.png"
    save_rgb(str(path), image_to_rgb(monitor.debug_image))
    return str(path)


def _write(summary: dict[str, Any], out: Path) -> None:
    from .demo_report import write_report

    (out / "demo_summary.json").write_text(json.dumps(summary, indent=2))
    report = write_report(summary, out)
    print(
        f"\n{summary['encoding']} {summary['size']} at {summary['rate_hz']:g} Hz for "
        f"{summary['duration_s']} s on {summary['device']}: sent {summary['frames_sent']}, node "
        f"in {summary['node_frames_in']} / published {summary['node_frames_published']} "
        f"(dropped {summary['node_dropped']}, rejected {summary['node_rejected']}), "
        f"received {summary['frames_received']}; end-to-end latency p50 "
        f"{_ms(summary['latency_end_to_end_p50_ms'])}, p99 "
        f"{_ms(summary['latency_end_to_end_p99_ms'])}; node CPU "
        f"{summary['node_cpu_percent_of_one_core']} % of one core"
    )
    print(f"annotated frame: {summary['annotated_frame']}")
    print(f"summary: {out / 'demo_summary.json'}  report: {report}")
    print(f"node log: {summary['node_log']} (exit code {summary['node_exit_code']})")
