"""Exact percentage splits of a source row at the 1e-12 scale.

Largest remainder, as :func:`billing.core.money.allocate` does for money in minor units: each part
is first cut down (toward zero) to 1e-12, the units left over go one each to the parts with
the largest remainders, ties to the smaller key; the sign is re-applied. The parts always
sum exactly to the row, so splitting never creates or loses cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, localcontext

from billing.feeds.values import SCALE

__all__ = ["split_exact"]


def split_exact(total: Decimal, percents: Sequence[Decimal], keys: Sequence[str]) -> tuple[Decimal, ...]:
    """Split ``total`` (at most 12 decimals) by ``percents`` (positive, summing to 100)."""
    if len(percents) != len(keys) or not percents:
        raise ValueError("a split needs one key per percentage")
    with localcontext() as ctx:
        ctx.prec = 80  # exact for every Decimal(38,12) value
        return _split(total, percents, keys)


def _split(total: Decimal, percents: Sequence[Decimal], keys: Sequence[str]) -> tuple[Decimal, ...]:
    if any(p <= 0 for p in percents) or sum(percents, Decimal(0)) != 100:
        raise ValueError("split percentages must be positive and sum to 100")
    scaled = total.scaleb(SCALE)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{total} has more than {SCALE} decimals")
    units = abs(int(scaled))
    # percents as integers over a common power of ten, so all arithmetic is on Python ints
    exponent = max(0, *(-p.as_tuple().exponent for p in percents))
    weights = [int(p.scaleb(exponent)) for p in percents]
    whole = sum(weights)
    floors = [units * w // whole for w in weights]
    remainders = [units * w % whole for w in weights]
    leftover = units - sum(floors)
    for i in sorted(range(len(weights)), key=lambda i: (-remainders[i], keys[i]))[:leftover]:
        floors[i] += 1
    sign = -1 if total < 0 else 1
    parts = tuple(Decimal(f"{sign * f}E-{SCALE}") for f in floors)
    if sum(parts, Decimal(0)) != total:  # never an assert: this must hold even with -O
        raise ArithmeticError(f"split of {total} does not sum to the whole")
    return parts
