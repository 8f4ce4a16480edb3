"""The first matching pass: candidate detections of each track, best by descriptor.

With a motion prior, the candidates of a track are the detections inside its
gate, found by position (``spatial.pairs_within``) and compared one pair at a
time, so the cost follows the number of pairs in the gates, not tracks x
detections. Without one (the first frame, or when the prior failed), every
track is compared with every detection in one matrix product and its
``top_k`` most similar detections are the candidates.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from ..inference.cpu_tuning import cpu_has_native_bf16
from .spatial import pairs_within


def pair_similarity(
    templates: tuple[torch.Tensor, ...],
    descriptors: torch.Tensor,
    rows: np.ndarray,
    cols: np.ndarray,
    rows_sorted: bool = False,
) -> np.ndarray:
    """Cosine similarity of track ``rows`` to detections ``cols``, the best of the
    track's templates (``(T, D)`` each: its last, and first, descriptor);
    ``rows_sorted``: the pairs come grouped by ascending row already.

    On the CPU the pairs are the pattern of a sparse CSR matrix whose entries
    torch's sampled matrix product computes directly from the descriptors:
    2-3x faster than gathering a row per pair and taking their dot products.
    """
    if descriptors.device.type == "cpu":
        return _sampled_similarity(templates, descriptors, rows, cols, rows_sorted)
    device = descriptors.device
    index = torch.as_tensor(rows, device=device)
    chosen = descriptors[torch.as_tensor(cols, device=device)]
    values = torch.einsum("pd,pd->p", templates[0][index], chosen)
    for template in templates[1:]:
        values = torch.maximum(values, torch.einsum("pd,pd->p", template[index], chosen))
    return values.float().cpu().numpy()


def _sampled_similarity(
    templates: tuple[torch.Tensor, ...],
    descriptors: torch.Tensor,
    rows: np.ndarray,
    cols: np.ndarray,
    rows_sorted: bool = False,
) -> np.ndarray:
    """``pair_similarity`` on the CPU: ``template @ descriptors.T`` at the pairs only."""
    if len(rows) == 0:
        return np.zeros(0, np.float32)
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    order = None
    if not rows_sorted and (rows[1:] < rows[:-1]).any():  # CSR wants the pairs grouped by row
        order = np.argsort(rows, kind="stable")
        rows, cols = rows[order], cols[order]
    tracks, count = len(templates[0]), len(descriptors)
    starts = torch.from_numpy(np.searchsorted(rows, np.arange(tracks + 1)))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta", UserWarning)
        pattern = torch.sparse_csr_tensor(
            starts,
            torch.from_numpy(cols),
            torch.zeros(len(rows), dtype=descriptors.dtype),
            (tracks, count),
            check_invariants=False,
        )
    columns = descriptors.T
    values = torch.sparse.sampled_addmm(pattern, templates[0], columns, beta=0.0).values()
    for template in templates[1:]:
        again = torch.sparse.sampled_addmm(pattern, template, columns, beta=0.0).values()
        values = torch.maximum(values, again)
    values = values.float().numpy()
    if order is None:
        return values
    unsorted = np.empty_like(values)
    unsorted[order] = values
    return unsorted


def gate_matches(
    templates: tuple[torch.Tensor, ...],
    descriptors: torch.Tensor,
    keypoints: np.ndarray,
    predicted: np.ndarray,
    radius: np.ndarray,
    max_distance: float,
    ratio: float | None,
) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one matches ``(rows, cols)`` among the detections inside each track's gate.

    Args:
        templates: ``(T, D)`` descriptors per track (last, and first); the best counts.
        descriptors: ``(N, D)`` the frame's, unit norm; ``keypoints`` ``(N, 2)`` px.
        predicted: ``(T, 2)`` where each track is expected; ``radius`` ``(T,)`` px.
        max_distance, ratio: as for ``gated_matches``.
    """
    empty = np.zeros(0, dtype=np.int64)
    if len(predicted) == 0 or len(keypoints) == 0:
        return empty, empty
    rows, cols = pairs_within(predicted, keypoints, radius)
    if len(rows) == 0:
        return empty, empty
    similarity = pair_similarity(templates, descriptors, rows, cols, rows_sorted=True)
    first, best, second = best_two(rows, similarity)
    keep = best >= 1.0 - 0.5 * max_distance**2
    if ratio is not None:
        keep &= (2.0 - 2.0 * best) <= ratio**2 * (2.0 - 2.0 * second)
    first = first[keep]
    # one pair per track already: only the columns are left to share out
    chosen = first[_one_per_column(cols[first], np.argsort(-best[keep], kind="stable"))]
    return rows[chosen], cols[chosen]


def best_two(
    rows: np.ndarray, similarity: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per run of equal ``rows`` (ascending): the index of its most similar pair (the
    first of equals), that similarity, and the next best (-inf for a lone pair).

    Reductions over the runs instead of a sort of every pair.
    """
    count = len(rows)
    change = np.empty(count, dtype=bool)
    change[:1] = True
    np.not_equal(rows[1:], rows[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    run = np.cumsum(change) - 1
    best = np.maximum.reduceat(similarity, starts)
    first = np.minimum.reduceat(np.where(similarity == best[run], np.arange(count), count), starts)
    others = similarity.copy()
    others[first] = -np.inf
    second = np.maximum.reduceat(others, starts)
    return first, best, second


def similarities(templates: torch.Tensor, descriptors: torch.Tensor) -> torch.Tensor:
    """``(T, N)`` cosine similarities of every track to every detection, to choose
    candidates by.

    In bf16 on CPUs that compute it natively (2-3x faster than float32 for 1024
    x 1024); ``gated_matches`` recomputes the chosen candidates' similarities
    in float32, so only which ``top_k`` are looked at can change, where two
    candidates are within bf16's rounding of each other.
    """
    if descriptors.device.type == "cpu" and cpu_has_native_bf16():
        return templates.bfloat16() @ descriptors.bfloat16().T
    return templates @ descriptors.T


def largest_per_row(similarity: torch.Tensor, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest entries of each row of ``(T, N)`` and their columns, largest
    first, as float32 and int64 numpy (``torch.topk``'s; the first column of equals).

    On the CPU, ``k`` row-wise arg-maxima in numpy, each found entry set to -inf
    for the next: for a few of 1024 columns 3-4x faster than ``torch.topk``.
    """
    if similarity.device.type != "cpu":
        values, indices = torch.topk(similarity, k, dim=1)
        return values.float().cpu().numpy(), indices.cpu().numpy()
    matrix = similarity.float()
    matrix = (matrix.clone() if matrix is similarity else matrix).numpy()
    rows = np.arange(len(matrix))
    values = np.empty((len(matrix), k), np.float32)
    indices = np.empty((len(matrix), k), np.int64)
    for rank in range(k):
        column = matrix.argmax(axis=1)
        indices[:, rank] = column
        values[:, rank] = matrix[rows, column]
        matrix[rows, column] = -np.inf
    return values, indices


def gated_matches(
    similarity: torch.Tensor,
    keypoints: np.ndarray,
    predicted: np.ndarray | None,
    radius: np.ndarray,
    top_k: int,
    max_distance: float,
    ratio: float | None,
    rescored: tuple[tuple[torch.Tensor, ...], torch.Tensor] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one matches ``(rows, cols)`` of tracks to detections.

    Args:
        similarity: ``(T, N)`` cosine similarity of unit-norm descriptors
            (``similarities``), to choose the candidates by.
        rescored: optional ``(templates, descriptors (N, D))``: the
            candidates' similarities are recomputed, for the ``top_k`` only,
            as the best of the ``(T, D)`` templates (a track's last, and first,
            descriptor).
        keypoints: ``(N, 2)`` detections, px.
        predicted: ``(T, 2)`` where each track is expected, or None for no gate.
        radius: ``(T,)`` px, the gate around ``predicted``.
        top_k: candidates per track.
        max_distance: largest descriptor distance (``sqrt(2 - 2 s)``) of a match.
        ratio: Lowe's ratio of the best to the second-best candidate in the
            gate (distances), or None.

    Returns:
        int64 rows and columns; a detection goes to the track most similar to it.
    """
    tracks, count = similarity.shape
    empty = np.zeros(0, dtype=np.int64)
    if tracks == 0 or count == 0:
        return empty, empty
    values, indices = largest_per_row(similarity, min(top_k, count))
    if rescored is not None:
        rows = np.repeat(np.arange(tracks), indices.shape[1])  # ascending: no check needed
        values = pair_similarity(*rescored, rows, indices.ravel(), rows_sorted=True)
        values = values.reshape(indices.shape)
    if predicted is not None:
        offsets = keypoints[indices] - predicted[:, None, :]
        outside = np.einsum("tkc,tkc->tk", offsets, offsets) > (radius**2)[:, None]
        values = np.where(outside, -np.inf, values)
    order = np.argsort(-values, axis=1, kind="stable")
    values = np.take_along_axis(values, order, axis=1)
    indices = np.take_along_axis(indices, order, axis=1)
    best, cols = values[:, 0], indices[:, 0]
    keep = best >= 1.0 - 0.5 * max_distance**2
    if ratio is not None and values.shape[1] > 1:
        keep &= (2.0 - 2.0 * best) <= ratio**2 * (2.0 - 2.0 * values[:, 1])
    rows = np.flatnonzero(keep)
    chosen = one_to_one(rows, cols[rows], best[rows])
    return rows[chosen].astype(np.int64), cols[rows][chosen].astype(np.int64)


def one_to_one(rows: np.ndarray, cols: np.ndarray, similarity: np.ndarray) -> np.ndarray:
    """Indices of candidate pairs keeping each row and column once, most similar first.

    Each row keeps its most similar pair; a column wanted by several rows
    goes to the most similar of them. Returned in the input order.
    """
    if len(rows) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(-similarity, kind="stable")
    _, first_row = np.unique(rows[order], return_index=True)
    return _one_per_column(cols, order[np.sort(first_row)])


def _one_per_column(cols: np.ndarray, order: np.ndarray) -> np.ndarray:
    """The first of ``order`` (indices, most similar first) for each column, ascending."""
    _, first_col = np.unique(cols[order], return_index=True)
    return np.sort(order[first_col]).astype(np.int64, copy=False)
