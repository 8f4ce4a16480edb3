"""Extractor options and results."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import torch

MAX_KEYPOINTS_LIMIT = 16384
HALF_DTYPES = ("float16", "bfloat16")


@dataclass(frozen=True)
class ExtractorConfig:
    """Options of the FeatureExtractor; defaults follow the method spec."""

    max_keypoints: int = 1024  # keypoints kept per image, best first [ours]
    score_ratio: float = 0.3  # scores below ratio * max are zeroed [paper, value ours: README]
    nms_window: int = 3  # px, odd side of the max-pool NMS window [ours]
    border: int = 8  # px removed at each image edge [ours]
    subpixel: bool = True  # quadratic fit of the 3x3 window around each peak [ours]
    pyramid_levels: int = 2  # 1: the image only; 2+: also its octaves 1/2, 1/4... [ours]
    coarse_share: float = 0.25  # share of max_keypoints given to the octaves [ours]
    level_mix: float = 0.0  # weight of the neighbouring levels' descriptors at a keypoint [ours]
    min_gradient: float = 1.0  # grey levels/px, RMS gradient a keypoint needs; 0: off [ours]
    min_corner_ratio: float = 0.045  # l2/l1 of the structure tensor it needs; 0: off [ours]
    full_corner_ratio: float = 0.2  # l2/l1 from which it keeps its whole score; 0: off [ours]
    device: str = "cpu"  # "cpu", "cuda", "cuda:N" or "auto"
    half: bool = False  # half-precision networks on CUDA (ignored on the CPU)
    half_dtype: str = "float16"  # the half precision on CUDA: "float16" or "bfloat16"
    channels_last: bool = False  # NHWC convolutions on CUDA (always on the CPU, 2-3x faster)
    cpu_bf16: bool | None = None  # bf16 networks on the CPU; None: where it computes bf16 natively
    cpu_chains: bool = True  # on the CPU with 2+ threads, detection and description side by side

    def __post_init__(self) -> None:
        check_options(self)

    def with_options(self, **options: Any) -> ExtractorConfig:
        """A copy with ``options`` changed; unknown names raise ``ValueError``."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"unknown extractor options {unknown}; known: {sorted(known)}")
        return replace(self, **options)


def check_options(config: ExtractorConfig) -> None:
    """Raise ``ValueError`` naming the first option out of range."""
    if (
        not isinstance(config.max_keypoints, int)
        or not 1 <= config.max_keypoints <= MAX_KEYPOINTS_LIMIT
    ):
        raise ValueError(
            f"max_keypoints must be an int in [1, {MAX_KEYPOINTS_LIMIT}], "
            f"got {config.max_keypoints!r}"
        )
    if not 0.0 <= float(config.score_ratio) < 1.0:
        raise ValueError(f"score_ratio must be in [0, 1), got {config.score_ratio!r}")
    if (
        not isinstance(config.nms_window, int)
        or config.nms_window < 1
        or config.nms_window % 2 == 0
        or config.nms_window > 31
    ):
        raise ValueError(f"nms_window must be an odd int in [1, 31], got {config.nms_window!r}")
    if not isinstance(config.border, int) or not 0 <= config.border <= 256:
        raise ValueError(f"border must be an int in [0, 256], got {config.border!r}")
    if not isinstance(config.pyramid_levels, int) or not 1 <= config.pyramid_levels <= 4:
        raise ValueError(f"pyramid_levels must be an int in [1, 4], got {config.pyramid_levels!r}")
    if config.half_dtype not in HALF_DTYPES:
        raise ValueError(f"half_dtype must be one of {HALF_DTYPES}, got {config.half_dtype!r}")
    if not 0.0 <= float(config.min_gradient) <= 255.0:
        raise ValueError(f"min_gradient must be in [0, 255], got {config.min_gradient!r}")
    if not 0.0 <= float(config.min_corner_ratio) <= 1.0:
        raise ValueError(f"min_corner_ratio must be in [0, 1], got {config.min_corner_ratio!r}")
    if not 0.0 <= float(config.full_corner_ratio) <= 1.0:
        raise ValueError(f"full_corner_ratio must be in [0, 1], got {config.full_corner_ratio!r}")
    if not 0.0 <= float(config.coarse_share) <= 0.9:
        raise ValueError(f"coarse_share must be in [0, 0.9], got {config.coarse_share!r}")
    if not 0.0 <= float(config.level_mix) <= 4.0:
        raise ValueError(f"level_mix must be in [0, 4], got {config.level_mix!r}")


@dataclass
class Features:
    """Keypoints of one image, best first.

    Attributes:
        keypoints: ``(N, 2)`` float32 x, y in pixels; (0, 0) is the centre of
            the top-left pixel (OpenCV convention).
        scores: ``(N,)`` float32, descending.
        descriptors: ``(N, D)`` float32, unit L2 norm.
        image_size: (width, height) of the input image.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    descriptors: np.ndarray
    image_size: tuple[int, int]

    def __len__(self) -> int:
        return len(self.scores)


@dataclass
class BatchFeatures:
    """Fixed-shape features on the device, padded to ``max_keypoints``.

    Shape: keypoints ``(B, K, 2)``, scores ``(B, K)``, descriptors
    ``(B, K, D)``, count ``(B,)``; entries past ``count`` are padding.
    """

    keypoints: torch.Tensor
    scores: torch.Tensor
    descriptors: torch.Tensor
    count: torch.Tensor

    def tensors(self) -> tuple[torch.Tensor, ...]:
        """keypoints, scores, descriptors, count: the constructor's order."""
        return (self.keypoints, self.scores, self.descriptors, self.count)

    def to(self, device: torch.device | str, non_blocking: bool = False) -> BatchFeatures:
        return BatchFeatures(*(t.to(device, non_blocking=non_blocking) for t in self.tensors()))

    def unpad(self, index: int, image_size: tuple[int, int]) -> Features:
        """Host ``Features`` of batch item ``index`` (tensors must be on the CPU)."""
        n = int(self.count[index])
        return Features(
            keypoints=self.keypoints[index, :n].float().numpy(),
            scores=self.scores[index, :n].float().numpy(),
            descriptors=self.descriptors[index, :n].float().numpy(),
            image_size=image_size,
        )
