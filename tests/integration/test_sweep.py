"""The scheduled sweep (decision 31): it finds the SKUs with backorders through the
sparse backlog index, recomputes those that still have backorders, writes nothing
else on a frequent run, and the daily run takes a SKU without backorders out."""

from __future__ import annotations

from backorders.adapters.dynamodb.models import BacklogKey, SkuItem


def in_backlog() -> set[str]:
    return {item.pk.removeprefix("SKU#") for item in BacklogKey.backlog_index.query("BACKLOG")}


def test_a_sku_enters_the_backlog_with_its_first_backordered_unit(shop):
    assert in_backlog() == set()
    shop.order("812", ("TEXTBOOK", 2))
    assert in_backlog() == {"TEXTBOOK"}


def test_the_frequent_sweep_recomputes_a_sku_whose_stock_the_stream_never_announced(shop):
    shop.order("812", ("TEXTBOOK", 2))
    # stock that arrived in a write nobody told the allotter about
    SkuItem(pk="SKU#TEXTBOOK", sk="SKU").update(actions=[SkuItem.on_hand.add(2), SkuItem.available.add(2)])
    report = shop.svc.sweep.run(event="scheduled frequent sweep")
    assert (report["skus"], report["changed"], report["cleared"]) == (1, 1, 0)
    assert shop.allotted("812") == 2


def test_a_frequent_sweep_keeps_a_sku_without_backorders_and_the_daily_one_takes_it_out(shop):
    shop.receive("TEXTBOOK", 5)
    shop.order("812", ("TEXTBOOK", 2))  # allotted at once: no backorder left
    assert in_backlog() == {"TEXTBOOK"}
    version = shop.balance("TEXTBOOK").version
    assert shop.svc.sweep.run(event="frequent") == {"skus": 1, "changed": 0, "cleared": 0}
    assert shop.balance("TEXTBOOK").version == version, "a frequent run writes nothing"
    assert shop.svc.sweep.run(event="daily", clear_stale=True)["cleared"] == 1
    assert in_backlog() == set()
    assert shop.svc.sweep.run(event="frequent")["skus"] == 0


def test_a_sku_with_backorders_is_never_taken_out(shop):
    shop.order("812", ("TEXTBOOK", 2))
    assert shop.svc.sweep.run(event="daily", clear_stale=True)["cleared"] == 0
    assert in_backlog() == {"TEXTBOOK"}
    assert shop.svc.store.clear_backlog("TEXTBOOK") is False, "the condition backordered = 0 holds it"


def test_a_sku_taken_out_comes_back_with_its_next_backorder(shop):
    shop.receive("TEXTBOOK", 1)
    shop.order("812", ("TEXTBOOK", 1))
    shop.svc.sweep.run(event="daily", clear_stale=True)
    assert in_backlog() == set()
    shop.order("813", ("TEXTBOOK", 3))
    assert in_backlog() == {"TEXTBOOK"}
