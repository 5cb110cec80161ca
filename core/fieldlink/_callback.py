"""A one-user callback listener on loopback, for ``fieldlink connect``."""

from __future__ import annotations

import queue
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .errors import AuthFlowError

CALLBACK_PATH = "/callback"
_PAGE = (
    b"<!doctype html><html><body><p>fieldlink received the answer. "
    b"You can close this window and return to the terminal.</p></body></html>"
)


class CallbackListener:
    """Listens on 127.0.0.1:``port`` for the provider sending the user back."""

    def __init__(self, port: int) -> None:
        answers: queue.Queue[dict[str, str]] = queue.Queue()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != CALLBACK_PATH:
                    self.send_error(404)
                    return
                answers.put(dict(parse_qsl(parts.query)))
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(_PAGE)

            def log_message(self, format: str, *args: Any) -> None:
                # The request line carries the code and the state.
                return None

        try:
            self._server = HTTPServer(("127.0.0.1", port), Handler)
        except OSError as error:
            raise AuthFlowError(
                f"cannot listen on 127.0.0.1:{port} ({error.strerror}); pick another --port"
            ) from None
        self._answers = answers
        self.redirect_uri = (
            f"http://127.0.0.1:{self._server.server_port}{CALLBACK_PATH}"
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> CallbackListener:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout: float) -> dict[str, str]:
        """The query parameters of the next callback."""
        try:
            return self._answers.get(timeout=timeout)
        except queue.Empty:
            raise AuthFlowError(
                f"nobody came back to {self.redirect_uri} within {timeout:.0f} s"
            ) from None
