"""Support paths (woonondersteuning per type): per campaign, one path for each kan/wil profile
and one for landlords and tenants, each a list of steps (premium, loan, coach, OCMW, neighbour
ambassador, landlord's obligations, social housing company, other), optionally run by one of
the campaign's coalition partners. Anyone reads a published campaign's paths; staff of the
campaign's organisation replace one at a time; a household's own path follows its tenure
(landlords and tenants) or else its kan/wil profile."""

from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, ValidationError, field_validator
from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.i18n import N_
from app.models import Campaign, Household, Partner, SupportPath, SupportStep
from app.models.base import utcnow
from app.models.enums import PartnerKind, SupportProfile, SupportStepKind, Tenure
from app.services import audit
from app.services.auth import Principal
from app.services.campaigns import bump_content_version, get_public_campaign, get_staff_campaign
from app.services.errors import Invalid
from app.services.validation import CleanInput

MAX_STEPS = 12
PROFILE_ORDER = list(SupportProfile)
# Tenants and landlords renovate through each other: their path is the landlord/tenant one,
# whatever their kan/wil answer.
LANDLORD_TENANT = frozenset({Tenure.landlord, Tenure.private_tenant, Tenure.social_tenant})

PROFILE_LABELS: dict[str, str] = {
    SupportProfile.can_and_will: N_("Ik kan en ik wil renoveren"),
    SupportProfile.can_but_wont: N_("Ik kan renoveren, maar twijfel nog"),
    SupportProfile.cannot_but_will: N_("Ik wil renoveren, maar heb hulp nodig"),
    SupportProfile.cannot_and_wont: N_("Renoveren lukt nu niet en ik twijfel"),
    SupportProfile.landlord_tenant: N_("Verhuurders en huurders"),
}
STEP_KIND_LABELS: dict[str, str] = {
    SupportStepKind.premium: N_("Premie"),
    SupportStepKind.loan: N_("Lening"),
    SupportStepKind.coach: N_("Renovatiecoach"),
    SupportStepKind.ocmw: N_("OCMW"),
    SupportStepKind.ambassador: N_("Buurtambassadeur"),
    SupportStepKind.landlord: N_("Verhuurder en huurder"),
    SupportStepKind.social_housing: N_("Sociale huisvesting"),
    SupportStepKind.other: N_("Andere hulp"),
}


# --- what is shown ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StepView:
    kind: str
    title: str
    body: str
    partner_name: str | None
    partner_kind: str | None
    url: str | None

    def as_json(self) -> dict[str, Any]:
        partner = None if self.partner_name is None else {"name": self.partner_name,
                                                          "kind": self.partner_kind}
        return {"kind": self.kind, "title": self.title, "body": self.body, "partner": partner,
                "url": self.url}


@dataclass(frozen=True)
class PathView:
    profile: str
    title: str
    summary: str
    steps: list[StepView] = field(default_factory=list)

    @property
    def profile_label(self) -> str:
        return PROFILE_LABELS[self.profile]

    def as_json(self) -> dict[str, Any]:
        return {"profile": self.profile, "title": self.title, "summary": self.summary,
                "steps": [step.as_json() for step in self.steps]}


def paths_of(session: Session, campaign: Campaign,
             profile: str | None = None) -> list[PathView]:
    """The campaign's paths (or one), in profile order, each with its steps: one query (the
    public wijk page counts its queries)."""
    statement = (
        select(SupportPath, SupportStep, Partner)
        .join(SupportStep, col(SupportStep.path_id) == SupportPath.id, isouter=True)
        .join(Partner, col(Partner.id) == SupportStep.partner_id, isouter=True)
        .where(SupportPath.campaign_id == campaign.id)
        .order_by(col(SupportPath.id), col(SupportStep.position))
    )
    if profile is not None:
        statement = statement.where(SupportPath.profile == profile)
    paths: dict[int, SupportPath] = {}
    steps: dict[int, list[StepView]] = {}
    for path, step, partner in session.exec(statement).all():
        paths[path.id] = path  # type: ignore[index]
        if step is not None:
            steps.setdefault(path.id, []).append(StepView(  # type: ignore[arg-type]
                kind=step.kind, title=step.title, body=step.body,
                partner_name=partner.name if partner else None,
                partner_kind=partner.kind if partner else None, url=step.url))
    ordered = sorted(paths.values(), key=lambda p: PROFILE_ORDER.index(SupportProfile(p.profile)))
    return [PathView(p.profile, p.title, p.summary, steps.get(p.id, []))  # type: ignore[arg-type]
            for p in ordered]


def public_paths(session: Session, slug: str) -> list[PathView]:
    """GET /api/v1/campaigns/{slug}/support-paths: a published campaign's paths."""
    return paths_of(session, get_public_campaign(session, slug))


def profile_of(household: Household) -> str | None:
    """Which path is the household's: landlords and tenants the landlord/tenant one, anyone
    else the one of their kan/wil answer; None without either."""
    if household.tenure in LANDLORD_TENANT:
        return SupportProfile.landlord_tenant.value
    return household.profile


def path_for_household(session: Session, household: Household) -> PathView | None:
    """The household's own path in its campaign, or None."""
    profile = profile_of(household)
    campaign = session.get(Campaign, household.campaign_id)
    if profile is None or campaign is None:
        return None
    found = paths_of(session, campaign, profile)
    return found[0] if found else None


# --- staff: replace one path -----------------------------------------------------------------


class PartnerRef(CleanInput):
    name: str = Field(min_length=1, max_length=200)
    kind: PartnerKind


class StepInput(CleanInput):
    kind: SupportStepKind
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=4000)
    partner: PartnerRef | None = None
    url: str | None = Field(default=None, max_length=500)

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(N_("Geef de stap een titel."))
        return value.strip()

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.strip().startswith(("https://", "http://")):
            raise ValueError(N_("Geef een webadres dat begint met https://."))
        return value.strip()


class PathInput(CleanInput):
    title: str = Field(min_length=1, max_length=200)
    summary: str = Field(default="", max_length=2000)
    steps: list[StepInput] = Field(default_factory=list, max_length=MAX_STEPS)

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(N_("Geef het traject een titel."))
        return value.strip()


MSG_FIELD = {
    "title": N_("Geef een titel van hoogstens 200 tekens."),
    "summary": N_("Houd de samenvatting onder 2000 tekens."),
    "steps": N_("Een traject heeft hoogstens 12 stappen."),
    "kind": N_("Kies het soort stap."),
    "body": N_("Houd de uitleg onder 4000 tekens."),
    "url": N_("Geef een webadres van hoogstens 500 tekens."),
    "partner": N_("Kies een partner van deze wijk."),
}
MSG_UNKNOWN_PARTNER = N_("Deze partner werkt niet mee aan deze wijk. Kies een partner uit de "
                         "lijst van de wijk.")


def parse_path_input(data: dict[str, Any]) -> PathInput:
    """Validate; the first problem is raised as Invalid naming its field (`steps.2.title`)."""
    try:
        return PathInput.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(part) for part in error["loc"]]
        name = next((part for part in reversed(loc) if part in MSG_FIELD), loc[0] if loc else "")
        cause = error.get("ctx", {}).get("error")
        message = str(cause) if error["type"] == "value_error" and cause else MSG_FIELD.get(
            name, N_("Deze waarde klopt niet."))
        raise Invalid(message, field=".".join(loc) or None) from exc


def replace_path(session: Session, principal: Principal, slug: str, profile: SupportProfile,
                 data: PathInput, *, ip: str = "") -> PathView:
    """PUT /api/v1/campaigns/{slug}/support-paths/{profile}: the path becomes `data`. A step's
    partner must be one of the campaign's coalition partners (by name and kind)."""
    campaign = get_staff_campaign(session, principal, slug)
    partners = {(p.name, p.kind): p for p in session.exec(
        select(Partner).where(Partner.campaign_id == campaign.id)).all()}
    partner_ids: list[int | None] = []
    for index, step in enumerate(data.steps):
        if step.partner is None:
            partner_ids.append(None)
            continue
        found = partners.get((step.partner.name.strip(), step.partner.kind.value))
        if found is None:
            raise Invalid(MSG_UNKNOWN_PARTNER, field=f"steps.{index}.partner")
        partner_ids.append(found.id)
    path = session.exec(select(SupportPath).where(
        SupportPath.campaign_id == campaign.id, SupportPath.profile == profile.value)).first()
    if path is None:
        path = SupportPath(campaign_id=campaign.id, profile=profile.value,  # type: ignore[arg-type]
                           title=data.title)
    path.title, path.summary, path.updated_at = data.title, data.summary.strip(), utcnow()
    session.add(path)
    session.flush()
    session.exec(delete(SupportStep).where(col(SupportStep.path_id) == path.id))  # type: ignore[call-overload]
    session.add_all(
        SupportStep(path_id=path.id, position=index, kind=step.kind.value,  # type: ignore[arg-type]
                    title=step.title, body=step.body.strip(), partner_id=partner_id,
                    url=step.url)
        for index, (step, partner_id) in enumerate(zip(data.steps, partner_ids, strict=True)))
    bump_content_version(session, campaign)
    audit.record(session, principal, action="support_path.update", object_type="support_path",
                 object_id=path.id, organisation_id=campaign.organisation_id, ip=ip)
    session.flush()
    return paths_of(session, campaign, profile.value)[0]


def staff_paths(session: Session, principal: Principal, slug: str
                ) -> tuple[Campaign, list[Partner], dict[str, PathView]]:
    """The campaign (of the caller's organisation), its partners and its paths by profile."""
    campaign = get_staff_campaign(session, principal, slug)
    partners = list(session.exec(select(Partner).where(Partner.campaign_id == campaign.id)
                                 .order_by(col(Partner.id))).all())
    return campaign, partners, {path.profile: path for path in paths_of(session, campaign)}


# --- demo content ----------------------------------------------------------------------------

VERBOUWPREMIE = "https://www.vlaanderen.be/premies-voor-renovatie/mijn-verbouwpremie"
VERBOUWLENING = "https://mijnenergiehuis.be/mijn-verbouwlening"
HUUR_ISOLATIE = "https://www.huur-en-isolatiepremie.be"
RENOVATIEPLICHT = "https://immoid.be/nl/nieuwsdetail/renovatieplicht-van-kracht-in-2023"
BEGELEIDING = ("https://www.knack.be/nieuws/vlaamse-regering-trekt-renovatiebegeleidingspremie-"
               "op-van-400-naar-600-euro/article-news-1682151.html")

# profile -> title, summary, steps (kind, title, body, partner kind or None, url or None).
# Figures come from ../shared/PREMIUMS.md with its sources; "(voorbeeld)" marks what is not
# checked against vlaanderen.be.
DEMO_PATHS: dict[str, tuple[str, str, list[tuple[str, str, str, str | None, str | None]]]] = {
    "can_and_will": (
        "Zelf aan de slag, met de groep",
        "Je wil renoveren en kan het betalen en regelen. Schrijf je in op het aanbod van de "
        "wijk, laat de premie niet liggen en vertel je buren hoe het gaat.",
        [("coach", "Gratis advies van het energiehuis",
          "Het energiehuis kijkt samen met jou welke werken eerst komen en wat je mag "
          "verwachten van de groepsprijs.", "energiehuis", None),
         ("premium", "Mijn VerbouwPremie aanvragen",
          "Je vraagt de premie online aan, binnen 2 jaar na de factuur, als alle werken van "
          "een categorie gefactureerd zijn. Je woning moet minstens 15 jaar oud zijn (5 jaar "
          "voor hernieuwbare energie).", None, VERBOUWPREMIE),
         ("ambassador", "Word buurtambassadeur",
          "Laat je buren je werken zien of vertel op een infoavond hoe het ging.",
          "opbouwwerk", None)]),
    "can_but_wont": (
        "Eerst zien, dan beslissen",
        "Je kan renoveren, maar twijfelt nog. Bekijk eerst wat het oplevert en hoe het bij "
        "een buur ging: zonder verplichting.",
        [("ambassador", "Een woning van een buur bezoeken",
          "Een buurtambassadeur toont zijn of haar gerenoveerde woning en vertelt wat het "
          "kostte en opbracht.", "opbouwwerk", None),
         ("coach", "Een renovatiecoach van het energiehuis",
          "De coach rekent voor jouw woning uit wat je betaalt, wat je terugkrijgt en wat je "
          "per jaar bespaart. Bij een collectieve renovatie betaalt Vlaanderen de begeleiding "
          "mee (renovatiebegeleidingspremie, € 600 per woning sinds 2021).", "energiehuis",
          BEGELEIDING),
         ("premium", "De premie telt mee in je beslissing",
          "Mijn VerbouwPremie geeft meer naarmate je inkomen lager is (4 categorieën sinds "
          "2025). Kijk op de pagina van het aanbod wat jij ongeveer krijgt.", None,
          VERBOUWPREMIE)]),
    "cannot_but_will": (
        "Wel willen, hulp bij betalen en regelen",
        "Je wil renoveren, maar het geld of de tijd ontbreekt. Het energiehuis en het OCMW "
        "zoeken met jou een weg: een lening zonder of met lage rente, de premie vooraf "
        "geregeld, iemand die het papierwerk doet.",
        [("coach", "Het energiehuis belt je op",
          "Een renovatiecoach komt langs, maakt een plan en vraagt de premie voor je aan met "
          "een mandaat: jij hoeft niets online in te vullen.", "energiehuis", VERBOUWPREMIE),
         ("loan", "Mijn VerbouwLening",
          "Een lening van € 1.250 tot € 60.000, af te lossen over hoogstens 25 jaar, aan te "
          "vragen bij het energiehuis vóór de werken beginnen. De rente was 2,75 % vanaf 24 "
          "februari 2024 (voorbeeld: de rente voor 2025 is niet nagekeken). De premie gaat "
          "naar het vervroegd aflossen van de lening.", "energiehuis", VERBOUWLENING),
         ("ocmw", "Het OCMW kijkt mee",
          "Lukt het ook met een lening niet, dan zoekt het OCMW samen met jou naar "
          "ondersteuning. Het gesprek is vertrouwelijk.", "ocmw", None),
         ("premium", "De hoogste premie voor de laagste inkomens",
          "In categorie 4 (de laagste inkomens) is de premie het hoogst. Weet je niet in welke "
          "categorie je valt? Op /mijn en op de pagina van het aanbod rekenen we het uit.",
          None, VERBOUWPREMIE)]),
    "cannot_and_wont": (
        "Geen druk, wel een open deur",
        "Renoveren lukt nu niet en je twijfelt. Dat is goed. We houden je op de hoogte en "
        "je kan altijd langskomen met een vraag.",
        [("ambassador", "Een buur die je kent",
          "Een buurtambassadeur of het buurtwerk komt eens langs om te horen wat je tegenhoudt "
          "en wat wel zou helpen.", "opbouwwerk", None),
         ("ocmw", "Hulp bij je energiefactuur",
          "Is je energiefactuur te hoog? Het OCMW helpt je met je factuur en je contract.",
          "ocmw", None),
         ("other", "Kleine stappen",
          "Het energiehuis geeft tips die weinig kosten, zoals radiatorfolie of tochtstrips.",
          "energiehuis", None)]),
    "landlord_tenant": (
        "Verhuurders en huurders samen",
        "Huur je, of verhuur je een woning? De verhuurder beslist over de werken, de huurder "
        "betaalt de energiefactuur. Samen renoveren loont voor beiden.",
        [("landlord", "Renovatieplicht voor verhuurders",
          "Wie sinds 1 januari 2023 een woning met EPC-label E of F koopt, moet ze binnen 5 "
          "jaar naar label D renoveren (voorbeeld: er zijn berichten over 6 jaar, niet "
          "nagekeken).", None, RENOVATIEPLICHT),
         ("premium", "Huur- en isolatiepremie",
          "Verhuur je aan een kwetsbare huurder en verhoog je de huur niet, dan is er een "
          "premie voor dak-, spouwmuur- en glasisolatie (voorbeeld: € 85 per m² glas, de "
          "bedragen verschillen per bron).", None, HUUR_ISOLATIE),
         ("landlord", "De huurder vraagt, het energiehuis bemiddelt",
          "Als huurder kan je het energiehuis vragen om je verhuurder aan te spreken over "
          "isolatie. Je huur en je woonzekerheid blijven beschermd.", "energiehuis", None),
         ("social_housing", "Sociale huurders",
          "Woon je in een sociale woning? De woonmaatschappij renoveert in dezelfde straten; "
          "vraag haar wanneer jouw woning aan de beurt is.", "woonmaatschappij", None)]),
}


def ensure_demo_paths(session: Session, campaign: Campaign) -> int:
    """The demo's paths (examples, with sources) for the profiles that have none yet."""
    partners = {p.kind: p for p in session.exec(
        select(Partner).where(Partner.campaign_id == campaign.id).order_by(col(Partner.id)))}
    have = {p.profile for p in session.exec(
        select(SupportPath).where(SupportPath.campaign_id == campaign.id))}
    added = 0
    for profile, (title, summary, steps) in DEMO_PATHS.items():
        if profile in have:
            continue
        path = SupportPath(campaign_id=campaign.id, profile=profile, title=title,  # type: ignore[arg-type]
                           summary=summary)
        session.add(path)
        session.flush()
        for index, (kind, step_title, body, partner_kind, url) in enumerate(steps):
            partner = partners.get(partner_kind) if partner_kind else None
            session.add(SupportStep(path_id=path.id, position=index, kind=kind,  # type: ignore[arg-type]
                                    title=step_title, body=body,
                                    partner_id=partner.id if partner else None, url=url))
        added += 1
    session.flush()
    return added
