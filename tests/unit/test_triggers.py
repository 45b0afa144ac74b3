"""What a table stream record asks the allotter to do, read through powertools'
``DynamoDBRecord`` as the allotter function reads it. Stream records are built in
DynamoDB JSON as the event source mapping delivers them: no moto, no table."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from backorders.domain.record_log import Cause
from backorders.services.triggers import Triggers, triggers_of
from tests.support.events import stream_record


def _item(sk: str, **fields: str | int) -> dict[str, Any]:
    pk = "ORDER#books#812" if sk.startswith("LINE#") else "SKU#TEXTBOOK"
    out: dict[str, Any] = {"pk": {"S": pk}, "sk": {"S": sk}}
    for name, value in fields.items():
        out[name] = {"N": str(value)} if isinstance(value, int) else {"S": value}
    return out


def balance(writer: str = "api", **fields: str | int) -> dict[str, Any]:
    return _item("SKU", sku="TEXTBOOK", writer=writer, last_event="receipt R1", event_shop="books", **fields)


def line(writer: str = "api", **fields: str | int) -> dict[str, Any]:
    values: dict[str, str | int] = {"sku": "TEXTBOOK", "shop": "books", "order_id": "812", "quantity": 3}
    values.update({"allotted": 0, "last_event": "order 812 created", **fields})
    return _item("LINE#0001", writer=writer, **values)


def triggers(item: dict[str, Any], old: dict[str, Any] | None = None) -> Triggers:
    return triggers_of(DynamoDBRecord(stream_record(item, old)))


def test_a_balance_changed_by_a_shop_recomputes_its_sku_with_that_cause() -> None:
    got = triggers(balance())
    assert got.skus == {"TEXTBOOK": [Cause("receipt R1", "books")]}
    assert got.orders == set()


def test_the_services_own_writes_recompute_nothing() -> None:
    for writer in ("allotter", "sweep"):
        assert triggers(balance(writer)).skus == {}
        assert triggers(line(writer), line(writer)).skus == {}


def test_a_new_line_recomputes_its_sku_and_syncs_its_order() -> None:
    got = triggers(line())
    assert got.skus == {"TEXTBOOK": [Cause("order 812 created", "books")]}
    assert got.orders == {("books", "812")}


def test_a_line_moved_to_another_sku_recomputes_both() -> None:
    got = triggers(line(sku="PEN"), line())
    assert set(got.skus) == {"PEN", "TEXTBOOK"}


def test_an_allotment_change_by_the_allotter_syncs_the_order_only() -> None:
    got = triggers(line("allotter", allotted=2), line(allotted=0))
    assert got.skus == {}
    assert got.orders == {("books", "812")}


def test_a_line_whose_allotment_did_not_change_syncs_nothing() -> None:
    assert triggers(line("allotter", last_event="x"), line()).orders == set()


def test_a_removal_asks_for_nothing() -> None:
    record = stream_record(line())
    record["dynamodb"].pop("NewImage")
    record["dynamodb"]["OldImage"] = line()
    assert triggers_of(DynamoDBRecord(record)) == Triggers()


def test_items_other_than_balances_and_lines_ask_for_nothing() -> None:
    assert triggers(_item("ORDER", sku="TEXTBOOK", writer="api")) == Triggers()


def test_a_batch_names_each_sku_once_with_its_distinct_causes() -> None:
    got = Triggers.collect([triggers(balance()), triggers(balance()), triggers(line())])
    assert got.skus == {"TEXTBOOK": [Cause("receipt R1", "books"), Cause("order 812 created", "books")]}


# ------------------------------------------------------------------ replanning


def stocked(writer: str = "api", **fields: str | int) -> dict[str, Any]:
    values: dict[str, str | int] = {"supplier_id": "acme", "on_hand": 0, "allotted": 0, "backordered": 0}
    item = balance(writer, **{**values, "min_stock": 2, **fields})
    item["known"] = {"BOOL": True}
    return item


def test_a_sku_going_short_asks_to_replan_its_supplier() -> None:
    assert triggers(stocked(backordered=3), stocked()).suppliers == {"acme"}


def test_a_sku_well_stocked_before_and_after_asks_for_no_replan() -> None:
    assert triggers(stocked(on_hand=9), stocked(on_hand=10)).suppliers == set()


def test_the_allotters_own_writes_leave_the_position_alone_and_ask_for_nothing() -> None:
    short = stocked(backordered=3)
    assert triggers(stocked("allotter", backordered=3, plan_pk="PLAN"), short).suppliers == set()


def test_a_product_moved_to_another_supplier_replans_both() -> None:
    assert triggers(stocked(backordered=3, supplier_id="other"), stocked(backordered=3)).suppliers == {"acme", "other"}


def test_a_placed_po_raising_incoming_replans_the_supplier() -> None:
    assert triggers(stocked(backordered=3, incoming=5), stocked(backordered=3)).suppliers == {"acme"}
