"""The local cloud: template.yaml run in-process against moto (``sam local`` without Docker).

See :class:`localcloud.cloud.LocalCloud` for the Python API and ``python -m localcloud``
for the command line.
"""

from .cloud import LocalCloud, LocalCloudError
from .mail import CapturedEmail
from .runtime import HandlerLoadError, HandlerNotFound, LambdaContext
from .template import DEFAULT_STACK_NAME, Template, TemplateError

__all__ = [
    "DEFAULT_STACK_NAME",
    "CapturedEmail",
    "HandlerLoadError",
    "HandlerNotFound",
    "LambdaContext",
    "LocalCloud",
    "LocalCloudError",
    "Template",
    "TemplateError",
]
