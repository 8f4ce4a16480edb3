"""Safe weight files: ``.safetensors`` only, every tensor name and shape checked.

A file also carries its model's config and a format version in its metadata,
so a file trained with other hyper-parameters is refused with a clear message
instead of being loaded into a net of the wrong shape.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

FORMAT_VERSION = "1"
ConfigT = TypeVar("ConfigT")


class WeightsError(ValueError):
    """A weight file that does not fit the model; the message names the file."""


def save_weights(model: nn.Module, path: str | Path, extra: dict[str, str] | None = None) -> Path:
    """Write ``model``'s state dict and config to ``path`` (``.safetensors``)."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"weights must be saved as .safetensors, got {path}")
    metadata = {
        "format_version": FORMAT_VERSION,
        "model": type(model).__name__,
        "config": json.dumps(asdict(model.config)),
        **(extra or {}),
    }
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)
    return path


def read_metadata(path: str | Path) -> dict[str, str]:
    """The metadata block of a ``.safetensors`` file."""
    path = _existing_safetensors(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            return dict(handle.metadata() or {})
    except (SafetensorError, OSError, ValueError) as error:
        raise WeightsError(f"{path}: not a readable .safetensors file ({error})") from error


def config_from_file(path: str | Path, config_type: type[ConfigT]) -> ConfigT | None:
    """The model config stored in ``path``, or None if the file stores none."""
    raw = read_metadata(path).get("config")
    if raw is None:
        return None
    # Options added after a file was written take the value that reproduces it.
    values: dict[str, Any] = {**getattr(config_type, "FILE_DEFAULTS", {}), **json.loads(raw)}
    known = {f.name for f in fields(config_type)}  # type: ignore[arg-type]
    unknown = set(values) - known
    if unknown:
        raise WeightsError(
            f"{path}: config keys {sorted(unknown)} unknown to {config_type.__name__}"
        )
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return config_type(**values)


def load_weights(
    model: nn.Module, path: str | Path, may_lack: tuple[str, ...] = ()
) -> dict[str, str]:
    """Load ``path`` into ``model`` strictly; returns the file's metadata.

    ``may_lack``: name prefixes of tensors the file need not hold (parameters
    a network grew since the file was written); those keep their values.

    Raises:
        FileNotFoundError: the file does not exist.
        WeightsError: not a safetensors file, wrong model, missing, unexpected
            or mis-shaped tensors. The message names the file and the mismatch.
    """
    path = _existing_safetensors(path)
    metadata = read_metadata(path)
    expected_model = metadata.get("model")
    if expected_model is not None and expected_model != type(model).__name__:
        raise WeightsError(f"{path}: holds {expected_model} weights, not {type(model).__name__}")
    with safe_open(str(path), framework="pt") as handle:
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    expected = model.state_dict()
    grown = {name for name in expected if name not in tensors and name.startswith(may_lack)}
    _check_state(path, {k: v for k, v in expected.items() if k not in grown}, tensors)
    model.load_state_dict({**{k: expected[k] for k in grown}, **tensors}, strict=True)
    return metadata


def _existing_safetensors(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weight file not found: {path}")
    if path.suffix != ".safetensors":
        raise WeightsError(f"{path}: only .safetensors weight files are loaded")
    return path


def _check_state(
    path: Path, expected: dict[str, torch.Tensor], got: dict[str, torch.Tensor]
) -> None:
    missing = sorted(set(expected) - set(got))
    unexpected = sorted(set(got) - set(expected))
    if missing or unexpected:
        raise WeightsError(
            f"{path}: tensor names do not match the model: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}"
        )
    for name, tensor in expected.items():
        if tuple(got[name].shape) != tuple(tensor.shape):
            raise WeightsError(
                f"{path}: tensor {name!r} has shape {tuple(got[name].shape)}, "
                f"the model expects {tuple(tensor.shape)}"
            )
