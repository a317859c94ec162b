"""A masked language model as a labelwise model: surprisal embeddings for ALPS.

References:
    Yuan, Lin & Boyd-Graber (2020). Cold-start Active Learning through Self-supervised
    Language Modeling. EMNLP 2020. (ALPS, surprisal embeddings.)
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from labelwise.errors import ConfigError, DataError, NotFittedError
from labelwise.models._estimator import LabelwiseModel, seeded
from labelwise.models.pretrained import resolve_model_path


# ---- masked-LM plumbing (shared with labelwise.plasm.domain_adaptation) ---------------
def load_masked_lm(model_name_or_path: str | None = None, *, device: Any = None) -> tuple[Any, Any, list[str]]:
    """(model, tokenizer, newly initialised weight names) for MLM training.

    The head of a packaged sentence encoder is new (see labelwise.plasm.domain_adaptation);
    its decoder is tied to the input embeddings.
    """
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    path = resolve_model_path(model_name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.mask_token_id is None:
        raise ConfigError(f"the tokenizer of {path!r} has no mask token; it cannot train a masked LM.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, info = AutoModelForMaskedLM.from_pretrained(path, output_loading_info=True)
    missing = sorted(info.get("missing_keys", []))
    output = model.get_output_embeddings()
    if output is not None and output.weight is not model.get_input_embeddings().weight:
        output.weight = model.get_input_embeddings().weight
    if device is not None:
        model.to(device)
    return model, tokenizer, missing


def mask_tokens(input_ids: Any, special_mask: Any, tokenizer: Any, generator: Any,
                mlm_probability: float = 0.15) -> tuple[Any, Any]:
    """BERT masking: choose ``mlm_probability`` of the non-special tokens; of those 80 %
    become ``[MASK]``, 10 % a random token, 10 % stay. Returns (inputs, labels) with
    labels ``-100`` where no loss is taken. Tensors ``(batch, length)``."""
    import torch

    labels = input_ids.clone()
    probability = torch.full(labels.shape, mlm_probability)
    probability.masked_fill_(special_mask, 0.0)
    chosen = torch.bernoulli(probability, generator=generator).bool()
    labels[~chosen] = -100
    inputs = input_ids.clone()
    replace = torch.bernoulli(torch.full(labels.shape, 0.8), generator=generator).bool() & chosen
    inputs[replace] = tokenizer.mask_token_id
    randomise = torch.bernoulli(torch.full(labels.shape, 0.5), generator=generator).bool() & chosen & ~replace
    random_tokens = torch.randint(len(tokenizer), labels.shape, generator=generator, dtype=torch.long)
    inputs[randomise] = random_tokens[randomise]
    return inputs, labels


def _encode(tokenizer: Any, texts: list[str], max_length: int) -> tuple[Any, Any, Any]:
    encoded = tokenizer(texts, truncation=True, max_length=max_length, padding=True,
                        return_special_tokens_mask=True, return_tensors="pt")
    return encoded["input_ids"], encoded["attention_mask"], encoded["special_tokens_mask"].bool() | (
        encoded["attention_mask"] == 0)


def masked_lm_loss(model: Any, tokenizer: Any, texts: list[str], *, max_length: int = 64, batch_size: int = 32,
                   mlm_probability: float = 0.15, seed: int = 0) -> float:
    """Mean MLM cross-entropy over ``texts`` with masks drawn from ``seed`` (the same
    masks every call, so two models compare on equal terms)."""
    import torch

    model.eval()
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    total, count = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            ids, attention, special = _encode(tokenizer, texts[start : start + batch_size], max_length)
            inputs, labels = mask_tokens(ids, special, tokenizer, generator, mlm_probability)
            logits = model(input_ids=inputs.to(device), attention_mask=attention.to(device)).logits
            losses = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(),
                                                       labels.reshape(-1).to(device), reduction="sum",
                                                       ignore_index=-100)
            total += float(losses)
            count += int((labels != -100).sum())
    return total / max(count, 1)


def train_masked_lm(model: Any, tokenizer: Any, texts: list[str], *, steps: int = 200, batch_size: int = 16,
                    max_length: int = 64, learning_rate: float = 5e-5, mlm_probability: float = 0.15,
                    random_state: int = 0, progress: bool = False) -> list[float]:
    """Train ``model`` (an ``AutoModelForMaskedLM``) for ``steps`` steps on ``texts``
    with dynamic BERT masking; returns the loss per step."""
    import torch

    from labelwise.models._estimator import resolve_seed
    from labelwise.models._training import TrainingConfig, train

    if not texts:
        raise DataError("masked-LM training needs at least one text.")
    seed = resolve_seed(random_state)
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    config = TrainingConfig(epochs=1, max_steps=steps, batch_size=batch_size, learning_rate=learning_rate,
                            weight_decay=0.01, warmup_ratio=0.1, max_grad_norm=1.0, mixed_precision=False,
                            progress=progress, description="masked LM")

    def batch_loss(rows: np.ndarray) -> Any:
        ids, attention, special = _encode(tokenizer, [texts[i] for i in rows], max_length)
        inputs, labels = mask_tokens(ids, special, tokenizer, generator, mlm_probability)
        output = model(input_ids=inputs.to(device), attention_mask=attention.to(device), labels=labels.to(device))
        if not (labels != -100).any():  # nothing masked in this batch: no signal, no NaN
            return output.logits.sum() * 0.0
        return output.loss

    if steps <= 0:
        return []
    with seeded(seed, device):  # dropout draws from the global generator: fork it
        return train(model, len(texts), batch_loss, config, device=device, generator=generator).step_losses


class MaskedLanguageModel(LabelwiseModel):
    """An encoder with a masked-LM head, for ALPS's surprisal embeddings.

    ``prepare(pool)`` loads the model and, when ``mlm_steps > 0``, trains the MLM head on
    the pool (the packaged encoders ship without one: it starts fresh, see
    :mod:`labelwise.plasm.domain_adaptation` and ``docs/efficiency.md``). ``fit`` trains nothing more: ALPS is a
    cold-start strategy that needs no labels. ``predict`` returns the most frequent
    label seen by ``fit`` — this is not a classifier; pair ALPS with a schedule that
    hands over to a real model.

    **Surprisal embedding** (ALPS, Section 3): for each token position, the MLM
    cross-entropy of the true token given the **unmasked** input, taken at a random 15 %
    of the (non-special) tokens and 0 elsewhere. ALPS does not mask the input — the loss
    is evaluated on the intact sentence, as in BERT's "keep the token" case — so the
    embedding reflects how surprising each token is to the LM. The 15 % subset is drawn
    from ``random_state``, fixed per row, so the result is reproducible. Positions past
    the end (and special tokens) are 0. ALPS L2-normalises these vectors before k-means;
    the strategy does that, not this model.

    Args:
        model_name_or_path: encoder folder or hub name (default: the packaged MiniLM).
        max_length: tokens per text; the embedding width.
        mlm_steps: MLM training steps on the pool in ``prepare`` (0: use the head as
            loaded, i.e. untrained for the packaged encoders).
        token_fraction: share of tokens whose surprisal is kept (ALPS: 0.15).
        batch_size, learning_rate: MLM training and inference settings.
        device: torch device (default: CUDA when present).
        random_state: seed for training and the token subsets (None: fresh entropy).
    """

    provides = ("surprisal_embeddings",)

    def __init__(self, model_name_or_path: str | None = None, *, max_length: int = 64, mlm_steps: int = 100,
                 token_fraction: float = 0.15, batch_size: int = 16, learning_rate: float = 5e-5,
                 device: str | None = None, random_state: int = 0) -> None:
        self.model_name_or_path = model_name_or_path
        self.max_length = max_length
        self.mlm_steps = mlm_steps
        self.token_fraction = token_fraction
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.device = device
        self.random_state = random_state

    def _load(self) -> None:
        if hasattr(self, "module_"):
            return
        from labelwise.models.torch_utils import choose_device

        self.seed_ = self._seed()
        self.device_ = choose_device(self.device)
        with seeded(self.seed_, self.device_):  # a new MLM head is initialised from the global generator
            self.module_, self.tokenizer_, self.new_head_weights_ = load_masked_lm(self.model_name_or_path,
                                                                                   device=self.device_)
        self.module_.eval()

    def prepare(self, pool: Any) -> None:
        """Load the MLM and train its head on the pool's texts (``mlm_steps`` steps)."""
        self._load()
        self._surprisal_memo = {}
        self.mlm_losses_: list[float] = []
        if self.mlm_steps > 0:
            texts = [t for t in pool.inputs if isinstance(t, str) and t.strip()]
            self.mlm_losses_ = train_masked_lm(self.module_, self.tokenizer_, texts, steps=self.mlm_steps,
                                               batch_size=self.batch_size, max_length=self.max_length,
                                               learning_rate=self.learning_rate,
                                               random_state=self.seed_)

    def fit(self, dataset: Any) -> MaskedLanguageModel:
        """Load the MLM if needed and remember the label set; no supervised training."""
        self._load()
        self.label_names_ = tuple(getattr(dataset, "label_names", ()))
        labels = getattr(dataset, "labels", None)
        if labels is not None and len(labels) and np.asarray(labels).ndim == 1:
            self.majority_label_ = int(np.bincount(np.asarray(labels, dtype=np.int64)).argmax())
        else:
            self.majority_label_ = 0
        return self

    def predict(self, dataset: Any) -> np.ndarray:
        """The majority label of the ``fit`` data for every row (not a classifier)."""
        if not hasattr(self, "majority_label_"):
            raise NotFittedError("MaskedLanguageModel.predict needs fit() first.")
        return np.full(len(dataset), self.majority_label_, dtype=np.int64)

    def surprisal_embeddings(self, dataset: Any) -> np.ndarray:
        """ALPS surprisal embeddings ``(n, max_length)`` float32 (see the class docs).

        The language model does not change during AL, so each text's vector is computed
        once and remembered (until ``prepare`` trains the head again)."""
        texts = list(dataset.inputs)
        if any(not isinstance(t, str) for t in texts):
            raise DataError("surprisal embeddings need texts (a classification or seq2seq dataset).")
        memo = self.__dict__.setdefault("_surprisal_memo", {})
        missing = list(dict.fromkeys(t for t in texts if t not in memo))
        if missing:
            memo.update(zip(missing, self._compute_surprisal(missing), strict=True))
        if not texts:
            return np.zeros((0, self.max_length), dtype=np.float32)
        return np.stack([memo[t] for t in texts])

    def _compute_surprisal(self, texts: list[str]) -> np.ndarray:
        import torch

        self._load()
        result = np.zeros((len(texts), self.max_length), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        self.module_.eval()
        with torch.inference_mode():
            for start in range(0, len(order), 64):
                rows = order[start : start + 64]
                encoded = self.tokenizer_([texts[i] for i in rows], truncation=True, max_length=self.max_length,
                                          padding=True, return_special_tokens_mask=True, return_tensors="pt")
                ids = encoded["input_ids"]
                attention = encoded["attention_mask"]
                logits = self.module_(input_ids=ids.to(self.device_),
                                      attention_mask=attention.to(self.device_)).logits.float()
                losses = torch.nn.functional.cross_entropy(logits.transpose(1, 2), ids.to(self.device_),
                                                           reduction="none").cpu().numpy()
                usable = (attention.numpy() == 1) & (encoded["special_tokens_mask"].numpy() == 0)
                for offset, row in enumerate(rows):
                    chosen = usable[offset] & self._token_subset(texts[row], usable.shape[1])
                    result[row, : usable.shape[1]] = np.where(chosen, losses[offset], 0.0)
        return result

    def _token_subset(self, text: str, width: int) -> np.ndarray:
        # Seeded by the text and random_state, so a row gets the same subset whatever
        # batch or order it is scored in.
        import zlib

        seed = zlib.crc32(text.encode("utf-8")) ^ (int(self.seed_) & 0xFFFFFFFF)
        return np.random.default_rng(seed).random(width) < self.token_fraction

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "module_")

    # ---- persistence -------------------------------------------------------------------
    def _save_weights(self, folder: Path) -> None:
        self.module_.save_pretrained(folder, safe_serialization=True)
        self.tokenizer_.save_pretrained(folder)

    def _fitted_state(self) -> dict[str, Any]:
        return {"seed": self.seed_, "label_names": list(getattr(self, "label_names_", ())),
                "majority_label": getattr(self, "majority_label_", None)}

    def _restore(self, folder: Path, state: dict[str, Any]) -> None:
        from transformers import AutoModelForMaskedLM, AutoTokenizer

        from labelwise.models.torch_utils import choose_device

        self.seed_ = int(state["seed"])
        self.device_ = choose_device(self.device)
        self.tokenizer_ = AutoTokenizer.from_pretrained(folder)
        self.module_ = AutoModelForMaskedLM.from_pretrained(folder, use_safetensors=True).to(self.device_).eval()
        self.new_head_weights_ = []
        self.label_names_ = tuple(state["label_names"])
        if state["majority_label"] is not None:
            self.majority_label_ = int(state["majority_label"])
        self._surprisal_memo = {}
