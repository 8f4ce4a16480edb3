"""Feature methods under evaluation: ours, OpenCV baselines, and users' own.

A method is any object with a ``name``, a descriptor ``metric`` (``"l2"``
for float descriptors, ``"hamming"`` for packed uint8 bits) and
``extract(image) -> (keypoints, descriptors)`` taking an RGB uint8
``H x W x 3`` image and returning ``(N, 2)`` x, y pixels (OpenCV convention)
and ``(N, D)`` descriptors, at most ``max_keypoints`` of them.

A user's method is given as ``module:callable``; the callable is called with
``max_keypoints=K`` and returns such an object, e.g.::

    # mymethods.py
    class Harris:
        name, metric = "harris", "l2"
        def __init__(self, max_keypoints): ...
        def extract(self, image): return keypoints, descriptors

    sobelnet eval --synthetic 8 --methods orb,mymethods:Harris
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from ..inference import FeatureExtractor
from ..inference.quantize import round_trip

BASELINES = ("orb", "sift", "akaze")
AKAZE_THRESHOLD = 1e-4  # below OpenCV's 1e-3 so that most images reach the budget [ours]


@runtime_checkable
class Method(Protocol):
    name: str
    metric: str

    def extract(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


class OursMethod:
    """The FeatureExtractor (SobelNet + DesNet), L2 descriptors.

    ``descriptor_format`` ``int8`` matches the descriptors as a reader of the
    node's default ``features`` gets them (quantised, read back); ``float32``
    as the extractor returns them.
    """

    metric = "l2"

    def __init__(
        self, extractor: FeatureExtractor, name: str = "ours", descriptor_format: str = "float32"
    ) -> None:
        round_trip(np.zeros((0, 1), np.float32), descriptor_format)  # checks the name now
        self.extractor = extractor
        self.name = name
        self.descriptor_format = descriptor_format

    def extract(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        features = self.extractor.extract(image)
        return features.keypoints, round_trip(features.descriptors, self.descriptor_format)

    def describe(self) -> dict[str, Any]:
        config = self.extractor.config
        return {
            "descriptor_format": self.descriptor_format,
            "weights": self.extractor.describe_sources(),
            "device": str(self.extractor.device),
            "config": {k: getattr(config, k) for k in config.__dataclass_fields__},
        }


class OpenCVMethod:
    """An OpenCV detector-descriptor kept to the ``max_keypoints`` strongest responses.

    ORB and SIFT take the budget as ``nfeatures``; SIFT may return a few more
    (one keypoint per dominant orientation) and AKAZE has no budget, so all
    are cut to the top ``max_keypoints`` by response before describing.
    """

    def __init__(self, name: str, max_keypoints: int) -> None:
        factories: dict[str, tuple[Callable[[], Any], str]] = {
            "orb": (lambda: cv2.ORB_create(nfeatures=max_keypoints), "hamming"),
            "sift": (lambda: cv2.SIFT_create(nfeatures=max_keypoints), "l2"),
            "akaze": (lambda: cv2.AKAZE_create(threshold=AKAZE_THRESHOLD), "hamming"),
        }
        if name not in factories:
            raise ValueError(f"unknown OpenCV method {name!r}; choose from {BASELINES}")
        factory, self.metric = factories[name]
        self.detector = factory()
        self.name = name
        self.max_keypoints = max_keypoints

    def extract(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
        keypoints = self.detector.detect(gray, None)
        keypoints = sorted(keypoints, key=lambda kp: -kp.response)[: self.max_keypoints]
        keypoints, descriptors = self.detector.compute(gray, keypoints)
        points = np.array([kp.pt for kp in keypoints], dtype=np.float32).reshape(-1, 2)
        if descriptors is None:  # OpenCV returns None when no keypoint is left
            width = 32 if self.name == "orb" else (61 if self.name == "akaze" else 128)
            dtype = np.float32 if self.metric == "l2" else np.uint8
            descriptors = np.zeros((0, width), dtype=dtype)
        return points, descriptors

    def describe(self) -> dict[str, Any]:
        return {"opencv": cv2.__version__, "max_keypoints": self.max_keypoints}


def load_user_method(spec: str, max_keypoints: int) -> Method:
    """Build the method ``module:callable`` names; ``ValueError`` saying what is wrong."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"user method {spec!r} must be given as module:callable")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(
            f"cannot import module {module_name!r} of method {spec!r}: {error}"
        ) from error
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise ValueError(f"{spec!r}: {module_name} has no callable {attribute!r}")
    method = factory(max_keypoints=max_keypoints)
    if not callable(getattr(method, "extract", None)):
        raise ValueError(f"{spec!r} returned {type(method).__name__}, which has no extract()")
    if getattr(method, "metric", None) not in ("l2", "hamming"):
        raise ValueError(f"{spec!r}: method.metric must be 'l2' or 'hamming'")
    if not getattr(method, "name", None):
        method.name = attribute.lower()
    return method


def build_methods(
    names: list[str],
    max_keypoints: int,
    ours: Callable[[], FeatureExtractor] | None = None,
    descriptor_format: str = "float32",
) -> list[Method]:
    """Methods from CLI names: ``ours``, ``orb``, ``sift``, ``akaze`` or ``module:callable``.

    ``ours`` builds the FeatureExtractor only when ``"ours"`` is asked for;
    ``descriptor_format`` is that of its descriptors (see ``OursMethod``).
    """
    methods: list[Method] = []
    for name in names:
        if name == "ours":
            if ours is None:
                raise ValueError("method 'ours' needs an extractor")
            methods.append(OursMethod(ours(), descriptor_format=descriptor_format))
        elif name in BASELINES:
            methods.append(OpenCVMethod(name, max_keypoints))
        elif ":" in name:
            methods.append(load_user_method(name, max_keypoints))
        else:
            raise ValueError(
                f"unknown method {name!r}; choose from ours, {', '.join(BASELINES)} "
                "or module:callable"
            )
    seen = [m.name for m in methods]
    duplicates = sorted({n for n in seen if seen.count(n) > 1})
    if duplicates:
        raise ValueError(f"methods named more than once: {duplicates}")
    return methods


def check_output(method: Method, keypoints: Any, descriptors: Any, where: str) -> None:
    """Raise ``ValueError`` naming the method and image if its output is malformed."""
    keypoints, descriptors = np.asarray(keypoints), np.asarray(descriptors)
    problem = None
    if keypoints.ndim != 2 or keypoints.shape[1] != 2:
        problem = f"keypoints of shape {keypoints.shape}, expected (N, 2)"
    elif descriptors.ndim != 2 or len(descriptors) != len(keypoints):
        problem = f"descriptors of shape {descriptors.shape} for {len(keypoints)} keypoints"
    elif not np.isfinite(keypoints).all():
        problem = "non-finite keypoints"
    elif method.metric == "hamming" and descriptors.dtype != np.uint8:
        problem = f"hamming metric needs uint8 descriptors, got {descriptors.dtype}"
    if problem:
        raise ValueError(f"method {method.name} returned {problem} on {where}")
