import json
import pickle

import pytest
import torch
from safetensors.torch import save_file

from sobelnet_ros.models import (
    DesNet,
    DesNetConfig,
    SobelNet,
    WeightsError,
    load_weights,
    save_weights,
)
from sobelnet_ros.models.sobelnet import SobelNetConfig
from sobelnet_ros.models.weights import config_from_file


def test_round_trip_restores_every_tensor(tmp_path):
    source = SobelNet()
    torch.nn.init.normal_(source.head.weight)
    path = save_weights(source, tmp_path / "s.safetensors")
    target = SobelNet()
    metadata = load_weights(target, path)
    assert metadata["model"] == "SobelNet"
    for name, tensor in source.state_dict().items():
        assert torch.equal(tensor, target.state_dict()[name])
    assert config_from_file(path, SobelNetConfig) == source.config


def test_missing_file_names_the_path(tmp_path):
    path = tmp_path / "absent.safetensors"
    with pytest.raises(FileNotFoundError, match="absent.safetensors"):
        load_weights(SobelNet(), path)


def test_wrong_tensor_names_are_refused(tmp_path):
    path = tmp_path / "renamed.safetensors"
    state = {f"x.{k}": v for k, v in SobelNet().state_dict().items()}
    save_file(state, str(path))
    with pytest.raises(WeightsError, match="renamed.safetensors.*missing"):
        load_weights(SobelNet(), path)


def test_wrong_shapes_are_refused_with_the_tensor_name(tmp_path):
    path = tmp_path / "shapes.safetensors"
    state = SobelNet().state_dict()
    state["head.weight"] = torch.zeros(1, 4, 1, 1)
    save_file(state, str(path))
    with pytest.raises(WeightsError, match=r"shapes.safetensors.*head\.weight.*\(1, 4, 1, 1\)"):
        load_weights(SobelNet(), path)


def test_weights_of_the_other_network_are_refused(tmp_path):
    path = save_weights(DesNet(), tmp_path / "desnet.safetensors")
    with pytest.raises(WeightsError, match="holds DesNet weights"):
        load_weights(SobelNet(), path)


def test_a_pickle_renamed_to_safetensors_is_refused(tmp_path):
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps(SobelNet().state_dict()))
    with pytest.raises(WeightsError, match="evil.safetensors"):
        load_weights(SobelNet(), path)


def test_other_extensions_are_never_opened(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(SobelNet().state_dict(), path)
    with pytest.raises(WeightsError, match="only .safetensors"):
        load_weights(SobelNet(), path)
    with pytest.raises(ValueError, match=".safetensors"):
        save_weights(SobelNet(), tmp_path / "model.pt")


def test_a_file_from_before_gradient_normalisation_loads_without_it(tmp_path):
    model = SobelNet()
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    old_config = {k: v for k, v in vars(model.config).items() if k != "normalize_gradients"}
    path = tmp_path / "old.safetensors"
    save_file(
        tensors,
        str(path),
        metadata={"format_version": "1", "model": "SobelNet", "config": json.dumps(old_config)},
    )
    assert config_from_file(path, SobelNetConfig).normalize_gradients is False
    new = save_weights(SobelNet(), tmp_path / "new.safetensors")
    assert config_from_file(new, SobelNetConfig).normalize_gradients is True


def test_may_lack_excuses_only_the_named_parameters(tmp_path):
    plain = DesNetConfig(fine_detail=False)
    tensors = {k: v for k, v in DesNet(plain).state_dict().items() if k != "head.bias"}
    path = tmp_path / "partial.safetensors"
    save_file(tensors, str(path), metadata={"model": "DesNet"})
    with pytest.raises(WeightsError, match="head.bias"):
        load_weights(DesNet(DesNetConfig(fine_detail=True)), path, may_lack=("fine.",))
    load_weights(DesNet(plain), path, may_lack=("head.",))


def test_a_desnet_file_from_before_fine_detail_loads_without_it(tmp_path):
    config = {k: v for k, v in vars(DesNetConfig()).items() if k != "fine_detail"}
    path = tmp_path / "old.safetensors"
    plain = DesNet(DesNetConfig(fine_detail=False))
    tensors = {k: v.contiguous() for k, v in plain.state_dict().items()}
    save_file(tensors, str(path), metadata={"model": "DesNet", "config": json.dumps(config)})
    assert config_from_file(path, DesNetConfig).fine_detail is False
