"""The LLM annotator against a real OpenAI-compatible HTTP server on 127.0.0.1 (a small
chat-completions server on http.server, started by the test): malformed JSON, time-outs,
spans that do not match the tokens, retries, the cache, and a key that never leaks."""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from labelwise.annotators.llm import LLMAnnotator, LLMConfig, LLMError
from labelwise.errors import ConfigError

KEY = "sk-test-SECRET-0123456789"
TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


class ChatServer:
    """Answers POST /v1/chat/completions from a script: each entry is a content string, or
    a dict with ``status``, ``delay`` (seconds before answering), ``content``, ``body``."""

    def __init__(self) -> None:
        self.script: list = []
        self.requests: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_POST(self):  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                step = owner.script.pop(0) if owner.script else '{"label": "Sports"}'
                step = {"content": step} if isinstance(step, str) else step
                time.sleep(step.get("delay", 0))
                status = step.get("status", 200)
                if "body" in step:
                    payload = step["body"].encode()
                else:
                    payload = json.dumps({
                        "id": "x", "object": "chat.completion", "model": body["model"],
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": step.get("content", "")}}],
                        "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server():
    chat = ChatServer()
    yield chat
    chat.close()


def _config(server, **options):
    values = {"base_url": server.base_url, "model": "tiny", "api_key": KEY, "timeout_s": 5.0, "max_retries": 2,
              "requests_per_minute": 6000, "price_per_prompt_token": 0.001, "price_per_completion_token": 0.002}
    values.update(options)
    return LLMConfig(**values)


def _classifier(server, tmp_path=None, sleeps=None, **options):
    return LLMAnnotator("classification", label_names=["World", "Sports", "Business"], config=_config(server, **options),
                        cache=None if tmp_path is None else tmp_path / "cache.jsonl",
                        sleep=(sleeps.append if sleeps is not None else (lambda s: None)))


def test_classification_sends_the_schema_and_counts_tokens_and_cost(server):
    server.script = ['{"label": "Sports"}']
    llm = _classifier(server)
    llm.set_examples(["Parliament votes", "Cup final tonight"], ["World", "Sports"])
    [answer] = llm.label(["Striker scores twice"])
    assert answer.value == "Sports" and answer.error is None and not answer.cached
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == f"Bearer {KEY}"
    messages = request["body"]["messages"]
    assert '"World"' in messages[0]["content"] and len(messages) == 6  # system, 2 shots x 2, item
    assert answer.prompt_tokens == 100 and answer.completion_tokens == 10
    assert answer.cost == pytest.approx(100 * 0.001 + 10 * 0.002)
    assert llm.cost == pytest.approx(answer.cost) and llm.n_requests == 1


def test_malformed_json_is_sent_back_and_retried(server):
    server.script = ["Sure! The label is sports.", '```json\n{"label": "sports"}\n```']
    [answer] = _classifier(server).label(["Striker scores twice"])
    assert answer.value == "Sports" and answer.attempts == 2
    retry = server.requests[1]["body"]["messages"]
    assert retry[-2]["content"] == "Sure! The label is sports." and "invalid" in retry[-1]["content"]
    assert answer.prompt_tokens == 200  # both attempts are paid


def test_an_answer_that_stays_invalid_gives_no_label_and_says_why(server):
    server.script = ['{"label": "Cars"}'] * 3
    [answer] = _classifier(server).label(["x"])
    assert answer.value is None and "Cars" in answer.error and answer.attempts == 3


def test_a_time_out_is_retried_with_back_off(server):
    server.script = [{"content": '{"label": "World"}', "delay": 2.0}, '{"label": "Business"}']
    sleeps: list[float] = []
    [answer] = _classifier(server, sleeps=sleeps, timeout_s=0.3).label(["Shares rise"])
    assert answer.value == "Business" and answer.attempts == 2
    assert len(server.requests) == 2 and sleeps == [1.0]


def test_server_errors_are_retried_and_auth_errors_raise_without_the_key(server):
    server.script = [{"status": 503, "body": "busy"}, '{"label": "World"}']
    [answer] = _classifier(server).label(["x"])
    assert answer.value == "World"
    server.script = [{"status": 401, "body": json.dumps({"error": f"invalid key {KEY}"})}]
    with pytest.raises(LLMError) as caught:
        _classifier(server).label(["x"])
    assert "401" in str(caught.value) and KEY not in str(caught.value) and "***" in str(caught.value)


def test_ner_spans_are_validated_against_the_tokens(server):
    tokens = ["John", "lives", "in", "Paris"]
    server.script = [
        json.dumps({"entities": [{"start": 7, "end": 9, "type": "PER", "text": "Jon"}]}),   # matches nothing
        json.dumps({"entities": [{"start": 0, "end": 1, "type": "ORG", "text": "John"}]}),  # unknown type
        # wrong indices, but the text occurs once: located by the text
        json.dumps({"entities": [{"start": 1, "end": 2, "type": "PER", "text": "John"},
                                 {"start": 3, "end": 4, "type": "LOC", "text": "Paris"}]}),
    ]
    llm = LLMAnnotator("tagging", label_names=TAGS, config=_config(server, max_retries=3), sleep=lambda s: None)
    [answer] = llm.label([tokens])
    assert answer.value == ("B-PER", "O", "O", "B-LOC") and answer.attempts == 3
    assert "0:John 1:lives" in server.requests[0]["body"]["messages"][-1]["content"]
    assert "does not match the tokens" in server.requests[1]["body"]["messages"][-1]["content"]


def test_overlapping_spans_are_refused(server):
    server.script = [json.dumps({"entities": [{"start": 0, "end": 2, "type": "PER", "text": "John Smith"},
                                              {"start": 1, "end": 2, "type": "LOC", "text": "Smith"}]})]
    llm = LLMAnnotator("tagging", label_names=TAGS, config=_config(server, max_retries=0), sleep=lambda s: None)
    [answer] = llm.label([["John", "Smith"]])
    assert answer.value is None and "overlaps" in answer.error


def test_summaries_come_back_as_text(server):
    server.script = ['{"summary": "Markets fall."}']
    llm = LLMAnnotator("seq2seq", config=_config(server), sleep=lambda s: None)
    assert llm.label(["Long text about markets falling."])[0].value == "Markets fall."


def test_the_cache_answers_the_same_prompt_without_a_request_across_sessions(server, tmp_path):
    server.script = ['{"label": "Business"}']
    first = _classifier(server, tmp_path)
    assert first.label(["Shares rise"])[0].value == "Business"
    again = _classifier(server, tmp_path)  # a new session reads the cache file
    [answer] = again.label(["Shares rise"])
    assert answer.value == "Business" and answer.cached and answer.cost == 0
    assert len(server.requests) == 1 and again.n_requests == 0
    assert KEY not in (tmp_path / "cache.jsonl").read_text()
    server.script = ['{"label": "World"}']
    again.label(["Another text"])  # a different prompt is asked
    assert len(server.requests) == 2


def test_requests_are_spaced_by_the_rate_limit(server):
    sleeps: list[float] = []
    now = [100.0]
    llm = LLMAnnotator("classification", label_names=["World", "Sports"],
                       config=_config(server, requests_per_minute=30), sleep=sleeps.append, clock=lambda: now[0])
    server.script = ['{"label": "World"}', '{"label": "World"}']
    llm.label(["a", "b"])
    assert sleeps == [pytest.approx(2.0)]  # 30 per minute: one request every 2 s


def test_the_key_never_appears_in_logs_reprs_or_errors(server, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    server.script = ["not json", '{"label": "World"}']
    llm = _classifier(server)
    llm.label(["x"])
    assert KEY not in caplog.text and KEY not in repr(llm) and KEY not in repr(llm.config)
    monkeypatch.setenv("LABELWISE_LLM_BASE_URL", server.base_url)
    monkeypatch.setenv("LABELWISE_LLM_MODEL", "tiny")
    monkeypatch.setenv("LABELWISE_LLM_API_KEY", KEY)
    assert LLMConfig.from_env().api_key == KEY and KEY not in repr(LLMConfig.from_env())
    # an unreachable server: the error names the URL, not the key
    dead = LLMConfig(base_url="http://127.0.0.1:9/v1", model="tiny", api_key=KEY, max_retries=0, timeout_s=1)
    [answer] = LLMAnnotator("classification", label_names=["A", "B"], config=dead, sleep=lambda s: None).label(["x"])
    assert answer.value is None and "127.0.0.1:9" in answer.error and KEY not in answer.error


def test_missing_configuration_says_which_variable_to_set(monkeypatch):
    monkeypatch.delenv("LABELWISE_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("LABELWISE_LLM_MODEL", raising=False)
    with pytest.raises(ConfigError, match="LABELWISE_LLM_BASE_URL"):
        LLMConfig.from_env()
