"""The shared training loop: it learns, early stopping keeps the best held-out epoch, and it
uses only the generator it is given."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from labelwise.errors import ConfigError, DataError  # noqa: E402
from labelwise.models._training import TrainingConfig, linear_schedule, parameter_groups, train  # noqa: E402

CPU = torch.device("cpu")


def _problem(seed=0, n=64):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=generator)
    y = (x[:, 0] > 0).long()
    return x, y


def _fit(config, seed=0):
    x, y = _problem()
    torch.manual_seed(seed)
    module = torch.nn.Linear(4, 2)
    result = train(module, len(x), lambda rows: torch.nn.functional.cross_entropy(module(x[rows]), y[rows]),
                   config, device=CPU, generator=torch.Generator().manual_seed(seed))
    return module, result


def test_training_lowers_the_loss_and_leaves_eval_mode():
    module, result = _fit(TrainingConfig(epochs=20, batch_size=8, learning_rate=0.1))
    assert result.epoch_losses[-1] < result.epoch_losses[0] / 2
    assert not module.training


def test_the_same_generator_gives_the_same_weights_and_the_global_one_is_untouched():
    before = torch.random.get_rng_state().clone()
    first, _ = _fit(TrainingConfig(epochs=3, batch_size=8, learning_rate=0.1))
    torch.random.set_rng_state(before)
    second, _ = _fit(TrainingConfig(epochs=3, batch_size=8, learning_rate=0.1))
    assert torch.equal(first.weight, second.weight)


def test_early_stopping_keeps_the_best_held_out_epoch():
    config = TrainingConfig(epochs=30, batch_size=8, learning_rate=2.0, warmup_ratio=0.0, max_grad_norm=None,
                            validation_fraction=0.25, patience=2)
    _, result = _fit(config)
    assert result.best_epoch is not None
    assert result.validation_losses[result.best_epoch] == min(result.validation_losses)
    assert len(result.epoch_losses) <= result.best_epoch + 1 + config.patience


def test_max_steps_stops_exactly():
    _, result = _fit(TrainingConfig(epochs=1, batch_size=8, max_steps=13))
    assert len(result.step_losses) == 13


def test_warm_up_then_linear_decay():
    factor = linear_schedule(4, 10)
    assert [round(factor(s), 2) for s in (0, 3, 4, 9, 10)] == [0.2, 0.8, 1.0, 0.17, 0.0]


def test_biases_and_norms_get_no_weight_decay():
    module = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.LayerNorm(3))
    groups = parameter_groups(module, 0.01)
    decayed = [p for g in groups if g["weight_decay"] > 0 for p in g["params"]]
    assert len(decayed) == 1 and decayed[0] is module[0].weight


def test_bad_settings_and_a_diverging_loss_raise_labelwise_errors():
    with pytest.raises(ConfigError):
        _fit(TrainingConfig(warmup_ratio=2.0))
    x, _ = _problem()
    module = torch.nn.Linear(4, 1)
    with pytest.raises(DataError, match="loss became"):
        train(module, 8, lambda rows: module(x[rows]).sum() * np.inf, TrainingConfig(epochs=1),
              device=CPU, generator=torch.Generator())
