"""A mistyped local path is answered at once ("no such file or folder"), never sent to the
hub; offline mode refuses uncached hub names at once; hints name only variables that are set.
Covers the data loaders and models.pretrained.resolve_model_path (both resolve names)."""

from __future__ import annotations

import pytest

import labelwise.data.loaders as loaders
from labelwise.data import load_classification, load_seq2seq, load_tagging
from labelwise.errors import ConfigError, DataError
from labelwise.models.pretrained import resolve_model_path

OFFLINE = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")


@pytest.fixture
def no_hub(monkeypatch, tmp_path):
    """Run in an empty folder with a data/ sub-folder; any hub call fails the test."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train").mkdir()

    def hub(name, split):
        raise AssertionError(f"{name!r} was sent to the hub")

    monkeypatch.setattr(loaders, "_hub_dataset", hub)
    for variable in OFFLINE:
        monkeypatch.delenv(variable, raising=False)
    return tmp_path


@pytest.mark.parametrize("name", ["data/trian", "./data/trian", "../nowhere/x", "~/no/such/folder", "a/b/c"])
@pytest.mark.parametrize("loader", [load_classification, load_tagging, load_seq2seq])
def test_a_name_that_looks_like_a_path_is_answered_at_once(no_hub, name, loader):
    with pytest.raises(DataError, match="no such file or folder"):
        loader(name)


def test_the_answer_suggests_the_close_local_name(no_hub):
    with pytest.raises(DataError, match=r"Did you mean 'data/train'"):
        load_classification("data/trian")


@pytest.mark.parametrize("variable", OFFLINE)
def test_offline_mode_refuses_an_uncached_hub_name_at_once(no_hub, monkeypatch, variable):
    monkeypatch.setenv(variable, "1")
    with pytest.raises(DataError, match=rf"no such file or folder \({variable} is set"):
        load_classification("labelwise-no-such-dataset-xyz")


def test_hub_failure_hint_does_not_mention_an_unset_offline_variable(monkeypatch, tmp_path):
    datasets = pytest.importorskip("datasets")
    monkeypatch.chdir(tmp_path)
    for variable in OFFLINE:
        monkeypatch.delenv(variable, raising=False)

    def unreachable(*args, **kwargs):
        raise ConnectionError("network unreachable")

    monkeypatch.setattr(datasets, "load_dataset", unreachable)
    with pytest.raises(DataError, match="check the hub name and the network") as caught:
        load_classification("some-hub-dataset")
    assert "OFFLINE" not in str(caught.value)


@pytest.mark.parametrize("name", ["./models/my-bert", "/no/such/model", "a/b/c", "data/bert"])
def test_resolve_model_path_refuses_a_missing_local_path_at_once(no_hub, name):
    with pytest.raises(ConfigError, match="no such model folder"):
        resolve_model_path(name)


def test_resolve_model_path_honours_transformers_offline(no_hub, monkeypatch):
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    with pytest.raises(ConfigError, match="TRANSFORMERS_OFFLINE forbids downloading"):
        resolve_model_path("labelwise-no-such-model-xyz")


def test_resolve_model_path_passes_hub_names_through_when_online(no_hub):
    assert resolve_model_path("owner/some-model") == "owner/some-model"
    assert resolve_model_path("bert-base-uncased") == "bert-base-uncased"
