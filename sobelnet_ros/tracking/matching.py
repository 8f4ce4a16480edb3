"""Descriptor matching: mutual nearest neighbours with a distance and a ratio test (torch).

Works on the CPU and on CUDA alike; numpy inputs give numpy results.
"""

from __future__ import annotations

import numpy as np
import torch

ArrayLike = np.ndarray | torch.Tensor


def descriptor_distances(desc0: torch.Tensor, desc1: torch.Tensor) -> torch.Tensor:
    """Euclidean distances ``(N0, N1)`` between two sets of ``(N, D)`` float descriptors."""
    if desc0.ndim != 2 or desc1.ndim != 2 or desc0.shape[1] != desc1.shape[1]:
        raise ValueError(
            f"descriptors must be (N, D) with the same D, got {tuple(desc0.shape)} "
            f"and {tuple(desc1.shape)}"
        )
    desc0, desc1 = desc0.float(), desc1.float()
    squared = (
        desc0.square().sum(1, keepdim=True)
        + desc1.square().sum(1)[None, :]
        - 2.0 * desc0 @ desc1.T
    )
    return squared.clamp_(min=0.0).sqrt_()


def match_distances(
    distances: torch.Tensor,
    *,
    max_distance: float | None = None,
    ratio: float | None = None,
    mutual: bool = True,
) -> torch.Tensor:
    """Matches from a distance matrix; ``inf`` entries are pairs that may not match.

    Args:
        distances: ``(N0, N1)`` float.
        max_distance: keep a match only if its distance is at most this.
        ratio: keep a match only if its distance is at most ``ratio`` times
            the second-nearest distance in its row (Lowe's test; a row with a
            single finite entry passes).
        mutual: keep ``(i, j)`` only if ``i`` is also ``j``'s nearest neighbour.

    Returns:
        ``(M, 2)`` int64 on the matrix's device, sorted by the first index.
    """
    n0, n1 = distances.shape
    empty = torch.zeros((0, 2), dtype=torch.int64, device=distances.device)
    if n0 == 0 or n1 == 0:
        return empty
    if ratio is not None and n1 >= 2:
        values, indices = torch.topk(distances, 2, dim=1, largest=False)
        best, nn01 = values[:, 0], indices[:, 0]
        keep = best <= ratio * values[:, 1]
    else:
        best, nn01 = distances.min(dim=1)
        keep = torch.ones_like(best, dtype=torch.bool)
    keep &= torch.isfinite(best)
    if max_distance is not None:
        keep &= best <= max_distance
    index0 = torch.arange(n0, device=distances.device)
    if mutual:
        keep &= distances.argmin(dim=0)[nn01] == index0
    return torch.stack([index0[keep], nn01[keep]], dim=1)


def match_similarities(
    similarity: torch.Tensor,
    *,
    max_distance: float | None = None,
    ratio: float | None = None,
    mutual: bool = True,
) -> torch.Tensor:
    """``match_distances`` for unit-norm descriptors, from cosine similarities.

    Skips the square root over the whole matrix: a similarity ``s`` is the
    distance ``sqrt(2 - 2 s)``, so the bounds are converted instead;
    ``-inf`` entries are pairs that may not match.
    """
    n0, n1 = similarity.shape
    if n0 == 0 or n1 == 0:
        return torch.zeros((0, 2), dtype=torch.int64, device=similarity.device)
    if ratio is not None and n1 >= 2:
        values, indices = torch.topk(similarity, 2, dim=1)
        best, nn01 = values[:, 0], indices[:, 0]
        keep = (2.0 - 2.0 * best) <= ratio**2 * (2.0 - 2.0 * values[:, 1])
    else:
        best, nn01 = similarity.max(dim=1)
        keep = torch.ones_like(best, dtype=torch.bool)
    keep &= torch.isfinite(best)
    if max_distance is not None:
        keep &= best >= 1.0 - 0.5 * max_distance**2
    index0 = torch.arange(n0, device=similarity.device)
    if mutual:
        keep &= similarity.argmax(dim=0)[nn01] == index0
    return torch.stack([index0[keep], nn01[keep]], dim=1)


def match(
    desc0: ArrayLike,
    desc1: ArrayLike,
    *,
    max_distance: float | None = None,
    ratio: float | None = None,
    mutual: bool = True,
    allowed: ArrayLike | None = None,
    device: str | torch.device | None = None,
) -> ArrayLike:
    """Match two sets of float descriptors by (mutual) nearest neighbours in L2.

    Args:
        desc0, desc1: ``(N0, D)`` and ``(N1, D)`` float descriptors (numpy or torch).
        max_distance: largest L2 distance of a match (unit-norm descriptors:
            ``sqrt(2 - 2 cos)``, so 0 to 2).
        ratio: Lowe's ratio test on the two nearest distances, e.g. 0.9.
        mutual: keep only mutual nearest neighbours.
        allowed: optional ``(N0, N1)`` bool mask of the pairs that may match
            (a spatial gate, for instance).
        device: where to compute (default: torch inputs' device, CPU for numpy).

    Returns:
        ``(M, 2)`` int64 index pairs ``(i, j)``: numpy for numpy inputs, a
        tensor on the computing device otherwise.

    Example:
        >>> pairs = match(features0.descriptors, features1.descriptors, ratio=0.9)
    """
    as_numpy = isinstance(desc0, np.ndarray) and isinstance(desc1, np.ndarray)
    target = torch.device(device) if device is not None else _device_of(desc0, desc1)
    a = torch.as_tensor(desc0, device=target)
    b = torch.as_tensor(desc1, device=target)
    distances = descriptor_distances(a, b)
    if allowed is not None:
        mask = torch.as_tensor(allowed, dtype=torch.bool, device=target)
        if mask.shape != distances.shape:
            raise ValueError(
                f"allowed mask {tuple(mask.shape)} does not fit {tuple(distances.shape)}"
            )
        distances = distances.masked_fill(~mask, float("inf"))
    pairs = match_distances(distances, max_distance=max_distance, ratio=ratio, mutual=mutual)
    return pairs.cpu().numpy() if as_numpy else pairs


def _device_of(*values: ArrayLike) -> torch.device:
    for value in values:
        if isinstance(value, torch.Tensor):
            return value.device
    return torch.device("cpu")
