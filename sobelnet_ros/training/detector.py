"""Training SobelNet with the Gaussian loss, and its validation (repeatability)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..geometry import inside_image, warp_points
from ..inference.cornerness import corner_mask
from ..inference.keypoints import max_pool_nms, top_k, zero_border
from ..models import SobelNet, SobelNetConfig
from .losses import gaussian_loss
from .pairs import PairBatch
from .targets import corner_targets, gaussian_heatmap, peak_targets

TARGETS = ("corners", "peaks")


@dataclass(frozen=True)
class DetectorConfig:
    """Gaussian-loss options [ours]."""

    target: str = "corners"  # "corners" (repeatable Shi-Tomasi) or "peaks" (Key.Net-style)
    sigma: float = 1.5  # px, width of the target Gaussians
    positive_weight: float = 10.0  # weight of target pixels over background
    max_corners: int = 300  # handcrafted corners per view (corners target)
    match_px: float = 2.0  # agreement of corners across the pair (corners target)
    peaks: int = 200  # partner peaks per view (peaks target)
    val_keypoints: int = 200  # keypoints per view for validation repeatability
    # Peaks target: only peaks that pass the extractor's corner test are targets,
    # the rest (edges, flat areas) are background. 0 switches a threshold off.
    min_gradient: float = 0.0
    min_corner_ratio: float = 0.0

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"detector target must be one of {TARGETS}, got {self.target!r}")


class DetectorTask:
    """SobelNet trained on Gaussian heatmaps at keypoints that repeat across a pair."""

    name = "sobelnet"

    def __init__(self, config: DetectorConfig, model_config: SobelNetConfig | None = None) -> None:
        self.config = config
        self.model_config = model_config or SobelNetConfig()

    def model(self) -> nn.Module:
        return SobelNet(self.model_config)

    def loss(self, model: nn.Module, batch: PairBatch) -> tuple[torch.Tensor, dict[str, float]]:
        c = self.config
        n, size = batch.image_a.shape[0], batch.image_a.shape[-1]
        scores = model(torch.cat([batch.image_a, batch.image_b]))
        scores_a, scores_b = scores[:n], scores[n:]
        if c.target == "corners":
            points_a, points_b = corner_targets(
                batch.raw_a, batch.raw_b, batch.H, c.max_corners, c.match_px
            )
        else:
            H = batch.H
            allowed_a, allowed_b = self._allowed(batch)
            points_b = peak_targets(scores_a.detach(), H, c.peaks, allowed=allowed_a)
            points_a = peak_targets(
                scores_b.detach(), torch.linalg.inv(H), c.peaks, allowed=allowed_b
            )
        device = scores.device
        target_a = gaussian_heatmap(points_a, size, c.sigma, device)
        target_b = gaussian_heatmap(points_b, size, c.sigma, device)
        loss = 0.5 * (
            gaussian_loss(scores_a, target_a, batch.mask_a, c.positive_weight)
            + gaussian_loss(scores_b, target_b, batch.mask_b, c.positive_weight)
        )
        return loss, {"targets": float(np.mean([len(p) for p in points_a]))}

    def _allowed(self, batch: PairBatch) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Where each view's peaks may be targets: the corner test, or anywhere."""
        c = self.config
        if c.min_gradient <= 0 and c.min_corner_ratio <= 0:
            return None, None
        return tuple(
            corner_mask(image, c.min_gradient, c.min_corner_ratio)
            for image in (batch.image_a, batch.image_b)
        )

    @torch.no_grad()
    def validate(self, model: nn.Module, batches: list[PairBatch]) -> dict[str, float]:
        model.eval()
        values: dict[str, list[float]] = {"repeatability": [], "repeatability_1px": []}
        device = next(model.parameters()).device
        for batch in batches:
            batch = batch.to(device)
            size = batch.image_a.shape[-1]
            points_a = detect(model, batch.image_a, batch.mask_a, self.config.val_keypoints)
            points_b = detect(model, batch.image_b, batch.mask_b, self.config.val_keypoints)
            for a, b, h in zip(points_a, points_b, batch.H.cpu().numpy(), strict=True):
                values["repeatability"].append(repeatability(a, b, h, size))
                # 1 px: how precisely the peaks repeat, not only whether they do.
                values["repeatability_1px"].append(repeatability(a, b, h, size, px=1.0))
        return {name: float(np.mean(v)) for name, v in values.items()}


def detect(
    model: nn.Module,
    images: torch.Tensor,
    masks: torch.Tensor,
    count: int,
    border: int = 4,
    corner_test: tuple[float, float] = (0.0, 0.0),
):
    """Top ``count`` NMS keypoints per image inside its mask: list of ``(N, 2)`` arrays.

    ``corner_test`` is the extractor's ``(min_gradient, min_corner_ratio)``,
    applied after NMS as the extractor does; ``(0, 0)`` switches it off.
    """
    scores = model(images) * masks
    kept = max_pool_nms(zero_border(scores, border), 5)
    if any(threshold > 0 for threshold in corner_test):
        kept = kept * corner_mask(images, *corner_test).to(kept.device)
    points, values, _ = top_k(kept, count)
    return [p[v > 0].cpu().numpy() for p, v in zip(points, values, strict=True)]


def repeatability(
    a: np.ndarray, b: np.ndarray, H: np.ndarray, size: int, px: float = 3.0
) -> float:
    """Share of keypoints found again within ``px`` under H (covisible ones, both ways)."""
    a_in_b = warp_points(a, H)
    b_in_a = warp_points(b, np.linalg.inv(H))
    a_vis = inside_image(a_in_b, (size, size))
    b_vis = inside_image(b_in_a, (size, size))
    if not a_vis.any() or not b_vis.any():
        return 0.0
    distance = np.linalg.norm(a_in_b[a_vis][:, None] - b[b_vis][None], axis=-1)
    found = min((distance.min(1) <= px).sum(), (distance.min(0) <= px).sum())
    return float(found / min(a_vis.sum(), b_vis.sum()))
