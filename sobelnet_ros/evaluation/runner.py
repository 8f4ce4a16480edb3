"""The HPatches protocol: run methods over sequences and gather every number.

For each method and sequence the six images are extracted (timed), then
each pair (1, k) is matched by mutual nearest neighbours and scored: MMA at
each threshold, repeatability in the covisible region, and the RANSAC
homography's mean corner error. Figures are averaged over pairs per split
(illumination, viewpoint, other, overall), as D2-Net does.

``evaluate`` is what training calls for validation; ``sobelnet eval`` adds
datasets, a cache that makes an interrupted run resumable, and reports.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..inference import FeatureExtractor
from .cornerness import edge_like_share
from .datasets import NUM_IMAGES, Sequence
from .methods import Method, OursMethod, check_output
from .metrics import (
    homography_corner_error,
    match_accuracy,
    mutual_nearest_neighbours,
    repeatability,
)

SPLITS = ("illumination", "viewpoint", "other", "overall")


@dataclass(frozen=True)
class ProtocolConfig:
    """Thresholds of the protocol; defaults follow method.md."""

    thresholds_px: tuple[float, ...] = tuple(float(t) for t in range(1, 11))  # MMA [D2-Net]
    repeatability_px: float = 3.0  # [SuperPoint]
    homography_px: tuple[float, ...] = (1.0, 3.0, 5.0)  # corner error bounds [SuperPoint]
    ransac_px: float = 3.0  # cv2.findHomography reprojection threshold [ours]


class PartialEvaluation(Exception):
    """Raised when a run stops early; ``result`` holds what was finished, marked partial."""

    def __init__(self, result: dict[str, Any], reason: str) -> None:
        super().__init__(reason)
        self.result = result


def evaluate(
    sequences: list[Sequence],
    methods: Iterable[Method | FeatureExtractor],
    protocol: ProtocolConfig | None = None,
    progress: bool = True,
    cache_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Every figure of the protocol for each method.

    Args:
        sequences: from ``load_dataset`` or ``synthetic_sequences``.
        methods: ``Method`` objects; a ``FeatureExtractor`` is wrapped as ``ours``.
        protocol: thresholds; ``ProtocolConfig()`` when omitted.
        progress: show a tqdm bar.
        cache_dir: if given, each (method, sequence) result is stored there and
            reused on the next call, so a stopped run resumes where it was.

    Returns:
        ``{"complete": True, "protocol": ..., "methods": {name: {"metric",
        "summary": {split: figures}, "sequences": {name: figures}}}}``.

    Raises:
        PartialEvaluation: on an error or Ctrl-C, carrying the finished part
            (``"complete": False``); the original error is its ``__cause__``.
    """
    protocol = protocol or ProtocolConfig()
    methods = [OursMethod(m) if isinstance(m, FeatureExtractor) else m for m in methods]
    if not sequences:
        raise ValueError("no sequences to evaluate")
    result: dict[str, Any] = {"complete": False, "protocol": asdict(protocol), "methods": {}}
    total = len(methods) * len(sequences)
    with tqdm(total=total, desc="eval", unit="seq", disable=not progress) as bar:
        try:
            for method in methods:
                entry = {"metric": method.metric, "sequences": {}}
                if hasattr(method, "describe"):
                    entry["description"] = method.describe()
                result["methods"][method.name] = entry
                warmed = False
                for sequence in sequences:
                    bar.set_postfix_str(f"{method.name} {sequence.name}")
                    cached = _cache_path(cache_dir, method.name, sequence.name)
                    if cached is not None and cached.is_file():
                        record = json.loads(cached.read_text())
                    else:
                        if not warmed:  # first calls allocate; keep them out of the timing
                            method.extract(sequence.image(0))
                            warmed = True
                        record = evaluate_sequence(method, sequence, protocol)
                        _store(cached, record)
                    entry["sequences"][sequence.name] = record
                    bar.update()
                entry["summary"] = summarise(entry["sequences"], protocol)
        except (Exception, KeyboardInterrupt) as error:
            for entry in result["methods"].values():
                entry["summary"] = summarise(entry["sequences"], protocol)
            result["missing"] = _missing(result, methods, sequences)
            reason = "interrupted" if isinstance(error, KeyboardInterrupt) else str(error)
            result["stopped_by"] = reason
            raise PartialEvaluation(result, reason) from error
    result["complete"] = True
    return result


def evaluate_sequence(
    method: Method, sequence: Sequence, protocol: ProtocolConfig
) -> dict[str, Any]:
    """Figures of one method on one sequence: per image and per pair (1, k)."""
    features, times_ms, sizes, edge_like = [], [], [], []
    for index in range(NUM_IMAGES):
        image = sequence.image(index)
        start = time.perf_counter()
        keypoints, descriptors = method.extract(image)
        times_ms.append((time.perf_counter() - start) * 1e3)
        check_output(method, keypoints, descriptors, f"image {index + 1} of {sequence.name}")
        features.append((np.asarray(keypoints, np.float64), np.asarray(descriptors)))
        sizes.append((image.shape[1], image.shape[0]))
        edge_like.append(edge_like_share(image, features[-1][0]))
    pairs = []
    kpts0, desc0 = features[0]
    for index in range(1, NUM_IMAGES):
        kpts1, desc1 = features[index]
        H = sequence.H_0to(index)
        matches = mutual_nearest_neighbours(desc0, desc1, method.metric)
        error = homography_corner_error(kpts0, kpts1, matches, H, sizes[0], protocol.ransac_px)
        rep = repeatability(kpts0, kpts1, H, sizes[0], sizes[index], protocol.repeatability_px)
        pairs.append(
            {
                "k": index + 1,
                "matches": len(matches),
                "mma": match_accuracy(kpts0, kpts1, matches, H, protocol.thresholds_px).tolist(),
                "repeatability": rep,
                "corner_error_px": error if np.isfinite(error) else None,  # None: RANSAC failed
            }
        )
    return {
        "category": sequence.category,
        "keypoints": [len(k) for k, _ in features],
        "edge_like_share": edge_like,  # None for an image without keypoints
        "extract_ms": times_ms,
        "pairs": pairs,
    }


def summarise(records: dict[str, dict], protocol: ProtocolConfig) -> dict[str, dict]:
    """Figures per split, averaged over pairs (images for per-image figures)."""
    out = {}
    for split in SPLITS:
        chosen = [r for r in records.values() if split == "overall" or r["category"] == split]
        if chosen:
            out[split] = _figures(chosen, protocol)
    return out


def _figures(records: list[dict], protocol: ProtocolConfig) -> dict[str, Any]:
    pairs = [p for r in records for p in r["pairs"]]
    times = [t for r in records for t in r["extract_ms"]]
    shares = [v for r in records for v in r.get("edge_like_share", []) if v is not None]
    errors = np.array(
        [np.inf if p["corner_error_px"] is None else p["corner_error_px"] for p in pairs]
    )
    return {
        "sequences": len(records),
        "pairs": len(pairs),
        "mma": np.mean([p["mma"] for p in pairs], axis=0).tolist(),
        "repeatability": float(np.mean([p["repeatability"] for p in pairs])),
        "homography_accuracy": {
            f"{t:g}": float(np.mean(errors <= t)) for t in protocol.homography_px
        },
        "keypoints_per_image": float(np.mean([n for r in records for n in r["keypoints"]])),
        "edge_like_share": float(np.mean(shares)) if shares else None,
        "matches_per_pair": float(np.mean([p["matches"] for p in pairs])),
        "extract_ms_mean": float(np.mean(times)),
        "extract_ms_median": float(statistics.median(times)),
    }


def _cache_path(cache_dir: str | Path | None, method: str, sequence: str) -> Path | None:
    if cache_dir is None:
        return None
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in method)
    return Path(cache_dir) / safe / f"{sequence}.json"


def _store(path: Path | None, record: dict) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(record))
    temporary.replace(path)  # atomic: a stopped run never leaves half a record


def _missing(result: dict, methods: list[Method], sequences: list[Sequence]) -> list[str]:
    done = result["methods"]
    return [
        f"{m.name}/{s.name}"
        for m in methods
        for s in sequences
        if s.name not in done.get(m.name, {}).get("sequences", {})
    ]
