"""Hugging Face encoder-decoder models (BART, T5, PEGASUS, BERT2BERT) for summarization AL.

The default (``model_name_or_path=None``) is a BERT2BERT model warm-started from the
packaged MiniLM encoder on both sides (Rothe, Narayan & Severyn 2020, "Leveraging
pre-trained checkpoints for sequence generation tasks", TACL): the cross-attention layers
and the decoder's LM-head transform start random, so it needs fine-tuning and scores far
below a real pretrained summarizer; pass a local BART/T5/PEGASUS folder for real work.
"""

from __future__ import annotations

import copy
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labelwise.errors import ConfigError, DataError, NotFittedError
from labelwise.models._estimator import LabelwiseModel, resolve_seed, seeded
from labelwise.models._training import TrainingConfig, TrainingResult, train
from labelwise.models.pretrained import default_encoder_path, resolve_model_path
from labelwise.models.torch_utils import (
    autocast,
    choose_device,
    enable_dropout,
    length_sorted_batches,
)

# The last warm start loaded, as (tokenizer, CPU network): every model built with the same
# path and seed (one per seed and strategy in a benchmark) copies it instead of reloading.
_WARM_STARTS: dict[tuple[Any, int], tuple[Any, Any]] = {}
#: Lead-warmed weights by (model, seed, pool digest, settings); a few kept.
_LEAD_WARMED: dict[tuple[Any, ...], dict[str, Any]] = {}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def lead_pseudo_summary(text: str, max_words: int = 8) -> str:
    """The first non-empty sentence of ``text``, cut to ``max_words`` words: the Lead
    baseline of summarization, used as a label-free training target."""
    for sentence in _SENTENCE_END.split(text):
        words = sentence.split()
        if words:
            return " ".join(words[:max_words])
    return ""


def lead_pairs(sources: Sequence[Any], max_words: int = 8) -> list[tuple[str, str]]:
    """(source, Lead pseudo-summary) for every text source that has one."""
    pairs = [(s, lead_pseudo_summary(s, max_words)) for s in sources if isinstance(s, str)]
    return [(s, t) for s, t in pairs if t]


class TransformerSeq2Seq(LabelwiseModel):
    """Fine-tune and query a Hugging Face encoder-decoder model.

    Args:
        model_name_or_path: a local model folder or hub name loadable with
            ``AutoModelForSeq2SeqLM`` (BART, T5, PEGASUS, ...), or None for a BERT2BERT
            model warm-started from the packaged MiniLM.
        max_source_length: source tokens kept (longer sources are truncated).
        max_target_length: target tokens kept in training and generated at most.
        num_beams: beam width of ``predict`` and ``generate_with_scores`` (1 = greedy).
        batch_size: examples per training and inference batch.
        epochs: passes over the labeled set per ``fit``.
        learning_rate: AdamW learning rate (linear decay, no warm-up).
        device: ``"cuda"``, ``"cpu"``, ... or None for the best available.
        mixed_precision: autocast (bf16/fp16) on CUDA; ignored on the CPU.
        random_state: seed of weight initialisation, shuffling and dropout.
        progress: show tqdm bars for training and inference.
        validation_fraction: share of the labeled pairs held out for early stopping of the
            fine-tuning (the epoch with the lowest held-out loss is kept; 0: none). After
            ``fit``: ``validation_losses_`` (per epoch) and ``best_epoch_``.

    Every ``fit`` starts again from the same warm start (as active learning retrains from
    scratch on the grown labeled set).
    """

    provides = ("generations", "sequence_scores", "mc_generations", "mc_sequence_scores", "embeddings")

    def __init__(
        self,
        model_name_or_path: str | None = None,
        *,
        max_source_length: int = 256,
        max_target_length: int = 32,
        num_beams: int = 4,
        batch_size: int = 8,
        epochs: int = 10,
        learning_rate: float = 1e-4,
        weight_decay: float = 0.01,
        device: str | None = None,
        mixed_precision: bool = True,
        random_state: Any = 0,
        progress: bool = False,
        lead_warm_up_epochs: int = 0,
        lead_warm_up_learning_rate: float = 5e-4,
        lead_max_words: int = 8,
        validation_fraction: float = 0.0,
    ) -> None:
        self.model_name_or_path = model_name_or_path
        self.max_source_length = max_source_length
        self.max_target_length = max_target_length
        self.num_beams = num_beams
        self.batch_size = batch_size
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.device = device
        self.mixed_precision = mixed_precision
        self.random_state = random_state
        self.progress = progress
        self.lead_warm_up_epochs = lead_warm_up_epochs
        self.lead_warm_up_learning_rate = lead_warm_up_learning_rate
        self.lead_max_words = lead_max_words
        self.validation_fraction = validation_fraction

    # ---- construction ------------------------------------------------------------------
    def _ensure_loaded(self) -> None:
        """Load tokenizer and warm-start weights once; ``fit`` resets to the saved copy."""
        if getattr(self, "_network", None) is not None:
            return
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        self._warm_seed = resolve_seed(self.random_state)
        key = (self.model_name_or_path, self._warm_seed)
        if key not in _WARM_STARTS:
            _WARM_STARTS.clear()  # keep one template: an AL run builds many models of one kind
            _WARM_STARTS[key] = self._load_warm_start()
        tokenizer, template = _WARM_STARTS[key]
        network = copy.deepcopy(template)
        self.tokenizer_ = tokenizer
        self._network = network
        self._device = choose_device(self.device)
        self._initial_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
        self._source_cache: dict[str, list[int]] = {}
        network.to(self._device)

    def _load_warm_start(self) -> tuple[Any, Any]:

        with seeded(self._warm_seed):  # BERT2BERT cross-attention starts random
            return self._load_warm_start_seeded()

    def _load_warm_start_seeded(self) -> tuple[Any, Any]:
        from transformers import AutoTokenizer

        try:
            if self.model_name_or_path is None:
                from transformers import EncoderDecoderModel

                path = default_encoder_path()
                tokenizer = AutoTokenizer.from_pretrained(path)
                network = EncoderDecoderModel.from_encoder_decoder_pretrained(path, path)
                _initialise_new_decoder_weights(network)
            else:
                path = resolve_model_path(self.model_name_or_path)
                tokenizer = AutoTokenizer.from_pretrained(path)
                network = _load_seq2seq_network(path)
        except (OSError, ValueError) as error:
            if isinstance(error, ConfigError):
                raise
            raise ConfigError(
                f"model_name_or_path={self.model_name_or_path!r} could not be loaded as a seq2seq model ({error}). "
                "Pass a local folder of a BART/T5/PEGASUS checkpoint, or None for the BERT2BERT default."
            ) from error
        _configure_special_tokens(network, tokenizer)
        return tokenizer, network

    @property
    def is_fitted(self) -> bool:
        return bool(getattr(self, "fitted_", False))

    @property
    def network_(self) -> Any:
        """The underlying ``transformers`` model (after ``fit`` or ``load``)."""
        self._ensure_loaded()
        return self._network

    # ---- tokenization (cached across iterations) ---------------------------------------
    def prepare(self, pool: Any) -> None:
        """Tokenize every source of ``pool`` once (later iterations reuse the cache) and,
        with ``lead_warm_up_epochs > 0``, warm the model up on the pool's Lead
        pseudo-summaries: every later ``fit`` starts from the warmed weights."""
        self._ensure_loaded()
        self._encode_sources(pool.sources)
        if self.lead_warm_up_epochs > 0:
            self._lead_warm_up(pool.sources)

    def _lead_warm_up(self, sources: Sequence[str]) -> None:
        """Label-free: train on (source, its first ``lead_max_words`` words) pairs. Why:
        a BERT2BERT decoder cannot learn to write from 10-100 labeled pairs; after this it
        only has to learn what the targets look like. Cached per pool and settings, so the
        runs of one benchmark share it."""
        import hashlib

        pairs = lead_pairs(sources, self.lead_max_words)
        if not pairs:
            return
        digest = hashlib.sha1("\x1f".join(s for s, _ in pairs).encode("utf-8")).hexdigest()
        key = (self.model_name_or_path, self._warm_seed, digest, self.lead_warm_up_epochs,
               self.lead_warm_up_learning_rate, self.lead_max_words, self.max_source_length, self.max_target_length)
        if key not in _LEAD_WARMED:
            if len(_LEAD_WARMED) >= 3:
                _LEAD_WARMED.pop(next(iter(_LEAD_WARMED)))
            self._network.load_state_dict(self._initial_state)
            self._train(self._encode_sources([s for s, _ in pairs]), self._encode_targets([t for _, t in pairs]),
                        self.lead_warm_up_epochs, self.lead_warm_up_learning_rate, desc="Lead warm-up")
            _LEAD_WARMED[key] = {k: v.detach().clone() for k, v in self._network.state_dict().items()}
        self._initial_state = _LEAD_WARMED[key]

    def _encode_sources(self, sources: Sequence[str]) -> list[list[int]]:
        missing = list(dict.fromkeys(s for s in sources if s not in self._source_cache))
        if missing:
            encoded = self.tokenizer_(missing, truncation=True, max_length=self.max_source_length)["input_ids"]
            self._source_cache.update(zip(missing, encoded, strict=True))
        return [self._source_cache[s] for s in sources]

    def _encode_targets(self, targets: Sequence[str]) -> list[list[int]]:
        encoded = self.tokenizer_(text_target=list(targets), truncation=True,
                                  max_length=self.max_target_length)["input_ids"]
        start = self._network.config.decoder_start_token_id
        # BERT tokenizers put [CLS] first, which is the decoder start token: the model
        # prepends it itself when shifting labels right.
        return [ids[1:] if ids and ids[0] == start and len(ids) > 1 else ids for ids in encoded]

    def _pad(self, sequences: Sequence[Sequence[int]], value: int) -> Any:
        import torch

        width = max(len(s) for s in sequences)
        batch = torch.full((len(sequences), width), value, dtype=torch.long)
        for row, ids in enumerate(sequences):
            batch[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        return batch.to(self._device)

    def _source_batch(self, ids: Sequence[Sequence[int]]) -> tuple[Any, Any]:
        input_ids = self._pad(ids, self.tokenizer_.pad_token_id)
        lengths = [len(s) for s in ids]
        import torch

        mask = (torch.arange(input_ids.shape[1])[None, :] < torch.tensor(lengths)[:, None]).long().to(self._device)
        return input_ids, mask

    # ---- training ----------------------------------------------------------------------
    def fit(self, dataset: Any) -> TransformerSeq2Seq:
        """Fine-tune from the warm start on every (source, target) pair of ``dataset``."""

        if getattr(dataset, "targets", None) is None:
            raise DataError("fit needs a Seq2SeqDataset with targets; got one without targets.",
                            fix="pass the labeled rows (dataset.with_labels(...)).")
        if len(dataset) == 0:
            raise DataError("fit got an empty dataset.", fix="label at least one example first.")
        self._ensure_loaded()
        self._network.load_state_dict(self._initial_state)
        result = self._train(self._encode_sources(dataset.sources), self._encode_targets(dataset.targets),
                             self.epochs, self.learning_rate, desc="fine-tuning",
                             validation_fraction=float(self.validation_fraction))
        self.loss_history_ = result.step_losses
        self.validation_losses_, self.best_epoch_ = result.validation_losses, result.best_epoch
        self.fitted_ = True
        self._memo = {}
        return self

    def _train(self, sources: list[list[int]], targets: list[list[int]], epochs: int, learning_rate: float,
               desc: str, validation_fraction: float = 0.0) -> TrainingResult:
        """AdamW with linear decay (no warm-up) from the current weights (the shared loop)."""
        network = self._network
        config = TrainingConfig(epochs=epochs, batch_size=self.batch_size, learning_rate=learning_rate,
                                weight_decay=self.weight_decay, warmup_ratio=0.0, max_grad_norm=1.0,
                                mixed_precision=self.mixed_precision, progress=self.progress, description=desc,
                                validation_fraction=validation_fraction)

        def batch_loss(rows: np.ndarray) -> Any:
            input_ids, mask = self._source_batch([sources[i] for i in rows])
            labels = self._pad([targets[i] for i in rows], -100)
            with warnings.catch_warnings():
                # EncoderDecoderModel warns on every call with labels about a v4.12 change.
                warnings.filterwarnings("ignore", category=FutureWarning, message=".*v4.12.0.*")
                return network(input_ids=input_ids, attention_mask=mask, labels=labels).loss

        with seeded(resolve_seed(self.random_state), self._device) as generator:
            return train(network, len(sources), batch_loss, config, device=self._device, generator=generator)

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError("TransformerSeq2Seq is not fitted: call fit(labeled) (or load a saved model) first.")

    # ---- inference ---------------------------------------------------------------------
    def _batches(self, dataset: Any, desc: str):
        from tqdm.auto import tqdm

        ids = self._encode_sources(dataset.sources)
        batches = list(length_sorted_batches([len(s) for s in ids], self.batch_size))
        for rows in tqdm(batches, desc=desc, disable=not self.progress, leave=False):
            input_ids, mask = self._source_batch([ids[i] for i in rows])
            yield rows, input_ids, mask

    def _generate(self, input_ids: Any, mask: Any, num_beams: int, **extra: Any) -> Any:
        return self._network.generate(
            input_ids=input_ids, attention_mask=mask, num_beams=num_beams, do_sample=False,
            max_new_tokens=self.max_target_length, early_stopping=True if num_beams > 1 else False,
            num_return_sequences=1, **extra)

    def _decode(self, sequences: Any) -> list[str]:
        return [t.strip() for t in self.tokenizer_.batch_decode(sequences, skip_special_tokens=True)]

    def predict(self, dataset: Any) -> list[str]:
        """Generated texts, one per source (beam search with ``num_beams``, greedy at 1)."""
        texts, _ = self._run_generation(dataset, self.num_beams, score=False)
        return texts

    def generate_with_scores(self, dataset: Any, num_beams: int | None = None) -> tuple[list[str], np.ndarray]:
        """Generated texts and their length-normalised log-probabilities ``(n,)`` float32.

        The score of a hypothesis y is ``(1/|y|) sum_t log p(y_t | y_<t, x)`` over its tokens
        up to and including the end-of-sequence token, recomputed by teacher forcing with
        dropout off (the model's own probability, independent of beam-search length
        penalties).
        """
        beams = self.num_beams if num_beams is None else num_beams
        # The producers of "generations" and "sequence_scores" both call this: generate once.
        key = ("scores", beams, tuple(dataset.sources))
        memo = self.__dict__.setdefault("_memo", {})
        if key not in memo:
            memo.clear()
            memo[key] = self._run_generation(dataset, beams, score=True)
        texts, scores = memo[key]
        return list(texts), scores.copy()

    def _run_generation(self, dataset: Any, num_beams: int, score: bool) -> tuple[list[str], np.ndarray]:
        import torch

        self._check_fitted()
        network = self._network
        network.eval()
        texts: list[str] = [""] * len(dataset)
        scores = np.zeros(len(dataset), dtype=np.float32)
        with torch.inference_mode(), autocast(self._device, self.mixed_precision):
            for rows, input_ids, mask in self._batches(dataset, "generating"):
                sequences = self._generate(input_ids, mask, num_beams)
                for row, text in zip(rows, self._decode(sequences), strict=True):
                    texts[row] = text
                if score:
                    logits = network(input_ids=input_ids, attention_mask=mask,
                                     decoder_input_ids=sequences[:, :-1]).logits
                    scores[rows] = self._mean_log_probs(logits, sequences).cpu().numpy()
        return texts, scores

    def _mean_log_probs(self, logits: Any, sequences: Any) -> Any:
        """Mean log-probability of ``sequences[:, 1:]`` under ``logits`` ``(b, L-1, V)``,
        counting tokens up to and including the first end-of-sequence token."""
        import torch

        tokens = sequences[:, 1:]
        log_probs = torch.log_softmax(logits.float(), dim=-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
        eos = self._network.generation_config.eos_token_id
        eos_ids = torch.tensor(eos if isinstance(eos, list) else [eos], device=tokens.device)
        is_eos = torch.isin(tokens, eos_ids).long()
        ended_before = (torch.cumsum(is_eos, dim=1) - is_eos) > 0
        valid = (~ended_before).float()
        return (log_probs * valid).sum(dim=1) / valid.sum(dim=1).clamp(min=1.0)

    def generate_mc(self, dataset: Any, n_samples: int = 10, random_state: Any = 0,
                    num_beams: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """MC-dropout generations (Gal & Ghahramani 2016): ``n_samples`` runs with dropout on.

        Returns texts ``(n, n_samples)`` (object array of str) and each text's
        length-normalised log-probability ``(n, n_samples)`` float32: the mean
        log-probability of its tokens as they were generated, dropout active (greedy
        decoding by default; with beams, re-scored by teacher forcing with dropout on).
        Each run is seeded from ``random_state``, so the same seed gives the same samples.
        """
        key = ("mc", n_samples, num_beams, repr(random_state), tuple(dataset.sources))
        memo = self.__dict__.setdefault("_memo", {})
        if key not in memo or isinstance(random_state, np.random.Generator):
            memo.clear()
            memo[key] = self._generate_mc(dataset, n_samples, random_state, num_beams)
        texts, scores = memo[key]
        return texts.copy(), scores.copy()

    def _generate_mc(self, dataset: Any, n_samples: int, random_state: Any,
                     num_beams: int) -> tuple[np.ndarray, np.ndarray]:
        import torch

        self._check_fitted()
        seed = resolve_seed(random_state)
        network = self._network
        texts = np.empty((len(dataset), n_samples), dtype=object)
        scores = np.zeros((len(dataset), n_samples), dtype=np.float32)
        network.eval()
        enable_dropout(network)
        devices = [self._device] if self._device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=devices), torch.inference_mode(), \
                    autocast(self._device, self.mixed_precision):
                for batch_number, (rows, input_ids, mask) in enumerate(self._batches(dataset, "MC dropout")):
                    for sample in range(n_samples):
                        torch.manual_seed(seed + 1000003 * sample + batch_number)
                        out = self._generate(input_ids, mask, num_beams, output_logits=True,
                                             return_dict_in_generate=True)
                        sequences = out.sequences
                        logits = torch.stack(out.logits, dim=1)
                        if num_beams > 1:  # beam logits are per beam: re-score by teacher forcing
                            logits = network(input_ids=input_ids, attention_mask=mask,
                                             decoder_input_ids=sequences[:, :-1]).logits
                        texts[rows, sample] = np.array(self._decode(sequences), dtype=object)
                        scores[rows, sample] = self._mean_log_probs(logits, sequences).cpu().numpy()
        finally:
            network.eval()
        return texts, scores

    def embed(self, dataset: Any) -> np.ndarray:
        """Mean-pooled final encoder states of the sources, ``(n, hidden)`` float32."""
        import torch

        self._ensure_loaded()
        network = self._network
        network.eval()
        encoder = network.get_encoder()
        vectors = None
        with torch.inference_mode(), autocast(self._device, self.mixed_precision):
            for rows, input_ids, mask in self._batches(dataset, "embedding"):
                states = encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state.float()
                weights = mask.unsqueeze(-1).float()
                pooled = (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)
                if vectors is None:
                    vectors = np.zeros((len(dataset), pooled.shape[1]), dtype=np.float32)
                vectors[rows] = pooled.cpu().numpy()
        return vectors if vectors is not None else np.zeros((0, 0), dtype=np.float32)

    def sequence_log_prob(self, sources: Sequence[str], targets: Sequence[str]) -> np.ndarray:
        """Length-normalised log-probability of given target texts, ``(n,)`` (dropout off)."""
        import torch

        self._ensure_loaded()
        network = self._network
        network.eval()
        src = self._encode_sources(list(sources))
        tgt = self._encode_targets(list(targets))
        input_ids, mask = self._source_batch(src)
        start = network.config.decoder_start_token_id
        sequences = self._pad([[start, *t] for t in tgt], self.tokenizer_.pad_token_id)
        with torch.inference_mode():
            logits = network(input_ids=input_ids, attention_mask=mask, decoder_input_ids=sequences[:, :-1]).logits
            return self._mean_log_probs(logits, sequences).cpu().numpy()

    # ---- persistence -------------------------------------------------------------------
    def _save_weights(self, folder: Path) -> None:
        """The network (``save_pretrained``: config.json + model.safetensors) and tokenizer.
        A loaded model's later ``fit`` restarts from the saved weights."""
        self._network.save_pretrained(folder, safe_serialization=True)
        self.tokenizer_.save_pretrained(folder)

    def _fitted_state(self) -> dict[str, Any]:
        return {"architecture": type(self._network).__name__}

    def _restore(self, folder: Path, state: dict[str, Any]) -> None:
        from transformers import AutoTokenizer

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if state.get("architecture") == "EncoderDecoderModel":
                from transformers import EncoderDecoderModel

                network = EncoderDecoderModel.from_pretrained(folder, use_safetensors=True)
            else:
                network = _load_seq2seq_network(str(folder))
        self.tokenizer_ = AutoTokenizer.from_pretrained(folder)
        _configure_special_tokens(network, self.tokenizer_)
        self._device = choose_device(self.device)
        self._network = network.to(self._device).eval()
        self._initial_state = {k: v.detach().cpu().clone() for k, v in network.state_dict().items()}
        self._warm_seed = resolve_seed(self.random_state)
        self._source_cache = {}
        self._memo = {}
        self.fitted_ = True

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_source_cache", None)
        state.pop("_memo", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._source_cache = {}

    def clone(self) -> TransformerSeq2Seq:
        """An unfitted model with the same parameters (as ``sklearn.base.clone``)."""
        return type(self)(**self.get_params(deep=False))


def _initialise_new_decoder_weights(network: Any) -> None:
    """Give a BERT2BERT decoder's new weights a useful start instead of random ones.

    The encoder checkpoint has no cross-attention and (for sentence-transformers) no LM
    head transform. Each cross-attention block starts as a copy of its layer's
    self-attention, so decoder states attend to the (same-space) encoder states of
    similar tokens from the first step, and the head's transform starts as the identity,
    so logits begin as similarities to the tied token embeddings. With random ones a
    CPU-sized fine-tune leaves the decoder ignoring the source.
    """
    import torch

    decoder = network.decoder
    layers = getattr(getattr(getattr(decoder, "bert", None), "encoder", None), "layer", None)
    if layers is None:
        return  # not a BERT-style decoder: keep what transformers built
    with torch.no_grad():
        for layer in layers:
            cross = getattr(layer, "crossattention", None)
            if cross is None:
                continue
            for name in ("query", "key", "value"):
                getattr(cross.self, name).load_state_dict(getattr(layer.attention.self, name).state_dict())
            cross.output.load_state_dict(layer.attention.output.state_dict())
        transform = getattr(getattr(getattr(decoder, "cls", None), "predictions", None), "transform", None)
        if transform is not None:
            transform.dense.weight.copy_(torch.eye(transform.dense.weight.shape[0]))
            transform.dense.bias.zero_()
            transform.LayerNorm.weight.fill_(1.0)
            transform.LayerNorm.bias.zero_()


def _load_seq2seq_network(path: str) -> Any:
    from transformers import AutoConfig, AutoModelForSeq2SeqLM

    config = AutoConfig.from_pretrained(path)
    if getattr(config, "model_type", "") == "encoder-decoder":
        from transformers import EncoderDecoderModel

        return EncoderDecoderModel.from_pretrained(path)
    if not getattr(config, "is_encoder_decoder", False):
        raise ConfigError(
            f"{path!r} is a {config.model_type!r} model, not an encoder-decoder: TransformerSeq2Seq needs "
            "BART, T5, PEGASUS or a saved EncoderDecoderModel (or None for the BERT2BERT default)."
        )
    return AutoModelForSeq2SeqLM.from_pretrained(path)


def _configure_special_tokens(network: Any, tokenizer: Any) -> None:
    """BERT2BERT has no decoder start / eos of its own: use [CLS] to start and [SEP] to end
    (Rothe et al. 2020). Real seq2seq checkpoints keep what they ship with."""
    config = network.config
    generation = network.generation_config
    if config.decoder_start_token_id is None:
        config.decoder_start_token_id = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    if config.pad_token_id is None:
        config.pad_token_id = tokenizer.pad_token_id
    if getattr(config, "eos_token_id", None) is None:
        config.eos_token_id = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    for name in ("decoder_start_token_id", "pad_token_id", "eos_token_id"):
        if getattr(generation, name, None) is None:
            setattr(generation, name, getattr(config, name))
    if generation.eos_token_id is None or config.decoder_start_token_id is None:
        raise ConfigError("the tokenizer defines no end-of-sequence / start token; set them in the model config.")
