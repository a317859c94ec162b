"""The base of the sequence taggers (TransformerTagger, BiLSTMCRFTagger): one fit through
the shared training loop, one MC-dropout sampler, one save format, one output declaration.

A tagger provides ``_training_examples(dataset)`` (anything indexable), ``_build_module()``
(called seeded), ``_batch_loss(examples, rows)``, ``_training_config()``, optionally
``_parameter_rates(module)``, and the inference methods ``best_paths``, ``token_marginals``
and ``embed``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from labelwise.data.datasets import TaggingDataset
from labelwise.errors import ConfigError, DataError
from labelwise.models._estimator import (
    WEIGHTS_FILE,
    LabelwiseModel,
    load_state_dict,
    resolve_seed,
    save_state_dict,
)
from labelwise.models._training import TrainingConfig, parameter_groups, train
from labelwise.models.torch_utils import choose_device, enable_dropout


class TaggerBase(LabelwiseModel):
    """Base class of the taggers; not meant to be used directly.

    Every tagger takes ``validation_fraction``: the share of the labeled sentences held out
    for early stopping (the epoch with the lowest held-out loss is kept; 0, the default:
    train on every sentence, no stopping). After ``fit``: ``train_losses_``,
    ``validation_losses_`` (per epoch; empty without a held-out part), ``best_epoch_``."""

    provides = ("token_probabilities", "best_path_log_probability", "mc_token_probabilities", "embeddings")

    # ---- training ----------------------------------------------------------------------
    def fit(self, dataset: TaggingDataset) -> TaggerBase:
        """Train a fresh network on every sentence of ``dataset``; returns self."""
        if not isinstance(dataset, TaggingDataset) or dataset.tags is None:
            raise DataError(f"{type(self).__name__}.fit() needs a tagged TaggingDataset, got "
                            f"{type(dataset).__name__}.", fix="pass the labeled rows.")
        if len(dataset) == 0:
            raise DataError(f"{type(self).__name__}.fit() got no sentences.", fix="label at least one sentence.")
        empty = [i for i, s in enumerate(dataset.tokens) if len(s) == 0]
        if empty:
            raise DataError(f"fit() got an empty sentence (row {empty[0]}); remove it.")
        self.__dict__.pop("module_", None)
        self.device_ = choose_device(self.device)
        self.tag_names_ = tuple(dataset.tag_names)
        examples = self._training_examples(dataset)
        from labelwise.models._estimator import seeded

        with seeded(self._seed(), self.device_) as generator:
            module = self._build_module().to(self.device_)
            self.module_ = module
            rates = self._parameter_rates(module)
            config = self._training_config()
            config.validation_fraction = float(getattr(self, "validation_fraction", 0.0))
            try:
                result = train(module, len(examples), lambda rows: self._batch_loss(examples, rows), config,
                               device=self.device_, generator=generator,
                               groups=parameter_groups(module, config.weight_decay, rates))
            except BaseException:
                self.__dict__.pop("module_", None)
                raise
        self.train_losses_ = result.epoch_losses
        self.validation_losses_ = result.validation_losses
        self.best_epoch_ = result.best_epoch
        return self

    def _parameter_rates(self, module: Any) -> dict[int, float]:
        return {}

    def _tag_ids(self, tags: Any) -> list[int]:
        index = {t: i for i, t in enumerate(self.tag_names_)}
        try:
            return [index[t] for t in tags]
        except KeyError as error:
            raise DataError(f"tag {error.args[0]!r} is not one of the tagger's tags {list(self.tag_names_)}.") from None

    # ---- outputs -----------------------------------------------------------------------
    def predict(self, dataset: Any) -> list[tuple[str, ...]]:
        """The best tag path of each sentence (Viterbi with a CRF, greedy without)."""
        return self.best_paths(dataset)[0]

    def token_marginals_mc(self, dataset: Any, n_samples: int = 10, random_state: Any = 0) -> list[np.ndarray]:
        """``n_samples`` passes with dropout on: one ``(n_samples, length, n_tags)`` array per
        sentence; the same ``random_state`` gives the same samples."""
        import torch

        if n_samples < 1:
            raise ConfigError(f"n_samples must be at least 1, got {n_samples}.")
        self._check_fitted()
        devices = [self.device_] if self.device_.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(resolve_seed(random_state))
            enable_dropout(self.module_)
            try:
                samples = [self.token_marginals(dataset) for _ in range(n_samples)]
            finally:
                self.module_.eval()
        return [np.stack([sample[i] for sample in samples]) for i in range(len(dataset))]

    # ---- persistence -------------------------------------------------------------------
    def _save_weights(self, folder: Path) -> None:
        save_state_dict(self.module_, folder / WEIGHTS_FILE)

    def _fitted_state(self) -> dict[str, Any]:
        return {"tag_names": list(self.tag_names_)}

    def _restore(self, folder: Path, state: dict[str, Any]) -> None:
        self.tag_names_ = tuple(state["tag_names"])
        self.device_ = choose_device(self.device)
        self._restore_extra(folder, state)
        self.module_ = load_state_dict(folder / WEIGHTS_FILE, self._build_module(folder)).to(self.device_).eval()

    def _restore_extra(self, folder: Path, state: dict[str, Any]) -> None:
        """Restore what ``_build_module`` needs (vocabulary, tokenizer)."""

    # ---- what subclasses provide -------------------------------------------------------
    def _training_examples(self, dataset: TaggingDataset) -> Any:
        raise NotImplementedError

    def _build_module(self, folder: Path | None = None) -> Any:
        raise NotImplementedError

    def _batch_loss(self, examples: Any, rows: np.ndarray) -> Any:
        raise NotImplementedError

    def _training_config(self) -> TrainingConfig:
        raise NotImplementedError
