"""A WSGI app on werkzeug's threaded server, in a daemon thread (moto and the HTTP API).

The socket is bound in :meth:`WsgiServer.start`, in the caller's thread, so that a busy
port raises ``OSError`` there (werkzeug binding it itself would print and exit).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class WsgiServer:
    def __init__(self, host: str, port: int, *, name: str, backlog: int = 128) -> None:
        self.address, self.name, self.backlog = (host, port), name, backlog
        self._server: ThreadedWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, app: WsgiApp, handler: type[WSGIRequestHandler] = WSGIRequestHandler) -> None:
        with socket.create_server(self.address, backlog=self.backlog) as listener:
            host, port = listener.getsockname()[:2]
            self._server = ThreadedWSGIServer(host, port, app, handler, fd=listener.fileno())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,), name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def bound(self) -> tuple[str, int]:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        return "http://{}:{}".format(*self.bound)
