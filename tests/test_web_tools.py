"""web.fetch against a real HTTP server on 127.0.0.1 (no other network)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from murakkab.stdlib.web_tools import fetch, html_to_text

from murakkab.executors import Call, ExecutorError, implementation

PAGE = """<!doctype html><html><head><title>Caf\xe9 menu</title>
<style>body { color: red }</style><script>var secret = 1;</script></head>
<body><h1>Today</h1><p>Coffee &amp; cake,
   fresh daily.</p><ul><li>Espresso</li><li>Cr\xe8me br\xfbl\xe9e</li></ul>
<noscript>enable JS</noscript></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the http.server spelling)
        routes = {
            "/ok": lambda: self._send(200, "text/html; charset=iso-8859-1", PAGE.encode("latin-1")),
            "/plain": lambda: self._send(200, "text/plain", b"just text\n"),
            "/image": lambda: self._send(200, "image/png", b"\x89PNG\r\n"),
            "/huge": lambda: self._send(200, "text/plain", b"a" * 3_000_000),
            "/missing": lambda: self._send(404, "text/plain", b"no such page"),
            "/loop": lambda: self._redirect("/loop"),
            "/hop": lambda: self._redirect("/ok"),
            "/to-file": lambda: self._redirect("file:///etc/passwd"),
            "/slow": self._slow,
            "/trickle": self._trickle,
        }
        routes[self.path]()

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading at its cap, as it should

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _slow(self) -> None:
        time.sleep(2)
        self._send(200, "text/plain", b"too late")

    def _trickle(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        try:
            for _ in range(20):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")


def get(url: str, timeout_s: float = 5, max_bytes: int = 2_000_000) -> str:
    return str(fetch(Call("web.fetch", (url,), {"timeout_s": timeout_s, "max_bytes": max_bytes})))


def test_the_implementation_is_declared() -> None:
    impl = implementation("web.fetch", "urllib")
    assert impl is not None and impl.load() is fetch


def test_an_html_page_becomes_readable_text(server: str) -> None:
    assert get(f"{server}/ok") == (
        "Caf\xe9 menu\n\nToday\nCoffee & cake, fresh daily.\nEspresso\nCr\xe8me br\xfbl\xe9e\n"
    )


def test_plain_text_comes_back_as_is_and_redirects_are_followed(server: str) -> None:
    assert get(f"{server}/plain") == "just text\n"
    assert get(f"{server}/hop").startswith("Caf\xe9 menu\n")


def test_a_slow_server_hits_the_timeout(server: str) -> None:
    start = time.monotonic()
    with pytest.raises(ExecutorError, match="timed out after 0.5 s"):
        get(f"{server}/slow", timeout_s=0.5)
    assert time.monotonic() - start < 1.5


def test_a_trickling_server_is_cut_at_the_deadline(server: str) -> None:
    start = time.monotonic()
    with pytest.raises(ExecutorError, match="timed out after 0.5 s"):
        get(f"{server}/trickle", timeout_s=0.5)
    assert time.monotonic() - start < 1.5


def test_a_huge_body_is_truncated_at_the_cap(server: str) -> None:
    text = get(f"{server}/huge", max_bytes=1000)
    assert text == "a" * 1000 + "\n[truncated: stopped reading after max_bytes = 1000 bytes]"


def test_a_redirect_loop_is_an_error(server: str) -> None:
    with pytest.raises(ExecutorError, match="redirect not followed"):
        get(f"{server}/loop")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "javascript:1", "/ok"])
def test_only_http_and_https_are_fetched(url: str) -> None:
    with pytest.raises(ExecutorError, match="only http:// and https://"):
        get(url)


def test_a_redirect_to_another_scheme_is_refused(server: str) -> None:
    with pytest.raises(ExecutorError, match="refuses 'file:///etc/passwd'"):
        get(f"{server}/to-file")


def test_http_errors_and_binary_bodies_are_executor_errors(server: str) -> None:
    with pytest.raises(ExecutorError, match="HTTP 404 Not Found"):
        get(f"{server}/missing")
    with pytest.raises(ExecutorError, match="image/png is not text"):
        get(f"{server}/image")


def test_html_to_text_drops_non_content() -> None:
    html = "<div>a<script>x()</script><style>p{}</style>b</div><br><template>t</template>c"
    assert html_to_text(html) == "ab\nc\n"
