"""Shop and customer settings. Switching a shop from manual to automatic filling hands
its waiting lines back to the allotter."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Protocol

from backorders.domain.model import FillMode, LinePolicy, ShopSettings
from backorders.services.orders import OrderService
from backorders.services.ports import Backorders, Settings


class ShopStore(Settings, Backorders, Protocol):
    """What settings read (settings, the shop's waiting lines) and write."""


class ShopService:
    def __init__(self, store: ShopStore, orders: OrderService) -> None:
        self.store = store
        self.orders = orders

    def save(self, settings: ShopSettings) -> int:
        """Store the settings; returns how many waiting lines became eligible again."""
        before = self.store.shop_settings(settings.shop)
        self.store.put_shop_settings(settings)
        if not (before.fill_mode is FillMode.MANUAL and settings.fill_mode is FillMode.AUTO):
            return 0
        waiting: dict[str, set[int]] = defaultdict(set)
        for line in self.store.backordered_lines(settings.shop):
            if line.awaiting_fill:
                waiting[line.order_id].add(line.line_no)
        released = 0
        for order_id, line_nos in sorted(waiting.items()):
            released += len(
                self.orders.edit_lines(
                    settings.shop,
                    order_id,
                    lambda ln: replace(ln, awaiting_fill=False),
                    event="shop switched to automatic filling",
                    line_nos=line_nos,
                )
            )
        return released

    def save_customer(self, shop: str, customer_id: str, policy: LinePolicy | None) -> None:
        """A customer's line policy (``None``: the shop's), for orders that come next."""
        self.store.put_customer_policy(shop, customer_id, policy)
