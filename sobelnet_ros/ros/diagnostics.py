"""The node's status as a diagnostic_msgs/DiagnosticArray for /diagnostics."""

from __future__ import annotations

from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

STATUS_NAME = "sobelnet_detector: features"


def build_status(
    header_stamp: Any,
    window: dict[str, float],
    totals: dict[str, Any],
    engine: dict[str, Any],
    in_flight: int,
    info: dict[str, str],
) -> DiagnosticArray:
    """One DiagnosticStatus with rates, latency, counts by reason and the model.

    Args:
        window: ``NodeStats.window()`` (recent rates and latency).
        totals: ``NodeStats.totals()`` (counts since start).
        engine: ``Engine.stats.snapshot()``.
        in_flight: frames queued or running in the engine now.
        info: fixed facts (device, weights, input topic...).

    Level: ERROR when frames fail inside the extractor, WARN when frames were
    dropped or rejected in total or nothing came out although frames came in
    recently, else OK.
    """
    values: dict[str, Any] = {
        **{k: f"{v:.2f}" for k, v in window.items()},
        "in_flight": in_flight,
        "frames_in": totals["frames_in"],
        "frames_submitted": engine["submitted"],
        "frames_completed": engine["completed"],
        "frames_published": totals["published"],
        "debug_images_published": totals["debug_published"],
        "rejected_total": sum(totals["rejected"].values()),
        "dropped_total": sum(engine["dropped"].values()),
        "failed_total": sum(engine["failed"].values()),
    }
    for prefix, counts in (
        ("rejected", totals["rejected"]),
        ("dropped", engine["dropped"]),
        ("failed", engine["failed"]),
        ("unpublished", totals["unpublished"]),
    ):
        values.update({f"{prefix}.{reason}": n for reason, n in sorted(counts.items())})
    values.update(info)
    level, message = _level(window, values)
    status = DiagnosticStatus(
        level=level,
        name=STATUS_NAME,
        message=message,
        hardware_id=info.get("device", ""),
        values=[KeyValue(key=k, value=str(v)) for k, v in values.items()],
    )
    return DiagnosticArray(header=_header(header_stamp), status=[status])


def _level(window: dict[str, float], values: dict[str, Any]) -> tuple[bytes, str]:
    summary = (
        f"{window['output_rate_hz']:.1f} Hz out of {window['input_rate_hz']:.1f} Hz in, "
        f"p50 {window['latency_p50_ms']:.0f} ms"
    )
    if values["failed_total"]:
        return DiagnosticStatus.ERROR, f"{values['failed_total']} frames failed; {summary}"
    if window["input_rate_hz"] > 0 and window["output_rate_hz"] == 0:
        return DiagnosticStatus.WARN, f"frames in but no features out; {summary}"
    if values["dropped_total"] or values["rejected_total"]:
        lost = f"{values['dropped_total']} dropped, {values['rejected_total']} rejected"
        return DiagnosticStatus.WARN, f"{lost}; {summary}"
    return DiagnosticStatus.OK, summary


def _header(stamp: Any) -> Any:
    from std_msgs.msg import Header

    return Header(stamp=stamp)
