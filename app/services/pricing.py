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


def percentage_of_cents(amount_cents: int, percent: int) -> int:
    """`percent` % of an amount, rounded half-up once."""
    return round_cents(Decimal(amount_cents) * percent / 100)


def unit_price_cents(total_excl_cents: int, quantity: float | Decimal) -> int | None:
    """Average price per unit (total ÷ quantity), rounded half-up; None without a quantity."""
    amount = Decimal(str(quantity))
    if amount <= 0:
        return None
    return round_cents(Decimal(total_excl_cents) / amount)


def euros_to_cents(raw: str) -> int | None:
    """A euro amount as typed in a Dutch form (`1.234,56`, `1234,5`, `1234.56`, `€ 12`) to cents.

    None when it is not an amount. A single separator followed by exactly three digits is read
    as a thousands separator (`1.250` is € 1.250,00)."""
    text = raw.strip().replace("€", "").replace(" ", "").replace("\u00a0", "")
    if not text or text.startswith("-"):
        return None
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    elif text.count(".") > 1 or (text.count(".") == 1 and len(text.split(".")[1]) == 3):
        text = text.replace(".", "")
    try:
        amount = Decimal(text)
    except ArithmeticError:
        return None
    if not amount.is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        return None
    return int(amount * 100)
