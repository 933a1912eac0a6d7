"""Group suggestions: partition households by the chosen keys, then cut each part into groups of
min..max neighbours. The cutting is a pure function over plain rows (fast, testable without a
database); `suggest_for_campaign` reads those rows for one campaign. Nothing is saved here.

Which households are chosen: those of the campaign, not erased, with a participation that holds
a place (not waitlisted, cancelled or declined) — for the given offer or measure if one is
given — and not already a member of a fixed group (locked, or with a batch or quote request) for the
same measure. Grouping by
`measure` without an offer or measure gives one row per household and measure, so a household
can be proposed once per measure (one group per measure is the membership rule, see groups.py).
"""

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from pydantic import Field, field_validator, model_validator
from sqlalchemy import or_
from sqlmodel import Session, col, select

from app.i18n import N_, gettext
from app.models import Batch, Group, GroupMember, Household, Offer, Participation, QuoteRequest
from app.models.enums import Measure
from app.services.auth import Principal
from app.services.campaigns import get_staff_campaign
from app.services.errors import Invalid
from app.services.status_flow import HOLDS_A_PLACE
from app.services.validation import CleanInput, DbId

GROUP_KEYS = ("life_phase", "budget_band", "profile", "tenure", "measure", "street")
DEFAULT_MIN_SIZE = 5
DEFAULT_MAX_SIZE = 12
MAX_GROUP_SIZE = 500

KEY_LABELS: dict[str, str] = {
    "life_phase": N_("Levensfase"),
    "budget_band": N_("Budget"),
    "profile": N_("Kan/wil-profiel"),
    "tenure": N_("Eigendom"),
    "measure": N_("Maatregel"),
    "street": N_("Straat"),
}
VALUE_LABELS: dict[str, str] = {
    # life phase
    "starter": N_("starter"), "young_family": N_("jong gezin"),
    "family_teenagers": N_("gezin met tieners"), "single": N_("alleenstaand"),
    "couple": N_("koppel"), "senior": N_("senior"),
    # budget band
    "lt_5k": N_("minder dan € 5.000"), "5k_15k": N_("€ 5.000 – 15.000"),
    "15k_30k": N_("€ 15.000 – 30.000"), "gt_30k": N_("meer dan € 30.000"),
    "unknown": N_("budget onbekend"),
    # kan/wil profile
    "can_and_will": N_("kan en wil"), "can_but_wont": N_("kan maar wil niet"),
    "cannot_but_will": N_("kan niet maar wil"), "cannot_and_wont": N_("kan niet en wil niet"),
    # tenure
    "owner_occupier": N_("eigenaar-bewoner"), "landlord": N_("verhuurder"),
    "private_tenant": N_("huurder privé"), "social_tenant": N_("sociale huurder"),
    "co_owner_vme": N_("mede-eigenaar (VME)"),
    # measures
    "facade_insulation": N_("gevelisolatie"), "window_frames": N_("ramen"),
    "roof_insulation": N_("dakisolatie"), "cavity_wall_insulation": N_("spouwmuurisolatie"),
    "floor_insulation": N_("vloerisolatie"), "heat_pump": N_("warmtepomp"),
    "solar_pv": N_("zonnepanelen"), "solar_water_heater": N_("zonneboiler"),
    "ventilation": N_("ventilatie"), "facade_garden": N_("geveltuin"),
    "depaving": N_("ontharding"), "rainwater_tank": N_("regenwaterput"),
}


def value_label(value: str | None) -> str:
    if value is None:
        return gettext("onbekend")
    return gettext(VALUE_LABELS[value]) if value in VALUE_LABELS else value


@dataclass(frozen=True, slots=True)
class HouseholdRow:
    """What the suggestion needs of one household (no personal data beyond the address)."""

    household_id: int
    street: str
    house_number: str
    life_phase: str | None = None
    budget_band: str | None = None
    profile: str | None = None
    tenure: str | None = None
    measure: str | None = None


@dataclass
class ProposedGroup:
    name: str
    criteria: dict[str, str]
    household_ids: list[int]

    @property
    def size(self) -> int:
        return len(self.household_ids)


@dataclass(frozen=True)
class Unassigned:
    household_id: int
    reason: str


@dataclass
class Suggestion:
    groups: list[ProposedGroup] = field(default_factory=list)
    unassigned: list[Unassigned] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "groups": [
                {"name": group.name, "criteria": group.criteria,
                 "household_ids": group.household_ids, "size": group.size}
                for group in self.groups
            ],
            "unassigned": [
                {"household_id": item.household_id, "reason": item.reason}
                for item in self.unassigned
            ],
        }


_NUMBER = re.compile(r"(\d+)")


def house_number_key(house_number: str) -> tuple[int, int, str]:
    """Natural order: "9" < "10" < "10A" < "10B"; numbers without digits go last."""
    text = house_number.strip().lower()
    match = _NUMBER.search(text)
    if match is None:
        return (1, 0, text)
    return (0, int(match.group(1)), text[match.end():])


def sort_by_neighbours(rows: Iterable[HouseholdRow]) -> list[HouseholdRow]:
    """Rows ordered by street, natural house number, then id.

    Streets and house numbers repeat a lot: each distinct one is ranked once, and the rows are
    sorted on one integer built from the ranks, which keeps 100,000 rows well under a second.
    """
    rows = list(rows)
    streets = {row.street for row in rows}
    numbers = {row.house_number for row in rows}
    street_rank = {street: rank for rank, street in enumerate(
        sorted(streets, key=lambda street: (" ".join(street.lower().split()), street)))}
    number_rank = {number: rank for rank, number in enumerate(
        sorted(numbers, key=lambda number: (house_number_key(number), number)))}
    id_span = max((row.household_id for row in rows), default=0) + 1
    number_span = len(numbers) + 1
    return sorted(rows, key=lambda row: (
        (street_rank[row.street] * number_span + number_rank[row.house_number]) * id_span
        + row.household_id
    ))


def balanced_sizes(count: int, min_size: int, max_size: int) -> list[int]:
    """Sizes for `count` households: as few groups as `max_size` allows, sizes differing by at
    most one (23 with max 10 → 8, 8, 7). When no balanced cut fits min..max (13 with 7..12),
    full groups of max_size are made and the rest is left over."""
    if count < min_size:
        return []
    groups = math.ceil(count / max_size)
    if groups * min_size <= count:
        base, extra = divmod(count, groups)
        return [base + 1] * extra + [base] * (groups - extra)
    return [max_size] * (groups - 1)


def _criteria_text(criteria: dict[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in criteria.items())


def suggest_groups(
    rows: Iterable[HouseholdRow], *, by: Sequence[str], min_size: int, max_size: int
) -> Suggestion:
    """Partition `rows` by the keys `by`, then cut each part into balanced groups of neighbours.

    O(n log n): one sort on (street, natural house number), then one pass. Parts come out in the
    order of their key values; rows whose value for a key is unknown fit no group.
    """
    if min_size < 1 or max_size < min_size:
        raise ValueError("need 1 <= min_size <= max_size")
    keys = list(dict.fromkeys(by))
    values_of = attrgetter(*keys) if keys else (lambda _row: ())
    parts: dict[tuple[str, ...], list[HouseholdRow]] = {}
    suggestion = Suggestion()
    for row in sort_by_neighbours(rows):
        values = values_of(row)
        if len(keys) == 1:
            values = (values,)
        if None in values or "" in values:
            missing = [key for key, value in zip(keys, values, strict=True) if not value]
            suggestion.unassigned.append(Unassigned(
                row.household_id,
                gettext("%(keys)s onbekend") % {"keys": ", ".join(missing)},
            ))
            continue
        parts.setdefault(values, []).append(row)

    number = 0
    group_name = gettext("Groep %(number)d")
    for values in sorted(parts):
        members = parts[values]
        criteria = dict(zip(keys, values, strict=True))
        sizes = balanced_sizes(len(members), min_size, max_size)
        if not sizes:
            described = _criteria_text(criteria)
            reason = (gettext("te weinig huishoudens met %(criteria)s: %(count)d < %(min)d")
                      % {"criteria": described, "count": len(members), "min": min_size}
                      if described else
                      gettext("te weinig huishoudens: %(count)d < %(min)d")
                      % {"count": len(members), "min": min_size})
            suggestion.unassigned.extend(Unassigned(row.household_id, reason) for row in members)
            continue
        start = 0
        label = " · ".join(value_label(value) for value in values)
        for size in sizes:
            number += 1
            chunk = members[start:start + size]
            start += size
            name = group_name % {"number": number}
            suggestion.groups.append(ProposedGroup(
                name=f"{name} · {label}" if label else name,
                criteria=dict(criteria),
                household_ids=[row.household_id for row in chunk],
            ))
        if start < len(members):
            reason = gettext(
                "past niet in groepen van %(min)d tot %(max)d: %(count)d over na %(groups)d "
                "volle groep(en)"
            ) % {"min": min_size, "max": max_size, "count": len(members) - start,
                 "groups": len(sizes)}
            suggestion.unassigned.extend(
                Unassigned(row.household_id, reason) for row in members[start:]
            )
    return suggestion


class SuggestRequest(CleanInput):
    """The input of a suggestion (API body and HTML form alike)."""

    by: list[str] = Field(default_factory=list)
    min_size: int = Field(default=DEFAULT_MIN_SIZE, ge=1, le=MAX_GROUP_SIZE)
    max_size: int = Field(default=DEFAULT_MAX_SIZE, ge=1, le=MAX_GROUP_SIZE)
    offer_id: DbId | None = None
    measure: Measure | None = None

    @field_validator("by")
    @classmethod
    def known_keys(cls, value: list[str]) -> list[str]:
        unknown = [key for key in value if key not in GROUP_KEYS]
        if unknown:
            raise ValueError(f"unknown grouping key(s): {', '.join(unknown)}; "
                             f"choose from {', '.join(GROUP_KEYS)}")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def sizes_in_order(self) -> "SuggestRequest":
        if self.max_size < self.min_size:
            raise ValueError("max_size must be at least min_size")
        return self


@dataclass(frozen=True)
class Scope:
    """What a suggestion is about: the offer and/or the measure its groups will carry."""

    offer: Offer | None
    measure: str | None


def resolve_scope(session: Session, campaign_id: int, request: SuggestRequest) -> Scope:
    """The offer (of this campaign) and measure named by a request; a wrong offer is Invalid."""
    offer = None
    if request.offer_id is not None:
        offer = session.exec(
            select(Offer).where(Offer.id == request.offer_id, Offer.campaign_id == campaign_id)
        ).first()
        if offer is None:
            raise Invalid(N_("Dit aanbod hoort niet bij deze wijk."), field="offer_id")
        if request.measure is not None and request.measure != offer.measure:
            raise Invalid(N_("Deze maatregel hoort niet bij het gekozen aanbod."),
                          field="measure")
    measure = offer.measure if offer is not None else (
        request.measure.value if request.measure else None)
    return Scope(offer=offer, measure=measure)


def load_rows(session: Session, campaign_id: int, request: SuggestRequest,
              scope: Scope) -> list[HouseholdRow]:
    """The chosen households of a campaign as plain rows, in one query."""
    per_measure = scope.measure is None and "measure" in request.by
    measure_column = col(Participation.measure) if per_measure else None
    columns: list[Any] = [Household.id, Household.street, Household.house_number,
                          Household.life_phase, Household.budget_band, Household.profile,
                          Household.tenure]
    if measure_column is not None:
        columns.append(measure_column)
    statement = (
        select(*columns)
        .join(Participation, col(Participation.household_id) == col(Household.id))
        .where(
            Household.campaign_id == campaign_id,
            col(Household.erased_at).is_(None),
            col(Participation.status).in_([status.value for status in HOLDS_A_PLACE]),
        )
        .distinct()
    )
    if scope.offer is not None:
        statement = statement.where(Participation.offer_id == scope.offer.id)
    elif scope.measure is not None:
        statement = statement.where(Participation.measure == scope.measure)
    if per_measure:
        statement = statement.where(col(Participation.measure).is_not(None))
    locked = set(session.exec(
        select(GroupMember.household_id, Group.measure)
        .join(Group, col(Group.id) == col(GroupMember.group_id))
        .where(Group.campaign_id == campaign_id, fixed_group())
    ).all())
    rows = []
    for values in session.exec(statement).all():
        measure = values[7] if per_measure else scope.measure
        if (values[0], measure) in locked:
            continue
        rows.append(HouseholdRow(
            household_id=values[0], street=values[1], house_number=values[2],
            life_phase=values[3], budget_band=values[4], profile=values[5], tenure=values[6],
            measure=measure,
        ))
    return rows


def fixed_group() -> Any:
    """Groups a suggestion leaves alone: locked, or already with a batch or a quote request."""
    return or_(
        col(Group.locked).is_(True),
        col(Group.id).in_(select(Batch.group_id)),
        col(Group.id).in_(select(QuoteRequest.group_id)),
    )


def suggest_for_campaign(
    session: Session, principal: Principal, slug: str, request: SuggestRequest, *,
    ip: str | None = None
) -> tuple[Suggestion, Scope]:
    """A suggestion for one of the caller's campaigns; nothing is saved. With `ip`, a refused
    access is written to the audit log."""
    campaign = get_staff_campaign(session, principal, slug, ip=ip)
    assert campaign.id is not None
    scope = resolve_scope(session, campaign.id, request)
    rows = load_rows(session, campaign.id, request, scope)
    suggestion = suggest_groups(rows, by=request.by, min_size=request.min_size,
                                max_size=request.max_size)
    return suggestion, scope
