"""moto in server mode, one request at a time: moto is not thread-safe (TOOLCHAIN facts:
lost updates and "dictionary changed size" under 16 threads, none behind one lock). The
same lock guards the local cloud's direct reads of moto's state."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

from .serving import WsgiApp, WsgiServer

__all__ = ["LockedMotoServer"]


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


class LockedMotoServer(WsgiServer):
    """moto's server app (as ``ThreadedMotoServer`` runs it) wrapped in one lock."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, lock: threading.RLock | None = None) -> None:
        super().__init__(host, port, name="localcloud-moto")
        self.lock = lock if lock is not None else threading.RLock()

    def start(self, app: WsgiApp | None = None, handler: Any = MotoRequestHandler) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no per-request access log
        super().start(app or _serialized(DomainDispatcherApplication(create_backend_app), self.lock), handler)

    def reset(self) -> None:
        """Empty every moto backend (moto keeps its state per process, not per server)."""
        from moto.moto_api._internal.models import moto_api_backend

        with self.lock:
            moto_api_backend.reset()
