"""The ``detector`` node (``sobelnet_detector``): images in, keypoints and descriptors out.

Subscribes ``image`` (or ``image/compressed``), publishes ``features`` and
``keypoints`` (PointCloud2, layout in ``cloud.py``), ``debug_image`` while it
has subscribers, and its status on ``/diagnostics``. The image callback only
queues the message; a decoder thread turns it into pixels for the engine and a
publisher thread sends results as they complete, in order, so the executor
never waits on a decoder or the model.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image, PointCloud2

from ..inference.engine_types import FrameResult
from ..tracking import TrackerConfig
from . import qos
from .cloud import features_to_cloud
from .compressed import compressed_to_array
from .decode_worker import DecodeWorker
from .diagnostics import RecentCounts, build_status, problem_totals
from .encodings import ImageRejected, image_to_array, load_cv_bridge
from .frames import Frame, debug_image_msg, downscale, to_input_pixels
from .input_subscription import InputSubscription
from .params import EXTRACTOR_OPTIONS, TRACKER_OPTIONS, check_value
from .qos import OUTPUT_QOS
from .startup import declare_parameters, start_engine
from .stats import NodeStats, merged_totals
from .tracks import NodeTracking

NODE_NAME = "sobelnet_detector"
OUTPUT_OPTIONS = ("debug_image.enabled", "debug_image.radius", "descriptor_format")
_THROTTLE_S = 5.0


@dataclass
class _Received:
    """A message waiting for the decoder: its header, arrival time and how to decode it."""

    header: Any
    received: float
    decode: Any  # () -> np.ndarray, may raise ImageRejected


class DetectorNode(Node):
    """SobelNet + DesNet features of every incoming image, as PointCloud2."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(NODE_NAME, **kwargs)
        params = declare_parameters(self)
        self.stats = NodeStats()
        self._recent = RecentCounts(self.stats.window_s)
        self._options = {name: params[name] for name in EXTRACTOR_OPTIONS}
        self._outputs = {name: params[name] for name in OUTPUT_OPTIONS}
        self._max_side = params["resize_max_side"]
        self.extractor, self.engine = start_engine(params, self.get_logger().error)
        self._bridge = load_cv_bridge()
        self._closing = threading.Event()
        self._decoder: DecodeWorker[_Received] = DecodeWorker(
            self._decode, self._drop, block=params["drop_policy"] == "block"
        )
        self.add_on_set_parameters_callback(self._on_set_parameters)

        self._features_pub = self._output(PointCloud2, "features")
        self._keypoints_pub = self._output(PointCloud2, "keypoints")
        self._debug_pub = self._output(Image, "debug_image")
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._input = self._subscribe(params)
        self._tracking = self._start_tracking(params)
        self._info = self._describe(params)
        self.create_timer(params["diagnostics_period_s"], self._publish_diagnostics)
        self._publisher_thread = threading.Thread(
            target=self._publish_loop, name="sobelnet-publisher", daemon=True
        )
        self._publisher_thread.start()
        self.get_logger().info(
            f"listening on {self._input.topic_name} ({params['input_transport']}, "
            f"{self._info['input_qos']}); features {self._info['output_qos']}; device "
            f"{self._info['device']} (requested {params['device']}); weights "
            f"{self.extractor.describe_sources()}"
        )

    # Set-up

    def _output(self, msg_type: Any, topic: str) -> Any:
        return self.create_publisher(
            msg_type, topic, OUTPUT_QOS, qos_overriding_options=qos.overridable()
        )

    def _subscribe(self, params: dict[str, Any]) -> InputSubscription:
        compressed = params["input_transport"] == "compressed"
        return InputSubscription(
            self,
            CompressedImage if compressed else Image,
            "image/compressed" if compressed else "image",
            self._on_compressed if compressed else self._on_image,
            params["qos_reliability"],
            params["qos_depth"],
            self._never_received,
            self.get_logger().warning,
        )

    def _start_tracking(self, params: dict[str, Any]) -> NodeTracking | None:
        """Tracks on ``tracks`` and ``feature`` (``tracks.py``) when ``tracking.enabled``."""
        if not params["tracking.enabled"]:
            return None
        topic = self._input.topic_name
        config = TrackerConfig(**{name: params[f"tracking.{name}"] for name in TRACKER_OPTIONS})
        return NodeTracking(
            self, topic, lambda: self._options["max_keypoints"], self._output, config
        )

    def _describe(self, params: dict[str, Any]) -> dict[str, str]:
        sources = self.extractor.describe_sources()
        return {
            "device": str(self.extractor.device),
            "device_requested": params["device"],
            "input_topic": self._input.topic_name,
            "input_qos": qos.describe(self._input.subscription),
            "output_qos": qos.describe(self._features_pub),
            "model": f"SobelNet + DesNet ({self.extractor.descriptor_dim}-D descriptors)",
            "sobelnet_weights": sources["sobelnet"],
            "desnet_weights": sources["desnet"],
            "image_conversion": "numpy" + (" + cv_bridge" if self._bridge else ""),
            "max_in_flight": str(params["max_in_flight"]),
            "drop_policy": params["drop_policy"],
        }

    # Input: the callback queues, the decoder thread decodes and hands over

    def _on_image(self, msg: Image) -> None:
        self._accept(msg.header, lambda: image_to_array(msg, self._bridge))

    def _on_compressed(self, msg: CompressedImage) -> None:
        self._accept(msg.header, lambda: compressed_to_array(msg))

    def _accept(self, header: Any, decode: Any) -> None:
        self.stats.received()
        self._decoder.put(_Received(header, time.perf_counter(), decode))

    def _never_received(self, count: int) -> None:
        self.stats.never_received(count)
        self.get_logger().warning(
            f"{count} frame(s) sent by the publisher never arrived (lost in transport or pushed"
            " out of the input queue); a best-effort camera of large frames needs a DDS set-up"
            " for them (see README)",
            throttle_duration_sec=_THROTTLE_S,
        )

    def _drop(self, job: _Received, reason: str) -> None:
        self.stats.drop(reason)
        self.get_logger().warning(
            f"dropped a frame before decoding ({reason})", throttle_duration_sec=_THROTTLE_S
        )

    def _decode(self, job: _Received) -> None:
        try:
            image = job.decode()
        except ImageRejected as error:
            self._reject(error.reason, str(error))
            return
        except Exception as error:  # a malformed frame must never stop the node
            self._reject("decode_error", f"{type(error).__name__}: {error}")
            return
        work, scale = downscale(image, self._max_side)
        keep = self._outputs["debug_image.enabled"] and self._debug_pub.get_subscription_count()
        tracking = self._tracking is not None
        frame = Frame(job.header, job.received, scale, image if keep else None,
                      work if tracking else None)  # fmt: skip
        self.engine.submit(work, frame)  # drops are counted by the engine

    def _reject(self, reason: str, message: str) -> None:
        self.stats.reject(reason)
        self.get_logger().error(
            f"rejected frame ({reason}): {message}", throttle_duration_sec=_THROTTLE_S
        )

    # Output: a thread publishes results in order as they complete

    def _publish_loop(self) -> None:
        while True:
            result = self.engine.wait(timeout=0.2)
            if result is not None:
                self._publish(result)
            elif self._closing.is_set() and self.engine.in_flight() == 0:
                break
        for result in self.engine.completed():
            self._publish(result)

    def _publish(self, result: FrameResult) -> None:
        frame: Frame = result.meta
        if not result.ok or result.features is None:
            self.get_logger().error(
                f"extraction failed: {result.error}", throttle_duration_sec=_THROTTLE_S
            )
            return  # counted by the engine as failed
        features = result.features
        keypoints = to_input_pixels(features.keypoints, frame.scale)
        try:
            descriptors, form = features.descriptors, self._outputs["descriptor_format"]
            self._features_pub.publish(
                features_to_cloud(frame.header, keypoints, features.scores, descriptors, form)
            )
            self._keypoints_pub.publish(
                features_to_cloud(frame.header, keypoints, features.scores)
            )
            if self._tracking is not None:
                self._tracking.process(frame, features)
            debug = frame.image is not None and self._debug_pub.get_subscription_count() > 0
            if debug and self._tracking is not None:
                self._debug_pub.publish(self._tracking.debug_msg(frame.header, frame.image))
            elif debug:
                radius = self._outputs["debug_image.radius"]
                self._debug_pub.publish(
                    debug_image_msg(frame.header, frame.image, keypoints, features.scores, radius)
                )
        except Exception as error:  # the context is gone (shutdown): count, do not raise
            self.stats.lost(type(error).__name__)
            return
        latency_ms = (time.perf_counter() - frame.received) * 1e3
        self.stats.published_frame(latency_ms, len(features), debug)

    def _publish_diagnostics(self) -> None:
        totals = merged_totals(self.stats.totals(), self.engine.stats.snapshot())
        identity = (
            self.get_fully_qualified_name(),
            f"{self._info['device']} {self._info['input_topic']}",
        )
        msg = build_status(
            self.get_clock().now().to_msg(),
            identity,
            self.stats.window(),
            totals,
            self._recent.update(problem_totals(totals)),
            self.engine.in_flight(),
            {
                **self._info,
                "max_keypoints": str(self._options["max_keypoints"]),
                **(self._tracking.status() if self._tracking is not None else {}),
            },
        )
        self._diagnostics_pub.publish(msg)

    # Run-time parameters: all checked, then all applied

    def _on_set_parameters(self, parameters: list[Any]) -> SetParametersResult:
        options, outputs = dict(self._options), dict(self._outputs)
        for parameter in parameters:
            reason = check_value(parameter.name, parameter.value)
            if reason:
                return SetParametersResult(successful=False, reason=reason)
            if parameter.name in options:
                options[parameter.name] = parameter.value
            elif parameter.name in outputs:
                outputs[parameter.name] = parameter.value
        changed = {k: v for k, v in options.items() if v != self._options[k]}
        try:
            self.extractor.config.with_options(**options)  # the extractor's own checks
        except ValueError as error:
            return SetParametersResult(successful=False, reason=str(error))
        if changed:
            self.engine.configure(**changed)
        self._options, self._outputs = options, outputs
        return SetParametersResult(successful=True)

    # Shutdown

    def shutdown(self, drain_timeout_s: float = 5.0) -> dict[str, Any]:
        """Stop taking frames, finish (or count) those in flight, publish them; the totals."""
        self._input.close()
        self._decoder.close(timeout=drain_timeout_s)
        self._closing.set()
        self.engine.close(drain=drain_timeout_s > 0, timeout=drain_timeout_s)
        self._publisher_thread.join(drain_timeout_s + 1.0)
        totals = merged_totals(self.stats.totals(), self.engine.stats.snapshot())
        self.get_logger().info(
            f"stopped: {totals['frames_in']} frames in, {totals['published']} published, "
            f"rejected {totals['rejected']}, dropped {totals['dropped']}, "
            f"failed {totals['failed']}, unpublished {totals['unpublished']}"
        )
        return totals


def main(args: list[str] | None = None) -> int:
    """The ``detector`` executable (see ``detector_main``)."""
    from .detector_main import main as detector_main

    return detector_main(args)


if __name__ == "__main__":
    sys.exit(main())
