"""The networks: SobelNet (detector) and DesNet (descriptor), and their weight files."""

from .desnet import DesNet, DesNetConfig
from .sobelnet import SobelNet, SobelNetConfig
from .weights import WeightsError, load_weights, save_weights

__all__ = [
    "DesNet",
    "DesNetConfig",
    "SobelNet",
    "SobelNetConfig",
    "WeightsError",
    "load_weights",
    "save_weights",
]
