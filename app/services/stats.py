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

from sqlalchemy import case, distinct, func
from sqlmodel import Session, col, select

from app.i18n import N_, gettext
from app.models import (
    Batch,
    Campaign,
    Group,
    GroupMember,
    Household,
    Interest,
    InterestSubmission,
    Offer,
    Participation,
    ParticipationEvent,
)
from app.models.enums import ParticipationStatus as S
from app.services.auth import Principal
from app.services.campaigns import get_staff_campaign
from app.services.errors import NotFound
from app.services.grouping import value_label
from app.services.labels import HORIZON_LABELS
from app.services.status_flow import HOLDS_A_PLACE

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


def _signed_up_ids(campaign_id: int) -> Any:
    """Ids of the campaign's households with a sign-up that is not cancelled (a subquery)."""
    return (
        select(Participation.household_id)
        .join(Household, col(Household.id) == col(Participation.household_id))
        .where(Household.campaign_id == campaign_id, Participation.status != S.cancelled)
    )


def _funnel(session: Session, campaign_id: int) -> list[dict[str, Any]]:
    households = session.exec(select(func.count()).select_from(Household).where(
        Household.campaign_id == campaign_id)).one()
    loose_submissions = session.exec(select(func.count()).select_from(InterestSubmission).where(
        InterestSubmission.campaign_id == campaign_id,
        col(InterestSubmission.household_id).is_(None))).one()
    registered = session.exec(
        select(func.count(distinct(col(Participation.household_id))))
        .join(Household, col(Household.id) == col(Participation.household_id))
        .where(Household.campaign_id == campaign_id)
    ).one()
    reached_columns = [
        func.count(distinct(case(
            (col(ParticipationEvent.to_status).in_([status.value for status in statuses]),
             Participation.household_id),
        ))).label(key)
        for key, _label, statuses in FUNNEL_STAGES
    ]
    reached = session.exec(
        select(*reached_columns)
        .select_from(ParticipationEvent)
        .join(Participation, col(Participation.id) == col(ParticipationEvent.participation_id))
        .join(Household, col(Household.id) == col(Participation.household_id))
        .where(Household.campaign_id == campaign_id)
    ).one()
    rows = [{"stage": "interest", "count": households + loose_submissions},
            {"stage": "registered", "count": registered}]
    rows += [{"stage": key, "count": int(reached[index] or 0)}  # type: ignore[index]
             for index, (key, _label, _statuses) in enumerate(FUNNEL_STAGES)]
    return rows


def _streets(session: Session, campaign_id: int) -> list[dict[str, Any]]:
    signed_up = col(Household.id).in_(_signed_up_ids(campaign_id))
    result = session.exec(
        select(Household.street, func.count(),
               func.sum(case((signed_up, 1), else_=0)))
        .where(Household.campaign_id == campaign_id, col(Household.erased_at).is_(None))
        .group_by(col(Household.street))
        .order_by(col(Household.street))
    ).all()
    return [{"street": street, "households": total, "signed_up": int(joined or 0),
             "share": _share(int(joined or 0), total)} for street, total, joined in result]


def _mix(session: Session, campaign_id: int) -> dict[str, list[dict[str, Any]]]:
    signed_up = col(Household.id).in_(_signed_up_ids(campaign_id))
    mix: dict[str, list[dict[str, Any]]] = {}
    for key in MIX_KEYS:
        column = getattr(Household, key)
        result = session.exec(
            select(column, func.count(), func.sum(case((signed_up, 1), else_=0)))
            .where(Household.campaign_id == campaign_id, col(Household.erased_at).is_(None))
            .group_by(column)
        ).all()
        total_all = sum(count for _value, count, _joined in result)
        total_signed = sum(int(joined or 0) for _value, _count, joined in result)
        mix[key] = sorted(
            ({"value": value, "all": count, "signed_up": int(joined or 0),
              "share_all": _share(count, total_all),
              "share_signed_up": _share(int(joined or 0), total_signed)}
             for value, count, joined in result),
            key=lambda row: (row["value"] is None, row["value"] or ""),
        )
    return mix


def _klimaattafel(session: Session, campaign_id: int) -> list[dict[str, Any]]:
    result = session.exec(
        select(Interest.measure, Interest.horizon, func.count())
        .where(Interest.campaign_id == campaign_id)
        .group_by(col(Interest.measure), col(Interest.horizon))
        .order_by(col(Interest.measure), col(Interest.horizon))
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


def _lekp(session: Session, campaign_id: int) -> dict[str, Any]:
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
               col(Participation.household_id).in_(in_batch))
    ).one()
    dwellings = session.exec(select(func.count()).select_from(Household).where(
        Household.campaign_id == campaign_id)).one()
    per_1000 = round(renovations * 1000 / dwellings, 1) if dwellings else None
    return {"collective_renovations": renovations, "dwellings": dwellings,
            "per_1000_dwellings": per_1000}


def campaign_stats(session: Session, campaign: Campaign) -> CampaignStats:
    assert campaign.id is not None
    return CampaignStats(
        funnel=_funnel(session, campaign.id),
        streets=_streets(session, campaign.id),
        mix=_mix(session, campaign.id),
        klimaattafel=_klimaattafel(session, campaign.id),
        offers=_offers(session, campaign.id),
        lekp=_lekp(session, campaign.id),
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
    """Defuse spreadsheet formulas in text cells (street names and titles come from users)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value
