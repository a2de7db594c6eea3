"""A tier price in words, for rate cards and statements: ``describe_price(price, unit)``."""

from __future__ import annotations

from decimal import Decimal

from tariffs.model import PricingModel, TierPrice


def _num(value: Decimal) -> str:
    text = f"{value:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _price(value: Decimal) -> str:
    text = _num(value)
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"


def describe_price(price: TierPrice, unit: str) -> str:
    parts: list[str] = []
    model = price.model
    if model is PricingModel.PER_UNIT:
        parts.append(f"{_price(price.unit_price)} per {unit}")
    elif model in (PricingModel.GRADUATED, PricingModel.VOLUME):
        bands = sorted(price.bands, key=lambda b: (b.up_to is None, b.up_to or 0))
        texts, lower = [], None
        for band in bands:
            edge = f"up to {_num(band.up_to)}" if band.up_to is not None else f"above {_num(lower)}" if lower is not None else "any"
            fee = f" + {_price(band.flat_fee)}" if band.flat_fee else ""
            texts.append(f"{edge} @ {_price(band.unit_price)}{fee}")
            lower = band.up_to
        label = "graduated" if model is PricingModel.GRADUATED else "volume (all units at the band reached)"
        parts.append(f"{label}: {'; '.join(texts)} per {unit}")
    elif model is PricingModel.PACKAGE:
        parts.append(f"{_price(price.block_price)} per block of {_num(price.block_size)} {unit}")
    elif model is PricingModel.PASS_THROUGH:
        parts.append(f"cost + {_num(price.markup_pct)}% markup")
    elif model is PricingModel.FIXED:
        parts.append("fixed monthly fee")
    if price.monthly_fee:
        parts.append(f"monthly fee {_price(price.monthly_fee)}")
    if price.included_quantity:
        parts.append(f"{_num(price.included_quantity)} {unit} included")
    if price.minimum_charge:
        parts.append(f"minimum {_price(price.minimum_charge)}")
    if price.service_credits:
        parts.append("service credits")
    return "; ".join(parts)
