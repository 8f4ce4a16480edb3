"""The node's image subscription: reliability best_available by default, frames never received.

``best_available`` (Jazzy) is reliable towards reliable publishers (most
camera drivers: large frames then arrive whole) and best effort towards
best-effort ones. It is resolved when the subscription is made, from the
publishers discovered by then; a best-effort publisher found later would not
match a subscription resolved to reliable, so on that incompatibility the
subscription is made again, resolved anew.

Frames a publisher sent that never reached the callback (lost by the
transport, or pushed out of the keep-last queue) show as jumps in the
publication sequence numbers of its messages; the node counts and logs them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rclpy.subscription import Subscription

from . import qos

try:
    from rclpy.event_handler import SubscriptionEventCallbacks
except ImportError:  # Humble
    from rclpy.qos_event import SubscriptionEventCallbacks

# Callbacks that take (msg, message info) came with Jazzy; before, no gap counting.
WITH_MESSAGE_INFO = hasattr(Subscription, "CallbackType")


class SequenceGaps:
    """Messages missing between consecutive publication sequence numbers of one publisher."""

    def __init__(self) -> None:
        self.missed = 0
        self._last: int | None = None

    def seen(self, sequence: int | None, single_publisher: Callable[[], bool]) -> int:
        """Messages missed before this one (0 when it cannot tell), added to ``missed``."""
        last, self._last = self._last, sequence
        if sequence is None or last is None or sequence <= last + 1:
            return 0  # unknown, the first, the next one, or a restarted publisher
        if not single_publisher():  # several publishers' sequences interleave
            return 0
        gap = sequence - last - 1
        self.missed += gap
        return gap


class InputSubscription:
    """Subscribes ``topic`` for ``on_message(msg)``; re-made when best_available mis-resolved.

    Args:
        on_gap: called with the number of messages a publisher sent that never arrived.
        log: a warning logger for the re-subscription.
    """

    def __init__(
        self,
        node: Any,
        msg_type: Any,
        topic: str,
        on_message: Callable[[Any], None],
        reliability: str,
        depth: int,
        on_gap: Callable[[int], None],
        log: Callable[[str], None],
    ) -> None:
        self._node = node
        self._args = (msg_type, topic)
        self._profile = qos.input_qos(reliability, depth)
        self._on_message = on_message
        self._on_gap = on_gap
        self._log = log
        self.gaps = SequenceGaps()
        self._remake_timer: Any = None
        self.subscription = self._subscribe()

    @property
    def topic_name(self) -> str:
        return self.subscription.topic_name

    def close(self) -> None:
        if self._remake_timer is not None:
            self._node.destroy_timer(self._remake_timer)
        self._node.destroy_subscription(self.subscription)

    def _subscribe(self) -> Any:
        return self._node.create_subscription(
            *self._args,
            self._receive if WITH_MESSAGE_INFO else self._on_message,
            self._profile,
            qos_overriding_options=qos.overridable(),
            event_callbacks=SubscriptionEventCallbacks(incompatible_qos=self._incompatible),
        )

    def _receive(self, msg: Any, info: Any) -> None:
        sequence = info.get("publication_sequence_number") if isinstance(info, dict) else None
        missed = self.gaps.seen(sequence, self._single_publisher)
        if missed:
            self._on_gap(missed)
        self._on_message(msg)

    def _single_publisher(self) -> bool:
        return self._node.count_publishers(self.subscription.topic_name) == 1

    def _incompatible(self, event: Any) -> None:
        chosen = self.subscription.qos_profile.reliability
        if not qos.HAS_BEST_AVAILABLE or chosen != qos.BEST_AVAILABLE:
            return  # a fixed choice: the user asked for exactly this
        if self._remake_timer is None:  # not inside the subscription's own event callback
            self._remake_timer = self._node.create_timer(0.0, self._remake)

    def _remake(self) -> None:
        self._node.destroy_timer(self._remake_timer)
        self._remake_timer = None
        self._node.destroy_subscription(self.subscription)
        self.subscription = self._subscribe()
        self._log(
            f"a publisher on {self.subscription.topic_name} does not match the input QoS "
            "(best_available resolved to reliable before it was found): subscribed again"
        )
