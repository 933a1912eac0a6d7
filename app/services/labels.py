"""Dutch labels (translated where shown) for the vocabulary's enum values: one place for all."""

from app.i18n import N_
from app.models.enums import (
    BudgetBand,
    DwellingType,
    Horizon,
    HouseholdSource,
    LifePhase,
    Measure,
    Profile,
    Tenure,
    Unit,
)

MEASURE_LABELS: dict[str, str] = {
    Measure.facade_insulation: N_("Gevelisolatie"),
    Measure.window_frames: N_("Nieuwe ramen"),
    Measure.roof_insulation: N_("Dakisolatie"),
    Measure.cavity_wall_insulation: N_("Spouwmuurisolatie"),
    Measure.floor_insulation: N_("Vloerisolatie"),
    Measure.heat_pump: N_("Warmtepomp"),
    Measure.solar_pv: N_("Zonnepanelen"),
    Measure.solar_water_heater: N_("Zonneboiler"),
    Measure.ventilation: N_("Ventilatie"),
    Measure.facade_garden: N_("Geveltuin"),
    Measure.depaving: N_("Tegels eruit (ontharding)"),
    Measure.rainwater_tank: N_("Regenwaterput"),
}
HORIZON_LABELS: dict[str, str] = {
    Horizon.within_1y: N_("binnen 1 jaar"),
    Horizon.within_5y: N_("binnen 5 jaar"),
    Horizon.no: N_("niet"),
}
UNIT_LABELS: dict[str, str] = {
    Unit.m2: N_("m²"),
    Unit.piece: N_("stuk"),
    Unit.kwp: N_("kWp"),
    Unit.dwelling: N_("woning"),
}
TENURE_LABELS: dict[str, str] = {
    Tenure.owner_occupier: N_("Eigenaar-bewoner"),
    Tenure.landlord: N_("Verhuurder"),
    Tenure.private_tenant: N_("Huurder (privé)"),
    Tenure.social_tenant: N_("Sociale huurder"),
    Tenure.co_owner_vme: N_("Mede-eigenaar (VME)"),
}
LIFE_PHASE_LABELS: dict[str, str] = {
    LifePhase.starter: N_("Starter"),
    LifePhase.young_family: N_("Jong gezin"),
    LifePhase.family_teenagers: N_("Gezin met tieners"),
    LifePhase.single: N_("Alleenstaande"),
    LifePhase.couple: N_("Koppel"),
    LifePhase.senior: N_("Senior"),
}
BUDGET_BAND_LABELS: dict[str, str] = {
    BudgetBand.lt_5k: N_("minder dan € 5.000"),
    BudgetBand.b5k_15k: N_("€ 5.000 tot € 15.000"),
    BudgetBand.b15k_30k: N_("€ 15.000 tot € 30.000"),
    BudgetBand.gt_30k: N_("meer dan € 30.000"),
    BudgetBand.unknown: N_("weet het niet"),
}
PROFILE_LABELS: dict[str, str] = {
    Profile.can_and_will: N_("Kan en wil"),
    Profile.can_but_wont: N_("Kan maar wil (nog) niet"),
    Profile.cannot_but_will: N_("Wil maar kan niet (alleen)"),
    Profile.cannot_and_wont: N_("Kan niet en wil niet"),
}
DWELLING_TYPE_LABELS: dict[str, str] = {
    DwellingType.row_house: N_("Rijwoning"),
    DwellingType.semi_detached: N_("Halfopen bebouwing"),
    DwellingType.detached: N_("Open bebouwing"),
    DwellingType.apartment: N_("Appartement"),
}
SOURCE_LABELS: dict[str, str] = {
    HouseholdSource.online: N_("Online"),
    HouseholdSource.paper: N_("Op papier"),
}
