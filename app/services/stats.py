"""Dashboard figures of one campaign, aggregated in SQL (GROUP BY): the funnel, participation
per street, the social mix of signed-up households against all of the wijk's, the klimaattafel
results, capacity and waitlist per offer, and the LEKP count of collective renovations.
`tables` turns them into captioned tables, shown next to the charts and downloadable as CSV.

Definitions:
- *signed up*: a household with at least one participation that is not cancelled (waitlisted
  counts: they signed up);
- a funnel stage counts the households with a participation that ever reached that stage or a
  later one (from the status history, so a cancelled sign-up still counts for what it reached);
- *interest* counts the wijk's households plus klimaattafel submissions by people who are not
  (yet) a household;
- *collective renovation* (LEKP): a completed participation of a household that is a member of
  a group with a batch.
"""

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from app.i18n import N_, gettext
from app.models import (
    Batch,
    Campaign,
    Group,
    GroupMember,
    Household,
    HouseholdProgress,
    InterestSubmission,
    InterestTally,
    MixTally,
    Offer,
    Participation,
    StreetTally,
)
from app.models.enums import ParticipationStatus as S
from app.services.auth import Principal
from app.services.campaigns import get_staff_campaign
from app.services.errors import NotFound
from app.services.grouping import value_label
from app.services.labels import HORIZON_LABELS
from app.services.status_flow import HOLDS_A_PLACE
from app.services.validation import without_invisible_characters

MIX_KEYS = ("tenure", "life_phase", "budget_band", "profile")
MIX_LABELS = {"tenure": N_("Eigendom"), "life_phase": N_("Levensfase"),
              "budget_band": N_("Budget"), "profile": N_("Kan/wil-profiel")}

_AFTER_OFFER = [S.offered, S.accepted, S.declined, S.scheduled, S.in_progress, S.completed]
# Each stage with the statuses that show it was reached.
FUNNEL_STAGES: list[tuple[str, str, list[S]]] = [
    ("assigned", N_("Toegewezen"), [S.assigned, S.visit_planned, S.measured, *_AFTER_OFFER]),
    ("visit_planned", N_("Bezocht"), [S.visit_planned, S.measured, *_AFTER_OFFER]),
    ("offered", N_("Offerte"), _AFTER_OFFER),
    ("accepted", N_("Aanvaard"), [S.accepted, S.scheduled, S.in_progress, S.completed]),
    ("completed", N_("Klaar"), [S.completed]),
]
STAGE_LABELS = {"interest": N_("Interesse"), "registered": N_("Ingeschreven"),
                **{key: label for key, label, _statuses in FUNNEL_STAGES}}


@dataclass
class CampaignStats:
    funnel: list[dict[str, Any]] = field(default_factory=list)
    streets: list[dict[str, Any]] = field(default_factory=list)
    mix: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    klimaattafel: list[dict[str, Any]] = field(default_factory=list)
    offers: list[dict[str, Any]] = field(default_factory=list)
    lekp: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"funnel": self.funnel, "streets": self.streets, "mix": self.mix,
                "klimaattafel": self.klimaattafel, "offers": self.offers, "lekp": self.lekp}


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# How many funnel stages a status shows were reached. The stages' status sets are nested (each
# holds the next), so "reached stage k" is "reached a status of rank >= k". The database keeps
# each household's furthest rank in HouseholdProgress with these same ranks (written out in the
# migration that creates it; tests/test_scale_queries.py checks that they agree).
STAGE_RANKS: dict[str, int] = {
    status.value: sum(status in statuses for _key, _label, statuses in FUNNEL_STAGES)
    for status in S
}
assert all(set(later) <= set(earlier) for (_k1, _l1, earlier), (_k2, _l2, later)
           in zip(FUNNEL_STAGES, FUNNEL_STAGES[1:], strict=False)), "funnel stages must nest"


def _count_households(session: Session, campaign_id: int) -> int:
    """Every household of the campaign, erased ones included (they still are a dwelling)."""
    return session.exec(select(func.count()).select_from(Household).where(
        Household.campaign_id == campaign_id)).one()


def _funnel(session: Session, campaign_id: int, households: int) -> list[dict[str, Any]]:
    loose_submissions = session.exec(select(func.count()).select_from(InterestSubmission).where(
        InterestSubmission.campaign_id == campaign_id,
        col(InterestSubmission.household_id).is_(None))).one()
    # Households with a sign-up by the furthest stage any of them reached (0: none got past
    # registered or waitlisted), as the database keeps it in HouseholdProgress.
    by_stage = dict(session.exec(
        select(HouseholdProgress.stage, func.count())
        .where(HouseholdProgress.campaign_id == campaign_id)
        .group_by(col(HouseholdProgress.stage))
    ).all())
    rows = [{"stage": "interest", "count": households + loose_submissions},
            {"stage": "registered", "count": sum(by_stage.values())}]
    rows += [{"stage": key, "count": sum(count for stage, count in by_stage.items()
                                         if stage >= rank)}
             for rank, (key, _label, _statuses) in enumerate(FUNNEL_STAGES, start=1)]
    return rows


@dataclass
class _HouseholdCounts:
    """The wijk's households that are not erased, and the signed-up ones among them, per street
    (in the database's order of streets) and per value of each social-mix key."""

    streets: list[tuple[str, int, int]] = field(default_factory=list)
    mix: dict[str, dict[str | None, list[int]]] = field(
        default_factory=lambda: {key: {} for key in MIX_KEYS})

    def add_mix(self, key: str, value: str | None, every: int, joined: int) -> None:
        counts = self.mix[key].setdefault(value, [0, 0])
        counts[0] += every
        counts[1] += joined


def _household_counts(session: Session, campaign_id: int) -> _HouseholdCounts:
    """From the tallies the database keeps per street and per combination of the social-mix
    answers (StreetTally, MixTally): a row per street and a few hundred rows, whatever the
    number of households."""
    result = _HouseholdCounts()
    result.streets = [(name, every, joined) for name, every, joined in session.exec(
        select(StreetTally.street, StreetTally.households, StreetTally.signed_up)
        .where(StreetTally.campaign_id == campaign_id, col(StreetTally.households) > 0)
        .order_by(col(StreetTally.street))).all()]
    columns = [col(getattr(MixTally, key)) for key in MIX_KEYS]
    for *values, every, joined in session.exec(
        select(*columns, MixTally.households, MixTally.signed_up)  # type: ignore[call-overload]
        .where(MixTally.campaign_id == campaign_id, col(MixTally.households) > 0)
    ).all():
        for key, value in zip(MIX_KEYS, values, strict=True):
            result.add_mix(key, value or None, every, joined)
    return result


def _streets(counts: _HouseholdCounts) -> list[dict[str, Any]]:
    return [{"street": name, "households": total, "signed_up": joined,
             "share": _share(joined, total)} for name, total, joined in counts.streets]


def _mix(counts: _HouseholdCounts) -> dict[str, list[dict[str, Any]]]:
    mix: dict[str, list[dict[str, Any]]] = {}
    for key in MIX_KEYS:
        total_all = sum(every for every, _joined in counts.mix[key].values())
        total_signed = sum(joined for _every, joined in counts.mix[key].values())
        mix[key] = sorted(
            ({"value": value, "all": every, "signed_up": joined,
              "share_all": _share(every, total_all),
              "share_signed_up": _share(joined, total_signed)}
             for value, (every, joined) in counts.mix[key].items()),
            key=lambda row: (row["value"] is None, row["value"] or ""),
        )
    return mix


def _klimaattafel(session: Session, campaign_id: int) -> list[dict[str, Any]]:
    """From the tally the database keeps per measure and horizon (see InterestTally)."""
    result = session.exec(
        select(InterestTally.measure, InterestTally.horizon, InterestTally.answers)
        .where(InterestTally.campaign_id == campaign_id, col(InterestTally.answers) > 0)
        .order_by(col(InterestTally.measure), col(InterestTally.horizon))
    ).all()
    return [{"measure": measure, "horizon": horizon, "count": count}
            for measure, horizon, count in result]


def _offers(session: Session, campaign_id: int) -> list[dict[str, Any]]:
    holding = [status.value for status in HOLDS_A_PLACE]
    result = session.exec(
        select(  # type: ignore[call-overload]
            Offer.id, Offer.title, Offer.measure, Offer.capacity,
            func.count(case((col(Participation.status).in_(holding), Participation.id))),
            func.count(case((col(Participation.status) == S.waitlisted, Participation.id))),
        )
        .outerjoin(Participation, col(Participation.offer_id) == col(Offer.id))
        .where(Offer.campaign_id == campaign_id)
        .group_by(col(Offer.id), col(Offer.title), col(Offer.measure), col(Offer.capacity))
        .order_by(col(Offer.id))
    ).all()
    return [{"id": offer_id, "title": title, "measure": measure, "capacity": capacity,
             "participants": participants, "waitlisted": waitlisted,
             "remaining": max(capacity - participants, 0)}
            for offer_id, title, measure, capacity, participants, waitlisted in result]


def _lekp(session: Session, campaign_id: int, dwellings: int) -> dict[str, Any]:
    in_batch = (
        select(GroupMember.household_id)
        .join(Group, col(Group.id) == col(GroupMember.group_id))
        .join(Batch, col(Batch.group_id) == col(Group.id))
        .where(Group.campaign_id == campaign_id)
    )
    renovations = session.exec(
        select(func.count()).select_from(Participation)
        .join(Household, col(Household.id) == col(Participation.household_id))
        .where(Household.campaign_id == campaign_id, Participation.status == S.completed,
               col(Household.id).in_(in_batch))
    ).one()
    per_1000 = round(renovations * 1000 / dwellings, 1) if dwellings else None
    return {"collective_renovations": renovations, "dwellings": dwellings,
            "per_1000_dwellings": per_1000}


def campaign_stats(session: Session, campaign: Campaign) -> CampaignStats:
    """Every figure in a fixed number of aggregate queries (none reads a row per household
    into Python, none counts the klimaattafel's answers one by one)."""
    assert campaign.id is not None
    households = _count_households(session, campaign.id)
    counts = _household_counts(session, campaign.id)
    return CampaignStats(
        funnel=_funnel(session, campaign.id, households),
        streets=_streets(counts),
        mix=_mix(counts),
        klimaattafel=_klimaattafel(session, campaign.id),
        offers=_offers(session, campaign.id),
        lekp=_lekp(session, campaign.id, households),
    )


def stats_for_staff(session: Session, principal: Principal, slug: str, *,
                    ip: str | None = None) -> tuple[Campaign, CampaignStats]:
    """Aggregates only (no personal data); with `ip`, a refused access is audited."""
    campaign = get_staff_campaign(session, principal, slug, ip=ip)
    return campaign, campaign_stats(session, campaign)


@dataclass
class Table:
    """One dashboard table: its CSV name, caption, column headers and rows (plain values);
    `chart` holds (label, value) bars for the chart beside it, if any."""

    key: str
    caption: str
    headers: list[str]
    rows: list[list[Any]]
    numeric: list[bool]
    chart: list[tuple[str, float]] = field(default_factory=list)
    chart_unit: str = ""


def _pct(share: float | None) -> str:
    return "" if share is None else f"{share * 100:.1f}".replace(".", ",") + " %"


def tables(stats: CampaignStats) -> list[Table]:
    """The dashboard's tables, in page order, translated for the current language."""
    result = [
        Table(
            "funnel", gettext("Van interesse tot uitgevoerde werken (huishoudens)"),
            [gettext("Stap"), gettext("Huishoudens")],
            [[gettext(STAGE_LABELS[row["stage"]]), row["count"]] for row in stats.funnel],
            [False, True],
            chart=[(gettext(STAGE_LABELS[row["stage"]]), row["count"]) for row in stats.funnel],
        ),
        Table(
            "straten", gettext("Deelname per straat"),
            [gettext("Straat"), gettext("Huishoudens"), gettext("Ingeschreven"),
             gettext("Aandeel")],
            [[row["street"] or gettext("onbekend"), row["households"], row["signed_up"],
              _pct(row["share"])] for row in stats.streets],
            [False, True, True, True],
            chart=[(row["street"] or gettext("onbekend"), round((row["share"] or 0) * 100, 1))
                   for row in stats.streets],
            chart_unit="%",
        ),
    ]
    for key in MIX_KEYS:
        rows = stats.mix.get(key, [])
        result.append(Table(
            f"mix-{key.replace('_', '-')}",
            gettext("Sociale mix: %(what)s van ingeschreven huishoudens en van de hele wijk")
            % {"what": gettext(MIX_LABELS[key]).lower()},
            [gettext(MIX_LABELS[key]), gettext("Ingeschreven"), gettext("Aandeel ingeschreven"),
             gettext("Hele wijk"), gettext("Aandeel hele wijk")],
            [[value_label(row["value"]), row["signed_up"], _pct(row["share_signed_up"]),
              row["all"], _pct(row["share_all"])] for row in rows],
            [False, True, True, True, True],
            chart=[(value_label(row["value"]), round((row["share_signed_up"] or 0) * 100, 1))
                   for row in rows],
            chart_unit="%",
        ))
    result += [
        Table(
            "klimaattafel", gettext("Klimaattafel: wie wil welke maatregel en wanneer"),
            [gettext("Maatregel"), gettext("Wanneer"), gettext("Antwoorden")],
            [[value_label(row["measure"]), gettext(HORIZON_LABELS.get(row["horizon"],
                                                                      row["horizon"])),
              row["count"]] for row in stats.klimaattafel],
            [False, False, True],
        ),
        Table(
            "aanbod", gettext("Capaciteit en wachtlijst per aanbod"),
            [gettext("Aanbod"), gettext("Capaciteit"), gettext("Deelnemers"),
             gettext("Vrije plaatsen"), gettext("Wachtlijst")],
            [[row["title"], row["capacity"], row["participants"], row["remaining"],
              row["waitlisted"]] for row in stats.offers],
            [False, True, True, True, True],
            chart=[(row["title"], row["participants"]) for row in stats.offers],
        ),
        Table(
            "lekp", gettext("LEKP: collectieve renovaties"),
            [gettext("Indicator"), gettext("Waarde")],
            [[gettext("Collectieve renovaties (uitgevoerd, in een batch)"),
              stats.lekp.get("collective_renovations", 0)],
             [gettext("Woningen in de wijk (gekende huishoudens)"),
              stats.lekp.get("dwellings", 0)],
             [gettext("Collectieve renovaties per 1.000 woningen"),
              "" if stats.lekp.get("per_1000_dwellings") is None
              else str(stats.lekp["per_1000_dwellings"]).replace(".", ",")]],
            [False, True],
        ),
    ]
    return result


def table_by_key(stats: CampaignStats, key: str) -> Table:
    for table in tables(stats):
        if table.key == key:
            return table
    raise NotFound(N_("Deze tabel bestaat niet."))


def table_csv(table: Table) -> str:
    """CSV for spreadsheets in Belgium: `;` separated, UTF-8 with a byte-order mark."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow(["" if value is None else _csv_safe(value) for value in row])
    return "\ufeff" + buffer.getvalue()


def _csv_safe(value: Any) -> Any:
    """Defuse spreadsheet formulas in text cells (street names and titles come from users);
    invisible or direction-changing characters are left out first."""
    if isinstance(value, str):
        value = without_invisible_characters(value)
        if value[:1] in ("=", "+", "-", "@"):
            return "'" + value
    return value
