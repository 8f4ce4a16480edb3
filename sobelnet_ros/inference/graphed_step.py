"""One frame's device work, eager or captured once per input size as a CUDA graph.

The step takes the raw uploaded image (uint8 or float32, ``H x W``) and
produces fixed-shape ``BatchFeatures``: scaling to [0, 1], SobelNet, NMS and
top-k, DesNet and sampling. Shapes never depend on the data, so the whole
step can be captured and replayed; a graph holds static input and output
tensors that each replay overwrites.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .extractor import FeatureExtractor
from .pyramid import level_count, merge_levels
from .types import BatchFeatures

WARMUP_RUNS = 3  # runs on a side stream before capture (cuDNN picks its algorithms)


def run_step(
    extractor: FeatureExtractor,
    raw: torch.Tensor,
    scale: float,
    concurrent: bool = False,
    record: Callable[[str], None] | None = None,
) -> BatchFeatures:
    """Features of one raw ``H x W`` device image (no host synchronisation).

    Args:
        scale: factor mapping the raw values to [0, 1].
        concurrent: run DesNet on a forked stream beside SobelNet and NMS.
        record: called with a stage name after each stage (eager timing);
            the names are those of ``step_stages``.
    """
    note = record or (lambda _name: None)
    image = (raw.to(torch.float32) * scale).view(1, 1, *raw.shape)
    image = image.contiguous(memory_format=extractor.memory_format)
    note("preprocess")
    levels = extractor.pyramid(image)
    if concurrent:
        return _run_forked(extractor, levels)
    if len(levels) > 1:
        features = extractor.extract_levels(levels)
        note("pyramid")
        return features
    ((image, budget),) = levels
    scores = extractor.detect(image)
    note("sobelnet")
    keypoints, values, count = extractor.select(scores, budget)
    note("nms_topk")
    dense = extractor.describe(image)
    note("desnet")
    descriptors = extractor.sample(dense, keypoints)
    note("sampling")
    return BatchFeatures(keypoints, values, descriptors, count)


def step_stages(extractor: FeatureExtractor, shape: tuple[int, int], concurrent: bool):
    """Names ``run_step`` records, in order, for an ``H x W`` image."""
    if concurrent:
        return ("preprocess",)
    if level_count(*shape, extractor.config.pyramid_levels) > 1:
        return ("preprocess", "pyramid")
    return ("preprocess", "sobelnet", "nms_topk", "desnet", "sampling")


def _run_forked(
    extractor: FeatureExtractor, levels: list[tuple[torch.Tensor, int]]
) -> BatchFeatures:
    # SobelNet and DesNet are independent given the image: fork a stream for
    # DesNet and join before sampling (a graph captures both branches).
    main = torch.cuda.current_stream()
    side = torch.cuda.Stream(device=levels[0][0].device)
    side.wait_stream(main)
    with torch.cuda.stream(side):
        dense = [extractor.describe(level) for level, _ in levels]
    selected = [extractor.select(extractor.detect(level), budget) for level, budget in levels]
    main.wait_stream(side)
    if not torch.cuda.is_current_stream_capturing():
        for block in dense:  # eager: side's blocks must not be reused before main reads them
            block.record_stream(main)
    parts = [
        BatchFeatures(keypoints, values, extractor.sample(level_dense, keypoints), count)
        for (keypoints, values, count), level_dense in zip(selected, dense, strict=True)
    ]
    return merge_levels(parts)


@dataclass
class GraphedStep:
    """A captured step: copy into ``static_input``, ``replay()``, read ``outputs``."""

    graph: torch.cuda.CUDAGraph
    static_input: torch.Tensor
    outputs: BatchFeatures

    def replay(self) -> None:
        self.graph.replay()


def capture_step(
    extractor: FeatureExtractor,
    shape: tuple[int, int],
    dtype: torch.dtype,
    scale: float,
    concurrent: bool = False,
) -> GraphedStep:
    """Warm up on a side stream, then capture the step for ``shape`` and ``dtype``."""
    static_input = torch.zeros(shape, dtype=dtype, device=extractor.device)
    side = torch.cuda.Stream(device=extractor.device)
    side.wait_stream(torch.cuda.current_stream())
    with torch.inference_mode(), torch.cuda.stream(side):
        for _ in range(WARMUP_RUNS):
            run_step(extractor, static_input, scale, concurrent)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.inference_mode(), torch.cuda.graph(graph):
        outputs = run_step(extractor, static_input, scale, concurrent)
    return GraphedStep(graph, static_input, outputs)


class GraphCache:
    """Captured steps keyed by (slot, height, width, dtype); least recently used evicted.

    Each in-flight slot has its own graphs: two frames in flight must not
    share static outputs that a replay overwrites.
    """

    def __init__(self, capacity: int = 8) -> None:
        self.capacity = capacity
        self._steps: OrderedDict[tuple, GraphedStep] = OrderedDict()
        self.captures = 0

    def get(self, key: tuple, make: Callable[[], GraphedStep]) -> GraphedStep:
        if key in self._steps:
            self._steps.move_to_end(key)
            return self._steps[key]
        step = make()
        self.captures += 1
        self._steps[key] = step
        while len(self._steps) > self.capacity:
            self._steps.popitem(last=False)
        return step

    def clear(self) -> None:
        self._steps.clear()

    def __len__(self) -> int:
        return len(self._steps)
