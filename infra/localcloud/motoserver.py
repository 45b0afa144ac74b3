"""moto in server mode, serving one request at a time.

moto is not thread-safe (see docs/TOOLCHAIN facts: lost updates on concurrent
conditional transactions, "dictionary changed size during iteration"). The local
cloud serves moto's WSGI app behind one lock, so every request - from the HTTP API
handlers, the stream pollers, the tests - runs alone. The same lock guards the few
places where the local cloud reads moto's in-process state directly.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

__all__ = ["LockedMotoServer"]

log = logging.getLogger("localcloud")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _serialized(app: WsgiApp, lock: threading.RLock) -> WsgiApp:
    def locked_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with lock:
            result = app(environ, start_response)
            try:
                body = b"".join(result)  # the whole response is produced under the lock
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        return [body]

    return locked_app


class LockedMotoServer(ThreadedMotoServer):
    """``ThreadedMotoServer`` whose WSGI app is wrapped in one lock.

    The server socket is bound in :meth:`start` (in the caller's thread) so that a
    busy port raises ``OSError`` there instead of hanging the start.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, lock: threading.RLock | None = None) -> None:
        super().__init__(ip_address=host, port=port, verbose=False)
        self.lock = lock if lock is not None else threading.RLock()

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no per-request access log
        app = _serialized(DomainDispatcherApplication(create_backend_app), self.lock)
        self._server = make_server(
            self._ip_address,
            self._port,
            app,
            threaded=True,
            request_handler=MotoRequestHandler,
        )
        self._thread = threading.Thread(target=self._serve, name="localcloud-moto", daemon=True)
        self._thread.start()
        self._server_ready_event.set()

    def _serve(self) -> None:
        assert self._server is not None
        self._server.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    @property
    def url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"

    def reset(self) -> None:
        """Empty every moto backend (moto keeps its state per process, not per server)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST", data=b"")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local moto URL
            response.read()

    def data(self) -> dict[str, Any]:
        """moto's own dump of its state (``GET /moto-api/data.json``)."""
        with urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=10) as response:  # noqa: S310
            result: dict[str, Any] = json.loads(response.read())
        return result
