"""Hugging Face encoders for sequence tagging (token classification), optional CRF head.

Words are split into sub-word pieces by the FAST tokenizer; each word's label sits on its
first piece and its output is read back from there. Sentences longer than the model's
limit are cut into overlapping windows (``stride`` pieces of overlap), never truncated:
every word gets an output, taken from the window where it sits farthest from an edge.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labelwise._random import RandomState
from labelwise.data.datasets import TaggingDataset
from labelwise.errors import ConfigError, DataError
from labelwise.models._tagger import TaggerBase
from labelwise.models._training import TrainingConfig
from labelwise.models.pretrained import resolve_model_path
from labelwise.models.torch_utils import autocast, length_sorted_batches

IGNORE = -100


class _Window:
    """One tokenizer window of a sentence: piece ids and, per piece, its word (or -1)."""

    __slots__ = ("input_ids", "word_ids")

    def __init__(self, input_ids: list[int], word_ids: list[int]) -> None:
        self.input_ids = input_ids
        self.word_ids = word_ids


class TransformerTagger(TaggerBase):
    """Fine-tune a pretrained encoder (the packaged MiniLM by default) to tag words.

    Outputs: ``predict`` (tag tuples), ``best_paths`` (Viterbi paths with a CRF, greedy
    argmax paths without, and their log-probabilities), ``token_marginals`` (one
    ``(n_words, n_tags)`` array per sentence), ``token_marginals_mc`` (MC dropout),
    ``embed`` (mean of the words' first-piece states, ``(n, hidden)``).

    Args:
        model_name_or_path: local folder, hub name, or None for the packaged MiniLM.
        crf: put a linear-chain CRF over the word emissions.
        max_length: pieces per window (special tokens included).
        stride: overlapping pieces between consecutive windows of a long sentence.
        validation_fraction: share of the labeled sentences held out for early stopping
            (0: none).
    """

    def __init__(self, model_name_or_path: str | os.PathLike | None = None, *, crf: bool = False,
                 max_length: int = 128, stride: int = 32, batch_size: int = 16, inference_batch_size: int = 32,
                 epochs: int = 3, learning_rate: float = 5e-5, crf_learning_rate: float = 5e-3,
                 device: str | None = None, mixed_precision: bool = True, random_state: RandomState = 0,
                 progress: bool = False, validation_fraction: float = 0.0) -> None:
        self.model_name_or_path = model_name_or_path
        self.crf = crf
        self.max_length = max_length
        self.stride = stride
        self.batch_size = batch_size
        self.inference_batch_size = inference_batch_size
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.crf_learning_rate = crf_learning_rate
        self.device = device
        self.mixed_precision = mixed_precision
        self.random_state = random_state
        self.progress = progress
        self.validation_fraction = validation_fraction

    # ---- tokenization ------------------------------------------------------------------
    def _tokenizer(self) -> Any:
        if not hasattr(self, "tokenizer_"):
            from transformers import AutoTokenizer

            self.path_ = resolve_model_path(self.model_name_or_path)
            tokenizer = AutoTokenizer.from_pretrained(self.path_)
            if not tokenizer.is_fast:
                raise ConfigError(f"{self.path_!r} has no fast tokenizer; word alignment needs one.")
            self._check_window(tokenizer)
            self.tokenizer_ = tokenizer
            self._window_cache: dict[tuple[str, ...], list[_Window]] = {}
        return self.tokenizer_

    def _check_window(self, tokenizer: Any) -> None:
        """The tokenizer needs ``stride < max_length - special tokens``; say so, not its raw error."""
        room = int(self.max_length) - tokenizer.num_special_tokens_to_add(pair=False)
        if room < 1 or not 0 <= int(self.stride) < room:
            raise ConfigError(
                f"TransformerTagger: stride={self.stride} must be smaller than max_length={self.max_length} minus "
                f"the {self.max_length - room} special tokens (at most {room - 1}). Fix: lower stride "
                f"(e.g. stride={max(0, room // 4)}) or raise max_length.")

    def prepare(self, pool: TaggingDataset) -> None:
        """Tokenize every pool sentence once; later iterations reuse the windows."""
        for sentence in pool.tokens:
            self._windows(sentence)

    def _windows(self, sentence: Sequence[str]) -> list[_Window]:
        tokenizer = self._tokenizer()
        key = tuple(sentence)
        cached = self._window_cache.get(key)
        if cached is not None:
            return cached
        # A word the tokenizer reduces to nothing (e.g. a zero-width space) would lose its
        # output: stand in the unknown token for it.
        words = [w if tokenizer.tokenize(w) else (tokenizer.unk_token or "[UNK]") for w in sentence]
        encoding = tokenizer(words, is_split_into_words=True, truncation=True, max_length=self.max_length,
                             stride=self.stride, return_overflowing_tokens=True)
        windows = []
        for index, ids in enumerate(encoding["input_ids"]):
            word_ids = [-1 if w is None else w for w in encoding.word_ids(index)]
            windows.append(_Window(list(ids), word_ids))
        self._window_cache[key] = windows
        return windows

    # ---- the network -------------------------------------------------------------------
    def _build_module(self, folder: Path | None = None) -> Any:
        import torch
        from torch import nn
        from transformers import AutoConfig, AutoModel

        from labelwise.models.crf import CRF

        n_tags = len(self.tag_names_)
        if folder is None:
            if getattr(self, "path_", None) is None:
                self.path_ = resolve_model_path(self.model_name_or_path)
            encoder = AutoModel.from_pretrained(self.path_)
        else:  # load(): the architecture from the saved config, the weights from the state dict
            encoder = AutoModel.from_config(AutoConfig.from_pretrained(folder / "encoder"))
        hidden = encoder.config.hidden_size
        use_crf = self.crf

        class Network(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.encoder = encoder
                self.dropout = nn.Dropout(getattr(encoder.config, "hidden_dropout_prob", 0.1))
                self.head = nn.Linear(hidden, n_tags)
                self.crf = CRF(n_tags) if use_crf else None

            def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
                states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
                return self.head(self.dropout(states)), states

        return Network()

    def _pad(self, windows: list[_Window]) -> tuple[Any, Any]:
        import torch

        longest = max(len(w.input_ids) for w in windows)
        pad_id = self.tokenizer_.pad_token_id or 0
        ids = torch.full((len(windows), longest), pad_id, dtype=torch.long)
        mask = torch.zeros((len(windows), longest), dtype=torch.long)
        for i, window in enumerate(windows):
            ids[i, : len(window.input_ids)] = torch.tensor(window.input_ids)
            mask[i, : len(window.input_ids)] = 1
        return ids.to(self.device_), mask.to(self.device_)

    @staticmethod
    def _first_pieces(window: _Window) -> tuple[list[int], list[int]]:
        """(piece positions, word ids) of the first piece of each word in the window."""
        positions, words, previous = [], [], -1
        for position, word in enumerate(window.word_ids):
            if word >= 0 and word != previous:
                positions.append(position)
                words.append(word)
            previous = word
        return positions, words

    # ---- training ----------------------------------------------------------------------
    def _training_examples(self, dataset: TaggingDataset) -> Any:
        self._tokenizer()
        examples = []  # (window, word tag ids aligned with the window's first pieces)
        for sentence, tags in zip(dataset.tokens, dataset.tags, strict=True):
            ids = self._tag_ids(tags)
            for window in self._windows(sentence):
                _, words = self._first_pieces(window)
                examples.append((window, [ids[w] for w in words]))
        return examples

    def _parameter_rates(self, module: Any) -> dict[int, float]:
        return {id(p): self.crf_learning_rate for n, p in module.named_parameters() if n.startswith("crf.")}

    def _training_config(self) -> TrainingConfig:
        return TrainingConfig(epochs=self.epochs, batch_size=self.batch_size, learning_rate=self.learning_rate,
                              weight_decay=0.01, warmup_ratio=0.1, max_grad_norm=1.0,
                              mixed_precision=self.mixed_precision, progress=self.progress,
                              description="TransformerTagger fit")

    def _batch_loss(self, examples: Any, rows: np.ndarray) -> Any:
        batch = [examples[i] for i in rows]
        return self._loss([w for w, _ in batch], [t for _, t in batch])

    def _loss(self, windows: list[_Window], word_tags: list[list[int]]) -> Any:
        import torch

        ids, attention = self._pad(windows)
        with autocast(self.device_, self.mixed_precision):
            logits, _ = self.module_(ids, attention)
        logits = logits.float()
        if self.module_.crf is None:
            labels = torch.full(ids.shape, IGNORE, dtype=torch.long, device=self.device_)
            for i, (window, tags) in enumerate(zip(windows, word_tags, strict=True)):
                positions, _ = self._first_pieces(window)
                labels[i, positions] = torch.tensor(tags, device=self.device_)
            return torch.nn.functional.cross_entropy(logits.transpose(1, 2), labels, ignore_index=IGNORE)
        emissions, mask = self._word_emissions(logits, windows)
        tags = torch.zeros(mask.shape, dtype=torch.long, device=self.device_)
        for i, row in enumerate(word_tags):
            tags[i, : len(row)] = torch.tensor(row, device=self.device_)
        return -self.module_.crf.log_likelihood(emissions, tags, mask).mean()

    def _word_emissions(self, logits: Any, windows: list[_Window]) -> tuple[Any, Any]:
        """First-piece logits of each window's words, padded: ``(windows, words, tags)``."""
        import torch

        rows = [self._first_pieces(w)[0] for w in windows]
        longest = max(1, max(len(r) for r in rows))
        emissions = torch.zeros((len(windows), longest, logits.shape[2]), device=logits.device, dtype=logits.dtype)
        mask = torch.zeros((len(windows), longest), dtype=torch.bool, device=logits.device)
        for i, positions in enumerate(rows):
            emissions[i, : len(positions)] = logits[i, positions]
            mask[i, : len(positions)] = True
        return emissions, mask

    def loss(self, dataset: TaggingDataset) -> float:
        """Mean training loss on ``dataset`` (eval mode)."""
        import torch

        self._check_fitted()
        windows, tags = [], []
        for sentence, sentence_tags in zip(dataset.tokens, dataset.tags, strict=True):
            ids = self._tag_ids(sentence_tags)
            for window in self._windows(sentence):
                windows.append(window)
                tags.append([ids[w] for w in self._first_pieces(window)[1]])
        with torch.inference_mode():
            return float(self._loss(windows, tags))

    # ---- inference ---------------------------------------------------------------------
    def _sentence_outputs(self, dataset: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Word emissions ``(n_words, n_tags)`` and word states ``(n_words, hidden)`` per sentence."""
        import torch

        self._check_fitted()
        jobs = []  # (sentence index, window)
        for index, sentence in enumerate(dataset.tokens):
            if len(sentence) == 0:
                raise DataError(f"sentence {index} is empty; remove it.")
            for window in self._windows(sentence):
                jobs.append((index, window))
        emissions = [np.zeros((len(s), len(self.tag_names_)), dtype=np.float32) for s in dataset.tokens]
        states = [np.zeros((len(s), 1), dtype=np.float32) for s in dataset.tokens]
        best_margin = [np.full(len(s), -1) for s in dataset.tokens]
        lengths = [len(w.input_ids) for _, w in jobs]
        with torch.inference_mode():
            for rows in length_sorted_batches(lengths, self.inference_batch_size):
                windows = [jobs[i][1] for i in rows]
                ids, attention = self._pad(windows)
                with autocast(self.device_, self.mixed_precision):
                    logits, hidden = self.module_(ids, attention)
                logits, hidden = logits.float().cpu().numpy(), hidden.float().cpu().numpy()
                for row, (sentence_index, window) in zip(range(len(rows)), (jobs[i] for i in rows), strict=True):
                    positions, words = self._first_pieces(window)
                    length = len(window.input_ids)
                    if states[sentence_index].shape[1] == 1:
                        states[sentence_index] = np.zeros((len(dataset.tokens[sentence_index]), hidden.shape[2]),
                                                          dtype=np.float32)
                    for position, word in zip(positions, words, strict=True):
                        margin = min(position, length - 1 - position)
                        if margin > best_margin[sentence_index][word]:
                            best_margin[sentence_index][word] = margin
                            emissions[sentence_index][word] = logits[row, position]
                            states[sentence_index][word] = hidden[row, position]
        return emissions, states

    def _decode(self, emissions: list[np.ndarray]) -> tuple[list[list[int]], np.ndarray, list[np.ndarray]]:
        import torch

        if self.module_.crf is None:
            marginals = [_softmax(e) for e in emissions]
            paths = [m.argmax(axis=1).tolist() for m in marginals]
            log_probabilities = np.array([np.log(np.maximum(m.max(axis=1), 1e-30)).sum() for m in marginals])
            return paths, log_probabilities, marginals
        longest = max(len(e) for e in emissions)
        padded = torch.zeros((len(emissions), longest, len(self.tag_names_)))
        mask = torch.zeros((len(emissions), longest), dtype=torch.bool)
        for i, e in enumerate(emissions):
            padded[i, : len(e)] = torch.from_numpy(e)
            mask[i, : len(e)] = True
        crf = self.module_.crf.cpu()
        with torch.inference_mode():
            paths, log_probabilities = crf.viterbi(padded, mask)
            marginals_padded = crf.marginals(padded, mask).numpy()
        self.module_.crf.to(self.device_)
        marginals = [marginals_padded[i, : len(e)] for i, e in enumerate(emissions)]
        return paths, log_probabilities.numpy().astype(np.float64), marginals

    def token_last_layer_outputs(self, dataset: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per sentence, the input of the emission layer ``(n_words, hidden)`` and the token
        tag distribution ``(n_words, n_tags)`` (CRF marginals, else softmax), float64: what
        TracIn reads (:func:`labelwise.plasm.tagging_self_influence`)."""
        emissions, states = self._sentence_outputs(dataset)
        marginals = self._decode(emissions)[2]
        return [(np.asarray(s, dtype=np.float64), np.asarray(m, dtype=np.float64))
                for s, m in zip(states, marginals, strict=True)]

    def best_paths(self, dataset: Any) -> tuple[list[tuple[str, ...]], np.ndarray]:
        paths, log_probabilities, _ = self._decode(self._sentence_outputs(dataset)[0])
        return [tuple(self.tag_names_[t] for t in path) for path in paths], log_probabilities

    def token_marginals(self, dataset: Any) -> list[np.ndarray]:
        return [m.astype(np.float32) for m in self._decode(self._sentence_outputs(dataset)[0])[2]]

    def embed(self, dataset: Any) -> np.ndarray:
        _, states = self._sentence_outputs(dataset)
        return np.stack([s.mean(axis=0) for s in states]).astype(np.float32)

    # ---- persistence -------------------------------------------------------------------
    def _save_weights(self, folder: Path) -> None:
        super()._save_weights(folder)
        self.tokenizer_.save_pretrained(folder / "tokenizer")
        self.module_.encoder.config.save_pretrained(folder / "encoder")

    def _restore_extra(self, folder: Path, state: dict[str, Any]) -> None:
        from transformers import AutoTokenizer

        for cached in ("tokenizer_", "_window_cache"):
            self.__dict__.pop(cached, None)
        tokenizer = AutoTokenizer.from_pretrained(folder / "tokenizer")
        self._check_window(tokenizer)
        self.tokenizer_ = tokenizer
        self._window_cache = {}


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exponent = np.exp(shifted)
    return exponent / exponent.sum(axis=1, keepdims=True)
