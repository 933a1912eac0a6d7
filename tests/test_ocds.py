"""The OCDS export validates against the OCDS 1.1 release-package schema with the lots and
techniques extensions (schemas shipped in tests/data/ocds; nothing downloaded), and says what
the campaign procured: one lot and award per offer, batches as call-off contracts."""

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from sqlmodel import Session

from app.models import Batch, Group, GroupMember
from tests import factories

SCHEMAS = Path(__file__).parent / "data" / "ocds"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


@lru_cache
def package_validator() -> Draft4Validator:
    def load(name: str) -> Any:
        return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))

    release = load("release-schema.json")
    for extension in ("lots-extension-release-schema.json",
                      "techniques-extension-release-schema.json"):
        release = merge_patch(release, load(extension))
    package = load("release-package-schema.json")
    registry: Registry = Registry().with_resource(
        release["id"], Resource.from_contents(release, default_specification=DRAFT4))
    return Draft4Validator(package, registry=registry, format_checker=FormatChecker())


def errors_in(document: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in package_validator().iter_errors(document)]


def test_the_validator_rejects_what_the_extensions_forbid() -> None:
    broken = {"uri": "https://example.be/p", "version": "1.1",
              "publishedDate": "2026-01-01T00:00:00Z", "publisher": {"name": "X"},
              "releases": [{"ocid": "ocds-x-1", "id": "1", "date": "2026-01-01T00:00:00Z",
                            "tag": ["tender"], "initiationType": "tender",
                            "tender": {"id": "t", "lots": [{"id": 7}],
                                       "techniques": {"frameworkAgreement": {
                                           "method": "sometimes"}}}}]}

    problems = errors_in(broken)

    assert any("lots/0/id" in problem for problem in problems)
    assert any("frameworkAgreement/method" in problem for problem in problems)


def test_a_campaign_with_offers_and_a_batch_exports_a_valid_release_package(
    client: TestClient, db_session: Session
) -> None:
    campaign = factories.make_campaign(db_session, status="open")
    facade = factories.make_offer(db_session, campaign=campaign, lot="1")
    windows = factories.make_offer(db_session, campaign=campaign, lot="", measure="window_frames",
                                   unit="piece")
    households = [factories.make_participation(db_session, offer=facade, quantity=50.0,
                                               household=factories.make_household(
                                                   db_session, campaign=campaign)).household_id
                  for _ in range(3)]
    group = Group(campaign_id=campaign.id, name="Gevels", kind="framework", offer_id=facade.id,
                  measure=facade.measure, locked=True)
    db_session.add(group)
    db_session.flush()
    for household_id in households:
        db_session.add(GroupMember(group_id=group.id, household_id=household_id))
    batch = Batch(group_id=group.id, contractor_id=facade.contractor_id, offer_id=facade.id)
    db_session.add(batch)
    db_session.flush()

    response = client.get(f"/api/v1/campaigns/{campaign.slug}/ocds")

    assert response.status_code == 200
    package = response.json()
    assert errors_in(package) == []
    assert package["version"] == "1.1"
    assert len(package["extensions"]) == 2
    release = package["releases"][0]
    assert release["ocid"] == f"ocds-wijkwerf-{campaign.id}"
    tender = release["tender"]
    assert [lot["id"] for lot in tender["lots"]] == ["1", str(windows.id)]
    # 3 × 50 m² at the first tier, € 120/m² excl. VAT
    assert tender["lots"][0]["value"] == {"amount": 18000.0, "currency": "EUR"}
    assert tender["techniques"]["hasFrameworkAgreement"] is True
    assert [award["relatedLots"] for award in release["awards"]] == [["1"], [str(windows.id)]]
    supplier_ids = {party["id"] for party in release["parties"] if "supplier" in party["roles"]}
    assert {award["suppliers"][0]["id"] for award in release["awards"]} <= supplier_ids
    buyer = next(party for party in release["parties"] if "buyer" in party["roles"])
    assert release["buyer"]["id"] == buyer["id"]
    assert release["contracts"] == [{
        "id": f"batch-{batch.id}", "awardID": f"award-{facade.id}",
        "title": f"Afroep batch {batch.id}: {facade.title}", "description": "3 huishoudens",
        "status": "active", "dateSigned": release["contracts"][0]["dateSigned"],
        "items": [{"id": f"batch-{batch.id}-offer-{facade.id}", "description": facade.title,
                   "quantity": 3, "unit": {"name": "woning"}, "relatedLot": "1"}],
        "relatedLots": ["1"],
    }]
    assert "Bewoner" not in response.text  # no resident's name


def test_a_campaign_without_offers_still_validates(
    client: TestClient, db_session: Session
) -> None:
    campaign = factories.make_campaign(db_session, status="closed")

    package = client.get(f"/api/v1/campaigns/{campaign.slug}/ocds").json()

    assert errors_in(package) == []
    assert package["releases"][0]["tag"] == ["tender"]


def test_a_draft_campaign_has_no_public_export(client: TestClient, db_session: Session) -> None:
    campaign = factories.make_campaign(db_session, status="draft")

    assert client.get(f"/api/v1/campaigns/{campaign.slug}/ocds").status_code == 404
