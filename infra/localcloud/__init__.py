"""The local cloud: template.yaml run in-process against moto (``sam local`` without Docker).

See :class:`localcloud.cloud.LocalCloud` for the Python API and ``python -m localcloud``
for the command line. Names are imported on first use, so a caller of one module (the
API Gateway event builder, say) does not load moto.
"""

from importlib import import_module
from typing import Any

_HOMES = {
    "LocalCloud": "cloud", "LocalCloudError": "cloud", "CapturedEmail": "mail", "HandlerLoadError": "runtime",
    "HandlerNotFound": "runtime", "LambdaContext": "runtime", "DEFAULT_STACK_NAME": "template",
    "Template": "template", "TemplateError": "template",
}  # fmt: skip
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_HOMES[name]}", __name__), name)
