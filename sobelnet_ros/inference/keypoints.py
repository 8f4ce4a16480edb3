"""Score-map post-processing with fixed shapes: threshold, NMS, border, top-k.

Off the CPU nothing here uses ``nonzero`` or boolean indexing, so the whole
chain keeps static shapes (padded to ``max_keypoints`` plus a count) and can be
captured in a CUDA graph. On the CPU, OpenCV and numpy do the threshold, NMS
and top-k with the same results.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..models.cpu_arrays import numpy_ready


def suppress_weak(scores: torch.Tensor, score_ratio: float) -> torch.Tensor:
    """Zero scores below ``score_ratio`` times each image's maximum.

    Shape: ``(B, 1, H, W) -> (B, 1, H, W)``.
    """
    peak = scores.amax(dim=(-2, -1), keepdim=True)
    return scores * (scores >= peak * score_ratio)


def zero_border(scores: torch.Tensor, border: int) -> torch.Tensor:
    """Zero a band of ``border`` pixels around the map (a copy)."""
    if border <= 0:
        return scores
    out = torch.zeros_like(scores)
    out[..., border:-border, border:-border] = scores[..., border:-border, border:-border]
    return out


def max_pool_nms(scores: torch.Tensor, window: int) -> torch.Tensor:
    """Keep scores that are the maximum of their ``window x window`` neighbourhood.

    Shape: ``(B, 1, H, W) -> (B, 1, H, W)``; suppressed pixels are 0. Equal
    neighbours on a plateau all survive, as in SuperPoint's ``simple_nms``.
    """
    if window < 1 or window % 2 == 0:
        raise ValueError(f"nms_window must be a positive odd number, got {window}")
    if window == 1:
        return scores
    return scores * (scores == max_filter(scores, window))


def peaks(scores: torch.Tensor, score_ratio: float, border: int, window: int) -> torch.Tensor:
    """``max_pool_nms(zero_border(suppress_weak(scores, score_ratio), border), window)``.

    On the CPU (float32 maps, no autograd) OpenCV does all three, one sweep
    each: a threshold, the maximum filter and a comparison, with the same
    result bit for bit in 0.34 instead of 0.97 ms for a 640x480 map (one core).
    """
    if window < 1 or window % 2 == 0:
        raise ValueError(f"nms_window must be a positive odd number, got {window}")
    if numpy_ready(scores):
        return _peaks_opencv(scores, score_ratio, border, window)
    return max_pool_nms(zero_border(suppress_weak(scores, score_ratio), border), window)


@torch.compiler.disable  # OpenCV: a compiled graph runs this part as it is
def _peaks_opencv(scores: torch.Tensor, score_ratio: float, border: int, window: int):
    height, width = scores.shape[-2:]
    maps = scores.reshape(-1, height, width).numpy()
    # As suppress_weak: the float32 product of the peak and the ratio, kept where >=.
    limits = scores.amax(dim=(-2, -1)).reshape(-1) * score_ratio
    out = torch.empty(scores.shape)  # every pixel written below
    kernel = np.ones((window, window), np.uint8)
    outputs = out.view(-1, height, width).numpy()
    for score_map, limit, kept in zip(maps, limits.numpy(), outputs, strict=True):
        # THRESH_TOZERO keeps values > its threshold: the float32 just below the limit.
        below = float(np.nextafter(limit, np.float32(-np.inf)))
        strong = cv2.threshold(score_map, below, 0.0, cv2.THRESH_TOZERO)[1]
        if border > 0:
            _zero_band(strong, border)
        if window > 1:
            np.multiply(strong, strong == cv2.dilate(strong, kernel), out=kept)
        else:
            kept[...] = strong
    return out


def _zero_band(score_map: np.ndarray, border: int) -> None:
    score_map[:border] = 0
    score_map[-border:] = 0
    score_map[:, :border] = 0
    score_map[:, -border:] = 0


def max_filter(scores: torch.Tensor, window: int) -> torch.Tensor:
    """Maximum over each ``window x window`` neighbourhood, same size.

    On the GPU this is one ``max_pool2d``. On the CPU ``max_pool2d`` with
    stride 1 is ~10x slower than OpenCV's ``dilate`` (float32 maps) or the
    separable form used otherwise: a running maximum over shifted views,
    first along x then along y. The scores are non-negative, so zero padding
    equals -inf padding. A maximum is exact: all three agree bit for bit.
    """
    if scores.device.type != "cpu":
        return F.max_pool2d(scores, kernel_size=window, stride=1, padding=window // 2)
    if numpy_ready(scores):
        return _max_filter_opencv(scores, window)
    return _max_filter_shifted(scores, window)


@torch.compiler.disable  # OpenCV: a compiled graph runs this part as it is
def _max_filter_opencv(scores: torch.Tensor, window: int) -> torch.Tensor:
    # One SIMD sweep per direction; ~5x faster than the shifted maxima below.
    height, width = scores.shape[-2:]
    out = torch.empty(scores.shape)
    kernel = np.ones((window, window), np.uint8)
    maps = scores.reshape(-1, height, width).numpy()
    for score_map, maxima in zip(maps, out.view(-1, height, width).numpy(), strict=True):
        cv2.dilate(np.ascontiguousarray(score_map), kernel, dst=maxima)
    return out


def _max_filter_shifted(scores: torch.Tensor, window: int) -> torch.Tensor:
    radius = window // 2
    height, width = scores.shape[-2:]
    padded = F.pad(scores, (radius, radius, 0, 0))
    rows = padded[..., :, 0:width]
    for i in range(1, window):
        rows = torch.maximum(rows, padded[..., :, i : i + width])
    padded = F.pad(rows, (0, 0, radius, radius))
    out = padded[..., 0:height, :]
    for i in range(1, window):
        out = torch.maximum(out, padded[..., i : i + height, :])
    return out


def top_k(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The ``k`` best positive scores of each map, padded.

    Returns:
        keypoints ``(B, k, 2)`` float x, y of the pixel centres (0 where padded),
        values ``(B, k)`` descending (0 where padded), count ``(B,)`` int64 of
        real keypoints.
    """
    if numpy_ready(scores):
        return _top_k_numpy(scores, k)
    batch, _, height, width = scores.shape
    flat = scores.reshape(batch, height * width)
    k_avail = min(k, height * width)
    values, index = flat.topk(k_avail, dim=1, sorted=True)
    if k_avail < k:
        values = F.pad(values, (0, k - k_avail))
        index = F.pad(index, (0, k - k_avail))
    valid = values > 0
    values = values * valid
    x = (index % width).to(scores.dtype)
    y = torch.div(index, width, rounding_mode="floor").to(scores.dtype)
    keypoints = torch.stack([x, y], dim=-1) * valid.unsqueeze(-1)
    return keypoints, values, valid.sum(dim=1)


@torch.compiler.disable  # numpy: a compiled graph runs this part as it is
def _top_k_numpy(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    # After NMS few scores are positive (about a thousand of a 640x480 map's
    # 307 200), and only those can be kept: sorting them alone takes a quarter
    # of torch.topk's pass over the whole map (0.8 ms on one core). Equal
    # scores come in raster order (torch.topk leaves their order open).
    batch, _, height, width = scores.shape
    keypoints = np.zeros((batch, k, 2), np.float32)
    values = np.zeros((batch, k), np.float32)
    count = np.zeros(batch, np.int64)
    for b, row in enumerate(scores.reshape(batch, height * width).numpy()):
        index = np.flatnonzero(row > 0)
        if len(index) > k:  # many peaks (training targets): those >= the k-th best
            kth = np.partition(row[index], len(index) - k)[len(index) - k]
            index = index[row[index] >= kth]
        chosen = index[np.argsort(-row[index], kind="stable")[:k]]
        found = len(chosen)
        values[b, :found] = row[chosen]
        keypoints[b, :found, 0] = chosen % width
        keypoints[b, :found, 1] = chosen // width
        count[b] = found
    return torch.from_numpy(keypoints), torch.from_numpy(values), torch.from_numpy(count)


def refine_subpixel(scores: torch.Tensor, keypoints: torch.Tensor) -> torch.Tensor:
    """Peak of the quadratic that fits the 3x3 window around each keypoint.

    One Newton step ``-H^-1 g`` with the gradient ``g`` and Hessian ``H`` of
    the score map from central differences (as SIFT refines its extrema).
    Where the window is not a proper maximum (``H`` not negative definite) the
    keypoint stays on its pixel. A soft-argmax of the raw scores would barely
    move: a peak of 0.9 between 0.8 and 0.9 lies half a pixel off, not 0.04.

    Shape: scores ``(B, 1, H, W)``, keypoints ``(B, K, 2)`` integer pixel
    positions -> ``(B, K, 2)`` refined, each within +-0.5 px of its pixel.
    """
    if numpy_ready(scores):
        return _refine_numpy(scores, keypoints)
    batch, _, _height, width = scores.shape
    padded = F.pad(scores, (1, 1, 1, 1), mode="replicate").reshape(batch, -1)
    x = keypoints[..., 0].long() + 1
    y = keypoints[..., 1].long() + 1

    # Offsets are Python numbers, not tensors: no host-to-device copy, so this
    # can be captured in a CUDA graph. Each neighbour is gathered once.
    s = {
        (dx, dy): padded.gather(1, (y + dy) * (width + 2) + (x + dx))
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
    }
    gx = (s[1, 0] - s[-1, 0]) / 2
    gy = (s[0, 1] - s[0, -1]) / 2
    hxx = s[1, 0] + s[-1, 0] - 2 * s[0, 0]
    hyy = s[0, 1] + s[0, -1] - 2 * s[0, 0]
    hxy = (s[1, 1] - s[1, -1] - s[-1, 1] + s[-1, -1]) / 4
    det = hxx * hyy - hxy * hxy
    is_peak = (det > 1e-12) & (hxx < 0)
    safe_det = torch.where(is_peak, det, torch.ones_like(det))
    shift_x = torch.where(is_peak, (hxy * gy - hyy * gx) / safe_det, torch.zeros_like(det))
    shift_y = torch.where(is_peak, (hxy * gx - hxx * gy) / safe_det, torch.zeros_like(det))
    return keypoints + torch.stack([shift_x, shift_y], dim=-1).clamp(-0.5, 0.5)


@torch.compiler.disable  # numpy: a compiled graph runs this part as it is
def _refine_numpy(scores: torch.Tensor, keypoints: torch.Tensor) -> torch.Tensor:
    # The same float32 operations in the same order as above, bit for bit, on
    # arrays of K values: 0.1 instead of 0.45 ms for 1024 keypoints (one core),
    # where the ~40 small torch operators cost more than their arithmetic.
    # Clipped indices read the edge as the replicated padding does.
    height, width = scores.shape[-2:]
    maps = scores.reshape(-1, height, width).numpy()
    points = keypoints.detach().numpy()
    refined = np.empty(points.shape, np.float32)
    for score_map, where, out in zip(maps, points, refined, strict=True):
        x, y = where[:, 0].astype(np.int64), where[:, 1].astype(np.int64)
        rows = [np.clip(y + d, 0, height - 1) for d in (-1, 0, 1)]
        cols = [np.clip(x + d, 0, width - 1) for d in (-1, 0, 1)]
        s = {
            (dx, dy): score_map[rows[dy + 1], cols[dx + 1]]
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        }
        two, four = np.float32(2), np.float32(4)
        gx = (s[1, 0] - s[-1, 0]) / two
        gy = (s[0, 1] - s[0, -1]) / two
        hxx = s[1, 0] + s[-1, 0] - two * s[0, 0]
        hyy = s[0, 1] + s[0, -1] - two * s[0, 0]
        hxy = (s[1, 1] - s[1, -1] - s[-1, 1] + s[-1, -1]) / four
        det = hxx * hyy - hxy * hxy
        is_peak = (det > np.float32(1e-12)) & (hxx < 0)
        safe_det = np.where(is_peak, det, np.float32(1))
        shift_x = np.where(is_peak, (hxy * gy - hyy * gx) / safe_det, np.float32(0))
        shift_y = np.where(is_peak, (hxy * gx - hxx * gy) / safe_det, np.float32(0))
        np.add(where[:, 0], np.clip(shift_x, np.float32(-0.5), np.float32(0.5)), out=out[:, 0])
        np.add(where[:, 1], np.clip(shift_y, np.float32(-0.5), np.float32(0.5)), out=out[:, 1])
    return torch.from_numpy(refined)
