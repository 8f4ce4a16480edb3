"""Writing a bag-bench result: JSON, a markdown summary and a PNG of the latencies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

ROWS = (
    ("frames sent", "frames_sent", "{:d}"),
    ("frames received", "frames_received", "{:d}"),
    ("drops", "frames_dropped", "{:d}"),
    ("drop %", "drop_percent", "{:.2f}"),
    ("throughput in (Hz)", "throughput_in_hz", "{:.1f}"),
    ("throughput out (Hz)", "throughput_out_hz", "{:.1f}"),
    ("latency p50 (ms)", "latency_p50_ms", "{:.1f}"),
    ("latency p90 (ms)", "latency_p90_ms", "{:.1f}"),
    ("latency p99 (ms)", "latency_p99_ms", "{:.1f}"),
    ("latency max (ms)", "latency_max_ms", "{:.1f}"),
    ("jitter mean (ms)", "jitter_mean_ms", "{:.2f}"),
    ("jitter max (ms)", "jitter_max_ms", "{:.1f}"),
)
PEAK_HEADER = "| rate (Hz) | in (Hz) | drop % | p99 (ms) | passed |"
RESOURCE_ROWS = (
    ("CPU mean (% of a core)", "cpu_mean_percent", "{:.0f}"),
    ("RSS start (MB)", "rss_start_mb", "{:.1f}"),
    ("RSS end (MB)", "rss_end_mb", "{:.1f}"),
    ("RSS growth (%)", "rss_growth_percent", "{:+.2f}"),
    ("GPU memory max (MB)", "gpu_memory_max_mb", "{:.0f}"),
)


def _fmt(value: Any, pattern: str) -> str:
    if value is None:
        return "–"
    try:
        return pattern.format(value)
    except (ValueError, TypeError):
        return str(value)


def summary_lines(result: dict[str, Any]) -> list[str]:
    """The few lines a terminal shows: per target latency, drops; peak rate; node cost."""
    lines = []
    for name, target in result["targets"].items():
        s = target.get("summary")
        if s is None:
            lines.append(f"{name}: no figures ({target.get('error')})")
            continue
        tag = " [PARTIAL]" if target["partial"] else ""
        p50, p99 = _fmt(s["latency_p50_ms"], "{:.1f}"), _fmt(s["latency_p99_ms"], "{:.1f}")
        lines.append(
            f"{name}{tag}: {s['frames_received']}/{s['frames_sent']} frames out, "
            f"{s['frames_dropped']} dropped ({_fmt(s['drop_percent'], '{:.2f}')} %), latency "
            f"p50 {p50} ms, p99 {p99} ms, {_fmt(s['throughput_out_hz'], '{:.1f}')} Hz out"
        )
        if target.get("peak"):
            peak = target["peak"]
            lines.append(
                f"{name}: sustained peak rate {_fmt(peak['peak_rate_hz'], '{:.1f}')} Hz "
                f"(< {peak['drop_threshold_percent']:g} % drops over {peak['trial_s']:g} s trials)"
            )
        res = s.get("resources") or {}
        if res.get("samples"):
            lines.append(
                f"{name}: CPU {_fmt(res['cpu_mean_percent'], '{:.0f}')} % of a core, RSS "
                f"{res['rss_start_mb']:.1f} -> {res['rss_end_mb']:.1f} MB "
                f"({res['rss_growth_percent']:+.2f} %)"
            )
    if result.get("node_cost_ms"):
        cost = result["node_cost_ms"]
        lines.append(
            "detector's own cost (detector - relay): "
            + ", ".join(
                f"{k.removeprefix('latency_').removesuffix('_ms')} {v:+.1f} ms"
                for k, v in cost.items()
            )
        )
    return lines


def markdown(result: dict[str, Any], png_name: str) -> str:
    meta, bag = result["metadata"], result["bag"]
    machine = meta["machine"]
    targets = result["targets"]
    partial = " (PARTIAL)" if result["partial"] else ""
    out = [
        f"# Bag replay benchmark{partial}",
        "",
        f"- bag: `{bag['path']}` topic `{bag['topic']}` ({bag['msgtype']}), {bag['frames']} "
        f"frames {bag['size']} {bag['encoding']}, recorded at "
        f"{_fmt(bag['recorded_rate_hz'], '{:.1f}')} Hz, sha256 `{bag['sha256'][:16]}…`",
        f"- machine: {machine['cpu']} ({machine['cpu_count']} CPUs), GPU {machine['gpu']}, "
        f"load {machine['load_average_1m']}; {meta['os']}; rmw {meta['rmw']}",
        f"- time: {meta['time_utc']}; sobelnet_ros {meta['sobelnet_ros_commit']}",
        "",
        "| figure | " + " | ".join(targets) + " |",
        "|---|" + "---:|" * len(targets),
    ]
    summaries = [t.get("summary") or {} for t in targets.values()]
    for label, key, pattern in ROWS:
        out.append(
            f"| {label} | " + " | ".join(_fmt(s.get(key), pattern) for s in summaries) + " |"
        )
    for label, key, pattern in RESOURCE_ROWS:
        values = [(s.get("resources") or {}).get(key) for s in summaries]
        out.append(f"| {label} | " + " | ".join(_fmt(v, pattern) for v in values) + " |")
    out += ["", *[f"- {line}" for line in summary_lines(result)]]
    for name, target in targets.items():
        if target.get("error"):
            out.append(f"- **{name} error**: {target['error'].splitlines()[0]}")
        peak = target.get("peak")
        if peak:
            out += ["", f"Peak search ({name}):", "", PEAK_HEADER, "|---:|---:|---:|---:|:---:|"]
            for trial in peak["trials"]:
                cells = [
                    f"{trial['rate_requested_hz']:.1f}",
                    _fmt(trial["throughput_in_hz"], "{:.1f}"),
                    _fmt(trial["drop_percent"], "{:.2f}"),
                    _fmt(trial["latency_p99_ms"], "{:.1f}"),
                    "yes" if trial["passed"] else "no",
                ]
                out.append("| " + " | ".join(cells) + " |")
    out += ["", f"![latency]({png_name})", ""]
    return "\n".join(out)


def plot(result: dict[str, Any], path: Path) -> None:
    """Latency histogram, latency over time and (when sampled) RSS over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    targets = {n: t for n, t in result["targets"].items() if t.get("phases")}
    has_rss = any(
        t["phases"][-1].get("resources_series", {}).get("rss_mb") for t in targets.values()
    )
    fig, axes = plt.subplots(1, 3 if has_rss else 2, figsize=(15 if has_rss else 11, 4))
    for name, target in targets.items():
        series = target["phases"][-1]["series"]
        latency = np.asarray(series["latency_ms"])
        if len(latency):
            axes[0].hist(latency, bins=60, alpha=0.6, label=name)
            axes[1].plot(series["send_s"], latency, ".", markersize=2, label=name)
        rss = target["phases"][-1].get("resources_series", {})
        if has_rss and rss.get("rss_mb"):
            axes[2].plot(rss["time_s"], rss["rss_mb"], label=name)
    axes[0].set(xlabel="latency (ms)", ylabel="frames", title="latency histogram")
    axes[1].set(
        xlabel="time since first frame (s)", ylabel="latency (ms)", title="latency over time"
    )
    if has_rss:
        axes[2].set(xlabel="time (s)", ylabel="RSS (MB)", title="resident memory")
    for ax in axes:
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    fig.suptitle(f"bag replay: {Path(result['bag']['path']).name}"
                 + (" (partial)" if result["partial"] else ""))  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(result: dict[str, Any], out_dir: str | Path, stem: str = "bag_bench") -> dict:
    """Write ``<stem>.json``, ``<stem>.md`` and ``<stem>.png``; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {kind: out_dir / f"{stem}.{kind}" for kind in ("json", "md", "png")}
    paths["json"].write_text(json.dumps(result, indent=1, default=str) + "\n")
    plot(result, paths["png"])
    paths["md"].write_text(markdown(result, paths["png"].name))
    return paths
