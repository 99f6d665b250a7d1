"""The web page fetcher: `web.fetch` over HTTP(S) with the standard library (`urllib`).

Real: an HTTP(S) GET through `urllib.request` (environment proxies honoured,
certificates verified by the default SSL context), read as a stream and cut
at `max_bytes` (the rest is never read; the text says it was truncated). Only
http and https URLs are fetched, on the first request and on every redirect
(at most MAX_REDIRECTS). Bodies are decoded by their declared charset (then a
<meta charset>, then UTF-8, undecodable bytes replaced); HTML is reduced to
readable text with `html.parser`, dropping scripts, styles and other
non-content elements. HTTP errors, timeouts and unreachable hosts raise
ExecutorError; non-text bodies (images, PDFs, archives) are refused.

Limits: `timeout_s` bounds connecting and each read, and the whole download is
checked against it between reads, so a server trickling bytes is cut off
within about 2 x `timeout_s`. No JavaScript runs; no cookies, no caching, no
robots.txt. Nothing stops a URL from naming a private address (127.0.0.1,
10.0.0.0/8): run it where such addresses are not sensitive.
"""

from __future__ import annotations

import codecs
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message
from html.parser import HTMLParser
from http.client import HTTPMessage
from typing import IO

from murakkab.executors import Call, ExecutorError, Implementation

IMPLEMENTATIONS = (
    Implementation(
        "web.fetch",
        "urllib",
        ("cpu",),
        "tool",
        "murakkab.stdlib.web_tools:fetch",
        description="HTTP(S) GET with urllib, streamed up to max_bytes, HTML reduced to text",
        unit="call",
    ),
)

MAX_REDIRECTS = 5
USER_AGENT = "murakkab-web.fetch/0.1 (+https://github.com/murakkab)"
_SCHEMES = ("http", "https")
_CHUNK = 64 * 1024
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
# Elements whose text is not page content.
_SKIPPED = frozenset({"script", "style", "noscript", "template", "svg", "head", "iframe"})
# Elements that start a new line in the text.
_BLOCKS = frozenset(
    "address article aside blockquote br dd div dl dt fieldset figcaption figure footer form "
    "h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table td th title tr ul".split()
)


def fetch(call: Call) -> str:
    """web.fetch(url): the page's text, HTML reduced to readable text."""
    (url,) = call.args
    url = str(url).strip()
    timeout_s = float(call.knobs.get("timeout_s", 10))
    max_bytes = int(call.knobs.get("max_bytes", 2_000_000))
    if timeout_s <= 0 or max_bytes <= 0:
        raise ExecutorError("web.fetch: timeout_s and max_bytes must be positive")
    _check_scheme(url)
    body, headers, truncated = _get(url, timeout_s, max_bytes)
    content_type = headers.get_content_type() if headers.get("Content-Type") else ""
    if content_type and not _is_text(content_type):
        raise ExecutorError(f"web.fetch {url}: {content_type} is not text; fetch returns text")
    text = body.decode(_charset(body, headers, content_type), errors="replace")
    if content_type in _HTML_TYPES or (not content_type and _looks_like_html(text)):
        text = html_to_text(text)
    if truncated:
        text += f"\n[truncated: stopped reading after max_bytes = {max_bytes} bytes]"
    return text


def html_to_text(html: str) -> str:
    """Readable text of an HTML document: content only, one block per line."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    body = "\n".join(line for line in lines if line)
    title = " ".join("".join(parser.title).split())
    return "\n\n".join(part for part in (title, body) if part) + "\n"


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self._skipping: list[str] = []  # open non-content elements
        self._in_title = False
        self._pre = 0  # open <pre> elements

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._pre += tag == "pre"
        if tag == "title":
            self._in_title = True
        elif tag in _SKIPPED:
            self._skipping.append(tag)
        elif tag in _BLOCKS and not self._skipping:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        self._pre -= tag == "pre" and self._pre > 0
        if tag == "title":
            self._in_title = False
        elif tag in _SKIPPED and tag in self._skipping:
            while self._skipping and self._skipping.pop() != tag:
                pass
        elif tag in _BLOCKS and not self._skipping:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._skipping:  # source line breaks are spaces, except in <pre>
            self.parts.append(data if self._pre else re.sub(r"\s+", " ", data))


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follows at most MAX_REDIRECTS redirects, and only to http(s) URLs."""

    max_redirections = MAX_REDIRECTS
    max_repeats = 2

    def http_error_302(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: HTTPMessage
    ) -> IO[bytes] | None:
        location = headers.get("location") or headers.get("uri")
        if location:
            try:
                _check_scheme(urllib.parse.urljoin(req.full_url, location))
            except ExecutorError:
                fp.close()
                raise
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _check_scheme(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in _SCHEMES or not parts.hostname:
        raise ExecutorError(
            f"web.fetch refuses {url!r}: only http:// and https:// URLs with a host are fetched"
        )


def _get(url: str, timeout_s: float, max_bytes: int) -> tuple[bytes, Message, bool]:
    """The body (at most max_bytes), the response headers, and whether more was left."""
    request = urllib.request.Request(
        url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    )
    opener = urllib.request.build_opener(_RedirectHandler)
    deadline = time.monotonic() + timeout_s
    body = bytearray()
    try:
        with opener.open(request, timeout=timeout_s) as response:
            while len(body) <= max_bytes:
                if time.monotonic() > deadline:
                    raise TimeoutError
                chunk = response.read1(min(_CHUNK, max_bytes + 1 - len(body)))
                if not chunk:
                    break
                body += chunk
            headers = response.headers
    except urllib.error.HTTPError as error:
        if 300 <= error.code < 400:
            reason = (
                f"redirect not followed (HTTP {error.code}): more than {MAX_REDIRECTS}"
                " redirects, a redirect loop, or no Location"
            )
        else:
            reason = f"HTTP {error.code} {error.reason}"
        raise ExecutorError(f"web.fetch {url}: {reason}") from error
    except TimeoutError as error:
        raise ExecutorError(f"web.fetch {url}: timed out after {timeout_s:g} s") from error
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise ExecutorError(f"web.fetch {url}: timed out after {timeout_s:g} s") from error
        raise ExecutorError(f"web.fetch {url}: {error.reason}") from error
    except OSError as error:  # connection reset, remote closed mid-body
        raise ExecutorError(f"web.fetch {url}: {error}") from error
    truncated = len(body) > max_bytes
    return bytes(body[:max_bytes]), headers, truncated


def _is_text(content_type: str) -> bool:
    return (
        content_type.startswith("text/")
        or content_type in _TEXT_TYPES
        or content_type in _HTML_TYPES
        or content_type.endswith(("+json", "+xml"))
    )


def _charset(body: bytes, headers: Message, content_type: str) -> str:
    declared = headers.get_content_charset()
    if declared is None and (content_type in _HTML_TYPES or not content_type):
        meta = re.search(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_.:-]+)", body[:2048], re.I)
        declared = meta.group(1).decode("ascii") if meta else None
    try:
        return codecs.lookup(declared).name if declared else "utf-8"
    except LookupError:  # a charset Python does not know
        return "utf-8"


def _looks_like_html(text: str) -> bool:
    return bool(re.match(r"\s*(<!doctype html|<html)", text[:512], re.I))
