"""The one Registry class behind strategies, subsamplers and models (issue #14)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import labelwise._registry as registry_module
from labelwise._registry import Registry, load_object
from labelwise.errors import ConfigError


class Alpha:
    def __init__(self, size: int = 1, *, depth: int = 2) -> None:
        self.size, self.depth = size, depth


class Beta:
    def __init__(self, needed: str) -> None:
        self.needed = needed


@pytest.fixture
def widgets() -> Registry:
    widgets = Registry("widget")
    widgets.register("alpha_widget", "alpha", target=Alpha, colour="red", tasks=("classification",))
    widgets.register("beta_widget", target=Beta, tasks=("tagging",))
    return widgets


# --- names, aliases, normalisation ---------------------------------------------------------

def test_unknown_name_names_the_kind_suggests_and_lists(widgets):
    with pytest.raises(ConfigError) as caught:
        widgets.get("alpha_widgt")
    message = str(caught.value)
    assert "unknown widget 'alpha_widgt'" in message
    assert "Did you mean 'alpha_widget'" in message
    assert "Available widgets: alpha_widget, beta_widget" in message


def test_aliases_name_the_same_class(widgets):
    assert widgets.get_class("alpha") is widgets.get_class("alpha_widget") is Alpha
    assert widgets.aliases == {"alpha": "alpha_widget"}
    assert widgets.names() == ["alpha_widget", "beta_widget"]


@pytest.mark.parametrize("spelling", ["Alpha-Widget", "ALPHA_WIDGET", " alpha widget ", "ALPHA"])
def test_case_dashes_and_spaces_are_normalised(widgets, spelling):
    assert widgets.canonical(spelling) == "alpha_widget"
    assert spelling in widgets


def test_a_taken_name_or_alias_is_refused(widgets):
    with pytest.raises(ConfigError, match="already taken by Alpha"):
        widgets.register("alpha-widget", target=Beta)
    with pytest.raises(ConfigError, match="already names 'alpha_widget'"):
        widgets.register("gamma", "alpha", target=Beta)
    with pytest.raises(ConfigError, match="is the name of another widget"):
        widgets.register("gamma", "beta_widget", target=Beta)
    widgets.register("alpha_widget", "alpha", target=Alpha)  # the same class again is fine
    widgets.register("alpha_widget", target=Beta, replace=True)
    assert widgets.get_class("alpha_widget") is Beta
    assert "alpha" not in widgets  # replacing drops the old aliases


def test_decorator_registration_and_metadata_filter(widgets):
    @widgets.register("gamma", tasks=("tagging", "seq2seq"))
    class Gamma:
        pass

    assert widgets.get_class("gamma") is Gamma
    assert widgets.names(tasks="tagging") == ["beta_widget", "gamma"]
    assert widgets.entry("alpha").metadata["colour"] == "red"


def test_get_checks_parameters_before_building(widgets):
    assert widgets.get("alpha", depth=5).depth == 5
    with pytest.raises(ConfigError, match=r"takes no parameter 'dept'\. Did you mean 'depth'"):
        widgets.get("alpha", dept=5)
    with pytest.raises(ConfigError, match=r"Beta needs the parameter\(s\) \['needed'\]"):
        widgets.get("beta_widget")


def test_defaults_sit_under_the_callers_parameters():
    widgets = Registry("widget")
    widgets.register("alpha", target=Alpha, defaults={"size": 7, "depth": 3})
    built = widgets.get("alpha", depth=9)
    assert (built.size, built.depth) == (7, 9)


# --- lazy entries ------------------------------------------------------------------------------

def test_lazy_entry_is_imported_only_when_asked_for(tmp_path, monkeypatch):
    (tmp_path / "lw_lazy_probe.py").write_text("class Probe:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "lw_lazy_probe", raising=False)
    widgets = Registry("widget")
    widgets.register("probe", target="lw_lazy_probe:Probe", tasks=("classification",))
    assert widgets.names(tasks="classification") == ["probe"]
    assert "probe" in widgets
    assert "lw_lazy_probe" not in sys.modules
    assert type(widgets.get("probe")).__name__ == "Probe"
    assert "lw_lazy_probe" in sys.modules


def test_lazy_entry_whose_module_is_missing_fails_with_a_config_error():
    widgets = Registry("widget")
    widgets.register("ghost", target="labelwise.not_there:Ghost")
    with pytest.raises(ConfigError, match=r"widget 'ghost' needs module labelwise\.not_there.*not part of"):
        widgets.get_class("ghost")


# --- file.py:Class and package.module:Class -----------------------------------------------------

def test_file_spec_loads_the_class_and_its_code_runs_once(tmp_path):
    source = tmp_path / "mine.py"
    source.write_text("RUNS = []\nRUNS.append(1)\nclass Mine:\n    pass\n")
    first = load_object(f"{source}:Mine")
    assert load_object(f"{source}:Mine") is first
    assert sys.modules[first.__module__].RUNS == [1]
    widgets = Registry("widget")
    assert type(widgets.get(f"{source}:Mine")) is first


def test_file_spec_errors_name_the_file_and_the_fix(tmp_path):
    with pytest.raises(ConfigError, match=r"file '.*absent\.py' not found"):
        load_object(f"{tmp_path / 'absent.py'}:Mine")
    source = tmp_path / "mine.py"
    source.write_text("class Mine:\n    pass\n")
    with pytest.raises(ConfigError, match=r"has no 'Mien'\. Did you mean 'Mine'"):
        load_object(f"{source}:Mien")
    broken = tmp_path / "broken.py"
    broken.write_text("x = 1\ndef f(:\n    pass\n")
    with pytest.raises(ConfigError, match=r"broken\.py, line 2: syntax error"):
        load_object(f"{broken}:f")
    failing = tmp_path / "failing.py"
    failing.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ConfigError, match=r"running '.*failing\.py' failed \(RuntimeError: boom\)"):
        load_object(f"{failing}:X")
    failing.write_text("class X:\n    pass\n")  # a fixed file loads on the next try
    assert load_object(f"{failing}:X").__name__ == "X"


def test_module_spec_loads_and_reports_a_missing_module_or_class():
    from labelwise.subsampling import UPSSubsampler

    assert load_object("labelwise.subsampling.ups:UPSSubsampler") is UPSSubsampler
    with pytest.raises(ConfigError, match="needs module labelwise.nowhere"):
        load_object("labelwise.nowhere:Thing")
    with pytest.raises(ConfigError, match=r"has no 'UPSSubsamplr'\. Did you mean 'UPSSubsampler'"):
        load_object("labelwise.subsampling.ups:UPSSubsamplr")


# --- the registries of the package ---------------------------------------------------------------

def test_get_model_transformer_outside_any_config():
    from labelwise.models import available_models, get_model
    from labelwise.models.hf_classification import TransformerClassifier

    model = get_model("transformer", batch_size=4)
    assert type(model) is TransformerClassifier
    assert model.batch_size == 4
    assert {"tfidf_lr", "transformer", "text_cnn", "torch_module", "transformer_tagger", "bilstm_crf",
            "transformer_seq2seq", "masked_lm", "embedding_lr", "sklearn", "setfit"} <= set(available_models())
    assert "transformer_tagger" in available_models("tagging")
    assert "transformer" not in available_models("tagging")


_ADAPTERS = {"tfidf_lr": "TfidfLogisticRegression", "transformer": "TransformerClassifier", "text_cnn": "TextCNN",
             "torch_module": "TorchModuleClassifier", "transformer_tagger": "TransformerTagger",
             "bilstm_crf": "BiLSTMCRFTagger", "transformer_seq2seq": "TransformerSeq2Seq",
             "masked_lm": "MaskedLanguageModel"}
_BEING_ADDED = {"embedding_lr": "EmbeddingClassifier", "sklearn": "SklearnClassifier", "setfit": "SetFitClassifier"}


@pytest.mark.parametrize("name", sorted(_ADAPTERS))
def test_every_adapter_entry_resolves_to_its_class(name):
    from labelwise.models.registry import model_class

    assert model_class(name).__name__ == _ADAPTERS[name]


@pytest.mark.parametrize("name", sorted(_BEING_ADDED))
def test_new_adapter_entries_resolve_or_say_they_are_not_installed(name):
    from labelwise.models.registry import model_class

    try:
        cls = model_class(name)
    except ConfigError as error:
        assert "not part of this installation" in str(error)
    else:
        assert cls.__name__ == _BEING_ADDED[name]


def test_config_model_names_are_the_registry_names():
    from labelwise.benchmark.components import resolve_class
    from labelwise.models.registry import model_class

    assert resolve_class("model", "seq2seq", field="model.name", task="seq2seq") is model_class("transformer_seq2seq")
    assert resolve_class("model", "tfidf_lr", field="model.name").__name__ == "TfidfLogisticRegression"
    with pytest.raises(ConfigError, match=r"model\.name: unknown model 'transfomer'\. Did you mean 'transformer'"):
        resolve_class("model", "transfomer", field="model.name")


def test_random_names_the_same_subsampler_everywhere():
    from labelwise.subsampling import RandomSubsampler, available_subsamplers, get_subsampler

    assert type(get_subsampler("random")) is RandomSubsampler  # a config's `random` subsampler
    from labelwise.benchmark.components import resolve_class

    assert type(get_subsampler("random_subsample")) is RandomSubsampler
    assert resolve_class("subsampler", "random", field="subsampling.name") is RandomSubsampler
    assert "random" in available_subsamplers()


def test_unknown_subsampler_names_the_kind_and_suggests():
    from labelwise.subsampling import get_subsampler

    with pytest.raises(ConfigError, match=r"unknown subsampler 'upss'\. Did you mean 'ups'.*Available subsamplers"):
        get_subsampler("upss")


def test_strategy_wrappers_read_the_registry():
    from labelwise.strategies import available_strategies, get_strategy, strategy_class
    from labelwise.strategies.registry import STRATEGIES

    assert available_strategies() == STRATEGIES.names()
    assert get_strategy("Breaking-Ties").name == "breaking_ties"
    assert strategy_class("margin") is strategy_class("breaking_ties")
    with pytest.raises(ConfigError, match=r"unknown strategy 'entropi'\. Did you mean 'entropy'"):
        get_strategy("entropi")


def test_registry_module_is_layer_zero():
    tree = ast.parse(Path(registry_module.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert {name for name in imported if name and name.startswith("labelwise")} == {"labelwise.errors"}
