"""The node's QoS: input from parameters, output reliable; both overridable at start.

``qos_overrides.<topic>.<publisher|subscription>.<policy>`` parameters (ROS 2's
QoS overriding: history, depth, reliability) change any of them; the node
then reports the QoS in effect, not the one its parameters asked for.
"""

from __future__ import annotations

from typing import Any

from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions

OUTPUT_QOS = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
# best_available is new in Jazzy; older distros (Humble) take best effort instead
HAS_BEST_AVAILABLE = hasattr(ReliabilityPolicy, "BEST_AVAILABLE")
BEST_AVAILABLE = getattr(ReliabilityPolicy, "BEST_AVAILABLE", ReliabilityPolicy.BEST_EFFORT)
RELIABILITY = {
    "best_available": BEST_AVAILABLE,  # reliable towards reliable publishers
    "best_effort": ReliabilityPolicy.BEST_EFFORT,
    "reliable": ReliabilityPolicy.RELIABLE,
}


def overridable() -> QoSOverridingOptions:
    """Lets ``qos_overrides`` parameters set history, depth and reliability of an endpoint."""
    return QoSOverridingOptions.with_default_policies()


def input_qos(reliability: str, depth: int) -> QoSProfile:
    """Keep-last ``depth`` with the ``qos_reliability`` parameter's policy."""
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=RELIABILITY[reliability]
    )


def describe(endpoint: Any) -> str:
    """The QoS in effect of a publisher or subscription, e.g. ``reliable, depth 5``."""
    qos = endpoint.qos_profile
    return f"{qos.reliability.name.lower()}, depth {qos.depth}"
