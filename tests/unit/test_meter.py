"""The capacity meter against the worked examples of DynamoDB's documentation, plus its
index-write rules. Pure: synthetic requests, responses and item images, no network.

Sources (quoted by each test):
- DynamoDB Developer Guide, "DynamoDB item sizes and formats" (CapacityUnitCalculations);
- DynamoDB Developer Guide, "DynamoDB read and write operations" (read-write-operations,
  formerly "Capacity unit consumption" in CapacityUnitCalculations);
- DynamoDB Developer Guide, "Global secondary indexes", provisioned throughput
  considerations (GSI.html#GSI.ThroughputConsiderations);
- DynamoDB on-demand pricing page, "read request unit" and "write request unit";
- DynamoDB Developer Guide, "Transactions", capacity management.
"""

from __future__ import annotations

import pytest

from tests.benchmarks.meter import (
    KB,
    IndexSchema,
    Meter,
    TableSchema,
    WriteImage,
    index_write_units,
    item_size,
    number_size,
    read_units,
    value_size,
    write_units,
)

TABLE = "shop"
BY_COLOUR = IndexSchema("by_colour", ("colour",), "ALL")
BY_COLOUR_KEYS = IndexSchema("by_colour_keys", ("colour", "fit"), "KEYS_ONLY")
BY_COLOUR_INCLUDE = IndexSchema("by_colour_inc", ("colour",), "INCLUDE", frozenset({"price"}))
SCHEMA = TableSchema(TABLE, ("pk", "sk"), (BY_COLOUR,))


def item_of_size(size: int, pk: str = "p", sk: str = "s", **extra: dict[str, object]) -> dict[str, object]:
    """An item of exactly ``size`` bytes: keys, any extra attributes, and a binary pad."""
    item: dict[str, object] = {"pk": {"S": pk}, "sk": {"S": sk}, **extra}
    pad = size - item_size(item) - len("pad")
    assert pad >= 0, size
    item["pad"] = {"B": b"x" * pad}
    assert item_size(item) == size
    return item


def meter() -> Meter:
    return Meter(schemas={TABLE: SCHEMA})


# ---------------------------------------------------------------------- item sizes


def test_string_is_name_plus_utf8_bytes() -> None:
    # "The size of a string is (number of UTF-8-encoded bytes of attribute name) +
    # (number of UTF-8-encoded bytes)."
    assert item_size({"name": {"S": "Grüße"}}) == 4 + 7  # ü and ß take two bytes each


def test_number_is_one_byte_per_two_significant_digits_plus_one() -> None:
    # "Numbers are variable length, with up to 38 significant digits. Leading and trailing
    # zeroes are trimmed. The size of a number is approximately (... name) + (1 byte per two
    # significant digits) + (1 byte)."
    assert number_size("7") == 2
    assert number_size("12") == 2
    assert number_size("123") == 3
    assert number_size("1234") == 3
    assert number_size("000120") == 2  # leading and trailing zeroes trimmed: "12"
    assert number_size("0.0050") == 2  # "5"
    assert number_size("-12.5") == 3  # "125"
    assert number_size("0") == 1
    assert item_size({"qty": {"N": "1234"}}) == 3 + 3


def test_binary_counts_raw_bytes_not_base64() -> None:
    # "A binary value must be encoded in base64 format before it can be sent to DynamoDB,
    # but the value's raw byte length is used for calculating size."
    assert item_size({"img": {"B": b"\x00\x01\x02\x03\x04\x05"}}) == 3 + 6


def test_null_and_boolean_are_one_byte() -> None:
    # "The size of a null attribute or a Boolean attribute is (... name) + (1 byte)."
    assert item_size({"ok": {"BOOL": True}, "no": {"NULL": True}}) == (2 + 1) + (2 + 1)


def test_list_and_map_take_three_bytes_plus_one_per_element() -> None:
    # "An attribute of type List or Map requires 3 bytes of overhead, regardless of its
    # contents. ... The size of an empty List or Map is (... name) + (3 bytes)."
    # "Each List or Map element also requires 1 byte of overhead."
    assert item_size({"tags": {"L": []}}) == 4 + 3
    assert item_size({"tags": {"M": {}}}) == 4 + 3
    assert value_size({"L": [{"S": "ab"}, {"N": "7"}]}) == 3 + (1 + 2) + (1 + 2)
    assert value_size({"M": {"a": {"S": "xyz"}}}) == 3 + 1 + 1 + 3  # element: overhead, name, value
    assert value_size({"M": {"in": {"L": [{"BOOL": False}]}}}) == 3 + 1 + 2 + (3 + 1 + 1)


def test_sets_are_the_sum_of_their_elements() -> None:
    assert value_size({"SS": ["ab", "cde"]}) == 5
    assert value_size({"NS": ["12", "345"]}) == 2 + 3


# ---------------------------------------------------------------------- reads


def test_pricing_page_8_kb_item_strong_eventual_transactional() -> None:
    # Pricing page: "a strongly consistent read request of an 8 KB item requires two read
    # request units, an eventually consistent read of an 8 KB item requires one read request
    # unit, and a transactional read of an 8 KB item requires four read request units."
    assert read_units(8 * KB) == 2
    assert read_units(8 * KB, consistent=False) == 1
    assert read_units(8 * KB, transactional=True) == 4


def test_getitem_3_5_kb_rounds_to_4_kb_and_10_kb_to_12_kb() -> None:
    # "if you read an item that is 3.5 KB, DynamoDB rounds the item size to 4 KB. If you read
    # an item of 10 KB, DynamoDB rounds the item size to 12 KB." (and: "reading a 3,500-byte
    # item consumes the same throughput as reading a 4 KB item")
    m = meter()
    for size in (3500, int(3.5 * KB)):
        m.observe("GetItem", {"TableName": TABLE, "Key": {}, "ConsistentRead": True}, {"Item": item_of_size(size)})
    assert m.read_units == 2
    m.observe("GetItem", {"TableName": TABLE, "Key": {}, "ConsistentRead": True}, {"Item": item_of_size(10 * KB)})
    assert m.read_units == 2 + 3
    # "For an eventually consistent read (the default), take this number and divide it by two."
    m.observe("GetItem", {"TableName": TABLE, "Key": {}}, {"Item": item_of_size(10 * KB)})
    assert m.read_units == 2 + 3 + 1.5


def test_read_of_missing_item_still_costs_the_minimum() -> None:
    # "If you perform a read operation on an item that does not exist, DynamoDB will still
    # consume provisioned read throughput: A strongly consistent read request consumes one
    # read capacity unit, while an eventually consistent read request consumes 0.5 of a read
    # capacity unit."
    m = meter()
    m.observe("GetItem", {"TableName": TABLE, "Key": {}, "ConsistentRead": True}, {})
    m.observe("GetItem", {"TableName": TABLE, "Key": {}}, {})
    assert m.read_units == 1.5
    assert m.items_read == 0
    m.observe("Query", {"TableName": TABLE}, {"Items": [], "Count": 0})
    assert m.read_units == 2.0


def test_batchgetitem_rounds_each_item_1_5_kb_plus_6_5_kb_is_12_kb() -> None:
    # "if BatchGetItem reads a 1.5 KB item and a 6.5 KB item, DynamoDB will calculate the
    # size as 12 KB (4 KB + 8 KB), not 8 KB (1.5 KB + 6.5 KB)."
    a, b = item_of_size(int(1.5 * KB), sk="a"), item_of_size(int(6.5 * KB), sk="b")
    params = {"RequestItems": {TABLE: {"Keys": [SCHEMA.key(a), SCHEMA.key(b)], "ConsistentRead": True}}}
    m = meter()
    m.observe("BatchGetItem", params, {"Responses": {TABLE: [b, a]}})
    assert m.read_units == 3  # 12 KB / 4 KB, strongly consistent


def test_batchgetitem_missing_and_unprocessed_keys() -> None:
    a = item_of_size(100, sk="a")
    missing, later = {"pk": {"S": "p"}, "sk": {"S": "gone"}}, {"pk": {"S": "p"}, "sk": {"S": "later"}}
    params = {"RequestItems": {TABLE: {"Keys": [SCHEMA.key(a), missing, later]}}}
    m = meter()
    m.observe("BatchGetItem", params, {"Responses": {TABLE: [a]}, "UnprocessedKeys": {TABLE: {"Keys": [later]}}})
    assert m.read_units == 0.5 + 0.5  # found + missing, eventually consistent; unprocessed is free


def test_query_rounds_the_sum_40_8_kb_to_44_kb() -> None:
    # "suppose your query returns 10 items whose combined size is 40.8 KB. DynamoDB rounds
    # the item size for the operation to 44 KB."
    total = int(40.8 * KB)
    items = [item_of_size(total // 10 + (1 if i < total % 10 else 0), sk=str(i)) for i in range(10)]
    assert sum(item_size(i) for i in items) == total
    m = meter()
    m.observe("Query", {"TableName": TABLE, "ConsistentRead": True}, {"Items": items, "Count": 10})
    assert m.read_units == 11


def test_query_of_1500_items_of_64_bytes_is_96_kb() -> None:
    # "If a query returns 1500 items of 64 bytes each, the cumulative size is 96 KB."
    items = [item_of_size(64, sk=f"{i:04d}") for i in range(1500)]
    m = meter()
    m.observe("Query", {"TableName": TABLE, "ConsistentRead": True}, {"Items": items})
    assert m.read_units == 24  # 96 KB / 4 KB
    assert m.items_read == 1500


def test_eventually_consistent_80_kb_is_10_units() -> None:
    # "For an eventually consistent read, if total item size is 80 KB, the operation consumes
    # only 10 capacity units."
    items = [item_of_size(8 * KB, sk=str(i)) for i in range(10)]
    m = meter()
    m.observe("Scan", {"TableName": TABLE}, {"Items": items})
    assert m.read_units == 10


def test_gsi_query_eight_items_of_2000_bytes_is_2_units() -> None:
    # GSI page: "consider a global secondary index where each item contains 2,000 bytes of
    # data. Now suppose that you Query this index and that the query's
    # KeyConditionExpression matches eight items. The total size of the matching items is
    # 2,000 bytes x 8 items = 16,000 bytes. This result is then rounded up to the nearest
    # 4 KB boundary. Because global secondary index queries are eventually consistent, the
    # total cost is 0.5 x (16 KB / 4 KB), or 2 read capacity units."
    items = [item_of_size(2000, sk=str(i), colour={"S": "red"}) for i in range(8)]
    m = meter()
    m.observe("Query", {"TableName": TABLE, "IndexName": "by_colour"}, {"Items": items})
    assert m.read_units == 2
    assert m.by_target[f"{TABLE}/by_colour"].read == 2


def test_query_counts_evaluated_items_not_returned_ones() -> None:
    # "For any operation that returns items, you can request a subset of attributes to
    # retrieve; however, doing so has no impact on the item size calculations." and Scan:
    # "DynamoDB considers the size of the items that are evaluated, not the size of the items
    # returned by the scan."
    evaluated = [item_of_size(3 * KB, sk=str(i)) for i in range(4)]
    m = meter()
    m.observe(
        "Scan",
        {"TableName": TABLE, "FilterExpression": "x = :x", "ConsistentRead": True},
        {"Items": evaluated[:1], "Count": 1, "ScannedCount": 4},
        evaluated=evaluated,
    )
    assert m.read_units == 3  # 12 KB evaluated, not 3 KB returned


def test_index_query_counts_projected_entries() -> None:
    schema = TableSchema(TABLE, ("pk", "sk"), (BY_COLOUR_KEYS,))
    m = Meter(schemas={TABLE: schema})
    big = item_of_size(6 * KB, colour={"S": "red"}, fit={"N": "42"})
    m.observe("Query", {"TableName": TABLE, "IndexName": "by_colour_keys"}, {"Items": [big]}, evaluated=[big])
    assert m.read_units == 0.5  # the KEYS_ONLY entry is a few bytes, not 6 KB


def test_transactgetitems_costs_two_units_per_4_kb() -> None:
    # "A transactional read request of an item up to 4 KB requires two read units."
    m = meter()
    params = {"TransactItems": [{"Get": {"TableName": TABLE, "Key": {}}}, {"Get": {"TableName": TABLE, "Key": {}}}]}
    m.observe("TransactGetItems", params, {"Responses": [{"Item": item_of_size(5 * KB)}, {}]})
    assert m.read_units == 4 + 2  # 8 KB transactional, and a miss at the transactional minimum


# ---------------------------------------------------------------------- writes


def test_pricing_page_1_kb_3_kb_and_transactional_3_kb() -> None:
    # Pricing page: "a write request of a 1 KB item requires one write request unit, a write
    # request of a 3 KB item requires three write request units, and a transactional write
    # request of a 3 KB item requires six write request units."
    assert write_units(1 * KB) == 1
    assert write_units(3 * KB) == 3
    assert write_units(3 * KB, transactional=True) == 6


def test_put_or_delete_of_1_6_kb_rounds_to_2_kb() -> None:
    # "if you put or delete an item of 1.6 KB, DynamoDB rounds the item size up to 2 KB."
    item = item_of_size(int(1.6 * KB))
    m = meter()
    m.observe("PutItem", {"TableName": TABLE, "Item": item}, {}, images=[WriteImage(TABLE, None, item)])
    assert m.write_units == 2
    m.observe("DeleteItem", {"TableName": TABLE, "Key": {}}, {}, images=[WriteImage(TABLE, item, None, "Delete")])
    assert m.write_units == 4


def test_update_bills_the_larger_of_before_and_after() -> None:
    # "UpdateItem ... DynamoDB considers the size of the item as it appears before and after
    # the update. The provisioned throughput consumed reflects the larger of these item
    # sizes. Even if you update just a subset of the item's attributes, UpdateItem will still
    # consume the full amount." PutItem: "the item size that matters is the larger of the two".
    small, large = item_of_size(300), item_of_size(2500)
    m = meter()
    m.observe("UpdateItem", {"TableName": TABLE, "Key": {}}, {}, images=[WriteImage(TABLE, large, small, "Update")])
    assert m.write_units == 3
    m.observe("PutItem", {"TableName": TABLE, "Item": small}, {}, images=[WriteImage(TABLE, large, small)])
    assert m.write_units == 6
    m.observe("UpdateItem", {"TableName": TABLE, "Key": {}}, {}, images=[WriteImage(TABLE, small, large, "Update")])
    assert m.write_units == 9


def test_batchwriteitem_500_bytes_plus_3_5_kb_is_5_kb() -> None:
    # "if BatchWriteItem writes a 500 byte item and a 3.5 KB item, DynamoDB will calculate
    # the size as 5 KB (1 KB + 4 KB), not 4 KB (500 bytes + 3.5 KB)."
    a, b = item_of_size(500, sk="a"), item_of_size(int(3.5 * KB), sk="b")
    params = {"RequestItems": {TABLE: [{"PutRequest": {"Item": a}}, {"PutRequest": {"Item": b}}]}}
    m = meter()
    m.observe("BatchWriteItem", params, {}, images=[WriteImage(TABLE, None, a), WriteImage(TABLE, None, b)])
    assert m.write_units == 5


def test_failed_conditional_write_still_costs() -> None:
    # "If the expression evaluates to false, DynamoDB will still consume write capacity units
    # from the table: If the item exists, the number of write capacity units consumed depends
    # on the size of the item. (For example, a failed conditional write of a 1 KB item would
    # consume one write capacity unit; if the item were twice that size, the failed conditional
    # write would consume two write capacity units.) If the item does not exist, DynamoDB will
    # consume one write capacity unit."
    one, two = item_of_size(1 * KB, sk="one"), item_of_size(2 * KB, sk="two")
    m = meter()
    for existing in (one, two, None):
        m.observe(
            "PutItem",
            {"TableName": TABLE, "Item": item_of_size(100)},
            {"Error": {"Code": "ConditionalCheckFailedException"}},
            images=[WriteImage(TABLE, existing, existing)],
            error="ConditionalCheckFailedException",
        )
    assert m.write_units == 1 + 2 + 1
    assert m.index_write_units == 0  # nothing was written, no index changed


def test_other_errors_cost_nothing() -> None:
    m = meter()
    m.observe("PutItem", {"TableName": TABLE, "Item": item_of_size(100)}, images=[], error="ValidationException")
    m.observe("GetItem", {"TableName": TABLE, "Key": {}}, error="ProvisionedThroughputExceededException")
    assert (m.read_units, m.write_units) == (0, 0)
    assert m.calls == {"PutItem": 1, "GetItem": 1}


def test_transactional_writes_cost_twice_and_condition_check_like_a_write() -> None:
    # Transactions, capacity management: "DynamoDB performs two underlying reads or writes of
    # every item in the transaction: one to prepare the transaction and one to commit the
    # transaction." A ConditionCheck is an item of the transaction.
    new = item_of_size(1500, sk="new")
    checked = item_of_size(800, sk="checked")
    old, updated = item_of_size(200, sk="upd"), item_of_size(2100, sk="upd")
    params = {
        "TransactItems": [
            {"Put": {"TableName": TABLE, "Item": new}},
            {"ConditionCheck": {"TableName": TABLE, "Key": SCHEMA.key(checked)}},
            {"Update": {"TableName": TABLE, "Key": SCHEMA.key(old)}},
        ]
    }
    images = [
        WriteImage(TABLE, None, new, "Put"),
        WriteImage(TABLE, checked, checked, "ConditionCheck"),
        WriteImage(TABLE, old, updated, "Update"),
    ]
    m = meter()
    m.observe("TransactWriteItems", params, {}, images=images)
    assert m.write_units == 2 * 2 + 2 * 1 + 2 * 3


def test_cancelled_transaction_costs_each_action_at_its_existing_size() -> None:
    existing = item_of_size(1500, sk="e")
    images = [WriteImage(TABLE, existing, existing, "Update"), WriteImage(TABLE, None, None, "Put")]
    m = meter()
    m.observe("TransactWriteItems", {"TransactItems": []}, {}, images=images, error="TransactionCanceledException")
    assert m.write_units == 2 * 2 + 2 * 1


# ---------------------------------------------------------------------- index writes
# GSI page: "The cost of writing an item to a global secondary index depends on several factors"


def red(size: int = 300, **extra: dict[str, object]) -> dict[str, object]:
    return item_of_size(size, colour={"S": "red"}, **extra)


def test_index_new_item_with_indexed_attribute_is_one_write() -> None:
    # "If you write a new item to the table that defines an indexed attribute, or you update an
    # existing item to define a previously undefined indexed attribute, one write operation is
    # required to put the item into the index."
    assert index_write_units(BY_COLOUR, SCHEMA.keys, None, red()) == 1
    assert index_write_units(BY_COLOUR, SCHEMA.keys, item_of_size(300), red()) == 1


def test_index_key_change_is_two_writes() -> None:
    # "If an update to the table changes the value of an indexed key attribute (from A to B),
    # two writes are required, one to delete the previous item from the index and another
    # write to put the new item into the index."
    blue = item_of_size(300, colour={"S": "blue"})
    assert index_write_units(BY_COLOUR, SCHEMA.keys, red(), blue) == 2


def test_index_attribute_removed_is_one_write() -> None:
    # "If an item was present in the index, but a write to the table caused the indexed
    # attribute to be deleted, one write is required to delete the old item projection from
    # the index." (and a delete of the item itself)
    assert index_write_units(BY_COLOUR, SCHEMA.keys, red(), item_of_size(300)) == 1
    assert index_write_units(BY_COLOUR, SCHEMA.keys, red(), None) == 1


def test_index_absent_before_and_after_is_free() -> None:
    # "If an item is not present in the index before or after the item is updated, there is no
    # additional write cost for the index."
    assert index_write_units(BY_COLOUR, SCHEMA.keys, item_of_size(300), item_of_size(900)) == 0


def test_index_projected_attribute_change_is_one_write() -> None:
    # "If an update to the table only changes the value of projected attributes in the index
    # key schema, but does not change the value of any indexed key attribute, one write is
    # required to update the values of the projected attributes into the index."
    before, after = red(price={"N": "10"}), red(price={"N": "12"})
    assert index_write_units(BY_COLOUR, SCHEMA.keys, before, after) == 1
    assert index_write_units(BY_COLOUR_INCLUDE, SCHEMA.keys, before, after) == 1
    # an attribute that is not projected changes nothing in a KEYS_ONLY or INCLUDE index
    keys_before = red(fit={"N": "1"}, stock={"N": "3"})
    keys_after = red(fit={"N": "1"}, stock={"N": "4"})
    assert index_write_units(BY_COLOUR_KEYS, SCHEMA.keys, keys_before, keys_after) == 0
    assert index_write_units(BY_COLOUR_INCLUDE, SCHEMA.keys, red(stock={"N": "3"}), red(stock={"N": "4"})) == 0
    # and an unchanged item changes nothing (numbers compare as numbers)
    assert index_write_units(BY_COLOUR, SCHEMA.keys, red(price={"N": "1.50"}), red(price={"N": "1.5"})) == 0


def test_index_entries_are_rounded_up_by_1_kb() -> None:
    # "All of these factors assume that the size of each item in the index is less than or
    # equal to the 1 KB item size for calculating write capacity units. Larger index entries
    # require additional write capacity units."
    assert index_write_units(BY_COLOUR, SCHEMA.keys, None, red(2500)) == 3
    blue = item_of_size(1500, colour={"S": "blue"})
    assert index_write_units(BY_COLOUR, SCHEMA.keys, red(2500), blue) == 3 + 2
    # a KEYS_ONLY entry of a large item is small
    assert index_write_units(BY_COLOUR_KEYS, SCHEMA.keys, None, red(5000, fit={"N": "2"})) == 1


def test_index_writes_are_not_doubled_in_a_transaction() -> None:
    # TOOLCHAIN.md / Transactions: transactional writes cost twice a plain write; index
    # writes are not doubled.
    item = red(600)
    m = meter()
    m.observe("TransactWriteItems", {"TransactItems": []}, {}, images=[WriteImage(TABLE, None, item, "Put")])
    assert m.total.write == 2
    assert m.index_write_units == 1
    assert m.write_units == 3
    assert m.by_target[f"{TABLE}/by_colour"].index_write == 1


def test_breakdown_by_operation_target_and_tag() -> None:
    m = meter()
    with m.tag("intake"):
        m.observe("PutItem", {"TableName": TABLE, "Item": red()}, {}, images=[WriteImage(TABLE, None, red())])
    m.observe("GetItem", {"TableName": TABLE, "Key": {}, "ConsistentRead": True}, {"Item": red()})
    assert m.by_operation["PutItem"].total_write == 2
    assert m.by_operation["GetItem"].read == 1
    assert m.by_target[TABLE].write == 1
    assert m.by_tag["intake"].total_write == 2
    assert m.by_tag["intake"].calls == 1
    assert "GetItem" not in m.tagged()


@pytest.mark.parametrize(
    ("table", "expected"),
    [(TABLE, TABLE), (f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}", TABLE)],
)
def test_table_arns_are_named_by_table(table: str, expected: str) -> None:
    m = meter()
    m.observe("GetItem", {"TableName": table, "Key": {}}, {})
    assert set(m.by_target) == {expected}


def test_schema_from_describe_table() -> None:
    description = {
        "Table": {
            "TableName": TABLE,
            "KeySchema": [{"AttributeName": "sk", "KeyType": "RANGE"}, {"AttributeName": "pk", "KeyType": "HASH"}],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "by_colour_inc",
                    "KeySchema": [{"AttributeName": "colour", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["price"]},
                }
            ],
        }
    }
    assert TableSchema.from_description(description) == TableSchema(TABLE, ("pk", "sk"), (BY_COLOUR_INCLUDE,))
