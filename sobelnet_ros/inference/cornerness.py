"""Corner test of the keypoints: is there a corner, or only an edge or nothing?

SobelNet's score map has no absolute scale: on a flat frame it is a constant
(about 0.14, the network's biases), and ``score_ratio`` x maximum cannot tell
that from a textured frame. Its peaks also sit on straight edges, where a
keypoint can slide along the line. Both are read from the gray image's
structure tensor ``J`` (Sobel gradients in grey levels per pixel, products
averaged over a Gaussian window) with eigenvalues ``l1 >= l2``:

- ``sqrt(l1)`` is the RMS gradient across the strongest direction: near zero
  on a flat or noise-only patch, whatever the network says;
- ``l2 / l1`` is near zero on a straight edge and near one on a corner or blob.

The tensor is computed on the 2x2 average of the image (window sigma 1 there,
2 px of the input) and each half-resolution cell's verdict covers its four
pixels: with OpenCV on one core of the development machine the tensor of a
640x480 frame takes 2 ms at full resolution, 0.3 ms at half. On the CPU
OpenCV's filters compute it, elsewhere the same filters in torch (nothing is
read back to the host, so a CUDA graph can capture it); the two agree to
float rounding. The weights are applied after NMS, before top-k, so the budget
fills with the best peaks that pass.

Between the hard reject and a clear corner the test is soft: a peak whose
``l2 / l1`` is below ``full_corner_ratio`` keeps ``sqrt(ratio /
full_corner_ratio)`` of its score. Near-straight edges then rank after
corners of the same response and fill the budget only where corners are few;
a hard reject at such ratios would drop them even there.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

WINDOW_SIGMA = 1.0  # half-resolution px (2 input px), Gaussian window of the tensor [ours]
WINDOW_RADIUS = 3  # half-resolution px, window truncated at 3 sigma [ours]
GREY_LEVELS = 255.0  # the image is in [0, 1]; thresholds are in 8-bit grey levels
SOBEL_GAIN = 8.0  # the 3x3 Sobel kernel's weights sum to 8 across a unit ramp
# One half-resolution pixel spans 2 input pixels: gradients per input pixel.
GRADIENT_SCALE = GREY_LEVELS / SOBEL_GAIN / 2
SOFT_POWER = 0.5  # score x (ratio / full_corner_ratio)^SOFT_POWER below it [ours, dev set]
TINY = 1e-12  # squared grey levels per px: l1 + l2 of a flat window, no division by 0


def corner_weight(
    image: torch.Tensor,
    min_gradient: float,
    min_corner_ratio: float,
    full_corner_ratio: float = 0.0,
) -> torch.Tensor:
    """The factor a keypoint's score is multiplied by: 0 where the image is flat or a
    straight edge, ``min(1, (l2 / l1) / full_corner_ratio) ** 0.5`` elsewhere.

    A pixel is rejected (0) when ``sqrt(l1) < min_gradient`` (grey levels per
    pixel) or ``l2 < min_corner_ratio * l1``. With ``full_corner_ratio`` 0 the
    others get 1 (``corner_mask``); otherwise a flat window (``l1 = 0``) gets 0
    too. A threshold of 0 switches its test off. Each 2x2 block of the image
    shares its half-resolution value.

    Shape: ``(B, 1, H, W)`` gray in [0, 1] -> ``(B, 1, H, W)`` float32 in [0, 1].
    """
    test = (min_gradient, min_corner_ratio, full_corner_ratio)
    if image.device.type == "cpu":
        return _weight_opencv(image, *test)
    return _weight_torch(image, *test)


def corner_mask(image: torch.Tensor, min_gradient: float, min_corner_ratio: float) -> torch.Tensor:
    """1 where a keypoint may sit, 0 where the image is flat or a straight edge:
    ``corner_weight`` without its soft part."""
    return corner_weight(image, min_gradient, min_corner_ratio, 0.0)


def _weight_torch(image: torch.Tensor, *test: float) -> torch.Tensor:
    weight = _weights(*_structure_torch(image).unbind(1), *test)
    return F.interpolate(weight.float().unsqueeze(1), size=image.shape[-2:], mode="nearest")


def _weights(xx, yy, xy, min_gradient: float, min_corner_ratio: float, full_corner_ratio: float):
    """The test on tensor entries (torch or numpy arrays alike): bool, or float
    weights when ``full_corner_ratio`` > 0.

    With trace ``t = l1 + l2`` and gap ``g = l1 - l2 = sqrt((xx - yy)^2 + 4 xy^2)``,
    ``l2 >= r l1`` reads ``t (1 - r) >= g (1 + r)``: no division, no special
    case where both are 0; ``l1 = (t + g) / 2`` and ``l2 / l1 = (t - g) / (t + g)``.
    In place where it can be: on the CPU the temporaries cost as much as the
    arithmetic.
    """
    trace = xx + yy
    gap = xx - yy
    gap *= gap
    cross = xy * xy
    cross *= 4
    gap += cross
    gap **= 0.5
    keep = trace >= 0  # all true (a tensor product is positive semi-definite)
    if min_corner_ratio > 0:
        keep &= trace * (1 - min_corner_ratio) >= gap * (1 + min_corner_ratio)
    weight = None
    if full_corner_ratio > 0:
        weight = trace - gap
        weight /= (trace + gap).clip(min=TINY) * full_corner_ratio
        weight = weight.clip(min=0.0, max=1.0)  # t - g may round below 0
        weight **= SOFT_POWER
    if min_gradient > 0:
        gap += trace
        keep &= gap >= 2 * min_gradient * min_gradient
    return keep if weight is None else weight * keep


def _structure_torch(image: torch.Tensor) -> torch.Tensor:
    """Smoothed (gx^2, gy^2, gx*gy) of the image's 2x2 average, in squared grey levels
    per input pixel: ``(B, 1, H, W)`` -> ``(B, 3, H // 2, W // 2)`` float32."""
    small = F.avg_pool2d(image.float(), 2)
    padded = F.pad(small, (1, 1, 1, 1), mode="replicate")
    smooth_y = padded[..., :-2, :] + 2 * padded[..., 1:-1, :] + padded[..., 2:, :]
    smooth_x = padded[..., :, :-2] + 2 * padded[..., :, 1:-1] + padded[..., :, 2:]
    gx = (smooth_y[..., :, 2:] - smooth_y[..., :, :-2]) * GRADIENT_SCALE
    gy = (smooth_x[..., 2:, :] - smooth_x[..., :-2, :]) * GRADIENT_SCALE
    products = torch.cat([gx * gx, gy * gy, gx * gy], dim=1)
    return _gaussian_blur(products)


def _gaussian_blur(maps: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian of ``WINDOW_SIGMA``, replicated border (as OpenCV's below)."""
    r = WINDOW_RADIUS
    x = torch.arange(2 * r + 1, device=maps.device, dtype=torch.float32) - r
    g = torch.exp(-0.5 * (x / WINDOW_SIGMA) ** 2)
    g = g / g.sum()
    channels = maps.shape[1]
    padded = F.pad(maps, (r, r, r, r), mode="replicate")
    rows = F.conv2d(padded, g.view(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels)
    return F.conv2d(rows, g.view(1, 1, -1, 1).expand(channels, 1, -1, 1), groups=channels)


def _structure_opencv(gray: np.ndarray) -> list[np.ndarray]:
    """``_structure_torch`` of one ``H x W`` float32 image with OpenCV: [xx, yy, xy]."""
    height, width = gray.shape
    gray = gray[: height // 2 * 2, : width // 2 * 2]
    small = cv2.resize(gray, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    gx = cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REPLICATE)
    gx *= GRADIENT_SCALE
    gy *= GRADIENT_SCALE
    size = (2 * WINDOW_RADIUS + 1,) * 2
    return [
        cv2.GaussianBlur(product, size, WINDOW_SIGMA, borderType=cv2.BORDER_REPLICATE)
        for product in (gx * gx, gy * gy, gx * gy)
    ]


@torch.compiler.disable  # numpy and OpenCV: a compiled step runs this part as it is
def _weight_opencv(image: torch.Tensor, *test: float) -> torch.Tensor:
    # OpenCV's SIMD filters take a quarter of the time of the same torch ops here.
    batch, _, height, width = image.shape
    grays = image.float().reshape(batch, height, width).numpy()
    weights = [_weight_of_one(gray, *test) for gray in grays]
    # One frame (the node's case) is returned without a copy.
    stacked = weights[0][None] if batch == 1 else np.stack(weights)
    return torch.from_numpy(stacked).unsqueeze(1)


def _weight_of_one(gray: np.ndarray, *test: float) -> np.ndarray:
    weight = _weights(*_structure_opencv(gray), *test)
    return _upsample(weight.astype(np.float32, copy=False), *gray.shape)


def _upsample(half: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour upsampling as ``F.interpolate`` does it, to ``height x width``."""
    if height % 2 or width % 2:
        return cv2.resize(half, (width, height), interpolation=cv2.INTER_NEAREST)
    # Exactly 2x: four strided copies take two thirds of OpenCV's nearest resize.
    blocks = np.empty((height // 2, 2, width // 2, 2), np.float32)
    blocks[:, 0, :, 0] = half
    blocks[:, 0, :, 1] = half
    blocks[:, 1] = blocks[:, 0]
    return blocks.reshape(height, width)
