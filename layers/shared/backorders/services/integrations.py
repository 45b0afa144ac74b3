"""A shop's webshop integrations: saved to and read from their secret store (a port),
shown back without their secrets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from backorders.domain.webshops.common import Platform
from backorders.domain.webshops.integrations import Integration, platform_of, shown
from backorders.services.ports import CatchUpMarks


class IntegrationStore(Protocol):
    def save(self, shop: str, integration: Integration) -> None: ...
    def load(self, shop: str, platform: Platform) -> Integration | None: ...


class IntegrationService:
    def __init__(self, store: IntegrationStore | None, *, marks: CatchUpMarks, clock: Callable[[], str]) -> None:
        self.store = store  # None: the deployment sets no INTEGRATION_SECRETS_PREFIX
        self.marks, self.clock = marks, clock

    def _store(self) -> IntegrationStore:
        if self.store is None:  # the template always sets it: a deployment bug, not the shop's
            raise RuntimeError("INTEGRATION_SECRETS_PREFIX is not set: webshop integrations cannot be stored")
        return self.store

    def save(self, shop: str, integration: Integration) -> dict[str, object]:
        self._store().save(shop, integration)
        # the catch-up reads the platform from the first save on (a later save keeps that time)
        self.marks.mark_configured(shop, platform_of(integration), self.clock())
        return shown(integration)

    def show(self, shop: str) -> dict[str, dict[str, object]]:
        store = self._store()
        return {platform.value: shown(store.load(shop, platform)) for platform in Platform}
