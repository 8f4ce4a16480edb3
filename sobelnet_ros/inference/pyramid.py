"""Image pyramid of the extractor: octave levels, keypoint budgets, merging.

One descriptor map sees a fixed neighbourhood, so a scene seen 2-3x closer
no longer matches it. Like ORB's and SIFT's scale spaces, the extractor runs
SobelNet and DesNet again on octaves (each half the size of the previous)
and merges the keypoints of all levels, best score first. Level sizes and
budgets depend only on the input size, so shapes stay fixed (CUDA graphs).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .types import BatchFeatures

MIN_LEVEL_SIDE = 64  # px; smaller octaves have too few descriptor cells to be worth it [ours]


def level_count(height: int, width: int, levels: int) -> int:
    """How many of ``levels`` octaves an ``height x width`` image has room for."""
    count = 1
    while count < levels and min(height, width) >> count >= MIN_LEVEL_SIDE:
        count += 1
    return count


def level_budgets(max_keypoints: int, levels: int, coarse_share: float) -> list[int]:
    """Keypoints per level: ``coarse_share`` of the budget split over the octaves.

    Levels whose share rounds to zero are left out, so the list may be shorter
    than ``levels``; the full-resolution level always gets the rest.
    """
    if levels <= 1:
        return [max_keypoints]
    per_octave = round(max_keypoints * coarse_share / (levels - 1))
    per_octave = min(per_octave, (max_keypoints - 1) // (levels - 1))  # full level keeps >= 1
    if per_octave < 1:
        return [max_keypoints]
    coarse = [per_octave] * (levels - 1)
    return [max_keypoints - sum(coarse), *coarse]


def build_pyramid(image: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """``image`` and ``levels - 1`` octaves, each a 2x2 box average of the one before.

    Shape: ``(B, 1, H, W)`` -> level ``l`` is ``(B, 1, H >> l, W >> l)``.
    """
    pyramid = [image]
    for _ in range(1, levels):
        pyramid.append(F.avg_pool2d(pyramid[-1], 2))
    return pyramid


def merge_levels(parts: list[BatchFeatures]) -> BatchFeatures:
    """One padded ``BatchFeatures`` from per-level ones (full resolution first), best first.

    Keypoints of octave ``l`` (``parts[l]``) move to input pixels: a level pixel covers
    ``2**l`` input pixels, so its centre ``x`` is ``2**l (x + 0.5) - 0.5``.
    Padding (score 0) sorts last and keeps zero keypoints.
    """
    if len(parts) == 1:
        return parts[0]
    keypoints, scores, descriptors = [], [], []
    for octave, part in enumerate(parts):
        size = part.keypoints.shape[1]
        valid = torch.arange(size, device=part.count.device) < part.count.unsqueeze(1)
        factor = float(2**octave)
        moved = (part.keypoints + 0.5) * factor - 0.5
        keypoints.append(moved * valid.unsqueeze(-1))
        scores.append(part.scores)
        descriptors.append(part.descriptors)
    all_scores = torch.cat(scores, dim=1)
    order = torch.sort(all_scores, dim=1, descending=True, stable=True).indices
    all_keypoints = torch.cat(keypoints, dim=1)
    all_descriptors = torch.cat(descriptors, dim=1)
    return BatchFeatures(
        all_keypoints.gather(1, order.unsqueeze(-1).expand(-1, -1, 2)),
        all_scores.gather(1, order),
        all_descriptors.gather(1, order.unsqueeze(-1).expand(-1, -1, all_descriptors.shape[-1])),
        sum(part.count for part in parts),
    )
