"""Kernels per frame: what the device runs for one frame, counted by torch.profiler."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile


def kernels_per_frame(engine: Any, image: np.ndarray, frames: int = 3) -> dict[str, float]:
    """Run ``frames`` frames one at a time through ``engine`` under the profiler.

    Returns per frame: ``kernels`` (CUDA kernels, 0 without CUDA), ``copies``
    (CUDA memcpy/memset) and ``aten_calls`` (ATen operator calls seen on the
    host, nested calls included), with ``frames``. ATen calls made on engine
    worker threads (the CPU engines) are not seen: there they read 0.
    """
    engine.submit(image)  # captures and allocations happen before the profile
    engine.wait()
    activities = [ProfilerActivity.CPU]
    if torch.cuda.is_available():
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        for _ in range(frames):
            engine.submit(image)
            engine.wait()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
    kernels = copies = aten = 0
    for event in prof.events():
        if event.device_type == DeviceType.CUDA:
            if event.name.startswith(("Memcpy", "Memset")):
                copies += 1
            else:
                kernels += 1
        elif event.name.startswith("aten::"):
            aten += 1
    return {
        "kernels": kernels / frames,
        "copies": copies / frames,
        "aten_calls": aten / frames,
        "frames": frames,
    }
