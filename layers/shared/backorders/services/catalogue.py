"""The catalogue: products (a SKU's settings, kept on its balance) and suppliers, one at a
time or in bulk (a page of them in key order; an import of many).

An import says, for each record, the fields it gives; a field it does not give keeps its
stored value (a new record takes the default). Records the import leaves as they are
stored are not written, so sending the same file twice writes once, and an edit of a few
rows of an exported catalogue triggers a recompute of those SKUs only. An import that
runs out of time (``out_of_time``, asked before each transaction) stops between
transactions and says how many records it left: the same file sent again applies them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from itertools import batched, islice
from typing import Any, Protocol

from backorders.domain.errors import Conflict, NotFound
from backorders.domain.model import ImportJob, Product, SkuBalance, Supplier
from backorders.services.commit import retrying
from backorders.services.ports import Catalogue, CatalogueLists, ImportJobs, JobQueue, UnitOfWork, Writes

# DynamoDB's limit per transaction; a product is one write (its SKU item), a supplier one.
RECORDS_PER_TRANSACTION = 100
# More changed records than this go to a background job (about ten transactions fit a
# request on any memory size); a job's chunk is one transaction with its "applied" mark.
SYNC_RECORDS = 1_000
JOB_CHUNK = RECORDS_PER_TRANSACTION - 1

Deadline = Callable[[], bool]  # asked before each transaction: True stops the import there


def _never() -> bool:
    return False


class CatalogueStore(Writes, Catalogue, CatalogueLists, ImportJobs, Protocol):
    """What the catalogue reads and writes."""


@dataclass(frozen=True, slots=True)
class Imported[T]:
    """One record of an import: as given (defaults for what it leaves empty), and the
    names of the fields it gives (a field it does not give keeps its stored value)."""

    record: T
    given: frozenset[str]


@dataclass(frozen=True, slots=True)
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    left: int = 0  # records that would change, not written: the import ran out of time
    job: str | None = None  # the background job that writes the changes (a large import)

    def as_dict(self) -> dict[str, Any]:
        counts = {"created": self.created, "updated": self.updated, "unchanged": self.unchanged, "left": self.left}
        return counts | ({"job": self.job} if self.job else {})


@dataclass(frozen=True, slots=True)
class Page[T]:
    """Records in key order; ``next_after`` the key to read on from (None: that was all)."""

    records: list[T]
    next_after: str | None


def _page[T](records: Iterator[T], limit: int, key: Callable[[T], str]) -> Page[T]:
    found = list(islice(records, limit + 1))
    return Page(found[:limit], key(found[limit - 1]) if len(found) > limit else None)


def _merged_product(row: Imported[Product], stored: Product | None) -> Product:
    if stored is None:
        return row.record
    return replace(stored, **{name: getattr(row.record, name) for name in row.given})


def _merged_supplier(row: Imported[Supplier], stored: Supplier | None) -> Supplier:
    if stored is None:
        return row.record
    given = {name: value for name, value in row.record.settings.items() if name in row.given}
    name = row.record.name if "name" in row.given else stored.name
    return Supplier(stored.supplier_id, name, {**stored.settings, **given})


class CatalogueService:
    def __init__(self, store: CatalogueStore, *, clock: Callable[[], str], jobs: JobQueue | None = None) -> None:
        self.store = store
        self.clock = clock
        self.jobs = jobs  # None: every import is written in its request (decision 63)

    def save_product(self, product: Product) -> None:
        """Store a product's settings; the SKU becomes known (its stock may be handed
        out) and the write triggers a recompute through the stream, like any balance change."""
        uow = self.store.unit_of_work(writer="api", event=f"product {product.sku} updated", at=self.clock())
        uow.set_product(product)
        uow.commit()

    def save_supplier(self, supplier: Supplier) -> None:
        self.store.put_supplier(supplier)

    def product(self, sku: str) -> tuple[SkuBalance, Product]:
        found = self.store.product(sku)
        if found is None or not found[0].known:
            raise NotFound(f"product {sku} not found", field="sku")
        return found

    def supplier(self, supplier_id: str) -> Supplier:
        found = self.store.supplier(supplier_id)
        if found is None:
            raise NotFound(f"supplier {supplier_id} not found", field="supplier_id")
        return found

    # -------------------------------------------------------------- in bulk
    def products(self, *, after: str | None = None, limit: int) -> Page[Product]:
        return _page(self.store.listed_products(after=after), limit, lambda p: p.sku)

    def suppliers(self, *, after: str | None = None, limit: int) -> Page[Supplier]:
        return _page(self.store.listed_suppliers(after=after), limit, lambda s: s.supplier_id)

    def import_products(self, rows: Sequence[Imported[Product]], *, out_of_time: Deadline = _never) -> ImportReport:
        """Create or update these products (SKUs are distinct), the changed ones in as few
        transactions as DynamoDB allows; each triggers its SKU's recompute, as a PUT does."""
        stored = self.store.products(row.record.sku for row in rows)
        changes = _changes(rows, stored, _merged_product, lambda p: p.sku)
        if self.jobs is not None and len(changes) > SYNC_RECORDS:
            return self._hand_over("products", len(rows), changes)
        written = self._write(changes, lambda uow, p: uow.set_product(p), event="products imported", stop=out_of_time)
        return _report(len(rows), changes, written)

    def import_suppliers(self, rows: Sequence[Imported[Supplier]], *, out_of_time: Deadline = _never) -> ImportReport:
        """Create or update these suppliers (ids are distinct), as ``import_products``."""
        stored = self.store.suppliers(row.record.supplier_id for row in rows)
        changes = _changes(rows, stored, _merged_supplier, lambda s: s.supplier_id)
        if self.jobs is not None and len(changes) > SYNC_RECORDS:
            return self._hand_over("suppliers", len(rows), changes)
        written = self._write(changes, lambda uow, s: uow.put_supplier(s), event="suppliers imported", stop=out_of_time)
        return _report(len(rows), changes, written)

    # -------------------------------------------------------------- large imports, in the background
    def _hand_over(self, kind: str, rows: int, changes: list[Change[Any]]) -> ImportReport:
        """Store the checked changes as a job, chunk by chunk, and hand it to the worker."""
        assert self.jobs is not None
        at = self.clock()
        job_id = f"IMP-{at[:10].replace('-', '')}-{uuid.uuid4().hex[:10].upper()}"
        chunks = tuple(tuple(c.record for c in chunk) for chunk in batched(changes, JOB_CHUNK))
        expires = datetime.fromisoformat(at.replace("Z", "+00:00")) + timedelta(days=7)
        self.store.put_import_job(ImportJob(job_id, kind, at, chunks), expires=expires)
        self.jobs.start_import(job_id)
        report = _report(rows, changes, len(changes))
        return replace(report, job=job_id)

    def import_job(self, job_id: str) -> ImportJob:
        job = self.store.import_job(job_id)
        if job is None:
            raise NotFound(f"import {job_id} not found", field="id")
        return job

    def run_import(self, job_id: str) -> int:
        """Write every chunk of the job not written yet, each with its mark in one
        transaction: a chunk a concurrent or earlier run wrote is not written again.
        Returns the chunks this run wrote."""
        job = self.import_job(job_id)
        event = f"{job.kind} imported"
        wrote = 0
        for number, chunk in enumerate(job.chunks):
            if number in job.applied:
                continue

            def commit(number: int = number, chunk: tuple[Any, ...] = chunk) -> bool:
                uow = self.store.unit_of_work(writer="api", event=event, at=self.clock())
                for record in chunk:
                    if isinstance(record, Product):
                        uow.set_product(record)
                    else:
                        uow.put_supplier(record)
                uow.mark_chunk_applied(job_id, number)
                try:
                    uow.commit()
                except Conflict as exc:
                    if "chunk" in exc.failed:
                        return False  # written by another run
                    raise
                return True

            wrote += retrying(commit)
        return wrote

    def _write[T](
        self, changes: list[Change[T]], put: Callable[[UnitOfWork, T], None], *, event: str, stop: Deadline
    ) -> int:
        """Write the changes a transaction a chunk (each run again on a concurrent change or
        a throttle) until done or ``stop`` says so; how many were written."""

        def commit(chunk: tuple[Change[T], ...]) -> None:
            uow = self.store.unit_of_work(writer="api", event=event, at=self.clock())
            for change in chunk:
                put(uow, change.record)
            uow.commit()

        written = 0
        for chunk in batched(changes, RECORDS_PER_TRANSACTION):
            if stop():
                break
            retrying(partial(commit, chunk))
            written += len(chunk)
        return written


@dataclass(frozen=True, slots=True)
class Change[T]:
    record: T  # as it is to be stored
    new: bool


def _changes[T](
    rows: Iterable[Imported[T]],
    stored: dict[str, T],
    merged: Callable[[Imported[T], T | None], T],
    key: Callable[[T], str],
) -> list[Change[T]]:
    """The records the import changes: each as it is to be stored, and whether it is new."""
    changes = []
    for row in rows:
        before = stored.get(key(row.record))
        after = merged(row, before)
        if after != before:
            changes.append(Change(after, new=before is None))
    return changes


def _report(rows: int, changes: list[Change[Any]], written: int) -> ImportReport:
    created = sum(change.new for change in changes[:written])
    return ImportReport(created, written - created, unchanged=rows - len(changes), left=len(changes) - written)
