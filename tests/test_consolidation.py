"""Consolidations of #14 outside the model layer: output kinds and stopping criteria on
the one Registry (one naming, one did-you-mean, one file.py:Class loader)."""

from __future__ import annotations

import pytest

from labelwise.errors import CapabilityError, ConfigError
from labelwise.outputs import known_outputs
from labelwise.outputs.producers import OUTPUT_KINDS, output_kind
from labelwise.stopping import LabelBudget, available_stopping_criteria, get_stopping_criterion
from labelwise.stopping.registry import STOPPING_CRITERIA


def test_output_kinds_live_on_a_registry_and_an_unknown_kind_suggests_the_closest():
    assert OUTPUT_KINDS.kind == "output kind"
    assert set(known_outputs()) == set(OUTPUT_KINDS.names())
    assert output_kind("probabilities").name == "probabilities"
    with pytest.raises(CapabilityError, match=r"unknown output 'probabilites'\. Did you mean 'probabilities'"):
        output_kind("probabilites")


def test_stopping_criteria_live_on_a_registry_with_aliases_and_normalised_names():
    assert STOPPING_CRITERIA.kind == "stopping criterion"
    assert "label_budget" in available_stopping_criteria()
    budget = get_stopping_criterion("Label-Budget", max_labels=5)
    assert isinstance(budget, LabelBudget) and budget.max_labels == 5
    assert isinstance(get_stopping_criterion("max_labels", max_labels=3), LabelBudget)
    with pytest.raises(ConfigError, match="Did you mean 'label_budget'"):
        get_stopping_criterion("label_budgett", max_labels=3)
    with pytest.raises(ConfigError, match=r"label_budget.*max_label"):
        get_stopping_criterion("label_budget", max_label=3)


def test_a_stopping_criterion_of_your_own_loads_from_a_file(tmp_path):
    path = tmp_path / "my_stop.py"
    path.write_text(
        "from labelwise.stopping import StopDecision, StoppingCriterion\n"
        "class Never(StoppingCriterion):\n"
        "    name = 'never'\n"
        "    def _update(self, state):\n"
        "        return StopDecision(False, 'never', None)\n")
    criterion = get_stopping_criterion(f"{path}:Never")
    assert type(criterion).__name__ == "Never"


def test_optional_import_names_the_extra_that_installs_a_missing_package():
    from labelwise._lazy import optional_import

    assert optional_import("json", "core").dumps([1]) == "[1]"
    with pytest.raises(ConfigError, match=r"SetFit needs the package 'no_such_pkg_x'.*labelwise\[setfit\]"):
        optional_import("no_such_pkg_x.sub", "setfit", "SetFit")


def test_packages_resolve_lazy_names_through_one_helper():
    import labelwise.annotate
    import labelwise.annotators
    import labelwise.models
    import labelwise.plasm

    for package in (labelwise.models, labelwise.plasm, labelwise.annotate, labelwise.annotators):
        assert package.__getattr__.__qualname__.startswith("lazy_attributes")
    assert labelwise.models.TextCNN.__name__ == "TextCNN"
    with pytest.raises(AttributeError, match="labelwise.models.*Nope"):
        labelwise.models.Nope  # noqa: B018


def test_pandas_is_an_optional_extra_that_labelwise_never_imports():
    import subprocess
    import sys
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("pandas") for d in project["dependencies"])
    assert any(d.startswith("pandas") for d in project["optional-dependencies"]["pandas"])
    # scikit-learn imports pandas when it is installed, so block it: labelwise must work without.
    code = ("import sys\n"
            "class NoPandas:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] == 'pandas': raise ModuleNotFoundError(name)\n"
            "sys.meta_path.insert(0, NoPandas())\n"
            "import labelwise, labelwise.data, labelwise.models, "
            "labelwise.loop, labelwise.strategies, labelwise.stopping, labelwise.benchmark, "
            "labelwise.annotate.store, labelwise.plasm, labelwise.cli.main; from labelwise.data import "
            "load_ag_news_sample; from labelwise.models import TfidfLogisticRegression; train, _ = "
            "load_ag_news_sample(); TfidfLogisticRegression(max_features=200).fit(train.subset(range(40))); "
            "print('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr[-2000:]


# ---- naming: query_size everywhere, batch_size only for the SGD mini-batch -------------------
@pytest.fixture
def classification_pool():
    from labelwise.data import ClassificationDataset

    words = ["match goal", "market shares", "election war", "rain cloud"]
    return ClassificationDataset([f"{words[i % 4]} item {i}" for i in range(40)], None,
                                 ["Sports", "Business", "World", "Weather"])


def test_learner_query_takes_query_size_and_k_still_works_with_a_future_warning(classification_pool):
    import warnings

    from labelwise.loop import ActiveLearner
    from labelwise.models import TfidfLogisticRegression

    learner = ActiveLearner(TfidfLogisticRegression(), classification_pool, "entropy", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(learner.query(query_size=3).indices) == 3
        assert len(learner.query(2).indices) == 2
    with pytest.warns(FutureWarning, match="k= is now query_size="):
        assert len(learner.query(k=4).indices) == 4
    with pytest.raises(ConfigError, match="not both"):
        learner.query(query_size=2, k=2)


def test_annotator_and_background_learner_take_query_size(classification_pool, tmp_path):
    pytest.importorskip("anywidget")
    from labelwise.annotate import Annotator, BackgroundLearner
    from labelwise.loop import ActiveLearner
    from labelwise.models import TfidfLogisticRegression

    widget = Annotator(classification_pool, TfidfLogisticRegression(), "random", store=tmp_path / "a.jsonl",
                       query_size=4)
    assert widget.query_size == 4 and widget.background.query_size == 4
    with pytest.warns(FutureWarning, match="batch_size= is now query_size="):
        old = Annotator(classification_pool, TfidfLogisticRegression(), "random", store=tmp_path / "b.jsonl",
                        batch_size=3)
    assert old.query_size == 3
    with pytest.warns(FutureWarning):
        assert old.batch_size == 3
    learner = ActiveLearner(TfidfLogisticRegression(), classification_pool, "random", random_state=0)
    with pytest.warns(FutureWarning):
        assert BackgroundLearner(learner, batch_size=5).query_size == 5
    widget.close()
    old.close()
