"""A benchmark config with embedding_lr: strategies the frozen-encoder model cannot serve (no MC
dropout for BALD, no surprisal embeddings for ALPS) are refused at validation, naming the field,
before any text is embedded."""

from __future__ import annotations

import pytest

from labelwise.benchmark import load_config
from labelwise.errors import CapabilityError

CONFIG = """\
name: refused
task: classification
data:
  pool: {data}
  test: {data}
model:
  name: embedding_lr
  params: {{C: 1.0, class_weight: balanced, max_length: 64}}
strategies: [random, badge, {strategy}]
initial: {{mode: percent, size: 1}}
query: {{mode: percent, size: 1}}
iterations: 2
output: {out}
"""


def _config(folder, strategy):
    data = folder / "data.jsonl"
    data.write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\n', encoding="utf-8")
    path = folder / "config.yaml"
    path.write_text(CONFIG.format(strategy=strategy, data=data, out=folder / "out"), encoding="utf-8")
    return path


@pytest.mark.parametrize("strategy, needs", [("bald", "mc_probabilities"), ("alps", "surprisal_embeddings")])
def test_unserved_strategy_is_refused_naming_its_field(tmp_path, strategy, needs):
    path = _config(tmp_path, strategy)
    with pytest.raises(CapabilityError) as error:
        load_config(path)
    message = str(error.value)
    assert message.startswith("strategies[2]:")
    assert needs in message and "embedding_lr" in message


def test_served_strategies_and_head_options_pass_validation(tmp_path):
    config = load_config(_config(tmp_path, "cal"))
    assert [s.name for s in config.strategies] == ["random", "badge", "cal"]
    assert config.model.params["class_weight"] == "balanced"
