"""At-most-once execution of relative commands (a partial cancel), keyed on the
caller's ``Idempotency-Key`` header, with the Powertools idempotency utility and the
template's IdempotencyTable. A replay within 24 hours returns the first answer; the
same key with a different body is refused (payload validation)."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyValidationError

from backorders.domain.errors import Conflict, InvalidInput

DAY = 24 * 3600


@lru_cache(maxsize=1)
def _persistence() -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE_NAME"])


def once(key: str | None, scope: str, payload: dict[str, Any], action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``action`` once per ``(scope, key)``; later calls return its first result."""
    if not key or not key.strip() or len(key) > 128:
        raise InvalidInput("this command needs an Idempotency-Key header (1-128 characters)", field="idempotency-key")
    config = IdempotencyConfig(
        event_key_jmespath="[scope, key]",
        payload_validation_jmespath="payload",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=DAY,
    )

    @idempotent_function(data_keyword_argument="request", persistence_store=_persistence(), config=config)
    def run(request: dict[str, Any]) -> dict[str, Any]:
        return action()

    try:
        result: dict[str, Any] = run(request={"scope": scope, "key": key.strip(), "payload": payload})
    except IdempotencyValidationError as exc:
        raise Conflict("this Idempotency-Key was used with a different request", field="idempotency-key") from exc
    return result
