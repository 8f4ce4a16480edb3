"""The pipelined CUDA engine: pinned slots, streams, CUDA graphs, one copy back per frame.

``CudaEngine`` is the scheduling of ``slot_pipeline.py`` over ``CudaSlots``.
Each slot owns a pinned input buffer, a stream, a capture stream (warm-up
and capture of its graphs), a side stream (``concurrent``), a done event and
one pinned packed output. ``submit`` writes the gray frame straight into the
slot's pinned buffer and enqueues upload -> (captured) step -> one
device-to-host copy of the packed features (``packed.py``: descriptors in
float16 plus the count) on the slot's stream, then returns; nothing waits on
the GPU. Per-stage GPU times (CUDA events) are recorded only with
``stage_times``. A CUDA failure (out of memory included) fails that frame
with an ``EngineError`` naming the stage and size, counted as ``cuda_error``;
the slot's stream is synchronised before the slot is used again.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from typing import Any

import numpy as np
import torch

from .extractor import FeatureExtractor
from .graphed_step import GraphCache, capture_step, packed_step, run_step, step_stages
from .image_input import gray_into, gray_scale_factor, upload_dtype
from .packed import pack_features, unpack_features
from .slot_pipeline import EngineError, SlotPipeline
from .types import Features

logger = logging.getLogger(__name__)

__all__ = ["CudaEngine", "CudaSlots", "EngineError"]


class _Slot:
    """One frame's resources on the GPU."""

    def __init__(self, device: torch.device, concurrent: bool, stage_times: bool) -> None:
        # Made once per slot. torch hands streams out round-robin from a pool of 32 per
        # device: up to 10 slots get distinct ones; beyond, slots share streams and
        # only lose overlap (every dependency goes through events and stream waits).
        self.stream = torch.cuda.Stream(device=device)
        self.capture_stream = torch.cuda.Stream(device=device)
        self.side = torch.cuda.Stream(device=device) if concurrent else None
        self.done = torch.cuda.Event(enable_timing=stage_times)
        self.stage_times = stage_times
        self.events: dict[str, torch.cuda.Event] = {}
        self.stages: tuple[str, ...] = ()
        self.host_input: torch.Tensor | None = None
        self.host_output: torch.Tensor | None = None

    def mark(self, name: str) -> None:
        """Record a stage's end on the current stream (only with ``stage_times``)."""
        if self.stage_times:
            if name not in self.events:
                self.events[name] = torch.cuda.Event(enable_timing=True)
            self.events[name].record()

    def input_buffer(self, shape: tuple[int, int], dtype: np.dtype) -> torch.Tensor:
        buffer = self.host_input
        if buffer is None or tuple(buffer.shape) != shape or buffer.numpy().dtype != dtype:
            buffer = torch.from_numpy(np.empty(shape, dtype)).pin_memory()
            self.host_input = buffer
        return buffer

    def output_buffer(self, length: int) -> torch.Tensor:
        if self.host_output is None or self.host_output.numel() != length:
            self.host_output = torch.empty(length, dtype=torch.float32).pin_memory()
        return self.host_output

    def stage_ms(self) -> dict[str, float]:
        if not self.stage_times:
            return {}
        times, previous = {}, self.events["start"]
        for name in self.stages:
            end = self.done if name == "download" else self.events[name]
            times[f"gpu_{name}"] = previous.elapsed_time(end)
            previous = end
        return times


class CudaSlots:
    """``SlotBackend`` on one CUDA device.

    Args:
        extractor: a FeatureExtractor on a CUDA device.
        slots: frames on the GPU at once.
        use_graphs: capture each input size once per slot and replay it.
        concurrent: run DesNet on the slot's side stream beside SobelNet.
        compiled: ``torch.compile`` the step (fewer, fused kernels), then
            capture it; not with ``concurrent``.
        stage_times: record CUDA events per stage (``gpu_*`` timings).
        cudnn_benchmark: let cuDNN time its algorithms per shape (global flag).
        graph_cache_size: input sizes kept captured (per slot).
    """

    def __init__(
        self,
        extractor: FeatureExtractor,
        slots: int = 2,
        use_graphs: bool = True,
        concurrent: bool = False,
        compiled: bool = False,
        stage_times: bool = False,
        cudnn_benchmark: bool = True,
        graph_cache_size: int = 8,
    ) -> None:
        if extractor.device.type != "cuda":
            raise ValueError(f"CudaEngine needs a CUDA extractor, got device {extractor.device}")
        if slots < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {slots}")
        if compiled and concurrent:
            raise ValueError("compiled and concurrent exclude each other (one stream per step)")
        if cudnn_benchmark:
            torch.backends.cudnn.benchmark = True
        self.extractor = extractor
        self.slot_count = slots
        self.use_graphs = use_graphs
        self.concurrent = concurrent
        self.step = packed_step(extractor, compiled)
        self.graphs = GraphCache(graph_cache_size * slots)
        self._slots = [_Slot(extractor.device, concurrent, stage_times) for _ in range(slots)]

    def input_key(self, image: np.ndarray) -> Hashable:
        return (image.shape[0], image.shape[1], upload_dtype(image.dtype).str)

    def needs_capture(self, key: Hashable) -> bool:
        return self.use_graphs and any((i, key) not in self.graphs for i in range(self.slot_count))

    def capture(self, key: Hashable) -> None:
        height, width, dtype = key
        scale = gray_scale_factor(np.empty(0, dtype))
        torch_dtype = torch.from_numpy(np.empty(0, dtype)).dtype
        try:
            for i, slot in enumerate(self._slots):
                if (i, key) not in self.graphs:
                    step = capture_step(
                        self.step, (height, width), torch_dtype, scale, slot.capture_stream,
                        slot.side,
                    )  # fmt: skip
                    self.graphs.put((i, key), step)
        except (RuntimeError, torch.cuda.OutOfMemoryError) as error:
            raise EngineError(
                f"CUDA failure during graph capture of a {width}x{height} frame: {error}"
            ) from error

    def launch(self, slot_index: int, image: np.ndarray) -> None:
        slot = self._slots[slot_index]
        height, width = image.shape[:2]
        stage = "upload"
        try:
            host = slot.input_buffer((height, width), upload_dtype(image.dtype))
            gray_into(image, host.numpy())
            with torch.cuda.stream(slot.stream):
                slot.mark("start")
                if self.use_graphs:
                    stage = "graph replay"
                    packed = self._replay(slot, slot_index, host)
                else:
                    stage = "eager step"
                    packed = self._eager(slot, host)
                stage = "download"
                slot.output_buffer(packed.numel()).copy_(packed, non_blocking=True)
                slot.done.record()
        except (RuntimeError, torch.cuda.OutOfMemoryError) as error:
            raise EngineError(
                f"CUDA failure during {stage} of a {width}x{height} frame: {error}"
            ) from error

    def _replay(self, slot: _Slot, index: int, host: torch.Tensor) -> torch.Tensor:
        key = (host.shape[0], host.shape[1], host.numpy().dtype.str)
        step = self.graphs.get((index, key))
        if step is None:
            raise EngineError(f"no graph captured for {key} in slot {index}")
        step.static_input.copy_(host, non_blocking=True)
        slot.mark("upload")
        step.replay()
        slot.mark("compute")
        slot.stages = ("upload", "compute", "download")
        return step.packed

    def _eager(self, slot: _Slot, host: torch.Tensor) -> torch.Tensor:
        raw = host.to(self.extractor.device, non_blocking=True)
        slot.mark("upload")
        scale = gray_scale_factor(host.numpy())
        with torch.inference_mode():
            if not slot.stage_times:
                return self.step(raw, scale, slot.side)
            features = run_step(self.extractor, raw, scale, slot.side, slot.mark)
            packed = pack_features(features)
        stages = step_stages(self.extractor, tuple(raw.shape), self.concurrent)
        slot.stages = ("upload", *stages, "download")
        return packed

    def ready(self, slot: int) -> bool:
        return self._slots[slot].done.query()

    def wait_ready(self, slot: int, timeout: float | None) -> None:
        self._slots[slot].done.synchronize()  # a CUDA event has no timed wait

    def recover(self, slot: int) -> None:
        try:
            self._slots[slot].stream.synchronize()
        except RuntimeError as error:  # a sticky CUDA error: later frames will say so
            logger.error("slot %d did not recover: %s", slot, error)

    def collect(self, slot_index: int, size: tuple[int, int]) -> tuple[Features, dict[str, float]]:
        slot = self._slots[slot_index]
        dim = self.extractor.descriptor_dim
        buffer = slot.host_output.numpy()
        keypoints = (len(buffer) - 1) // (3 + dim // 2)
        try:
            stage_ms = slot.stage_ms()
        except RuntimeError as error:
            raise EngineError(f"CUDA failure while timing a frame: {error}") from error
        return unpack_features(buffer, keypoints, dim, size), stage_ms

    def reconfigure(self, options: dict[str, Any]) -> None:
        self.extractor.configure(**options)
        self.graphs.clear()

    def check_options(self, options: dict[str, Any]) -> None:
        self.extractor.checked_options(**options)

    def close(self) -> None:
        pass  # streams, events and graphs are freed with the engine


class CudaEngine(SlotPipeline):
    """Pipelined extraction on one CUDA device (``CudaSlots`` holds the options).

    Args:
        extractor: a FeatureExtractor on a CUDA device.
        max_in_flight: frames on the GPU at once (one slot each); one more
            may wait in the pending place under ``drop_oldest``.
        drop_policy: ``drop_oldest`` (newest frame wins) or ``block``.
        slot_options: ``use_graphs``, ``concurrent``, ``compiled``,
            ``stage_times``, ``cudnn_benchmark``, ``graph_cache_size``.
    """

    def __init__(
        self,
        extractor: FeatureExtractor,
        max_in_flight: int = 2,
        drop_policy: str = "drop_oldest",
        **slot_options: Any,
    ) -> None:
        self.slots = CudaSlots(extractor, max_in_flight, **slot_options)
        super().__init__(self.slots, drop_policy)
        self.extractor = extractor

    @property
    def graphs(self) -> GraphCache:
        return self.slots.graphs
