"""A stub OpenAI-compatible chat server on 127.0.0.1, for the LLM client's and the
LLM planner's tests."""

from __future__ import annotations

import contextlib
import functools
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

KEY = "sk-test-SECRET-0123456789abcdef"
Reply = Callable[[dict[str, Any]], str]


def echo(body: dict[str, Any]) -> str:
    return "echo: " + body["messages"][-1]["content"]


class StubLLM:
    """An OpenAI-compatible chat server: canned, request-dependent replies from
    `reply`, 401 for a wrong key (quoting it back, as careless servers do), the
    statuses queued in `faults` before any success, and a slow model."""

    slow_model = "slow-model"

    def __init__(self, reply: Reply = echo) -> None:
        self.reply = reply
        self.requests: list[dict[str, Any]] = []
        self.faults: list[int] = []
        self.models: set[str] | None = None  # None serves every model
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        serve = functools.partial(self.server.serve_forever, poll_interval=0.01)
        self.thread = threading.Thread(target=serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.requests)

    def _answer(self, auth: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        model = body.get("model", "")
        if auth != f"Bearer {KEY}":
            given = auth.removeprefix("Bearer ")
            return 401, {"error": {"message": f"Incorrect API key provided: {given}"}}
        with self.lock:
            self.requests.append(body)
            fault = self.faults.pop(0) if self.faults else None
        if fault is not None:
            return fault, {"error": {"message": f"injected {fault}"}}
        if model == self.slow_model:
            time.sleep(1.0)
        if self.models is not None and model not in self.models:
            return 404, {"error": {"message": f"The model `{model}` does not exist"}}
        message = {"role": "assistant", "content": self.reply(body)}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        return 200, {
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [choice],
            "usage": usage,
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path != "/v1/chat/completions":
                    status, payload = 404, {"error": {"message": "no such route"}}
                else:
                    status, payload = stub._answer(self.headers.get("Authorization", ""), body)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    if status == 429:
                        self.send_header("Retry-After", "0")
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@contextlib.contextmanager
def running_stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubLLM]:
    """A started stub, with the MKC_LLM_* environment pointing at it."""
    server = StubLLM()
    server.thread.start()
    monkeypatch.setenv("MKC_LLM_BASE_URL", server.url)
    monkeypatch.setenv("MKC_LLM_API_KEY", KEY)
    monkeypatch.setenv("MKC_LLM_TIMEOUT_S", "5")
    monkeypatch.setenv("MKC_LLM_MAX_RETRIES", "3")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    for name in ("OPENAI_API_KEY", "MKC_LLM_MODEL_MAP", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()
