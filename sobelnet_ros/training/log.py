"""Training log: CSV and JSON records, and a PNG of the curves."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any


class TrainLog:
    """Keeps train and validation records of one run folder.

    Files: ``train.csv``, ``val.csv``, ``log.json`` (both lists and the run's
    settings) and ``curves.png``. On resume, records after the resumed step are
    dropped, so the files describe exactly one run.
    """

    def __init__(self, folder: Path, settings: dict[str, Any], resume_step: int = 0) -> None:
        self.folder = folder
        self.settings = settings
        self.train: list[dict[str, float]] = []
        self.val: list[dict[str, float]] = []
        previous = folder / "log.json"
        if resume_step > 0 and previous.is_file():
            old = json.loads(previous.read_text())
            self.train = [r for r in old["train"] if r["step"] <= resume_step]
            self.val = [r for r in old["val"] if r["step"] <= resume_step]

    def add_train(self, record: dict[str, float]) -> None:
        self.train.append(record)

    def add_val(self, record: dict[str, float]) -> None:
        self.val.append(record)

    def write(self) -> None:
        """Rewrite all files (small: one row per logged step)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, rows in (("train.csv", self.train), ("val.csv", self.val)):
            if rows:
                keys = list(dict.fromkeys(k for row in rows for k in row))
                with open(self.folder / name, "w", newline="") as handle:
                    writer = csv.DictWriter(handle, fieldnames=keys)
                    writer.writeheader()
                    writer.writerows(rows)
        payload = {"settings": self.settings, "train": self.train, "val": self.val}
        (self.folder / "log.json").write_text(json.dumps(payload, indent=1))
        self.plot()

    def plot(self) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        val_keys = [k for k in (self.val[0] if self.val else {}) if k != "step"]
        fig, axes = plt.subplots(1, 1 + len(val_keys), figsize=(4 * (1 + len(val_keys)), 3))
        axes = list(axes) if val_keys else [axes]
        if self.train:
            steps = [r["step"] for r in self.train]
            axes[0].plot(steps, [r["loss"] for r in self.train], lw=0.8)
        axes[0].set(title="training loss", xlabel="step")
        for axis, key in zip(axes[1:], val_keys, strict=True):
            axis.plot([r["step"] for r in self.val], [r[key] for r in self.val], "o-")
            axis.set(title=f"validation {key}", xlabel="step")
        fig.tight_layout()
        fig.savefig(self.folder / "curves.png", dpi=90)
        plt.close(fig)
