"""Group pricing: the tier reached by the number of participants, the next tier, and what a
household pays incl. VAT. Money is integer cents; rounding is half-up to the cent, once, on a
line total (never per unit)."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Tier:
    min_participants: int
    unit_price_cents: int


def current_tier(tiers: list[Tier], participants: int) -> Tier | None:
    """The tier with the highest threshold reached by `participants`."""
    reached = [tier for tier in tiers if tier.min_participants <= participants]
    return max(reached, key=lambda tier: tier.min_participants) if reached else None


def next_tier(tiers: list[Tier], participants: int) -> Tier | None:
    """The first tier not reached yet, if any."""
    ahead = [tier for tier in tiers if tier.min_participants > participants]
    return min(ahead, key=lambda tier: tier.min_participants) if ahead else None


def round_cents(amount: Decimal) -> int:
    return int(amount.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def line_total_cents(quantity: float | Decimal, unit_price_cents: int) -> int:
    """quantity × unit price, excl. VAT, rounded once."""
    return round_cents(Decimal(str(quantity)) * unit_price_cents)


def with_vat_cents(amount_excl_cents: int, vat_rate: int) -> int:
    return round_cents(Decimal(amount_excl_cents) * (100 + vat_rate) / 100)


def vat_cents(amount_excl_cents: int, vat_rate: int) -> int:
    return with_vat_cents(amount_excl_cents, vat_rate) - amount_excl_cents


def split_by_shares(total_cents: int, shares: list[float]) -> list[int]:
    """Split a total over shares (e.g. each household's quantity) so the parts sum exactly to
    the total: largest-remainder method, ties to the earlier share."""
    if not shares:
        return []
    weights = [Decimal(str(share)) for share in shares]
    weight_sum = sum(weights)
    if weight_sum == 0:
        weights = [Decimal(1)] * len(shares)
        weight_sum = Decimal(len(shares))
    exact = [Decimal(total_cents) * weight / weight_sum for weight in weights]
    parts = [int(value) for value in exact]  # floor for non-negative totals
    remainder = total_cents - sum(parts)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - parts[i]), i))
    for index in order[:remainder]:
        parts[index] += 1
    return parts
