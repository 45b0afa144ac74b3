"""The catalogue: products (a SKU's settings, kept on its balance) and suppliers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from backorders.domain.errors import NotFound
from backorders.domain.model import Product, Supplier
from backorders.services.ports import Catalogue, Writes


class CatalogueStore(Writes, Catalogue, Protocol):
    """What the catalogue reads and writes."""


class CatalogueService:
    def __init__(self, store: CatalogueStore, *, clock: Callable[[], str]) -> None:
        self.store = store
        self.clock = clock

    def save_product(self, product: Product) -> None:
        """Store a product's settings; the SKU becomes known (its stock may be handed
        out) and the write triggers a recompute through the stream, like any balance change."""
        uow = self.store.unit_of_work(writer="api", event=f"product {product.sku} updated", at=self.clock())
        uow.set_product(product)
        uow.commit()

    def save_supplier(self, supplier: Supplier) -> None:
        self.store.put_supplier(supplier)

    def supplier(self, supplier_id: str) -> Supplier:
        found = self.store.supplier(supplier_id)
        if found is None:
            raise NotFound(f"supplier {supplier_id} not found", field="supplier_id")
        return found
