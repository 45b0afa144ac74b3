"""The Lambda Python runtime, in-process: each ``Handler`` imported from its ``CodeUri`` with
the layers on ``sys.path``, a fresh import at each start (README.md, "Tests")."""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from .template import FunctionSpec

__all__ = [
    "FunctionRuntime", "Handler", "HandlerLoadError", "HandlerNotFound", "LambdaContext", "ModuleSandbox",
    "check_handler_module", "load_handler",
]  # fmt: skip

log = logging.getLogger("localcloud")

Handler = Callable[[Any, Any], Any]


class HandlerLoadError(ImportError):
    """A handler module exists but importing it failed (a bug in the function's code)."""


class HandlerNotFound(HandlerLoadError):
    """The module or function named by ``Handler`` does not exist (yet)."""


class LambdaContext:
    """The context object the Lambda Python runtime passes to a handler."""

    def __init__(self, *, function_name: str, memory_limit_in_mb: int, timeout: int, region: str, account_id: str):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        self.identity: Any = None
        self.client_context: Any = None
        self.tenant_id: str | None = None
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class ModuleSandbox:
    """Puts code folders on ``sys.path`` and gives functions fresh modules; undoes both on close."""

    def __init__(self) -> None:
        self._added_paths: list[str] = []
        self._roots: list[Path] = []
        self._saved_modules: dict[str, ModuleType] = {}

    def add_paths(self, paths: Iterable[Path]) -> None:
        for path in reversed(list(paths)):
            text = str(path)
            if text not in sys.path:
                sys.path.insert(0, text)
                self._added_paths.append(text)

    def isolate(self, root: Path) -> None:
        """Set aside modules already imported from ``root`` so the function gets fresh ones."""
        self._roots.append(root)
        for name, module in list(sys.modules.items()):
            if _module_under(module, root):
                self._saved_modules[name] = sys.modules.pop(name)

    def close(self) -> None:
        for name, module in list(sys.modules.items()):
            if any(_module_under(module, root) for root in self._roots):
                del sys.modules[name]
        sys.modules.update(self._saved_modules)
        self._saved_modules.clear()
        self._roots.clear()
        for text in self._added_paths:
            if text in sys.path:
                sys.path.remove(text)
        self._added_paths.clear()
        importlib.invalidate_caches()


def _module_under(module: ModuleType | None, root: Path) -> bool:
    file = getattr(module, "__file__", None)
    if not file:
        return False
    try:
        return Path(file).resolve().is_relative_to(root)
    except (OSError, ValueError):
        return False


def check_handler_module(spec: FunctionSpec) -> None:
    """Raise :class:`HandlerNotFound` when the ``Handler`` module is not in ``CodeUri``."""
    relative = Path(*spec.module_name.split("."))
    candidates = [spec.code_uri / relative.with_suffix(".py"), spec.code_uri / relative / "__init__.py"]
    if not any(candidate.is_file() for candidate in candidates):
        raise HandlerNotFound(
            f"{spec.logical_id}: handler module {spec.module_name!r} not found in {spec.code_uri} "
            f"(template Handler: {spec.handler}; expected {candidates[0]})"
        )


def load_handler(spec: FunctionSpec) -> Handler:
    """Import ``spec.handler`` from ``spec.code_uri`` (the folder must already be on sys.path)."""
    module_name, function_name = spec.module_name, spec.function_name
    check_handler_module(spec)
    existing = sys.modules.get(module_name)
    if existing is not None and not _module_under(existing, spec.code_uri):
        raise HandlerLoadError(
            f"{spec.logical_id}: a different module named {module_name!r} is already imported from "
            f"{getattr(existing, '__file__', '?')}; every function runs in one process locally, "
            "so handler module names must be unique"
        )
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise HandlerLoadError(f"{spec.logical_id}: importing {module_name!r} failed: {exc!r}") from exc
    handler = getattr(module, function_name, None)
    if not callable(handler):
        raise HandlerNotFound(f"{spec.logical_id}: {module.__file__} has no function {function_name!r}")
    return handler  # type: ignore[no-any-return]


class FunctionRuntime:
    """One function of the template: its handler and how to invoke it."""

    def __init__(
        self,
        spec: FunctionSpec,
        *,
        function_name: str,
        region: str,
        account_id: str,
        handler: Handler | None = None,
        load_error: HandlerLoadError | None = None,
    ) -> None:
        self.spec, self.logical_id, self.function_name = spec, spec.logical_id, function_name
        self.region, self.account_id, self.load_error = region, account_id, load_error
        self._default_handler: Handler | None = handler
        self._override: Handler | None = None
        # One execution environment: Lambda hands an environment one event at a time, and
        # handler modules rely on it (powertools' resolver keeps the current request on its
        # module-level app). Lambda would start more environments under load; the local
        # cloud, whose handler modules exist once per process, queues invocations instead.
        self._environment = threading.RLock()

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"

    @property
    def handler(self) -> Handler:
        handler = self._override or self._default_handler
        if handler is None:
            raise self.load_error or HandlerNotFound(f"{self.logical_id}: no handler")
        return handler

    def override(self, handler: Handler | None) -> None:
        """Replace the handler (``None`` restores the template's)."""
        self._override = handler

    def invoke(self, event: Any) -> Any:
        """Call the handler like Lambda does; exceptions are logged and re-raised."""
        spec = self.spec
        context = LambdaContext(function_name=self.function_name, memory_limit_in_mb=spec.memory_size,
                                timeout=spec.timeout, region=self.region, account_id=self.account_id)  # fmt: skip
        with self._environment:
            started = time.monotonic()
            try:
                result = self.handler(event, context)
            except Exception:
                log.exception("%s failed (request %s)", self.logical_id, context.aws_request_id)
                raise
            elapsed = time.monotonic() - started
        if elapsed > self.spec.timeout:
            log.warning("%s ran %.1f s, longer than its Timeout of %d s: Lambda would have stopped it",
                        self.logical_id, elapsed, self.spec.timeout)  # fmt: skip
        return result


def failure_record(function_arn: str, condition: str, invocations: int, error: bool, **more: Any) -> dict[str, Any]:
    """Lambda's record of an invocation given up on (``DestinationConfig.OnFailure``)."""
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    context = {"requestId": str(uuid.uuid4()), "functionArn": function_arn, "condition": condition}
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {**context, "approximateInvokeCount": invocations},
        "responseContext": response | ({"functionError": "Unhandled"} if error else {}),
        **more,
    }
