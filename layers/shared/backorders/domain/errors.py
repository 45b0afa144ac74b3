"""Domain errors. One place (the API's error mapper) turns them into HTTP responses."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the rules raise on purpose."""

    code = "domain_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    """The request is well-formed JSON but breaks a rule (for example zero quantity)."""

    code = "invalid_input"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """The request contradicts stored state (same id, different content; stale version).

    ``failed`` names the stored items whose condition failed (opaque keys), so a
    service can tell "this order already exists" from "the SKU moved on meanwhile"."""

    code = "conflict"

    def __init__(self, message: str, *, field: str | None = None, failed: tuple[str, ...] = ()) -> None:
        super().__init__(message, field=field)
        self.failed = failed


class TooLarge(DomainError):
    code = "too_large"


class Throttled(DomainError):
    """Storage refused the request for capacity; the caller may retry."""

    code = "throttled"


class Unauthorized(DomainError):
    code = "unauthorized"
