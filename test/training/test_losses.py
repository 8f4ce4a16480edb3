"""Gaussian and circle losses against hand-computed values; gradients reach the inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sobelnet_ros.training.losses import circle_loss, circle_loss_rows, gaussian_loss
from sobelnet_ros.training.targets import gaussian_heatmap, peak_targets


def test_gaussian_loss_matches_hand_computation():
    scores = torch.tensor([[[[0.5, 0.0], [1.0, 0.2]]]])
    target = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    mask = torch.tensor([[[[True, True], [True, False]]]])
    # weights 1 + 10 * target: 11, 1, 1, (masked); errors 0.25, 0, 1
    expected = (11 * 0.25 + 0 + 1 * 1.0) / (11 + 1 + 1)
    assert gaussian_loss(scores, target, mask, 10.0).item() == pytest.approx(expected)


def test_gaussian_loss_is_zero_on_its_target_and_has_gradients():
    target = gaussian_heatmap([np.array([[3.0, 4.0]])], 9, 1.5, "cpu")
    mask = torch.ones_like(target, dtype=torch.bool)
    assert gaussian_loss(target, target, mask).item() == 0.0
    scores = torch.full_like(target, 0.3, requires_grad=True)
    gaussian_loss(scores, target, mask).backward()
    assert scores.grad is not None and scores.grad.abs().sum() > 0
    # Below the target near the keypoint: the gradient pushes the score up there.
    assert scores.grad[0, 0, 4, 3] < 0


def test_heatmap_peaks_at_points():
    heat = gaussian_heatmap([np.array([[2.0, 5.0]]), np.zeros((0, 2))], 8, 1.5, "cpu")
    assert heat.shape == (2, 1, 8, 8)
    assert heat[0, 0, 5, 2] == pytest.approx(1.0)
    assert heat[0, 0, 5, 3] == pytest.approx(math.exp(-0.5 / 1.5**2))
    assert heat[1].sum() == 0


def circle_by_hand(sp: float, sns: list[float], gamma: float, m: float) -> float:
    ap, op = max(0.0, 1 + m - sp), 1 - m
    lp = -gamma * ap * (sp - op)
    ln = [gamma * max(0.0, sn + m) * (sn - m) for sn in sns]
    return math.log1p(math.exp(math.log(sum(math.exp(v) for v in ln)) + lp))


def test_circle_loss_rows_matches_hand_computation():
    similarity = torch.tensor([[0.8, 0.3, -0.2], [0.1, 0.6, 0.5]])
    negative = torch.tensor([[False, True, True], [True, False, False]])
    got = circle_loss_rows(similarity, negative, gamma=4.0, margin=0.25)
    assert got[0].item() == pytest.approx(circle_by_hand(0.8, [0.3, -0.2], 4.0, 0.25), rel=1e-5)
    assert got[1].item() == pytest.approx(circle_by_hand(0.6, [0.1], 4.0, 0.25), rel=1e-5)


def test_circle_loss_row_without_negatives_is_zero():
    similarity = torch.tensor([[0.8, 0.3]])
    assert circle_loss_rows(similarity, torch.tensor([[False, False]])).item() == 0.0


def test_circle_loss_uses_rows_and_columns_with_distance_rule():
    desc_a = torch.nn.functional.normalize(
        torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), dim=1
    )
    desc_b = torch.nn.functional.normalize(
        torch.tensor([[1.0, 0.2], [0.1, 1.0], [1.0, 0.9]]), dim=1
    )
    points_a = torch.tensor([[0.0, 0.0], [10.0, 0.0], [2.0, 0.0]])  # A2 is 2 px from A0
    points_b = torch.tensor([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0]])
    s = (desc_a @ desc_b.t()).numpy()
    g, m = 8.0, 0.1
    rows = [circle_by_hand(s[i, i], [s[i, j] for j in range(3) if j != i], g, m) for i in range(3)]
    # Columns: A0 and A2 are within 4 px of each other, so not negatives of each other.
    far_a = {0: [1], 1: [0, 2], 2: [1]}
    cols = [circle_by_hand(s[j, j], [s[i, j] for i in far_a[j]], g, m) for j in range(3)]
    got = circle_loss(desc_a, desc_b, points_a, points_b, 4.0, gamma=g, margin=m)
    assert got.item() == pytest.approx(0.5 * (np.mean(rows) + np.mean(cols)), rel=1e-5)


def test_circle_loss_gradients_flow_and_prefer_matching_descriptors():
    torch.manual_seed(0)
    raw_a = torch.randn(6, 8, requires_grad=True)
    points = torch.arange(6.0)[:, None].repeat(1, 2) * 10
    desc_a = torch.nn.functional.normalize(raw_a, dim=1)
    loss = circle_loss(desc_a, desc_a.detach(), points, points, gamma=32.0)
    loss.backward()
    assert raw_a.grad is not None and raw_a.grad.abs().sum() > 0
    random_b = torch.nn.functional.normalize(torch.randn(6, 8), dim=1)
    assert loss.item() < circle_loss(desc_a, random_b, points, points, gamma=32.0).item()


def test_peak_targets_warp_the_peaks_and_skip_those_not_allowed():
    scores = torch.zeros(1, 1, 64, 64)
    for x, y, value in [(10, 20, 0.9), (40, 12, 0.8), (30, 50, 0.7)]:
        scores[0, 0, y, x] = value
    shift = torch.tensor(
        [[[1.0, 0.0, 3.0], [0.0, 1.0, -2.0], [0.0, 0.0, 1.0]]], dtype=torch.float64
    )
    everywhere = peak_targets(scores, shift, count=10)[0]
    np.testing.assert_allclose(everywhere, [[13, 18], [43, 10], [33, 48]])
    allowed = torch.ones_like(scores)
    allowed[0, 0, 8:16, 36:44] = 0  # the second peak sits on an edge, say
    tested = peak_targets(scores, shift, count=10, allowed=allowed)[0]
    np.testing.assert_allclose(tested, [[13, 18], [33, 48]])
