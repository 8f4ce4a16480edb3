"""The two training losses: Gaussian loss (SobelNet) and circle loss (DesNet)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gaussian_loss(
    scores: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, positive_weight: float = 10.0
) -> torch.Tensor:
    """Weighted squared error between a score map and a Gaussian target heatmap.

    ``w = 1 + positive_weight * target`` weights pixels near keypoints up (they
    are few); only pixels in ``mask`` (the covisible region) count.

    Shape: scores, target, mask ``(B, 1, H, W)`` -> scalar.
    """
    weight = (1.0 + positive_weight * target) * mask.to(scores.dtype)
    return (weight * (scores - target) ** 2).sum() / weight.sum().clamp_min(1e-6)


def circle_loss_rows(
    similarity: torch.Tensor, negative: torch.Tensor, gamma: float = 512.0, margin: float = 0.1
) -> torch.Tensor:
    """Circle loss (Sun et al., CVPR 2020) of each row; the positive is on the diagonal.

    Args:
        similarity: ``(N, M)`` cosine similarities, N <= M; row i's positive is column i.
        negative: ``(N, M)`` bool, which entries of each row are negatives.
        gamma, margin: the loss's scale and relaxation margin.

    Returns:
        ``(N,)`` loss per row (0 for a row without negatives).
    """
    n = similarity.shape[0]
    positive = similarity.diagonal()[:, None] if n else similarity[:, :1]
    # The weights alpha are treated as constants, as in the reference implementation.
    alpha_p = F.relu(1.0 + margin - positive).detach()
    alpha_n = F.relu(similarity + margin).detach()
    logit_p = -gamma * alpha_p * (positive - (1.0 - margin))
    logit_n = gamma * alpha_n * (similarity - margin)
    logit_n = logit_n.masked_fill(~negative, float("-inf"))
    has_negative = negative.any(dim=1)
    lse_n = torch.logsumexp(logit_n, dim=1).masked_fill(~has_negative, 0.0)
    loss = F.softplus(lse_n + logit_p.squeeze(1))
    return loss * has_negative


def circle_loss(
    desc_a: torch.Tensor,
    desc_b: torch.Tensor,
    points_a: torch.Tensor,
    points_b: torch.Tensor,
    negative_px: float = 4.0,
    gamma: float = 512.0,
    margin: float = 0.1,
) -> torch.Tensor:
    """Row- and column-wise circle loss of corresponding descriptors.

    Args:
        desc_a, desc_b: ``(N, D)`` unit descriptors; row i of A corresponds to row i of B.
        points_a, points_b: ``(N, 2)`` their positions in each view (px).
        negative_px: candidates farther than this from the positive are negatives.

    Returns:
        scalar, the mean over rows (A -> B) and columns (B -> A).
    """
    similarity = desc_a @ desc_b.t()
    # Row i (a point of A): negatives are B points far from i's true position in B.
    far_b = torch.cdist(points_b, points_b) > negative_px
    # Column j (a point of B): negatives are A points far from j's true position in A.
    far_a = torch.cdist(points_a, points_a) > negative_px
    rows = circle_loss_rows(similarity, far_b, gamma, margin)
    cols = circle_loss_rows(similarity.t(), far_a, gamma, margin)
    return 0.5 * (rows.mean() + cols.mean())
