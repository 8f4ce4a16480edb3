"""One frame's device work, eager or captured once per input size as a CUDA graph.

The step takes the raw uploaded image (uint8 or float32, ``H x W``) and
produces fixed-shape ``BatchFeatures``: scaling to [0, 1], SobelNet, NMS and
top-k, DesNet and sampling. Shapes never depend on the data, so the whole
step can be captured and replayed; a graph holds a static input and one
static packed output (``packed.py``) that each replay overwrites.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .extractor import FeatureExtractor
from .packed import pack_features
from .pyramid import level_count, merge_levels
from .types import BatchFeatures

WARMUP_RUNS = 3  # runs on the capture stream before capture (cuDNN picks its algorithms)


def run_step(
    extractor: FeatureExtractor,
    raw: torch.Tensor,
    scale: float,
    side: torch.cuda.Stream | None = None,
    record: Callable[[str], None] | None = None,
) -> BatchFeatures:
    """Features of one raw ``H x W`` device image (no host synchronisation).

    Args:
        scale: factor mapping the raw values to [0, 1].
        side: run DesNet on this stream beside SobelNet and NMS (forked from
            and joined back to the current stream); None runs them in turn.
        record: called with a stage name after each stage (eager timing);
            the names are those of ``step_stages``.
    """
    note = record or (lambda _name: None)
    image = (raw.to(torch.float32) * scale).view(1, 1, *raw.shape)
    image = image.contiguous(memory_format=extractor.memory_format)
    note("preprocess")
    levels = extractor.pyramid(image)
    if side is not None:
        return _run_forked(extractor, levels, side)
    if len(levels) > 1 or record is None:
        features = extractor.extract_pyramid(levels)  # on the CPU as extract() runs it
        note("pyramid")
        return features
    ((image, budget),) = levels
    scores = extractor.detect(image)
    note("sobelnet")
    keypoints, values, count = extractor.select(scores, image, budget)
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
    extractor: FeatureExtractor, levels: list[tuple[torch.Tensor, int]], side: torch.cuda.Stream
) -> BatchFeatures:
    # SobelNet and DesNet are independent given the image: DesNet runs on the
    # slot's side stream, joined before sampling (a graph captures both branches).
    main = torch.cuda.current_stream()
    side.wait_stream(main)
    with torch.cuda.stream(side):
        dense = [extractor.describe(level) for level, _ in levels]
    selected = [
        extractor.select(extractor.detect(level), level, budget) for level, budget in levels
    ]
    main.wait_stream(side)
    if not torch.cuda.is_current_stream_capturing():
        for maps in dense:  # eager: side's blocks must not be reused before main reads them
            for block in maps:
                if block is not None:
                    block.record_stream(main)
    parts = [
        BatchFeatures(
            keypoints, values, extractor.level_descriptors(dense, index, keypoints), count
        )
        for index, (keypoints, values, count) in enumerate(selected)
    ]
    return merge_levels(parts)


def packed_step(extractor: FeatureExtractor, compiled: bool = False) -> PackedStep:
    """The extractor's ``PackedStep``, one per extractor and mode.

    Shared so engines made one after another reuse one ``torch.compile``
    (its cache), instead of compiling again until Dynamo gives up.
    """
    steps = extractor.__dict__.setdefault("_packed_steps", {})  # copies share it: key by id
    key = (id(extractor), compiled)
    if key not in steps or steps[key].extractor is not extractor:
        steps[key] = PackedStep(extractor, compiled)
    return steps[key]


class PackedStep:
    """The step as one function of the raw image returning the packed buffer.

    Args:
        compiled: run it through ``torch.compile`` (Inductor fuses the
            elementwise work and the sub-pixel fit into few kernels). The
            default mode makes no CUDA graphs of its own, so the compiled step
            can itself be captured. Not with a side stream (``concurrent``).
    """

    def __init__(self, extractor: FeatureExtractor, compiled: bool = False) -> None:
        self.extractor = extractor
        self.compiled = compiled
        self._fn = torch.compile(self._packed, dynamic=False) if compiled else self._packed

    def __call__(
        self, raw: torch.Tensor, scale: float, side: torch.cuda.Stream | None = None
    ) -> torch.Tensor:
        if side is not None:
            if self.compiled:
                raise ValueError("a compiled step runs on one stream (concurrent=False)")
            return pack_features(run_step(self.extractor, raw, scale, side))
        return self._fn(raw, scale)

    def _packed(self, raw: torch.Tensor, scale: float) -> torch.Tensor:
        return pack_features(run_step(self.extractor, raw, scale))


@dataclass
class GraphedStep:
    """A captured step: copy into ``static_input``, ``replay()``, read ``packed``."""

    graph: torch.cuda.CUDAGraph
    static_input: torch.Tensor
    packed: torch.Tensor

    def replay(self) -> None:
        self.graph.replay()


def capture_step(
    step: PackedStep,
    shape: tuple[int, int],
    dtype: torch.dtype,
    scale: float,
    stream: torch.cuda.Stream,
    side: torch.cuda.Stream | None = None,
) -> GraphedStep:
    """Warm up on ``stream``, then capture the step for ``shape`` and ``dtype`` on it.

    Each slot passes its own capture stream, so warm-up, capture and the
    graph's memory pool never mix slots. The capture error mode is
    thread-local: the engine's other threads make no CUDA calls meanwhile,
    but a check elsewhere in the process must not abort the capture.
    """
    device = step.extractor.device
    stream.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(stream):
        # Not an inference tensor: the engine copies each frame into it outside inference mode.
        static_input = torch.zeros(shape, dtype=dtype, device=device)
        with torch.inference_mode():
            for _ in range(WARMUP_RUNS):
                step(static_input, scale, side)
    stream.synchronize()
    graph = torch.cuda.CUDAGraph()
    with (
        torch.inference_mode(),
        torch.cuda.graph(graph, stream=stream, capture_error_mode="thread_local"),
    ):
        packed = step(static_input, scale, side)
    return GraphedStep(graph, static_input, packed)


class GraphCache:
    """Captured steps keyed by (slot, height, width, dtype); least recently used evicted.

    Each in-flight slot has its own graphs: two frames in flight must not
    share static outputs that a replay overwrites. The engine captures (and
    so evicts) only while no frame is on the GPU.
    """

    def __init__(self, capacity: int = 8) -> None:
        self.capacity = capacity
        self._steps: OrderedDict[tuple, GraphedStep] = OrderedDict()
        self.captures = 0

    def get(self, key: tuple) -> GraphedStep | None:
        step = self._steps.get(key)
        if step is not None:
            self._steps.move_to_end(key)
        return step

    def put(self, key: tuple, step: GraphedStep) -> None:
        self.captures += 1
        self._steps[key] = step
        while len(self._steps) > self.capacity:
            self._steps.popitem(last=False)

    def __contains__(self, key: tuple) -> bool:
        return key in self._steps

    def clear(self) -> None:
        self._steps.clear()

    def __len__(self) -> int:
        return len(self._steps)
