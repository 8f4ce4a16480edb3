"""Reports of an evaluation: JSON with every number, a markdown table, an MMA plot.

Files are written to a temporary name and renamed, so a reader never sees
half a file; a partial result goes to ``*.partial.*`` names and says so.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .cornerness import EDGE_RATIO

SPLIT_TITLES = {"overall": "Overall", "illumination": "Illumination", "viewpoint": "Viewpoint"}
SPLIT_ORDER = ("overall", "illumination", "viewpoint", "other")
MMA_COLUMNS = (1, 3, 5, 10)


BLANK_TITLES = {"black": "black", "white": "white", "grey": "grey", "grey_noise": "grey+noise"}


def placement_table(rows: list[tuple[str, float | None, float, dict[str, int]]]) -> list[str]:
    """Markdown rows: method, edge-like share, keypoints per image, blank-frame counts.

    Each row is ``(method, edge_like_share, keypoints_per_image, blank_frame_counts)``.
    """
    header = ["method", "edge-like", "kpts/img", *(f"kpts on {t}" for t in BLANK_TITLES.values())]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, share, keypoints, blanks in rows:
        cells = [name, "-" if share is None else f"{share:.3f}", f"{keypoints:.0f}"]
        cells += [str(blanks.get(frame, "-")) for frame in BLANK_TITLES]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def placement_note(edge_ratio: float, blank_size: list[int]) -> str:
    return (
        "Edge-like: share of keypoints whose structure tensor (Sobel gradients, Gaussian "
        f"window sigma 2 px) has l2/l1 < {edge_ratio:g}, mean over images. Blank frames: "
        f"{blank_size[0]}x{blank_size[1]} black, white, grey (128) and grey + N(0, 1) noise."
    )


def write_reports(result: dict[str, Any], out: str | Path) -> dict[str, Path]:
    """``results.json``, ``report.md`` and ``mma.png`` in ``out`` (``*.partial.*`` if partial)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tag = "" if result.get("complete") else ".partial"
    paths = {
        "json": out / f"results{tag}.json",
        "markdown": out / f"report{tag}.md",
        "plot": out / f"mma{tag}.png",
    }
    write_json_and_markdown(result, paths, markdown_report)
    plot_mma(result, paths["plot"])
    return paths


def write_json_and_markdown(
    result: dict[str, Any], paths: dict[str, Path], markdown: Callable[[dict, str], str]
) -> None:
    """``paths["json"]`` and ``paths["markdown"]`` (which links ``paths["plot"]``), each
    replaced in one step so a reader never sees half a file."""
    _atomic_write(paths["json"], json.dumps(result, indent=1, allow_nan=False).encode())
    _atomic_write(paths["markdown"], markdown(result, paths["plot"].name).encode())


def save_figure(figure: Any, path: Path, dpi: int = 120) -> None:
    """Save a matplotlib figure as PNG in one step (temporary file, then rename) and close it."""
    from matplotlib import pyplot as plt

    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(handle)
    try:
        figure.savefig(temporary, dpi=dpi)
        _readable(temporary)
        os.replace(temporary, path)
    finally:
        plt.close(figure)
        Path(temporary).unlink(missing_ok=True)


def _atomic_write(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        _readable(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _readable(path: str) -> None:
    """Give a temporary file the mode a plain ``open`` would (mkstemp makes it 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def markdown_report(result: dict[str, Any], plot_name: str = "mma.png") -> str:
    """Tables per split (one row per method) and MMA@3 per sequence."""
    lines = [f"# Evaluation: {result.get('dataset', {}).get('name', 'sequences')}", ""]
    if not result.get("complete"):
        lines += [
            f"**PARTIAL RESULT** (stopped: {result.get('stopped_by', 'unknown')}); "
            f"missing: {', '.join(result.get('missing', [])) or 'none'}.",
            "",
        ]
    lines += _describe_run(result)
    for split in SPLIT_ORDER:
        rows = [
            (name, entry["summary"][split])
            for name, entry in result["methods"].items()
            if split in entry.get("summary", {})
        ]
        if rows:
            lines += [f"## {SPLIT_TITLES.get(split, split.capitalize())}", ""]
            lines += [*summary_table(rows, result["protocol"]), ""]
    lines += _placement(result)
    lines += ["## MMA@3 px per sequence", "", *_sequence_table(result), ""]
    lines += [f"![MMA vs threshold]({plot_name})", ""]
    return "\n".join(lines)


def _placement(result: dict[str, Any]) -> list[str]:
    """Edge-like share over all images and blank-frame counts, where the run has them."""
    rows = [
        (
            name,
            entry["summary"]["overall"].get("edge_like_share"),
            entry["summary"]["overall"]["keypoints_per_image"],
            entry.get("blank_frames", {}),
        )
        for name, entry in result["methods"].items()
        if "overall" in entry.get("summary", {})
    ]
    if not rows:
        return []
    note = placement_note(EDGE_RATIO, result.get("blank_frame_size", [640, 480]))
    return ["## Keypoint placement", "", note, "", *placement_table(rows), ""]


def _describe_run(result: dict[str, Any]) -> list[str]:
    protocol = result["protocol"]
    lines = [
        "Matches: mutual nearest neighbours (L2 for float, Hamming for binary descriptors). "
        "MMA: fraction of matches within t px under the true homography, mean over pairs. "
        f"Rep: repeatability at {protocol['repeatability_px']:g} px in the covisible region "
        "(SuperPoint's symmetric definition). H@t: fraction of pairs whose RANSAC "
        f"({protocol['ransac_px']:g} px) homography has a mean corner error <= t px. "
        "ms/img: median extraction time per image.",
        "",
    ]
    for key in ("dataset", "machine", "run_time_s", "max_keypoints"):
        if key in result:
            lines.append(f"- {key}: {_short(result[key])}")
    return [*lines, ""]


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(
            f"{k} {_short(v)}" for k, v in value.items() if k not in ("sequences", "categories")
        )
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def summary_table(rows: list[tuple[str, dict]], protocol: dict[str, Any]) -> list[str]:
    """Markdown rows: MMA at 1/3/5/10 px, Rep, H@t, counts and time."""
    thresholds = list(protocol["thresholds_px"])
    h_keys = [f"{t:g}" for t in protocol["homography_px"]]
    header = (
        ["method", "seq", "pairs"]
        + [f"MMA@{t}" for t in MMA_COLUMNS if float(t) in thresholds]
        + ["Rep", *(f"H@{k}" for k in h_keys), "kpts/img", "matches/pair", "ms/img"]
    )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, figures in rows:
        mma = [
            figures["mma"][thresholds.index(float(t))]
            for t in MMA_COLUMNS
            if float(t) in thresholds
        ]
        cells = [name, str(figures["sequences"]), str(figures["pairs"])]
        cells += [f"{v:.3f}" for v in mma]
        cells.append(f"{figures['repeatability']:.3f}")
        cells += [f"{figures['homography_accuracy'][k]:.3f}" for k in h_keys]
        cells += [
            f"{figures['keypoints_per_image']:.0f}",
            f"{figures['matches_per_pair']:.0f}",
            f"{figures['extract_ms_median']:.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _sequence_table(result: dict[str, Any]) -> list[str]:
    methods = list(result["methods"])
    thresholds = list(result["protocol"]["thresholds_px"])
    index = thresholds.index(3.0) if 3.0 in thresholds else 0
    names: list[str] = []
    for entry in result["methods"].values():
        names += [n for n in entry["sequences"] if n not in names]
    lines = ["| sequence | " + " | ".join(methods) + " |", "|" + "---|" * (len(methods) + 1)]
    for name in names:
        cells = []
        for method in methods:
            record = result["methods"][method]["sequences"].get(name)
            if record is None:
                cells.append("-")
            else:
                cells.append(
                    f"{sum(p['mma'][index] for p in record['pairs']) / len(record['pairs']):.3f}"
                )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def plot_mma(result: dict[str, Any], path: Path) -> None:
    """MMA vs threshold per method, one panel per split present (PNG via Agg)."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed; safe on servers and in tests
    from matplotlib import pyplot as plt

    splits = [
        s
        for s in ("overall", "illumination", "viewpoint")
        if any(s in e.get("summary", {}) for e in result["methods"].values())
    ]
    thresholds = result["protocol"]["thresholds_px"]
    figure, axes = plt.subplots(1, max(1, len(splits)), figsize=(4.5 * max(1, len(splits)), 4))
    axes = [axes] if not hasattr(axes, "__len__") else list(axes)
    for axis, split in zip(axes, splits, strict=False):
        for name, entry in result["methods"].items():
            figures = entry.get("summary", {}).get(split)
            if figures:
                axis.plot(thresholds, figures["mma"], marker="o", markersize=3, label=name)
        axis.set(title=SPLIT_TITLES[split], xlabel="threshold [px]", ylim=(0, 1))
        axis.set_xlim(min(thresholds), max(thresholds))
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("MMA")
    axes[0].legend(loc="lower right")
    if not result.get("complete"):
        figure.suptitle("PARTIAL RESULT", color="red")
    figure.tight_layout()
    save_figure(figure, path, dpi=120)
