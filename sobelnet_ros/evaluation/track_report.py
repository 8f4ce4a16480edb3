"""Reports of ``track-eval``: JSON with every number, a markdown table, a plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .report import save_figure, write_json_and_markdown


def write_track_reports(result: dict[str, Any], out: str | Path) -> dict[str, Path]:
    """``tracks.json``, ``tracks.md`` and ``tracks.png`` in ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out / "tracks.json",
        "markdown": out / "tracks.md",
        "plot": out / "tracks.png",
    }
    write_json_and_markdown(result, paths, track_markdown)
    plot_tracks(result, paths["plot"])
    return paths


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def track_markdown(result: dict[str, Any], plot_name: str = "tracks.png") -> str:
    """One table per sequence: a row per method."""
    lines = ["# Feature tracks", ""]
    lines += [
        "Track: an ID seen in >= 2 frames; length: frames it was seen in. tracked/frame: "
        "points per frame whose ID was seen before. epi@1 (true): share of track steps "
        "within 1 px of the epipolar line of the ground-truth relative pose. epi@1 (ref): "
        "the same for a fundamental matrix fitted by MAGSAC++ to the other methods' tracks "
        "between the same two frames - NOT ground truth, a consistency check only, biased "
        "against the method judged when the others' tracks are few or noisy; epi@1 (all): "
        "the same with a matrix fitted to every method's tracks together, biased towards "
        "the method with the most tracks. "
        "ms/frame: median time per frame (ours: extraction + tracking; split below).",
        "",
    ]
    for key in ("machine", "max_features", "command"):
        if key in result:
            lines.append(f"- {key}: {result[key]}")
    for sequence in result["sequences"]:
        lines += [
            "",
            f"## {sequence['sequence']} ({sequence['frames']} frames, "
            f"{sequence['image_size'][0]}x{sequence['image_size'][1]})",
            "",
        ]
        if not sequence["ground_truth"]:
            lines += ["No ground-truth poses given: the true epipolar share is not measured.", ""]
        header = [
            "method",
            "tracks",
            "mean",
            "median",
            ">=5",
            ">=10",
            "tracked/frame",
            "points/frame",
            "epi@1 (true)",
            "epi@1 (ref)",
            "epi@1 (all)",
            "ms/frame",
        ]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for name, figures in sequence["methods"].items():
            lengths = figures["lengths"]
            cells = [
                name,
                str(lengths["tracks"]),
                f"{lengths['mean']:.2f}",
                f"{lengths['median']:.1f}",
                f"{lengths['share_5']:.3f}",
                f"{lengths['share_10']:.3f}",
                f"{figures['tracked_per_frame']:.0f}",
                f"{figures['points_per_frame']:.0f}",
                _share(figures["true_epipolar_within_1px"]),
                _share(figures["reference_epipolar_within_1px"]),
                _share(figures.get("joint_reference_epipolar_within_1px")),
                f"{figures['ms_per_frame_median']:.1f}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
        ours = sequence["methods"].get("ours", {})
        if "track_ms_median" in ours:
            ratio = ours["track_ms_median"] / max(ours["extract_ms_median"], 1e-9)
            lines += [
                "",
                f"ours per frame (median): extraction {ours['extract_ms_median']:.1f} ms, "
                f"tracking {ours['track_ms_median']:.2f} ms ({100 * ratio:.1f} % of extraction).",
            ]
        if "track_cpu_ms_median" in ours:
            ratio = ours["track_cpu_ms_median"] / max(ours["extract_cpu_ms_median"], 1e-9)
            lines += [
                "",
                f"ours per frame, CPU time of the process (median): extraction "
                f"{ours['extract_cpu_ms_median']:.1f} ms, tracking "
                f"{ours['track_cpu_ms_median']:.2f} ms ({100 * ratio:.1f} % of extraction).",
            ]
    lines += ["", f"![track lengths]({plot_name})", ""]
    return "\n".join(lines)


def plot_tracks(result: dict[str, Any], path: Path) -> None:
    """Per sequence: share of tracks at least L frames long, and points tracked per frame."""

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    sequences = result["sequences"]
    figure, axes = plt.subplots(
        len(sequences), 2, figsize=(10, 3.6 * len(sequences)), squeeze=False
    )
    for row, sequence in zip(axes, sequences, strict=True):
        for name, figures in sequence["methods"].items():
            lengths = sorted(figures["length_values"])
            if lengths:
                bounds = range(2, max(lengths) + 1)
                row[0].plot(
                    bounds,
                    [sum(v >= b for v in lengths) / len(lengths) for b in bounds],
                    label=name,
                )
            row[1].plot(
                range(2, 2 + len(figures["tracked_per_frame_values"])),
                figures["tracked_per_frame_values"],
                label=name,
            )
        row[0].set(
            title=f"{sequence['sequence']}: tracks >= L frames",
            xlabel="L [frames]",
            ylabel="share of tracks",
            ylim=(0, 1),
        )
        row[1].set(title="points continuing a track", xlabel="frame", ylabel="points")
        for axis in row:
            axis.grid(alpha=0.3)
            axis.legend()
    figure.tight_layout()
    save_figure(figure, path, dpi=110)
