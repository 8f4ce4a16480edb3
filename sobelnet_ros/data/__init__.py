"""Images that ship with installed packages, for demos, synthetic sets and training."""

from .samples import SAMPLE_NAMES, load_sample, sample_images

__all__ = ["SAMPLE_NAMES", "load_sample", "sample_images"]
