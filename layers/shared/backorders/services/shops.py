"""Shop settings. Switching a shop from manual to automatic filling hands its waiting
lines back to the allocator."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from backorders.adapters.dynamodb.store import DynamoStore
from backorders.domain.model import FillMode, ShopSettings
from backorders.services.orders import OrderService


class ShopService:
    def __init__(self, store: DynamoStore, orders: OrderService) -> None:
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
