"""Group forming in a real browser: staff of the demo wijk ask for groups by life phase (5..12)
for the facade offer, accept them, move a household to another group, lock a group and assign
it to a contractor as a batch; the contractor's mail arrives. axe on every page visited."""

from playwright.sync_api import Page, expect
from sqlmodel import Session, col, select

from app.models import Batch, Contractor, Group, GroupMember, Offer, Participation
from app.services.demo import DEMO_PASSWORD, DEMO_SLUG
from tests.support.axe import axe_check
from tests.support.server import LiveServer
from tests.support.smtp import SmtpSink, body_text


def test_staff_form_groups_move_lock_and_assign_a_batch(
    page: Page, seeded_server: LiveServer, smtp_sink: SmtpSink, browser_errors: list[str]
) -> None:
    with Session(seeded_server.engine) as session:
        facade = session.exec(select(Offer).where(Offer.measure == "facade_insulation")).one()
        contractor = session.get(Contractor, facade.contractor_id)
        assert contractor is not None
    suggest_url = f"/beheer/wijken/{DEMO_SLUG}/groepen/voorstel"

    page.goto(f"{seeded_server.url}/login?next={suggest_url}")
    axe_check(page)
    page.get_by_label("E-mailadres").fill("energiehuis@wijkwerf.demo")
    page.get_by_label("Wachtwoord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Groepen voorstellen")
    axe_check(page)

    page.get_by_label("Levensfase").check()
    page.get_by_label("Kleinste groep (huishoudens)").fill("5")
    page.get_by_label("Grootste groep (huishoudens)").fill("12")
    page.get_by_label("Aanbod").select_option(label=facade.title)
    page.get_by_role("button", name="Toon voorstel").click()
    expect(page.get_by_role("heading", name="Voorstel", exact=True)).to_be_visible()
    expect(page.locator("table.proposal").first).to_be_visible()
    assert "toon=1" in page.url  # htmx pushed the URL: the suggestion can be bookmarked
    axe_check(page)

    page.get_by_role("button", name="Aanvaard dit voorstel").click()
    expect(page.get_by_role("status")).to_have_text("Het voorstel is bewaard als groepen.")
    axe_check(page)

    with Session(seeded_server.engine) as session:
        groups = session.exec(select(Group).where(Group.offer_id == facade.id)
                              .order_by(col(Group.id))).all()
        assert len(groups) >= 2
        assert all(group.criteria.get("life_phase") for group in groups)
        source, target = groups[0], groups[1]
        moved = session.exec(select(GroupMember.household_id)
                             .where(GroupMember.group_id == source.id)).first()
    assert moved is not None

    # Move with the keyboard-reachable select and button of that member (htmx, no reload).
    page.locator(f"#move-{moved}").select_option(str(target.id))
    page.locator(f"#move-{moved}-button").click()
    expect(page.get_by_role("status")).to_have_text("Het huishouden is verplaatst.")
    expect(page.locator(f"#group-{target.id}-title")).to_be_visible()
    with Session(seeded_server.engine) as session:
        assert session.exec(select(GroupMember.group_id)
                            .where(GroupMember.household_id == moved,
                                   GroupMember.group_id.in_([source.id, target.id]))  # type: ignore[union-attr]
                            ).one() == target.id

    page.get_by_role("button", name=f"Vergrendel {target.name}").click()
    expect(page.get_by_role("status")).to_have_text(
        "De groep is vergrendeld: de leden liggen vast.")
    contractor_select = page.locator(f"#group-{target.id}-contractor_id")
    expect(contractor_select).to_be_visible()
    axe_check(page)

    contractor_select.select_option(str(contractor.id))
    page.locator(f"#group-{target.id}-contractor_id-button").click()
    expect(page.get_by_role("status")).to_contain_text("toegewezen als batch")
    axe_check(page)

    mail = smtp_sink.wait_for_recipient(contractor.email, timeout=15)
    assert "Nieuwe batch" in str(mail["Subject"])
    text = body_text(mail)
    assert f"{seeded_server.url}/aannemer" in text
    with Session(seeded_server.engine) as session:
        batch = session.exec(select(Batch).where(Batch.group_id == target.id)).one()
        member_ids = session.exec(select(GroupMember.household_id)
                                  .where(GroupMember.group_id == target.id)).all()
        statuses = set(session.exec(select(Participation.status).where(
            Participation.offer_id == facade.id,
            col(Participation.household_id).in_(member_ids))).all())
    assert f"batch {batch.id}" in text
    assert statuses == {"assigned"}

    page.goto(f"{seeded_server.url}/beheer/wijken/{DEMO_SLUG}/dashboard")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dashboard")
    assigned_row = page.locator("table:has(#funnel-caption) tr", has_text="Toegewezen")
    expect(assigned_row.locator("td")).to_have_text(str(len(member_ids)))
    axe_check(page)
    assert browser_errors == []
