"""When an order's allotted units may ship, and what its pending shipment holds."""

from __future__ import annotations

from collections.abc import Iterable

from backorders.domain.model import OrderLine, ShipType


def pending_content(ship_type: ShipType, lines: Iterable[OrderLine]) -> dict[int, int]:
    """Units per line the order's pending shipment should hold now: every movable
    allotted unit for ``partial``; for ``complete`` only once no open line waits."""
    lines = list(lines)
    if ship_type is ShipType.COMPLETE and any(line.backordered > 0 for line in lines):
        return {}
    return {line.line_no: line.movable for line in lines if line.movable > 0}
