"""A frozen encoder's word vectors, computed once per sentence, plus a small tagging head.

The tagging analogue of :class:`~labelwise.models.embedding.EmbeddingClassifier`: the encoder
(the packaged MiniLM by default) never changes, so each sentence's word vectors are computed
once per process (and once ever with ``cache_dir``); every fit trains only a linear layer (or
a one-hidden-layer MLP) with an optional linear-chain CRF, which learns from 100-500 sentences
in seconds on a CPU.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labelwise._random import RandomState
from labelwise.data.datasets import TaggingDataset
from labelwise.errors import ConfigError, DataError
from labelwise.models._tagger import TaggerBase
from labelwise.models._training import TrainingConfig
from labelwise.models.embedding import SentenceEncoder, _null
from labelwise.models.torch_utils import length_sorted_batches

#: word-shape features appended to each word vector (the packaged MiniLM is uncased)
SHAPES = ("title", "upper", "lower", "digit", "punctuation", "first")


def sentence_key(words: Sequence[str]) -> bytes:
    """The cache key of one sentence (16-byte BLAKE2b of its words, unit-separated)."""
    return hashlib.blake2b("\x1f".join(words).encode("utf-8"), digest_size=16).digest()


def word_shapes(words: Sequence[str]) -> np.ndarray:
    """``(n_words, len(SHAPES))`` float32 0/1 features: casing, digits, punctuation, position."""
    rows = np.zeros((len(words), len(SHAPES)), dtype=np.float32)
    for i, word in enumerate(words):
        rows[i] = (word[:1].isupper(), word.isupper() and len(word) > 1, word.islower(),
                   any(c.isdigit() for c in word), not any(c.isalnum() for c in word), i == 0)
    return rows


class WordEncoder(SentenceEncoder):
    """A frozen encoder's last-layer state at the first sub-word piece of every word (the
    fast tokenizer's ``word_ids``), cached per sentence in memory and, with ``cache_dir``, on
    disk under ``cache_dir/<identity>/`` (float32 ``.npy`` chunks of stacked word rows beside
    ``<sentence hash> <n_words>`` lines). Sentences longer than ``max_length`` pieces are
    cut into overlapping windows; each word is read from the window where it sits farthest
    from an edge. Obtain shared instances with :func:`get_word_encoder`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: per-sentence features derived from the vectors, by recipe (EmbeddingTagger's)
        self.derived: dict[tuple, dict[bytes, np.ndarray]] = {}

    def _identity(self) -> str:
        return hashlib.blake2b(f"words|{super()._identity()}".encode(), digest_size=10).hexdigest()

    def _windows(self, tokenizer: Any, words: Sequence[str]) -> list[tuple[list[int], list[int]]]:
        """(piece ids, word id per piece or -1) of each window of one sentence."""
        # a word the tokenizer reduces to nothing (a zero-width space) would lose its vector
        words = [w if tokenizer.tokenize(w) else (tokenizer.unk_token or "[UNK]") for w in words]
        stride = max(0, (self.max_length - tokenizer.num_special_tokens_to_add(pair=False)) // 4)
        encoding = tokenizer(list(words), is_split_into_words=True, truncation=True, max_length=self.max_length,
                             stride=stride, return_overflowing_tokens=True)
        return [(list(ids), [-1 if w is None else w for w in encoding.word_ids(index)])
                for index, ids in enumerate(encoding["input_ids"])]

    def _encode_sentences(self, sentences: Sequence[Sequence[str]], progress: bool = False) -> list[np.ndarray]:
        """Run the network: one ``(n_words, dim)`` float32 array per sentence."""
        import torch
        from tqdm.auto import tqdm

        tokenizer, module, device = self._load()
        if not tokenizer.is_fast:
            raise ConfigError(f"{self.source!r} has no fast tokenizer; word alignment needs one.")
        jobs = [(s, window) for s, words in enumerate(sentences) for window in self._windows(tokenizer, words)]
        dim = module.config.hidden_size
        result = [np.zeros((len(words), dim), dtype=np.float32) for words in sentences]
        margins = [np.full(len(words), -1) for words in sentences]
        pad_id = tokenizer.pad_token_id or 0
        batches = list(length_sorted_batches([len(w[0]) for _, w in jobs], self.batch_size))
        bar = tqdm(batches, desc="embedding sentences", unit="batch", disable=not progress or None, leave=False)
        fp16 = torch.autocast("cuda", dtype=torch.float16) if device.type == "cuda" else _null()
        with torch.inference_mode(), fp16:
            for rows in bar:
                longest = max(len(jobs[i][1][0]) for i in rows)
                ids = torch.full((len(rows), longest), pad_id, dtype=torch.long)
                attention = torch.zeros((len(rows), longest), dtype=torch.long)
                for b, i in enumerate(rows):
                    pieces = jobs[i][1][0]
                    ids[b, : len(pieces)] = torch.tensor(pieces)
                    attention[b, : len(pieces)] = 1
                hidden = module(input_ids=ids.to(device), attention_mask=attention.to(device))
                hidden = hidden.last_hidden_state.float().cpu().numpy()
                for b, i in enumerate(rows):
                    sentence, (pieces, word_ids) = jobs[i]
                    previous = -1
                    for position, word in enumerate(word_ids):
                        if word >= 0 and word != previous:  # the first piece of each word
                            margin = min(position, len(pieces) - 1 - position)
                            if margin > margins[sentence][word]:
                                margins[sentence][word] = margin
                                result[sentence][word] = hidden[b, position]
                        previous = word
        self.n_encoded += len(sentences)
        return result

    def embed_words(self, sentences: Sequence[Sequence[str]], progress: bool = False) -> list[np.ndarray]:
        """One ``(n_words, dim)`` float32 array per sentence; only unseen sentences are encoded."""
        sentences = [tuple(words) for words in sentences]
        for i, words in enumerate(sentences):
            if not words or not all(isinstance(w, str) for w in words):
                raise DataError(f"sentence {i}: expected a non-empty sequence of words (str).")
        keys = [sentence_key(words) for words in sentences]
        return self._cached_rows(keys, sentences, self._encode_sentences, progress)

    def embed(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        raise ConfigError("a WordEncoder embeds sentences of words: call embed_words().")

    def _chunk_of(self, keys: list[bytes], values: Any) -> tuple[np.ndarray, str]:
        """A chunk holds the word rows of its sentences one after another; each key line
        says how many rows are its sentence's."""
        return (np.concatenate(values),
                "".join(f"{key.hex()} {len(rows)}\n" for key, rows in zip(keys, values, strict=True)))

    def _chunk_entries(self, text: str, matrix: np.ndarray) -> list[tuple[str, Any]]:
        try:
            entries = [line.split() for line in text.splitlines()]
            counts = [int(count) for _, count in entries]
        except ValueError:
            return []  # a damaged key list: re-encode
        if matrix.shape[0] != sum(counts):
            return []
        offsets = np.cumsum([0, *counts])
        return [(digest, matrix[start:end])
                for (digest, _), start, end in zip(entries, offsets[:-1], offsets[1:], strict=True)]


_WORD_ENCODERS: dict[tuple, WordEncoder] = {}
_WORD_ENCODERS_LOCK = threading.Lock()


def get_word_encoder(encoder: str | os.PathLike | None = "minilm", *, max_length: int = 256, batch_size: int = 64,
                     device: str = "auto", cache_dir: str | os.PathLike | None = None) -> WordEncoder:
    """The process-wide :class:`WordEncoder` for these settings (created on first use)."""
    cache = None if cache_dir is None else str(Path(cache_dir).expanduser().resolve())
    key = (str(encoder), int(max_length), int(batch_size), str(device), cache)
    with _WORD_ENCODERS_LOCK:
        if key not in _WORD_ENCODERS:
            _WORD_ENCODERS[key] = WordEncoder(encoder, max_length=max_length, normalize=False,
                                              batch_size=batch_size, device=device, cache_dir=cache_dir)
        return _WORD_ENCODERS[key]


def _head(input_dim: int, n_tags: int, hidden: int, dropout: float, crf: bool) -> Any:
    import torch
    from torch import nn

    from labelwise.models.crf import CRF

    class Head(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.dropout = nn.Dropout(dropout)
            self.hidden = nn.Linear(input_dim, hidden) if hidden > 0 else None
            self.emit = nn.Linear(hidden if hidden > 0 else input_dim, n_tags)
            self.crf = CRF(n_tags) if crf else None

        def forward(self, features: torch.Tensor) -> torch.Tensor:
            features = self.dropout(features)
            if self.hidden is not None:
                features = self.dropout(torch.relu(self.hidden(features)))
            return self.emit(features)

    return Head()


class EmbeddingTagger(TaggerBase):
    """Frozen encoder word vectors plus a linear (or MLP) tagging head with an optional CRF.

    Each word's feature is the encoder's last-layer state at its first sub-word piece,
    optionally beside the mean of its neighbours' vectors within ``context_window`` words
    and six word-shape features (capitalised, all caps, lower case, digit, punctuation,
    sentence-initial: the packaged MiniLM is uncased). The vectors are computed once per
    sentence (:meth:`prepare` embeds the pool), so a fit trains the head only.

    Outputs: ``predict`` (tag tuples), ``best_paths`` (Viterbi with the CRF, greedy without,
    and their log-probabilities), ``token_marginals`` (one ``(n_words, n_tags)`` array per
    sentence), ``token_marginals_mc`` (MC dropout in the head), ``embed`` (mean word vector,
    ``(n, dim)``, available before any fit).

    Args:
        encoder: ``"minilm"`` (packaged all-MiniLM-L6-v2), ``"mpnet"``, or any Hugging Face folder
            or hub name with a fast tokenizer.
        crf: a linear-chain CRF over the emissions (Viterbi paths, forward-backward marginals).
        hidden: width of one ReLU hidden layer (0: a linear layer).
        context_window: also feed the mean vector of the words within this distance (0: none).
        shape_features: append the word-shape features.
        dropout: on the features (and the hidden layer).
        epochs, batch_size, learning_rate, weight_decay: the head's AdamW recipe (linear decay).
        min_steps: train at least this many steps: a few sentences make short epochs, and a
            head trained for a fixed number of epochs on 50 sentences finds no entity.
        max_length, encode_batch_size, device, cache_dir: the encoder's settings (as in
            :class:`~labelwise.models.EmbeddingClassifier`).
        random_state: seed of the head (None: fresh entropy per fit).
        validation_fraction: share of the labeled sentences held out for early stopping
            (0: none).
    """

    def __init__(self, encoder: str | None = "minilm", *, crf: bool = True, hidden: int = 0,
                 context_window: int = 0, shape_features: bool = True, dropout: float = 0.2, epochs: int = 30,
                 min_steps: int = 400, batch_size: int = 32, learning_rate: float = 1e-2, weight_decay: float = 1e-4,
                 max_length: int = 256, encode_batch_size: int = 64, device: str | None = None,
                 cache_dir: str | None = None, random_state: RandomState = 0, progress: bool = False,
                 validation_fraction: float = 0.0) -> None:
        self.encoder = encoder
        self.crf = crf
        self.hidden = hidden
        self.context_window = context_window
        self.shape_features = shape_features
        self.dropout = dropout
        self.epochs = epochs
        self.min_steps = min_steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.max_length = max_length
        self.encode_batch_size = encode_batch_size
        self.device = device
        self.cache_dir = cache_dir
        self.random_state = random_state
        self.progress = progress
        self.validation_fraction = validation_fraction

    # ---- features ----------------------------------------------------------------------
    def word_encoder(self) -> WordEncoder:
        """The shared frozen encoder (and its per-sentence cache) for this model's settings."""
        if int(self.hidden) < 0 or int(self.context_window) < 0:
            raise ConfigError(f"hidden and context_window must be >= 0, got {self.hidden} and {self.context_window}.")
        return get_word_encoder(self.encoder, max_length=self.max_length, batch_size=self.encode_batch_size,
                                device=self.device or "auto", cache_dir=self.cache_dir)

    def prepare(self, pool: TaggingDataset) -> None:
        """Embed every pool sentence once, so later iterations cost the head's fit only."""
        self.word_encoder().embed_words(pool.tokens, progress=self.progress)

    def word_features(self, dataset: Any) -> list[np.ndarray]:
        """What the head reads: one ``(n_words, n_features)`` float32 array per sentence
        (computed once per sentence and settings, like the word vectors)."""
        encoder = self.word_encoder()
        recipe = (int(self.context_window), bool(self.shape_features))
        cache = encoder.derived.setdefault(recipe, {})
        keys = [sentence_key(words) for words in dataset.tokens]
        missing = [i for i, key in enumerate(keys) if key not in cache]
        if missing:
            vectors = encoder.embed_words([dataset.tokens[i] for i in missing],
                                          progress=self.progress and len(missing) > 1000)
            for i, rows in zip(missing, vectors, strict=True):
                cache[keys[i]] = self._features(dataset.tokens[i], rows)
        return [cache[key] for key in keys]

    def _features(self, words: Sequence[str], rows: np.ndarray) -> np.ndarray:
        window = int(self.context_window)
        parts = [rows]
        if window > 0:
            sums = np.concatenate([np.zeros((1, rows.shape[1]), np.float32), np.cumsum(rows, axis=0)])
            index = np.arange(len(rows))
            low, high = np.maximum(index - window, 0), np.minimum(index + window + 1, len(rows))
            counts = (high - low - 1)[:, None]
            parts.append(((sums[high] - sums[low] - rows) / np.maximum(counts, 1)).astype(np.float32))
        if self.shape_features:
            parts.append(word_shapes(words))
        return np.concatenate(parts, axis=1) if len(parts) > 1 else rows

    def _pad(self, features: Sequence[np.ndarray]) -> tuple[Any, Any]:
        import torch

        longest = max(len(f) for f in features)
        padded = np.zeros((len(features), longest, features[0].shape[1]), dtype=np.float32)
        mask = np.zeros((len(features), longest), dtype=bool)
        for i, rows in enumerate(features):
            padded[i, : len(rows)] = rows
            mask[i, : len(rows)] = True
        return torch.from_numpy(padded).to(self.device_), torch.from_numpy(mask).to(self.device_)

    # ---- training ----------------------------------------------------------------------
    def _training_examples(self, dataset: TaggingDataset) -> Any:
        import torch

        features = self.word_features(dataset)
        self.input_dim_ = int(features[0].shape[1])
        self.n_training_sentences_ = len(features)
        padded, mask = self._pad(features)
        tags = torch.zeros(mask.shape, dtype=torch.long)
        for i, sentence_tags in enumerate(dataset.tags):
            tags[i, : len(sentence_tags)] = torch.tensor(self._tag_ids(sentence_tags))
        return _Examples(padded, mask, tags.to(self.device_))

    def _build_module(self, folder: Path | None = None) -> Any:
        return _head(self.input_dim_, len(self.tag_names_), int(self.hidden), float(self.dropout), bool(self.crf))

    def _parameter_rates(self, module: Any) -> dict[int, float]:
        return {}

    def _training_config(self) -> TrainingConfig:
        steps = int(self.epochs) * -(-self.n_training_sentences_ // int(self.batch_size))
        return TrainingConfig(epochs=self.epochs, max_steps=max(steps, int(self.min_steps)) if steps else None,
                              batch_size=self.batch_size, learning_rate=self.learning_rate,
                              weight_decay=self.weight_decay, warmup_ratio=0.0, schedule="linear",
                              max_grad_norm=5.0, mixed_precision=False, progress=self.progress,
                              description="EmbeddingTagger fit")

    def _batch_loss(self, examples: _Examples, rows: np.ndarray) -> Any:
        import torch

        index = torch.as_tensor(rows, device=examples.mask.device)
        mask = examples.mask[index]
        longest = int(mask.sum(dim=1).max())
        mask, tags = mask[:, :longest], examples.tags[index, :longest]
        emissions = self.module_(examples.features[index, :longest])
        if self.module_.crf is not None:
            return -self.module_.crf.log_likelihood(emissions, tags, mask).mean()
        return torch.nn.functional.cross_entropy(emissions[mask], tags[mask])

    # ---- inference ---------------------------------------------------------------------
    def _emissions(self, dataset: Any, inference_batch_size: int = 256):
        """Yield (rows, emissions ``(b, length, n_tags)``, mask) batches of similar length."""
        import torch

        self._check_fitted()
        features = self.word_features(dataset)
        with torch.inference_mode():
            for rows in length_sorted_batches([len(f) for f in features], inference_batch_size):
                padded, mask = self._pad([features[i] for i in rows])
                yield rows, self.module_(padded).float(), mask

    def _decode(self, dataset: Any, what: str) -> list[Any]:
        import torch

        results: list[Any] = [None] * len(dataset)
        for rows, emissions, mask in self._emissions(dataset):
            lengths = mask.sum(dim=1).tolist()
            crf = self.module_.crf
            if what == "paths":
                if crf is not None:
                    paths, log_probabilities = crf.viterbi(emissions, mask)
                    log_probabilities = log_probabilities.tolist()
                else:
                    log_softmax = torch.log_softmax(emissions, dim=2)
                    best, argmax = log_softmax.max(dim=2)
                    log_probabilities = (best * mask).sum(dim=1).tolist()
                    paths = [argmax[i, : lengths[i]].tolist() for i in range(len(rows))]
                for i, row in enumerate(rows):
                    results[row] = (tuple(self.tag_names_[t] for t in paths[i]), float(log_probabilities[i]))
            else:
                marginals = crf.marginals(emissions, mask) if crf is not None else torch.softmax(emissions, dim=2)
                marginals = marginals.cpu().numpy().astype(np.float32)
                for i, row in enumerate(rows):
                    results[row] = marginals[i, : lengths[i]]
        return results

    def best_paths(self, dataset: Any) -> tuple[list[tuple[str, ...]], np.ndarray]:
        pairs = self._decode(dataset, "paths")
        return [p for p, _ in pairs], np.array([lp for _, lp in pairs], dtype=np.float64)

    def token_marginals(self, dataset: Any) -> list[np.ndarray]:
        return self._decode(dataset, "marginals")

    def token_last_layer_outputs(self, dataset: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per sentence, the input of the emission layer ``(n_words, dim)`` and the token tag
        distribution ``(n_words, n_tags)`` (CRF marginals, else softmax), float64: what TracIn
        reads (:func:`labelwise.plasm.tagging_self_influence`)."""
        import torch

        features = self.word_features(dataset)
        results: list[Any] = [None] * len(dataset)
        for rows, emissions, mask in self._emissions(dataset):
            with torch.inference_mode():
                crf = self.module_.crf
                marginals = crf.marginals(emissions, mask) if crf is not None else torch.softmax(emissions, dim=2)
                padded, _ = self._pad([features[i] for i in rows])
                hidden = torch.relu(self.module_.hidden(padded)) if self.module_.hidden is not None else padded
            marginals, hidden = marginals.double().cpu().numpy(), hidden.double().cpu().numpy()
            for i, row in enumerate(rows):
                length = len(features[row])
                results[row] = (hidden[i, :length], marginals[i, :length])
        return results

    def embed(self, dataset: Any) -> np.ndarray:
        """Mean word vector of each sentence ``(n, dim)`` float32; available before any fit."""
        vectors = self.word_encoder().embed_words(dataset.tokens, progress=self.progress and len(dataset) > 1000)
        return np.stack([rows.mean(axis=0) for rows in vectors]).astype(np.float32)

    # ---- persistence -------------------------------------------------------------------
    def _fitted_state(self) -> dict[str, Any]:
        return {**super()._fitted_state(), "input_dim": self.input_dim_}

    def _restore_extra(self, folder: Path, state: dict[str, Any]) -> None:
        self.input_dim_ = int(state["input_dim"])


class _Examples:
    """The training sentences as padded tensors: features ``(n, L, d)``, mask, tag ids."""

    def __init__(self, features: Any, mask: Any, tags: Any) -> None:
        self.features, self.mask, self.tags = features, mask, tags

    def __len__(self) -> int:
        return int(self.features.shape[0])
