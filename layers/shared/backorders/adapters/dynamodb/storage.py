"""Storage errors as domain errors: a store call whose throttling leaves as ``Throttled``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any, cast

from pynamodb.exceptions import PynamoDBException

from backorders.domain.errors import Throttled

THROTTLE_CODES = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingError",
}


def map_error(exc: Exception, what: str) -> Exception:
    code = getattr(exc, "cause_response_code", None)
    if code in THROTTLE_CODES:
        return Throttled(f"{what}: storage is busy, retry")
    return exc


def storage[**P, R](method: Callable[P, R]) -> Callable[P, R]:
    """A store call whose throttling leaves as ``Throttled`` (the API answers 429, a
    retry may follow); a generator's, too, while it is being read. Every public method
    of ``DynamoStore`` has it (tests/integration/test_throttling.py checks each)."""
    what = method.__name__.strip("_").replace("_", " ")  # "order view: storage is busy, retry"

    def throttled(exc: PynamoDBException) -> Exception | None:
        error = map_error(exc, what)
        return None if error is exc else error

    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def generator(*args: P.args, **kwargs: P.kwargs) -> Iterator[Any]:
            try:
                yield from cast(Iterator[Any], method(*args, **kwargs))
            except PynamoDBException as exc:
                if (error := throttled(exc)) is None:
                    raise
                raise error from exc

        return cast(Callable[P, R], generator)

    @functools.wraps(method)
    def read(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except PynamoDBException as exc:
            if (error := throttled(exc)) is None:
                raise
            raise error from exc

    return read
