"""One flat float32 buffer per frame: what the CUDA engine copies to the host.

Layout for ``K`` keypoints and ``D``-dimensional descriptors (``D`` even):
keypoints ``K x 2``, scores ``K``, the count, then the descriptors in float16
(``K x D`` halves viewed as ``K x D / 2`` floats). One buffer means one
device-to-host copy per frame, and half descriptors halve its size; float16
keeps a unit descriptor's entries to within 2.5e-4.
"""

from __future__ import annotations

import numpy as np
import torch

from .types import BatchFeatures, Features


def packed_length(max_keypoints: int, descriptor_dim: int) -> int:
    """Floats in the packed buffer of one frame."""
    if descriptor_dim % 2:
        raise ValueError(f"packing needs an even descriptor size, got {descriptor_dim}")
    return max_keypoints * 3 + 1 + max_keypoints * descriptor_dim // 2


def pack_features(features: BatchFeatures) -> torch.Tensor:
    """The flat buffer of batch item 0 (on the features' device, no synchronisation)."""
    keypoints, scores, descriptors, count = features.tensors()
    halves = descriptors[0].to(torch.float16).contiguous().view(torch.float32)
    return torch.cat(
        [
            keypoints[0].float().reshape(-1),
            scores[0].float(),
            count[:1].float(),
            halves.reshape(-1),
        ]
    )


def unpack_features(
    buffer: np.ndarray, max_keypoints: int, descriptor_dim: int, image_size: tuple[int, int]
) -> Features:
    """``Features`` copied out of a packed host buffer (which may be reused afterwards)."""
    k = max_keypoints
    count = int(buffer[3 * k])
    keypoints = buffer[: 2 * k].reshape(k, 2)[:count].copy()
    scores = buffer[2 * k : 3 * k][:count].copy()
    halves = buffer[3 * k + 1 :].view(np.float16).reshape(k, descriptor_dim)
    return Features(keypoints, scores, halves[:count].astype(np.float32), image_size)
