"""FeatureExtractor: SobelNet keypoints described by DesNet, numpy in and out."""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
import torch.nn.functional as F

from ..models import DesNet, DesNetConfig, SobelNet, SobelNetConfig, load_weights
from ..models.desnet import DescriptorMaps
from ..models.weights import config_from_file
from ..paths import DESNET_FILE, SOBELNET_FILE, default_weight_path
from .cornerness import corner_weight
from .cpu_chains import ChainWorkers, threads_per_chain
from .cpu_tuning import cpu_has_native_bf16, keep_large_allocations
from .device import resolve_device
from .image_input import gray_scale_factor, to_gray, validate_image
from .keypoints import peaks, refine_subpixel, top_k
from .pyramid import build_pyramid, level_budgets, level_count, merge_levels
from .types import BatchFeatures, ExtractorConfig, Features

logger = logging.getLogger(__name__)
T = TypeVar("T")

RUNTIME_OPTIONS = (
    "max_keypoints",
    "score_ratio",
    "nms_window",
    "border",
    "subpixel",
    "pyramid_levels",
    "coarse_share",
    "level_mix",
    "min_gradient",
    "min_corner_ratio",
    "full_corner_ratio",
)


class FeatureExtractor:
    """Detects keypoints with SobelNet and describes them with DesNet.

    Args:
        config: options; ``ExtractorConfig()`` when omitted. Keyword
            ``options`` override single fields (``max_keypoints=512``).
        sobelnet_weights, desnet_weights: ``.safetensors`` files; the shipped
            weights when omitted.
        random_weights: use randomly initialised networks (seeded) instead of
            weight files, for tests and timing.
        seed: seed of the random initialisation.

    Example:
        >>> extractor = FeatureExtractor(random_weights=True)
        >>> features = extractor.extract(np.zeros((480, 640), np.uint8))
    """

    def __init__(
        self,
        config: ExtractorConfig | None = None,
        *,
        sobelnet_weights: str | Path | None = None,
        desnet_weights: str | Path | None = None,
        random_weights: bool = False,
        seed: int = 0,
        **options: Any,
    ) -> None:
        config = (config or ExtractorConfig()).with_options(**options)
        self.device = resolve_device(config.device)
        if config.half and self.device.type != "cuda":
            logger.warning("half precision needs CUDA; running in float32 on %s", self.device)
            config = config.with_options(half=False)
        self.config = config
        self.dtype = learned_dtype(self.device, config)
        torch.manual_seed(seed)
        self.sobelnet, self.sobelnet_source = _build(
            SobelNet, SobelNetConfig, sobelnet_weights, SOBELNET_FILE, random_weights
        )
        self.desnet, self.desnet_source = _build(
            DesNet, DesNetConfig, desnet_weights, DESNET_FILE, random_weights
        )
        self.memory_format = torch.contiguous_format
        if self.device.type == "cpu" or config.channels_last:
            self.memory_format = torch.channels_last  # on the CPU 2-3x faster for 8-channel convs
        if self.device.type == "cpu":
            keep_large_allocations()
        for net in (self.sobelnet, self.desnet):
            net.eval().fuse_for_inference()
            net.to(self.device, memory_format=self.memory_format).set_learned_dtype(self.dtype)
        self._chains: ChainWorkers | None = None
        self._chains_lock = threading.Lock()

    @property
    def descriptor_dim(self) -> int:
        return self.desnet.config.descriptor_dim

    def configure(self, **options: Any) -> None:
        """Change options (all checked first; nothing changes if one is bad).

        Only the options of ``RUNTIME_OPTIONS`` may change after construction.
        """
        self.config = self.checked_options(**options)

    def checked_options(self, **options: Any) -> ExtractorConfig:
        """The config ``configure(**options)`` would set; raises ``ValueError`` (changes nothing)
        for an unknown option, a value out of range or one not in ``RUNTIME_OPTIONS``."""
        fixed = sorted(set(options) - set(RUNTIME_OPTIONS))
        if fixed:
            raise ValueError(
                f"options {fixed} cannot change after construction; "
                f"these can: {list(RUNTIME_OPTIONS)}"
            )
        return self.config.with_options(**options)

    # Stages, each usable alone (the benchmark times them one by one).

    def preprocess(self, image: np.ndarray) -> torch.Tensor:
        """Validated numpy image -> ``(1, 1, H, W)`` gray in [0, 1] on the device."""
        gray = to_gray(validate_image(image))
        if self.device.type == "cpu":
            # numpy, as torch would (float32 values times the float32 factor), but
            # without waking torch's OpenMP threads, which would then spin beside
            # the chains (see cpu_chains).
            values = np.multiply(gray, np.float32(gray_scale_factor(gray)), dtype=np.float32)
            tensor = torch.from_numpy(values).view(1, 1, *gray.shape)
            return tensor.contiguous(memory_format=self.memory_format)
        tensor = torch.from_numpy(np.ascontiguousarray(gray)).to(self.device, non_blocking=True)
        tensor = tensor.to(torch.float32) * gray_scale_factor(gray)
        return tensor.view(1, 1, *gray.shape).contiguous(memory_format=self.memory_format)

    def detect(self, image: torch.Tensor) -> torch.Tensor:
        """SobelNet score map ``(B, 1, H, W)``."""
        return self.sobelnet(image)

    def select(
        self,
        scores: torch.Tensor,
        image: torch.Tensor,
        max_keypoints: int | None = None,
        corners: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Threshold, border, NMS, corner test and top-k: keypoints ``(B, K, 2)``, scores, count.

        ``image`` is the ``(B, 1, H, W)`` gray image ``scores`` came from: the
        corner test (``min_gradient``, ``min_corner_ratio``,
        ``full_corner_ratio``) reads its structure tensor (see ``cornerness``),
        or takes ``corners``, the ``corners(image)`` made beforehand, and
        rejects or down-weights peaks; the scores returned are the weighted
        ones. ``max_keypoints`` (K) defaults to the config's.
        """
        scores = scores.float().contiguous()
        return self.select_peaks(scores, self.peaks(scores), image, max_keypoints, corners)

    def peaks(self, scores: torch.Tensor) -> torch.Tensor:
        """``select``'s threshold, border and NMS of a float32 score map: the peaks'
        scores, 0 elsewhere."""
        c = self.config
        return peaks(scores, c.score_ratio, c.border, c.nms_window)

    def select_peaks(
        self,
        scores: torch.Tensor,
        kept: torch.Tensor,
        image: torch.Tensor,
        max_keypoints: int | None = None,
        corners: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The rest of ``select`` once ``kept = peaks(scores)`` (corner test, top-k, sub-pixel)."""
        c = self.config
        if has_corner_test(c):
            # After NMS, so that no new peak appears where a stronger neighbour is masked.
            kept = kept * (self.corners(image) if corners is None else corners)
        keypoints, values, count = top_k(kept, max_keypoints or c.max_keypoints)
        if c.subpixel:
            keypoints = refine_subpixel(scores, keypoints)
        return keypoints, values, count

    def corners(self, image: torch.Tensor) -> torch.Tensor:
        """The corner test's weights of ``image`` (``corner_weight`` with the config's options)."""
        c = self.config
        return corner_weight(image, c.min_gradient, c.min_corner_ratio, c.full_corner_ratio)

    def describe(self, image: torch.Tensor) -> DescriptorMaps:
        """DesNet's dense maps: descriptors ``(B, D, H / s, W / s)`` and finer features."""
        return self.desnet.maps(image)

    def sample(self, dense: DescriptorMaps, keypoints: torch.Tensor) -> torch.Tensor:
        """Descriptors at keypoints ``(B, K, D)``, unit norm, from ``describe``'s maps."""
        return self.desnet.sample_maps(dense, keypoints)

    def pyramid(self, image: torch.Tensor) -> list[tuple[torch.Tensor, int]]:
        """The levels of ``image`` with their keypoint budgets, full resolution first.

        Which levels exist depends only on the image size and the config.
        """
        c = self.config
        levels = level_count(*image.shape[-2:], c.pyramid_levels)
        budgets = level_budgets(c.max_keypoints, levels, c.coarse_share)
        return list(zip(build_pyramid(image, len(budgets)), budgets, strict=True))

    def extract_level(self, level: torch.Tensor, max_keypoints: int) -> BatchFeatures:
        """Features of one pyramid level, keypoints in that level's pixels."""
        keypoints, scores, count = self.select(self.detect(level), level, max_keypoints)
        descriptors = self.sample(self.describe(level), keypoints)
        return BatchFeatures(keypoints, scores, descriptors, count)

    def extract_levels(self, levels: list[tuple[torch.Tensor, int]]) -> BatchFeatures:
        """Features of the levels ``pyramid`` gives, merged, keypoints in input pixels.

        Each keypoint's descriptor is that of ``level_descriptors``: its own
        level's, with the neighbouring levels' at the same place.
        """
        if len(levels) == 1:
            return self.extract_level(*levels[0])
        selected = [self.select(self.detect(level), level, budget) for level, budget in levels]
        dense = [self.describe(level) for level, _ in levels]
        return merge_levels(
            [
                BatchFeatures(
                    keypoints, values, self.level_descriptors(dense, index, keypoints), count
                )
                for index, (keypoints, values, count) in enumerate(selected)
            ]
        )

    def level_descriptors(
        self, dense: list[DescriptorMaps], index: int, keypoints: torch.Tensor
    ) -> torch.Tensor:
        """Descriptors ``(B, K, D)`` of level ``index``'s keypoints (in its pixels).

        ``dense`` is ``describe`` of every pyramid level, full resolution first.
        With ``level_mix`` w > 0 the descriptors of the levels above and below
        at the same place (a level's pixel ``x`` is ``(x + 0.5) 2^(i - j) - 0.5``
        in level ``j``) are added, w times each, and the sum renormalised: a
        point seen at twice the scale in another view then finds part of its
        descriptor in the other view's same level. Off by default (README,
        Evaluation): at w = 0.5 homography matching gains on the development
        sets, most on zoom and viewpoint changes, but tracks on the TUM
        development sequences get shorter and the evaluation sets barely move.
        """
        descriptors = self.sample(dense[index], keypoints)
        mix = self.config.level_mix
        others = [other for other in (index - 1, index + 1) if 0 <= other < len(dense)]
        if mix <= 0 or not others:
            return descriptors
        for other in others:
            moved = (keypoints + 0.5) * (2.0 ** (index - other)) - 0.5
            descriptors = descriptors + mix * self.sample(dense[other], moved)
        return F.normalize(descriptors, dim=-1)

    @torch.inference_mode()
    def extract_tensor(self, image: torch.Tensor) -> BatchFeatures:
        """Fixed-shape features of a ``(B, 1, H, W)`` batch already on the device.

        On the CPU with two or more torch threads (and ``cpu_chains``),
        detection of the full-resolution level runs beside its description and
        the octaves, each on half the threads (see ``cpu_chains``): the same
        features as ``extract_levels`` run with that many threads.
        """
        return self.extract_pyramid(self.pyramid(image))

    def extract_pyramid(self, levels: list[tuple[torch.Tensor, int]]) -> BatchFeatures:
        """``extract_levels(levels)``, in two chains where they pay (see ``extract_tensor``)."""
        chains = self._chain_workers(levels[0][0])
        if chains is None:
            return self.extract_levels(levels)
        return self._extract_in_chains(chains, levels)

    def _extract_in_chains(
        self, chains: ChainWorkers, levels: list[tuple[torch.Tensor, int]]
    ) -> BatchFeatures:
        """``extract_levels(levels)`` as two chains.

        Two levels: SobelNet, peaks, corner test and top-k of the full level
        beside DesNet and the octaves. One level: SobelNet's full and 1/sqrt(2)
        scales, then peaks and top-k, beside the resized images, the 1/sqrt(2)
        edges, the 1/2 scale, the corner test and then DesNet: the first
        chain's sum, peaks and top-k need all but DesNet, whose maps only
        sampling reads. The first chain hands the edge gain over as soon as its
        first scale's edges are made.
        Measured on the 2-core VM at 640x480 (idle, one frame): one level, the
        first chain's sum, peaks and top-k end at 15.8 ms, DesNet at 15.7,
        sampling at 17.0; two levels, the chains end at about 21 and 22 ms,
        sampling and merging at 23.
        """
        (full, budget), *octaves = levels
        first, *rest = self.sobelnet.config.scales
        beside = () if octaves else tuple(rest[1:])  # scales the second chain scores
        resized_beside = () if octaves else tuple(rest[:1])  # edges it makes for the first
        corners_beside = not octaves and has_corner_test(self.config)
        # What one chain hands the other, each set by its own chain (see _failing_with).
        gain_handed, edges_handed, scores_handed, corners_handed = (Future() for _ in range(4))

        def detection() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            sobelnet = self.sobelnet
            edges = sobelnet.sobel(sobelnet.scaled_image(full, first))
            gain = sobelnet.gain_of(edges)
            gain_handed.set_result(gain)
            scores = {first: sobelnet.scale_scores(full, first, gain, edges=edges)[0]}
            for scale in rest:
                if scale not in beside:
                    edges = edges_handed.result()[scale] if scale in resized_beside else None
                    scores[scale] = sobelnet.scale_scores(full, scale, gain, edges=edges)[0]
            score_map = sobelnet.sum_scales(scores | scores_handed.result()).sigmoid_()
            kept = self.peaks(score_map)  # as detect() and select()
            corners = corners_handed.result() if corners_beside else None
            return self.select_peaks(score_map, kept, full, budget, corners)

        def description() -> tuple[list[DescriptorMaps], list[BatchFeatures]]:
            images = self._scaled_images(full, resized_beside + beside)
            edges_handed.set_result({s: self.sobelnet.sobel(images[s]) for s in resized_beside})
            gain = gain_handed.result() if beside else None
            scores_handed.set_result(
                {s: self.sobelnet.scale_scores(full, s, gain, images[s])[0] for s in beside}
            )
            if corners_beside:
                corners_handed.set_result(self.corners(full))
            dense = [self.describe(full)]
            coarser = [self.select(self.detect(level), level, budget) for level, budget in octaves]
            dense += [self.describe(level) for level, _ in octaves]
            return dense, [
                BatchFeatures(
                    keypoints, values, self.level_descriptors(dense, index, keypoints), n
                )
                for index, (keypoints, values, n) in enumerate(coarser, start=1)
            ]

        def join(selected: tuple, described: tuple) -> BatchFeatures:
            keypoints, values, count = selected
            dense, coarser = described
            descriptors = self.level_descriptors(dense, 0, keypoints)
            return merge_levels([BatchFeatures(keypoints, values, descriptors, count), *coarser])

        return chains.run(
            _failing_with(detection, gain_handed),
            _failing_with(description, edges_handed, scores_handed, corners_handed),
            join,
        )

    def _scaled_images(
        self, image: torch.Tensor, scales: tuple[float, ...]
    ) -> dict[float, torch.Tensor]:
        return {scale: self.sobelnet.scaled_image(image, scale) for scale in scales}

    def _chain_workers(self, image: torch.Tensor) -> ChainWorkers | None:
        """The chains for this call, made (again) when the thread count changed; None
        where the frame runs as one chain."""
        if not self.config.cpu_chains or image.device.type != "cpu" or torch.is_grad_enabled():
            return None
        each = threads_per_chain(torch.get_num_threads())
        if each == 0:
            return None
        with self._chains_lock:
            if self._chains is None or self._chains.threads_each != each:
                if self._chains is not None:
                    self._chains.close()
                self._chains = ChainWorkers(each)
            return self._chains

    def close(self) -> None:
        """End the chain threads, if any (they also end with the extractor)."""
        with self._chains_lock:
            if self._chains is not None:
                self._chains.close()
                self._chains = None

    def extract(self, image: np.ndarray) -> Features:
        """Features of one image.

        Args:
            image: ``H x W`` gray, ``H x W x 3`` RGB or ``H x W x 4`` RGBA;
                uint8, uint16, or float in [0, 1]; C-contiguous.

        Raises:
            ValueError: the image is not of that form (the message says why).
        """
        with torch.inference_mode():
            batch = self.extract_tensor(self.preprocess(image))
        height, width = image.shape[:2]
        return batch.to("cpu").unpad(0, (width, height))

    def on_cpu(self) -> FeatureExtractor:
        """A CPU copy with the same networks and options (for a CUDA fallback).

        Its networks run float32, or bf16 where ``config.cpu_bf16`` asks for it
        (by default where the CPU computes bf16 natively).
        """
        clone = copy.copy(self)
        clone.device = torch.device("cpu")
        clone.memory_format = torch.channels_last
        clone.config = self.config.with_options(device="cpu", half=False)
        clone.dtype = learned_dtype(clone.device, clone.config)
        for name in ("sobelnet", "desnet"):
            net = copy.deepcopy(getattr(self, name)).to("cpu", memory_format=torch.channels_last)
            setattr(clone, name, net.set_learned_dtype(clone.dtype))
        keep_large_allocations()
        return clone

    def describe_sources(self) -> dict[str, str]:
        """Where each network's weights came from, for logs and diagnostics."""
        return {"sobelnet": self.sobelnet_source, "desnet": self.desnet_source}


def _failing_with(chain: Callable[[], T], *handed: Future) -> Callable[[], T]:
    """``chain``, which on an error also fails the futures it hands over and has
    not set yet: the other chain, waiting on them, then ends too."""

    def run() -> T:
        try:
            return chain()
        except BaseException as error:
            for future in handed:
                if not future.done():
                    future.set_exception(error)
            raise

    return run


def has_corner_test(config: ExtractorConfig) -> bool:
    """Whether ``select`` reads the structure tensor (any of its thresholds is on)."""
    return config.min_gradient > 0 or config.min_corner_ratio > 0 or config.full_corner_ratio > 0


def learned_dtype(device: torch.device, config: ExtractorConfig) -> torch.dtype:
    """Precision of the networks' learned layers for this device and config."""
    if device.type == "cuda":
        return getattr(torch, config.half_dtype) if config.half else torch.float32
    use_bf16 = config.cpu_bf16 if config.cpu_bf16 is not None else cpu_has_native_bf16()
    return torch.bfloat16 if use_bf16 else torch.float32


def _build(model_type, config_type, path, file_name, random_weights):
    if random_weights:
        return model_type(), "random initialisation"
    explicit = path is not None
    path = Path(path) if explicit else default_weight_path(file_name)
    if not explicit and not path.is_file():
        logger.warning(
            "no trained %s weights found at %s; using random initialisation "
            "(features will be poor)",
            model_type.__name__,
            path,
        )
        return model_type(), "random initialisation (no weights found)"
    model = model_type(config_from_file(path, config_type))
    load_weights(model, path)
    return model, str(path)
