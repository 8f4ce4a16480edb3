"""Homography pairs for training, drawn deterministically from (seed, step, rank).

Each batch depends only on its seed, step and rank, never on what came
before, so a resumed run sees exactly the batches an uninterrupted run would.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .homography import (
    HomographyRanges,
    covisible_mask,
    crop_transform,
    random_homography,
    source_inside,
    warp,
)
from .images import synthetic_shapes
from .photometric import PhotometricRanges, photometric


@dataclass
class PairBatch:
    """A batch of pairs; tensors on the CPU until moved with ``to``.

    Shape:
        image_a, image_b: ``(B, 1, S, S)`` gray in [0, 1]
        mask_a, mask_b: ``(B, 1, S, S)`` bool, pixels seen in both views
        H: ``(B, 3, 3)`` float64, A pixels -> B pixels
    """

    image_a: torch.Tensor
    image_b: torch.Tensor
    mask_a: torch.Tensor
    mask_b: torch.Tensor
    H: torch.Tensor
    raw_a: list[np.ndarray] = field(default_factory=list)  # uint8 views, for handcrafted targets
    raw_b: list[np.ndarray] = field(default_factory=list)

    def to(self, device: torch.device) -> PairBatch:
        layout = torch.channels_last if device.type == "cpu" else torch.contiguous_format
        return PairBatch(
            *(
                t.to(device).contiguous(memory_format=layout)
                for t in (self.image_a, self.image_b, self.mask_a, self.mask_b)
            ),
            self.H.to(device),
            self.raw_a,
            self.raw_b,
        )


@dataclass(frozen=True)
class PairConfig:
    """How pairs are made [ours]."""

    size: int = 192  # side of each square view, px
    synthetic_fraction: float = 0.1  # share of pairs made from synthetic shapes
    homography: HomographyRanges = field(default_factory=HomographyRanges)
    photometric: PhotometricRanges = field(default_factory=PhotometricRanges)


class PairSampler:
    """Makes pairs of views from a list of gray source images.

    Args:
        images: uint8 gray source images (any sizes >= the view side / 2).
        config: pair options.
        seed: base seed; batches are a function of (seed, step, rank).
    """

    def __init__(self, images: list[np.ndarray], config: PairConfig, seed: int) -> None:
        if not images and config.synthetic_fraction <= 0:
            raise ValueError("PairSampler needs source images or a synthetic_fraction > 0")
        self.images = images
        self.config = config
        self.seed = seed

    def pair(self, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """One pair: (view A uint8, view B uint8, mask A, mask B, H A->B)."""
        c = self.config
        if not self.images or rng.random() < c.synthetic_fraction:
            source = synthetic_shapes(int(rng.integers(2**31)), size=max(2 * c.size, 320))
        else:
            source = self.images[int(rng.integers(len(self.images)))]
        to_a = crop_transform(rng, source.shape[:2], c.size, HomographyRanges.mild())
        H = random_homography(rng, c.size, c.homography)
        to_b = H @ to_a
        view_a, view_b = warp(source, to_a, c.size), warp(source, to_b, c.size)
        mask_a = covisible_mask(np.linalg.inv(H), c.size) & source_inside(
            to_a, source.shape[:2], c.size
        )
        mask_b = covisible_mask(H, c.size) & source_inside(to_b, source.shape[:2], c.size)
        return view_a, view_b, mask_a, mask_b, H

    def batch(self, step: int, batch_size: int, rank: int = 0) -> PairBatch:
        """The batch of ``step`` for process ``rank`` (deterministic)."""
        rng = np.random.default_rng([self.seed, step, rank])
        pairs = [self.pair(rng) for _ in range(batch_size)]
        photo = self.config.photometric
        image_a = np.stack([photometric(p[0], rng, photo) for p in pairs])
        image_b = np.stack([photometric(p[1], rng, photo) for p in pairs])

        def tensor(array: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(array)).unsqueeze(1)

        return PairBatch(
            tensor(image_a),
            tensor(image_b),
            tensor(np.stack([p[2] for p in pairs])),
            tensor(np.stack([p[3] for p in pairs])),
            torch.from_numpy(np.stack([p[4] for p in pairs])),
            [p[0] for p in pairs],
            [p[1] for p in pairs],
        )
