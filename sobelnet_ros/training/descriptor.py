"""Training DesNet with circle loss on frozen SobelNet's keypoint candidates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..geometry import warp_points
from ..models import DesNet, DesNetConfig, SobelNet, SobelNetConfig, load_weights
from ..models.weights import config_from_file
from .detector import detect
from .losses import circle_loss
from .pairs import PairBatch


@dataclass(frozen=True)
class DescriptorConfig:
    """Circle-loss options [ours]; defaults follow method.md."""

    candidates: int = 512  # frozen SobelNet's top NMS peaks in A per pair
    negative_px: float = 4.0  # candidates farther than this are negatives
    gamma: float = 512.0
    margin: float = 0.1
    val_keypoints: int = 300  # keypoints per view for validation matching
    val_px: float = 3.0  # matching-accuracy threshold
    # The extractor's corner test on the candidates (and validation keypoints):
    # train on the points that inference keeps. 0 switches a threshold off.
    min_gradient: float = 0.0
    min_corner_ratio: float = 0.0

    @property
    def corner_test(self) -> tuple[float, float]:
        return (self.min_gradient, self.min_corner_ratio)


def frozen_detector(path: str | Path, device: torch.device) -> SobelNet:
    """SobelNet from a weight file, in eval mode, gradients off."""
    model = SobelNet(config_from_file(path, SobelNetConfig))
    load_weights(model, path)
    model.eval().to(device)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


class DescriptorTask:
    """DesNet trained so that descriptors of corresponding candidates agree."""

    name = "desnet"

    def __init__(
        self,
        config: DescriptorConfig,
        detector: SobelNet,
        model_config: DesNetConfig | None = None,
    ) -> None:
        self.config = config
        self.detector = detector
        self.model_config = model_config or DesNetConfig()

    def model(self) -> nn.Module:
        return DesNet(self.model_config)

    def candidates(self, batch: PairBatch) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per pair: candidates in A and their positions in B (visible in B)."""
        size = batch.image_a.shape[-1]
        with torch.no_grad():
            points = detect(
                self.detector,
                batch.image_a,
                batch.mask_a,
                self.config.candidates,
                corner_test=self.config.corner_test,
            )
        out = []
        for a, h in zip(points, batch.H.cpu().numpy(), strict=True):
            b = warp_points(a, h)
            keep = np.isfinite(b).all(1) & (b >= 0).all(1) & (b <= size - 1).all(1)
            device = batch.image_a.device
            out.append(
                (
                    torch.as_tensor(a[keep], dtype=torch.float32, device=device),
                    torch.as_tensor(b[keep], dtype=torch.float32, device=device),
                )
            )
        return out

    def loss(self, model: nn.Module, batch: PairBatch) -> tuple[torch.Tensor, dict[str, float]]:
        c = self.config
        n = batch.image_a.shape[0]
        dense = model(torch.cat([batch.image_a, batch.image_b]))
        net = unwrap(model)
        losses, counts = [], []
        for i, (a, b) in enumerate(self.candidates(batch)):
            if len(a) < 2:
                continue
            desc_a = net.sample(dense[i : i + 1], a[None])[0]
            desc_b = net.sample(dense[n + i : n + i + 1], b[None])[0]
            losses.append(circle_loss(desc_a, desc_b, a, b, c.negative_px, c.gamma, c.margin))
            counts.append(len(a))
        if not losses:  # every parameter gets a gradient: DDP's all-reduce stays in step
            unused = sum(parameter.sum() for parameter in net.parameters())
            return (dense.sum() + unused) * 0.0, {"candidates": 0.0}
        return torch.stack(losses).mean(), {"candidates": float(np.mean(counts))}

    @torch.no_grad()
    def validate(self, model: nn.Module, batches: list[PairBatch]) -> dict[str, float]:
        """Mean matching accuracy at ``val_px`` of mutual nearest neighbours."""
        model.eval()
        c = self.config
        device = next(model.parameters()).device
        correct, total = 0, 0
        for batch in batches:
            batch = batch.to(device)
            points_a, points_b = (
                detect(self.detector, image, mask, c.val_keypoints, corner_test=c.corner_test)
                for image, mask in ((batch.image_a, batch.mask_a), (batch.image_b, batch.mask_b))
            )
            dense_a, dense_b = model(batch.image_a), model(batch.image_b)
            for i, h in enumerate(batch.H.cpu().numpy()):
                a, b = points_a[i], points_b[i]
                if len(a) == 0 or len(b) == 0:
                    continue
                da = model.sample(dense_a[i : i + 1], _t(a, device))
                db = model.sample(dense_b[i : i + 1], _t(b, device))
                ia, ib = mutual_nn(da[0], db[0])
                error = np.linalg.norm(warp_points(a[ia], h) - b[ib], axis=1)
                correct += int((error <= c.val_px).sum())
                total += len(ia)
        return {
            "matching_accuracy": correct / max(total, 1),
            "matches": total / max(1, sum(len(b.H) for b in batches)),
        }


def unwrap(model: nn.Module) -> nn.Module:
    """The network inside a DistributedDataParallel wrapper, or ``model`` itself."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def _t(points: np.ndarray, device) -> torch.Tensor:
    return torch.as_tensor(points, dtype=torch.float32, device=device)[None]


def mutual_nn(desc_a: torch.Tensor, desc_b: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Indices (into A, into B) of mutual nearest neighbours by cosine similarity."""
    similarity = desc_a @ desc_b.t()
    a_to_b = similarity.argmax(1)
    b_to_a = similarity.argmax(0)
    keep = b_to_a[a_to_b] == torch.arange(len(desc_a), device=desc_a.device)
    index_a = torch.nonzero(keep).flatten()
    return index_a.cpu().numpy(), a_to_b[index_a].cpu().numpy()
