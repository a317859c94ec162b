"""An LLM annotator over any OpenAI-compatible chat-completions endpoint (llama.cpp's
server, vLLM, Ollama, or a hosted API).

- Configuration from the environment: ``LABELWISE_LLM_BASE_URL`` (e.g.
  ``http://127.0.0.1:8080/v1``), ``LABELWISE_LLM_MODEL``, ``LABELWISE_LLM_API_KEY``
  (optional). The key travels only in the ``Authorization`` header: it is never logged,
  never in a repr, and scrubbed from every error message (a server that echoes it back
  included).
- Prompts per task: classification (the label names), NER (numbered tokens; the answer's
  spans are validated against the tokens), summarization. Few-shot examples come from
  the labeled set (:meth:`LLMAnnotator.set_examples`).
- Structured output: the answer is a JSON object; malformed JSON or an invalid answer is
  sent back to the model with the reason, up to ``max_retries`` times. Time-outs, 429 and
  5xx answers are retried with exponential back-off; other HTTP errors raise.
- Rate limit: at most ``requests_per_minute`` requests (evenly spaced).
- Cost: tokens from each response's ``usage`` field (failed attempts are paid too) times
  the per-token prices.
- Cache: JSON Lines on disk (appended durably via :mod:`labelwise._io`), keyed by a hash
  of the model and the full prompt, so no item is paid for twice, across sessions too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from labelwise._io import append_line_durably
from labelwise.annotators.base import Annotator
from labelwise.data.tagging_schemes import entity_spans
from labelwise.errors import ConfigError, DataError, LabelwiseError

logger = logging.getLogger(__name__)
TASKS = ("classification", "tagging", "seq2seq")
_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class LLMError(LabelwiseError, RuntimeError):
    """The endpoint refused the request (authentication, unknown model, bad request)."""


@dataclass(frozen=True)
class LLMConfig:
    """Where the model is and how to call it. The key is hidden from ``repr``.

    Prices are per token, in the currency of the other annotators' costs.
    """

    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    timeout_s: float = 60.0
    max_retries: int = 3
    requests_per_minute: float = 60.0
    temperature: float = 0.0
    max_tokens: int = 512
    price_per_prompt_token: float = 0.0
    price_per_completion_token: float = 0.0
    json_mode: bool = True

    @classmethod
    def from_env(cls, **overrides: Any) -> LLMConfig:
        """Read ``LABELWISE_LLM_BASE_URL``, ``LABELWISE_LLM_MODEL`` and
        ``LABELWISE_LLM_API_KEY``; ``overrides`` replace any field."""
        values = {"base_url": os.environ.get("LABELWISE_LLM_BASE_URL"), "model": os.environ.get("LABELWISE_LLM_MODEL"),
                  "api_key": os.environ.get("LABELWISE_LLM_API_KEY") or None}
        values.update(overrides)
        missing = [name for name, variable in (("base_url", "LABELWISE_LLM_BASE_URL"), ("model", "LABELWISE_LLM_MODEL"))
                   if not values.get(name)]
        if missing:
            raise ConfigError(f"the LLM annotator needs {', '.join(missing)}: set "
                              + " and ".join(f"LABELWISE_LLM_{m.upper()}" for m in missing)
                              + " (e.g. LABELWISE_LLM_BASE_URL=http://127.0.0.1:8080/v1) or pass LLMConfig(...).")
        return cls(**values)

    def __post_init__(self) -> None:
        if not str(self.base_url).startswith(("http://", "https://")):
            raise ConfigError(f"LLMConfig.base_url must start with http:// or https://, got {self.base_url!r}.")
        if self.requests_per_minute <= 0 or self.timeout_s <= 0 or self.max_retries < 0:
            raise ConfigError("LLMConfig: requests_per_minute and timeout_s must be > 0, max_retries >= 0.")


@dataclass(frozen=True)
class LLMLabel:
    """One item's answer: ``value`` (class name, tag list or summary; ``None`` when every
    attempt failed), ``error`` (why, when it failed), ``cached`` (no request was made),
    the tokens it used and what they cost (0 when cached)."""

    value: Any
    error: str | None = None
    cached: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    attempts: int = 0


class LLMAnnotator:
    """Label items with an LLM.

    >>> llm = LLMAnnotator("classification", label_names=["World", "Sports"],
    ...                    config=LLMConfig.from_env(), cache="llm-cache.jsonl")
    >>> llm.set_examples(["Cup final tonight"], ["Sports"])
    >>> [answer.value for answer in llm.label(["Parliament votes on budget"])]
    ['World']

    Args:
        task: ``"classification"``, ``"tagging"`` (NER, IOB2 tags) or ``"seq2seq"``.
        label_names: class names (classification) or tag names (tagging, IOB2: the entity
            types are read from the ``B-`` tags).
        config: an :class:`LLMConfig` (default: :meth:`LLMConfig.from_env`).
        cache: a JSON Lines file of earlier answers (``None``: no cache).
        n_examples: few-shot examples per prompt.
        instructions: extra task instructions put into the system prompt.
        random_state: seed for choosing the few-shot examples.
    """

    def __init__(self, task: str, *, label_names: Sequence[str] = (), config: LLMConfig | None = None,
                 cache: str | os.PathLike | None = None, n_examples: int = 4, instructions: str = "",
                 random_state: int | np.random.Generator | None = 0,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
        if task not in TASKS:
            raise ConfigError(f"LLMAnnotator task must be one of {list(TASKS)}, got {task!r}.")
        self.task = task
        self.label_names = tuple(label_names)
        if task == "classification" and len(self.label_names) < 2:
            raise ConfigError("LLMAnnotator('classification') needs label_names (two or more class names).")
        self.entity_types = tuple(dict.fromkeys(n[2:] for n in self.label_names if n.startswith("B-")))
        if task == "tagging" and not self.entity_types:
            raise ConfigError("LLMAnnotator('tagging') needs IOB2 tag names with B- tags in label_names.")
        self.config = config if config is not None else LLMConfig.from_env()
        self.n_examples = int(n_examples)
        self.instructions = instructions
        self.rng = random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)
        self._sleep, self._clock = sleep, clock
        self._last_request: float | None = None
        self.examples: list[tuple[Any, Any]] = []
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.n_requests = 0
        self.cost = 0.0
        self.cache_path = None if cache is None else Path(cache)
        self._cache: dict[str, dict[str, Any]] = {}
        if self.cache_path is not None:
            self._cache = _read_cache(self.cache_path)

    # ---- identity and cost --------------------------------------------------------------
    @property
    def id(self) -> str:
        return f"llm:{self.config.model}"

    def annotator(self, prior_accuracy: float = 0.7, expected_tokens: int = 300, **options: Any) -> Annotator:
        """An :class:`Annotator` record for assignment: cost per token from the prices
        (``expected_tokens`` prompt tokens per item counted as a per-item cost)."""
        cost_item = expected_tokens * self.config.price_per_prompt_token
        cost_token = self.config.price_per_completion_token
        if cost_item == 0 and cost_token == 0:
            cost_item = 1e-6  # a free local model: nearly free, never zero
        return Annotator(self.id, kind="llm", cost_per_item=cost_item, cost_per_token=cost_token,
                         prior_accuracy=prior_accuracy, **options)

    def __repr__(self) -> str:
        return (f"LLMAnnotator(task={self.task!r}, model={self.config.model!r}, base_url={self.config.base_url!r}, "
                f"requests={self.n_requests}, cost={self.cost:.4g})")

    # ---- few-shot examples --------------------------------------------------------------
    def set_examples(self, inputs: Sequence[Any], labels: Sequence[Any]) -> None:
        """Few-shot examples from the labeled set: ``inputs`` (texts, token lists or
        sources) with their labels (class names, tag lists or summaries). At most
        ``n_examples`` are kept, one per class first for classification."""
        pairs = list(zip(inputs, labels, strict=True))
        if not pairs:
            self.examples = []
            return
        order = self.rng.permutation(len(pairs))
        if self.task == "classification":
            first: dict[Any, int] = {}
            for i in order:
                first.setdefault(pairs[i][1], int(i))
            chosen = list(first.values()) + [int(i) for i in order if int(i) not in first.values()]
        else:
            chosen = [int(i) for i in order]
        self.examples = [pairs[i] for i in chosen[: self.n_examples]]

    # ---- prompts ------------------------------------------------------------------------
    def _system(self) -> str:
        if self.task == "classification":
            text = ("You are a careful annotator. Classify the text into exactly one of these labels: "
                    + ", ".join(json.dumps(n) for n in self.label_names)
                    + '. Answer with a JSON object only: {"label": "<one of the labels>"}.')
        elif self.task == "tagging":
            text = ("You are a careful named-entity annotator. Entity types: " + ", ".join(self.entity_types)
                    + ". The tokens are numbered from 0. Answer with a JSON object only: "
                    '{"entities": [{"start": <first token index>, "end": <last token index + 1>, '
                    '"type": "<type>", "text": "<the tokens start..end-1 joined by spaces>"}]}; '
                    '{"entities": []} when there is none. Spans must not overlap.')
        else:
            text = ('You are a careful annotator. Summarize the text in one short sentence. Answer with a JSON '
                    'object only: {"summary": "<the summary>"}.')
        return text + (" " + self.instructions if self.instructions else "")

    def _user(self, item: Any) -> str:
        if self.task == "tagging":
            return "Tokens: " + " ".join(f"{i}:{token}" for i, token in enumerate(item))
        return "Text: " + str(item)

    def _answer(self, item: Any, label: Any) -> str:
        if self.task == "classification":
            return json.dumps({"label": label}, ensure_ascii=False)
        if self.task == "tagging":
            spans = [{"start": s, "end": e, "type": t, "text": " ".join(item[s:e])}
                     for t, s, e in entity_spans(list(label))]
            return json.dumps({"entities": spans}, ensure_ascii=False)
        return json.dumps({"summary": label}, ensure_ascii=False)

    def messages(self, item: Any) -> list[dict[str, str]]:
        """The chat messages sent for ``item`` (system prompt, few-shot turns, the item)."""
        messages = [{"role": "system", "content": self._system()}]
        for example, label in self.examples:
            messages.append({"role": "user", "content": self._user(example)})
            messages.append({"role": "assistant", "content": self._answer(example, label)})
        messages.append({"role": "user", "content": self._user(item)})
        return messages

    # ---- parsing and validation ---------------------------------------------------------
    def parse(self, item: Any, content: str) -> Any:
        """The label in ``content`` (the model's answer); DataError saying what is wrong."""
        data = _json_object(content)
        if self.task == "classification":
            label = data.get("label")
            if label not in self.label_names:
                matches = [n for n in self.label_names if isinstance(label, str) and n.lower() == label.strip().lower()]
                if not matches:
                    raise DataError(f'"label" must be one of {list(self.label_names)}, got {label!r}.')
                label = matches[0]
            return label
        if self.task == "tagging":
            return self._spans_to_tags(item, data.get("entities"))
        summary = data.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            raise DataError(f'"summary" must be a non-empty string, got {summary!r}.')
        return summary.strip()

    def _spans_to_tags(self, tokens: Sequence[str], entities: Any) -> tuple[str, ...]:
        if not isinstance(entities, list):
            raise DataError(f'"entities" must be a list, got {entities!r}.')
        tags = ["O"] * len(tokens)
        for entity in entities:
            if not isinstance(entity, dict):
                raise DataError(f"each entity must be an object, got {entity!r}.")
            kind, start, end, text = entity.get("type"), entity.get("start"), entity.get("end"), entity.get("text")
            if kind not in self.entity_types:
                raise DataError(f"entity type {kind!r} is not one of {list(self.entity_types)}.")
            located = _locate(tokens, start, end, text)
            if located is None:
                raise DataError(f"the span start={start!r}, end={end!r}, text={text!r} does not match the tokens "
                                f"(0..{len(tokens)}); give token indices with end exclusive and the tokens' text.")
            start, end = located
            if any(tag != "O" for tag in tags[start:end]):
                raise DataError(f"the span {start}..{end} ({text!r}) overlaps another entity.")
            tags[start:end] = ["B-" + kind] + ["I-" + kind] * (end - start - 1)
        return tuple(tags)

    # ---- labeling -----------------------------------------------------------------------
    def label(self, items: Sequence[Any]) -> list[LLMLabel]:
        """Answers for ``items`` (texts, token lists or sources), one by one: from the
        cache when the same model saw the same prompt, otherwise by a request."""
        return [self._label_one(item) for item in items]

    def _label_one(self, item: Any) -> LLMLabel:
        messages = self.messages(item)
        key = _cache_key(self.config.model, messages)
        hit = self._cache.get(key)
        if hit is not None:
            try:
                return LLMLabel(self.parse(item, hit["content"]), cached=True)
            except (DataError, KeyError, TypeError):
                pass  # a cache line that no longer validates (e.g. new label names): ask again
        prompt_tokens = completion_tokens = 0
        attempts = 0
        error = "no attempt"
        conversation = list(messages)
        for attempts in range(1, self.config.max_retries + 2):  # noqa: B007 - reported
            try:
                content, usage = self._request(conversation)
            except _Transient as transient:
                error = str(transient)
                self._sleep(min(2.0 ** (attempts - 1), 30.0))
                continue
            prompt_tokens += usage[0]
            completion_tokens += usage[1]
            try:
                value = self.parse(item, content)
            except DataError as invalid:
                error = f"invalid answer: {invalid}"
                logger.info("LLM answer rejected (attempt %d): %s", attempts, invalid)
                conversation = [*messages, {"role": "assistant", "content": content},
                                {"role": "user", "content": f"That answer is invalid: {invalid} Answer again with "
                                                            "the JSON object only."}]
                continue
            self._remember(key, content, usage)
            return LLMLabel(value, None, False, prompt_tokens, completion_tokens,
                            self._price(prompt_tokens, completion_tokens), attempts)
        return LLMLabel(None, self._scrub(error), False, prompt_tokens, completion_tokens,
                        self._price(prompt_tokens, completion_tokens), attempts)

    def _price(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.config.price_per_prompt_token
                + completion_tokens * self.config.price_per_completion_token)

    def _wait_for_rate_limit(self) -> None:
        interval = 60.0 / self.config.requests_per_minute
        if self._last_request is not None:
            wait = self._last_request + interval - self._clock()
            if wait > 0:
                self._sleep(wait)
        self._last_request = self._clock()

    def _request(self, messages: list[dict[str, str]]) -> tuple[str, tuple[int, int]]:
        config = self.config
        body: dict[str, Any] = {"model": config.model, "messages": messages, "temperature": config.temperature,
                                "max_tokens": config.max_tokens}
        if config.json_mode:
            body["response_format"] = {"type": "json_object"}
        headers = {"Content-Type": "application/json"}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        url = config.base_url.rstrip("/") + "/chat/completions"
        request = urllib.request.Request(url, data=json.dumps(body).encode("utf-8"), headers=headers, method="POST")
        self._wait_for_rate_limit()
        self.n_requests += 1
        try:
            with urllib.request.urlopen(request, timeout=config.timeout_s) as response:  # noqa: S310 - http(s) only
                payload = response.read()
        except urllib.error.HTTPError as error:
            detail = self._scrub(error.read()[:300].decode("utf-8", "replace"))
            if error.code in _RETRY_STATUS:
                raise _Transient(f"HTTP {error.code} from {url}: {detail}") from None
            raise LLMError(f"{url} answered HTTP {error.code}: {detail}. Fix: check LABELWISE_LLM_MODEL and "
                           "LABELWISE_LLM_API_KEY (the key is not shown).") from None
        except TimeoutError as error:
            raise _Transient(f"no answer from {url} within {config.timeout_s} s ({type(error).__name__})") from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                raise _Transient(f"no answer from {url} within {config.timeout_s} s") from None
            raise _Transient(f"cannot reach {url}: {self._scrub(str(error.reason))}") from None
        except (ConnectionError, OSError) as error:
            raise _Transient(f"connection to {url} failed: {self._scrub(str(error))}") from None
        try:
            data = json.loads(payload)
            content = data["choices"][0]["message"]["content"]
            usage = data.get("usage") or {}
            tokens = (int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise _Transient(f"{url} sent a response that is not a chat completion ({type(error).__name__})") from None
        self.prompt_tokens += tokens[0]
        self.completion_tokens += tokens[1]
        self.cost += self._price(*tokens)
        if not isinstance(content, str):
            content = json.dumps(content)
        return content, tokens

    def _scrub(self, text: str) -> str:
        key = self.config.api_key
        return text.replace(key, "***") if key else text

    def _remember(self, key: str, content: str, usage: tuple[int, int]) -> None:
        record = {"key": key, "model": self.config.model, "content": content, "usage": list(usage)}
        self._cache[key] = record
        if self.cache_path is None:
            return
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.cache_path, "a", encoding="utf-8") as handle:
            append_line_durably(handle, json.dumps(record, ensure_ascii=False))


class _Transient(Exception):  # noqa: N818 - internal signal: retry
    """A failure worth retrying (time-out, 429, 5xx, connection reset, garbled body)."""


def _cache_key(model: str, messages: list[dict[str, str]]) -> str:
    text = json.dumps({"model": model, "messages": messages}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read_cache(path: Path) -> dict[str, dict[str, Any]]:
    cache: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return cache
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            cache[str(record["key"])] = record
        except (ValueError, KeyError, TypeError):
            warnings.warn(f"{path}, line {number}: unreadable LLM cache line skipped (the file is unchanged).",
                          stacklevel=3)
    return cache


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def _json_object(content: str) -> dict[str, Any]:
    """The JSON object in an answer (code fences and text around it tolerated)."""
    text = _FENCE.sub("", content.strip())
    try:
        data = json.loads(text)
    except ValueError:
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start:
            raise DataError(f"the answer is not JSON: {content[:200]!r}.") from None
        try:
            data = json.loads(text[start:end + 1])
        except ValueError as error:
            raise DataError(f"the answer is not valid JSON ({error}): {content[:200]!r}.") from None
    if not isinstance(data, dict):
        raise DataError(f"the answer must be a JSON object, got {type(data).__name__}.")
    return data


def _locate(tokens: Sequence[str], start: Any, end: Any, text: Any) -> tuple[int, int] | None:
    """``(start, end)`` of a span whose indices and text agree; when they disagree, the
    text's unique occurrence in the tokens. None when neither gives a span."""
    def valid(s: Any, e: Any) -> bool:
        return (isinstance(s, int) and isinstance(e, int) and not isinstance(s, bool) and not isinstance(e, bool)
                and 0 <= s < e <= len(tokens))

    if valid(start, end) and (text is None or " ".join(tokens[start:end]) == str(text).strip()):
        return start, end
    if not isinstance(text, str) or not text.split():
        return None
    words = text.split()
    found = [i for i in range(len(tokens) - len(words) + 1) if list(tokens[i:i + len(words)]) == words]
    if len(found) == 1:
        return found[0], found[0] + len(words)
    return None
