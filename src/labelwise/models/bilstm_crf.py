"""BiLSTM-CRF tagger trained from scratch: character CNN + word embeddings, a
bidirectional LSTM, and a linear-chain CRF with Viterbi decoding.

References:
    Lample, Ballesteros, Subramanian, Kawakami & Dyer (2016). Neural architectures for
    named entity recognition. NAACL.
    Ma & Hovy (2016). End-to-end sequence labeling via bi-directional LSTM-CNNs-CRF. ACL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labelwise._random import RandomState
from labelwise.data.datasets import TaggingDataset
from labelwise.models._tagger import TaggerBase
from labelwise.models._training import TrainingConfig
from labelwise.models.torch_utils import length_sorted_batches

PAD, UNKNOWN = 0, 1


def _network(n_words: int, n_chars: int, n_tags: int, word_dim: int, char_dim: int, char_filters: int,
             hidden: int, dropout: float) -> Any:
    import torch
    from torch import nn

    from labelwise.models.crf import CRF

    class Network(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.words = nn.Embedding(n_words, word_dim, padding_idx=PAD)
            self.chars = nn.Embedding(n_chars, char_dim, padding_idx=PAD)
            self.char_cnn = nn.Conv1d(char_dim, char_filters, kernel_size=3, padding=1)
            self.dropout = nn.Dropout(dropout)
            self.lstm = nn.LSTM(word_dim + char_filters, hidden, batch_first=True, bidirectional=True)
            self.emit = nn.Linear(2 * hidden, n_tags)
            self.crf = CRF(n_tags)

        def encode(self, words: torch.Tensor, chars: torch.Tensor) -> torch.Tensor:
            batch, length, width = chars.shape
            char_vectors = self.chars(chars.view(batch * length, width)).transpose(1, 2)
            char_features = torch.relu(self.char_cnn(char_vectors)).max(dim=2).values.view(batch, length, -1)
            features = self.dropout(torch.cat([self.words(words), char_features], dim=2))
            states, _ = self.lstm(features)
            return self.dropout(states)

        def forward(self, words: torch.Tensor, chars: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            states = self.encode(words, chars)
            return self.emit(states), states

    return Network()


class BiLSTMCRFTagger(TaggerBase):
    """A BiLSTM-CRF tagger with its own vocabulary (built from the pool by ``prepare`` or
    from the training sentences by ``fit``); words are lower-cased for the word embedding,
    while the character CNN sees the original casing.

    Outputs: ``predict`` (Viterbi paths as tag tuples), ``best_paths`` (paths and their
    log-probabilities), ``token_marginals`` (forward-backward, one ``(length, n_tags)``
    array per sentence), ``token_marginals_mc`` (MC dropout), ``embed`` (mean of the
    BiLSTM states, ``(n, 2·hidden)``). ``validation_fraction``: share of the labeled
    sentences held out for early stopping (0: none).
    """

    def __init__(self, *, word_dim: int = 100, char_dim: int = 30, char_filters: int = 50, hidden: int = 100,
                 dropout: float = 0.5, epochs: int = 10, batch_size: int = 16, learning_rate: float = 3e-3,
                 min_word_count: int = 1, max_word_length: int = 20, device: str | None = None,
                 random_state: RandomState = 0, progress: bool = False, validation_fraction: float = 0.0) -> None:
        self.word_dim = word_dim
        self.char_dim = char_dim
        self.char_filters = char_filters
        self.hidden = hidden
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.min_word_count = min_word_count
        self.max_word_length = max_word_length
        self.device = device
        self.random_state = random_state
        self.progress = progress
        self.validation_fraction = validation_fraction

    # ---- vocabulary --------------------------------------------------------------------
    def prepare(self, pool: TaggingDataset) -> None:
        self._build_vocabulary(pool.tokens)

    def _build_vocabulary(self, sentences: Sequence[Sequence[str]]) -> None:
        words = Counter(word.lower() for sentence in sentences for word in sentence)
        chars = Counter(char for sentence in sentences for word in sentence for char in word)
        self.word_index_ = {w: i + 2 for i, w in enumerate(sorted(w for w, c in words.items() if c >= self.min_word_count))}
        self.char_index_ = {c: i + 2 for i, c in enumerate(sorted(chars))}

    def _encode(self, sentences: Sequence[Sequence[str]]) -> tuple[Any, Any, Any]:
        import torch

        longest = max(len(s) for s in sentences)
        width = min(self.max_word_length, max(len(w) for s in sentences for w in s))
        words = torch.zeros(len(sentences), longest, dtype=torch.long)
        chars = torch.zeros(len(sentences), longest, max(width, 1), dtype=torch.long)
        mask = torch.zeros(len(sentences), longest, dtype=torch.bool)
        for i, sentence in enumerate(sentences):
            mask[i, : len(sentence)] = True
            for j, word in enumerate(sentence):
                words[i, j] = self.word_index_.get(word.lower(), UNKNOWN)
                for k, char in enumerate(word[:width]):
                    chars[i, j, k] = self.char_index_.get(char, UNKNOWN)
        return words.to(self.device_), chars.to(self.device_), mask.to(self.device_)

    # ---- training ----------------------------------------------------------------------
    def _training_examples(self, dataset: TaggingDataset) -> Any:
        if not hasattr(self, "word_index_"):
            self._build_vocabulary(dataset.tokens)
        return [(sentence, self._tag_ids(tags)) for sentence, tags in zip(dataset.tokens, dataset.tags, strict=True)]

    def _build_module(self, folder: Path | None = None) -> Any:
        return _network(len(self.word_index_) + 2, len(self.char_index_) + 2, len(self.tag_names_),
                        self.word_dim, self.char_dim, self.char_filters, self.hidden, self.dropout)

    def _training_config(self) -> TrainingConfig:
        # Adam at a constant rate with clipping at 5 (Lample et al. 2016), as before the shared loop.
        return TrainingConfig(epochs=self.epochs, batch_size=self.batch_size, learning_rate=self.learning_rate,
                              weight_decay=0.0, warmup_ratio=0.0, schedule="constant", max_grad_norm=5.0,
                              mixed_precision=False, progress=self.progress, description="BiLSTM-CRF fit")

    def _batch_loss(self, examples: Any, rows: np.ndarray) -> Any:
        import torch

        words, chars, mask = self._encode([examples[i][0] for i in rows])
        tags = torch.zeros_like(words)
        for i, row in enumerate(rows):
            tags[i, : len(examples[row][1])] = torch.tensor(examples[row][1])
        emissions, _ = self.module_(words, chars)
        return -self.module_.crf.log_likelihood(emissions, tags, mask).mean()

    def loss(self, dataset: TaggingDataset) -> float:
        """Mean negative log-likelihood of the gold tags (eval mode)."""
        import torch

        self._check_fitted()
        words, chars, mask = self._encode(dataset.tokens)
        tags = torch.zeros_like(words)
        for i, sentence_tags in enumerate(dataset.tags):
            tags[i, : len(sentence_tags)] = torch.tensor(self._tag_ids(sentence_tags))
        with torch.inference_mode():
            emissions, _ = self.module_(words, chars)
            return float(-self.module_.crf.log_likelihood(emissions, tags, mask).mean())

    # ---- inference ---------------------------------------------------------------------
    def _batches(self, dataset: Any, inference_batch_size: int = 64):
        lengths = [len(s) for s in dataset.tokens]
        for rows in length_sorted_batches(lengths, inference_batch_size):
            yield rows, self._encode([dataset.tokens[i] for i in rows])

    def _run(self, dataset: Any, what: str, mc: bool = False) -> list[Any]:
        import torch

        self._check_fitted()
        results: list[Any] = [None] * len(dataset)
        with torch.inference_mode():
            for rows, (words, chars, mask) in self._batches(dataset):
                emissions, states = self.module_(words, chars)
                crf = self.module_.crf
                if what == "paths":
                    paths, log_probabilities = crf.viterbi(emissions, mask)
                    for i, row in enumerate(rows):
                        results[row] = (tuple(self.tag_names_[t] for t in paths[i]), float(log_probabilities[i]))
                elif what == "marginals":
                    marginals = crf.marginals(emissions, mask).float().cpu().numpy()
                    lengths = mask.sum(dim=1).tolist()
                    for i, row in enumerate(rows):
                        results[row] = marginals[i, : lengths[i]]
                else:  # embeddings
                    weights = mask[:, :, None].to(states.dtype)
                    pooled = (states * weights).sum(dim=1) / weights.sum(dim=1)
                    for i, row in enumerate(rows):
                        results[row] = pooled[i].float().cpu().numpy()
        return results

    def token_last_layer_outputs(self, dataset: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per sentence, the BiLSTM states the emission layer reads ``(length, 2 * hidden)``
        and the CRF's token marginals ``(length, n_tags)``, float64: what TracIn reads
        (:func:`labelwise.plasm.tagging_self_influence`)."""
        import torch

        self._check_fitted()
        results: list[Any] = [None] * len(dataset)
        with torch.inference_mode():
            for rows, (words, chars, mask) in self._batches(dataset):
                emissions, states = self.module_(words, chars)
                marginals = self.module_.crf.marginals(emissions, mask).double().cpu().numpy()
                states = states.double().cpu().numpy()
                lengths = mask.sum(dim=1).tolist()
                for i, row in enumerate(rows):
                    results[row] = (states[i, : lengths[i]], marginals[i, : lengths[i]])
        return results

    def best_paths(self, dataset: Any) -> tuple[list[tuple[str, ...]], np.ndarray]:
        pairs = self._run(dataset, "paths")
        return [p for p, _ in pairs], np.array([lp for _, lp in pairs], dtype=np.float64)

    def token_marginals(self, dataset: Any) -> list[np.ndarray]:
        return self._run(dataset, "marginals")

    def embed(self, dataset: Any) -> np.ndarray:
        return np.stack(self._run(dataset, "embeddings")).astype(np.float32)

    # ---- persistence -------------------------------------------------------------------
    def _fitted_state(self) -> dict[str, Any]:
        return {**super()._fitted_state(), "word_index": self.word_index_, "char_index": self.char_index_}

    def _restore_extra(self, folder: Path, state: dict[str, Any]) -> None:
        self.word_index_, self.char_index_ = dict(state["word_index"]), dict(state["char_index"])
