"""The demo's markdown report and latency plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROWS = (
    ("frames sent", "frames_sent"),
    ("node frames in", "node_frames_in"),
    ("node frames published", "node_frames_published"),
    ("frames received", "frames_received"),
    ("node dropped", "node_dropped"),
    ("node rejected", "node_rejected"),
    ("received rate, Hz", "received_rate_hz"),
    ("end-to-end latency p50, ms", "latency_end_to_end_p50_ms"),
    ("end-to-end latency p99, ms", "latency_end_to_end_p99_ms"),
    ("node latency p50 (last 5 s), ms", "node_latency_p50_ms_last_5s"),
    ("node latency p99 (last 5 s), ms", "node_latency_p99_ms_last_5s"),
    ("keypoints per frame", "keypoints_per_frame"),
    ("node CPU, % of one core", "node_cpu_percent_of_one_core"),
)


def write_report(summary: dict[str, Any], out: Path) -> Path:
    """``demo_report.md`` with a table and ``demo_latency.png``; returns the report path."""
    plot = _plot(summary, out / "demo_latency.png")
    lines = [
        f"# sobelnet demo: {summary['encoding']} {summary['size']} at {summary['rate_hz']:g} Hz",
        "",
        f"{summary['duration_s']} s measured on device `{summary['device']}` "
        f"({summary['cpu_cores']} CPU cores); weights: {summary['weights']}.",
        "",
        "| figure | value |",
        "|---|---|",
        *(f"| {label} | {_fmt(summary.get(key))} |" for label, key in ROWS),
        "",
        "End-to-end latency: the image's header stamp to the arrival of its features "
        "at the monitor (DDS both ways). Node latency: image callback to publish.",
    ]
    if plot:
        lines += ["", f"![latency]({plot.name})"]
    if summary.get("annotated_frame"):
        lines += ["", f"![keypoints]({Path(summary['annotated_frame']).name})"]
    path = out / "demo_report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _fmt(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def _plot(summary: dict[str, Any], path: Path) -> Path | None:
    trace = summary.get("latency_trace") or []
    if not trace:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times, latencies = zip(*trace, strict=True)
    figure, axis = plt.subplots(figsize=(7, 3))
    axis.plot(times, latencies, ".", markersize=3)
    axis.set_xlabel("time, s")
    axis.set_ylabel("end-to-end latency, ms")
    axis.set_title(f"{summary['encoding']} {summary['size']} at {summary['rate_hz']:g} Hz")
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
