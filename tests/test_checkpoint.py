"""A model file is untrusted input: anything that is not a sound genrenet checkpoint is refused
with a clear ModelError, and nothing in it is executed."""

from __future__ import annotations

import pickle

import pytest
import torch

from tagger import models
from tagger.checkpoint import FORMAT, load_checkpoint, save_checkpoint
from tagger.errors import ModelError
from tagger.features import FeatureConfig


def _save_small(path, **overrides):
    kwargs = {"n_labels": 3, "width": 2}
    model = models.build("compact_cnn", **kwargs)
    args = dict(model=model, arch="compact_cnn", arch_kwargs=kwargs, labels=["A", "B", "C"],
                features=FeatureConfig(), temperature=1.5, metrics={"accuracy": 0.5})
    args.update(overrides)
    save_checkpoint(path, **args)
    return model


def test_saved_checkpoint_loads_back_with_same_weights_and_settings(tmp_path):
    model = _save_small(tmp_path / "m.pt")
    loaded = load_checkpoint(tmp_path / "m.pt")
    assert loaded.labels == ("A", "B", "C")
    assert loaded.features == FeatureConfig()
    assert loaded.temperature == 1.5
    assert loaded.metrics == {"accuracy": 0.5}
    assert not loaded.model.training
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value)


def test_model_id_changes_with_the_weights(tmp_path):
    _save_small(tmp_path / "a.pt")
    torch.manual_seed(123)
    _save_small(tmp_path / "b.pt")
    assert load_checkpoint(tmp_path / "a.pt").model_id != load_checkpoint(tmp_path / "b.pt").model_id


def test_missing_file_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_checkpoint(tmp_path / "nothing.pt")


def test_text_file_is_not_a_model(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("hello")
    with pytest.raises(ModelError, match="not a genrenet model file"):
        load_checkpoint(path)


def test_plain_tensor_file_is_not_a_model(tmp_path):
    torch.save(torch.zeros(3), tmp_path / "tensor.pt")
    with pytest.raises(ModelError, match="not a genrenet model file"):
        load_checkpoint(tmp_path / "tensor.pt")


class Payload:
    def __reduce__(self):
        return (print, ("code ran",))


def test_pickled_code_is_refused_not_executed(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as fh:
        pickle.dump({"format": FORMAT, "x": Payload()}, fh)
    with pytest.raises(ModelError):
        load_checkpoint(path)
    assert "code ran" not in capsys.readouterr().out


def test_checkpoint_of_another_format_is_refused(tmp_path):
    torch.save({"format": "other/9", "state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(ModelError, match="format"):
        load_checkpoint(tmp_path / "other.pt")


def test_incomplete_checkpoint_names_what_is_missing(tmp_path):
    torch.save({"format": FORMAT, "arch": "compact_cnn"}, tmp_path / "partial.pt")
    with pytest.raises(ModelError, match="missing arch_kwargs"):
        load_checkpoint(tmp_path / "partial.pt")


def test_unknown_architecture_is_refused(tmp_path):
    _save_small(tmp_path / "m.pt", arch="no_such_net")
    with pytest.raises(ModelError, match="no_such_net"):
        load_checkpoint(tmp_path / "m.pt")


def test_weights_that_do_not_fit_the_architecture_are_refused(tmp_path):
    _save_small(tmp_path / "m.pt", arch_kwargs={"n_labels": 3, "width": 8})
    with pytest.raises(ModelError, match="do not fit"):
        load_checkpoint(tmp_path / "m.pt")


def test_save_leaves_no_temporary_file(tmp_path):
    _save_small(tmp_path / "m.pt")
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]
