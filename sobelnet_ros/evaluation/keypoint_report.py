"""Report of ``keypoint_statistics``: JSON, markdown and a plot of the edge-like share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .report import _short, placement_note, placement_table, save_figure, write_json_and_markdown


def keypoint_markdown(result: dict[str, Any], plot_name: str = "edge_like.png") -> str:
    """The report of ``keypoint_statistics``: one table, then per image."""
    lines = [f"# Keypoint placement: {result.get('folder', {}).get('name', 'images')}", ""]
    lines += [placement_note(result["edge_ratio"], result["blank_frame_size"]), ""]
    for key in ("folder", "machine", "run_time_s", "max_keypoints"):
        if key in result:
            lines.append(f"- {key}: {_short(result[key])}")
    rows = [
        (
            name,
            entry["summary"]["edge_like_share"],
            entry["summary"]["keypoints_per_image"],
            entry["blank_frames"],
        )
        for name, entry in result["methods"].items()
    ]
    lines += ["", "## Summary", "", *placement_table(rows), ""]
    methods = list(result["methods"])
    lines += ["## Edge-like share per image", ""]
    lines += ["| image | " + " | ".join(methods) + " |", "|" + "---|" * (len(methods) + 1)]
    for image in result["images"]:
        cells = []
        for method in methods:
            share = result["methods"][method]["images"][image]["edge_like_share"]
            cells.append("-" if share is None else f"{share:.3f}")
        lines.append(f"| {image} | " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", f"![edge-like share]({plot_name})", ""])


def write_keypoint_reports(result: dict[str, Any], out: str | Path) -> dict[str, Path]:
    """``keypoint_stats.json``, ``keypoint_stats.md`` and ``edge_like.png`` in ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out / "keypoint_stats.json",
        "markdown": out / "keypoint_stats.md",
        "plot": out / "edge_like.png",
    }
    write_json_and_markdown(result, paths, keypoint_markdown)
    plot_edge_like(result, paths["plot"])
    return paths


def plot_edge_like(result: dict[str, Any], path: Path) -> None:
    """Edge-like share per image, one line per method (PNG via Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 3.5))
    for name, entry in result["methods"].items():
        shares = [entry["images"][i]["edge_like_share"] for i in result["images"]]
        axis.plot([float("nan") if s is None else s for s in shares], marker="o", label=name)
    axis.set(xlabel="image", ylabel="edge-like share", ylim=(0, 1))
    axis.grid(alpha=0.3)
    axis.legend(loc="upper right")
    figure.tight_layout()
    save_figure(figure, path, dpi=120)
