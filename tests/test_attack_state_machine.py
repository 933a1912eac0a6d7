"""A Hypothesis state machine over the sign-up services: residents sign up (new addresses and
the same address again), withdraw (registered or waitlisted, and again), staff raise and lower
an offer's capacity. After every step, on the real test database:

- a sign-up at a known address is a claim that changes no sign-up;
- the places held never exceed the capacity, and no place stays free while someone waits;
- the waitlist is in arrival order (as positions 1..n without gaps);
- a withdrawn place went to the oldest waitlisted sign-up;
- no sign-up that was acknowledged (answered "registered" or "waitlisted") disappears, and each
  has the status the model expects.
"""

import itertools
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlmodel import Session, col, select

from app.models import Offer, Participation
from app.models.enums import ParticipationStatus as S
from app.models.enums import Role
from app.services import claims, residents, signups
from app.services import offers as offer_service
from app.services.auth import Principal
from app.services.errors import Conflict
from app.services.status_flow import HOLDS_A_PLACE
from tests import factories

_addresses = itertools.count(1)


class SignupMachine(RuleBasedStateMachine):
    """The model: who holds a place (in arrival order), who waits (in queue order), who left."""

    session: Session  # set on the class by the test, before Hypothesis builds machines

    def __init__(self) -> None:
        super().__init__()
        session = self.session
        campaign = factories.make_campaign(session)
        self.offer = factories.make_offer(session, campaign=campaign, capacity=1)
        self.staff = Principal(role=Role.staff, session_id=0,
                               organisation_id=campaign.organisation_id)
        session.commit()
        self.capacity = 1
        self.registered: list[int] = []
        self.waitlist: list[int] = []
        self.withdrawn: set[int] = set()
        self.household_of: dict[int, int] = {}
        self.address_of: dict[int, int] = {}

    # --- rules ---------------------------------------------------------------------------------

    @initialize(capacity=st.integers(min_value=1, max_value=4), residents=st.integers(0, 5))
    def open_the_offer(self, capacity: int, residents: int) -> None:
        if capacity != self.capacity:
            self._change_capacity(capacity)
        for _ in range(residents):
            self.sign_up()

    @rule()
    def sign_up(self) -> None:
        number = next(_addresses)
        result = signups.sign_up(self.session, self.offer.id, _form(number))  # type: ignore[arg-type]
        participation = result.participation
        assert participation.id is not None
        full = len(self.registered) >= self.capacity
        if full:
            self.waitlist.append(participation.id)
            assert (participation.status, result.waitlist_position) == (
                S.waitlisted, len(self.waitlist))
        else:
            self.registered.append(participation.id)
            assert (participation.status, result.waitlist_position) == (S.registered, None)
        self.household_of[participation.id] = participation.household_id
        self.address_of[participation.id] = number

    @precondition(lambda self: self.address_of)
    @rule(data=st.data())
    def sign_up_again_with_the_same_address(self, data: st.DataObject) -> None:
        """Someone else at a known address: answered like any sign-up, kept as a claim that
        changes no sign-up, and the staff's refusal frees the place it held."""
        participation_id = data.draw(st.sampled_from(sorted(self.address_of)))
        before = self._statuses()
        full = len(self.registered) >= self.capacity
        result = signups.sign_up(self.session, self.offer.id,  # type: ignore[arg-type]
                                 _form(self.address_of[participation_id], name="Iemand Anders"))
        assert result.participation is None and result.claim is not None
        assert result.claim.held_status == (S.waitlisted if full else S.registered)
        if full:
            assert result.waitlist_position == len(self.waitlist) + 1
        assert self._statuses() == before
        claims.decide_by_staff(self.session, self.staff, result.claim.id,  # type: ignore[arg-type]
                               decision="reject")
        self.session.commit()
        assert self._statuses() == before

    @rule()
    def sign_up_with_bad_input(self) -> None:
        before = self._statuses()
        try:
            signups.sign_up(self.session, self.offer.id,  # type: ignore[arg-type]
                            _form(next(_addresses), postcode="9000", quantity="-3"))
        except signups.SignupInvalid as exc:
            assert set(exc.errors) == {"postcode", "quantity"}
        else:
            raise AssertionError("a sign-up outside the wijk with a negative quantity passed")
        self.session.rollback()
        assert self._statuses() == before

    @precondition(lambda self: self.registered or self.waitlist)
    @rule(data=st.data())
    def withdraw(self, data: st.DataObject) -> None:
        participation_id = data.draw(st.sampled_from(self.registered + self.waitlist))
        promoted = None
        if participation_id in self.registered:
            self.registered.remove(participation_id)
            if self.waitlist:
                promoted = self.waitlist.pop(0)
                self.registered.append(promoted)
        else:
            self.waitlist.remove(participation_id)
        self.withdrawn.add(participation_id)
        residents.withdraw_participation(self.session, self._resident(participation_id),
                                         participation_id)
        self.session.commit()
        if promoted is not None:
            assert self._status(promoted) == S.registered, "the oldest waitlisted moved up"

    @precondition(lambda self: self.withdrawn)
    @rule(data=st.data())
    def withdraw_again(self, data: st.DataObject) -> None:
        participation_id = data.draw(st.sampled_from(sorted(self.withdrawn)))
        before = self._statuses()
        try:
            residents.withdraw_participation(self.session, self._resident(participation_id),
                                             participation_id)
        except Conflict:
            self.session.rollback()
        else:
            raise AssertionError("a withdrawn sign-up was withdrawn again")
        assert self._statuses() == before

    @rule(extra=st.integers(min_value=1, max_value=3))
    def raise_capacity(self, extra: int) -> None:
        self._change_capacity(self.capacity + extra)
        while self.waitlist and len(self.registered) < self.capacity:
            self.registered.append(self.waitlist.pop(0))

    @precondition(lambda self: self.capacity > 1)
    @rule(data=st.data())
    def lower_capacity(self, data: st.DataObject) -> None:
        new = data.draw(st.integers(min_value=1, max_value=self.capacity - 1))
        self._change_capacity(new)
        excess = max(0, len(self.registered) - new)
        if excess:
            # The last to sign up (ids grow with arrival) go back to the waitlist, behind whoever
            # already waited, in their own arrival order.
            moved = sorted(self.registered)[-excess:]
            self.registered = [pid for pid in self.registered if pid not in moved]
            self.waitlist.extend(moved)

    # --- invariants ----------------------------------------------------------------------------

    @invariant()
    def places_held_never_exceed_capacity(self) -> None:
        held = [pid for pid, status in self._statuses().items() if status in HOLDS_A_PLACE]
        offer = self.session.get(Offer, self.offer.id)
        assert offer is not None and offer.capacity == self.capacity
        assert len(held) <= self.capacity
        assert not self.waitlist or len(held) == self.capacity, "a place is free while people wait"

    @invariant()
    def waitlist_is_in_arrival_order(self) -> None:
        stored = self.session.exec(
            select(Participation).where(Participation.offer_id == self.offer.id,
                                        Participation.status == S.waitlisted)
            .order_by(col(Participation.status_changed_at), col(Participation.id))
        ).all()
        assert [p.id for p in stored] == self.waitlist
        positions = [signups.waitlist_position(self.session, p) for p in stored]
        assert positions == list(range(1, len(stored) + 1))

    @invariant()
    def no_acknowledged_signup_disappears(self) -> None:
        expected = ({pid: S.registered for pid in self.registered}
                    | {pid: S.waitlisted for pid in self.waitlist}
                    | {pid: S.cancelled for pid in self.withdrawn})
        assert self._statuses() == expected

    # --- helpers -------------------------------------------------------------------------------

    def _change_capacity(self, capacity: int) -> None:
        offer_service.update_offer(self.session, self.staff, self.offer.id,  # type: ignore[arg-type]
                                   offer_service.OfferUpdate(capacity=capacity, confirm=True))
        self.session.commit()
        self.capacity = capacity

    def _resident(self, participation_id: int) -> Principal:
        return Principal(role=Role.resident, session_id=0,
                         household_id=self.household_of[participation_id])

    def _statuses(self) -> dict[int, str]:
        rows = self.session.exec(
            select(Participation.id, Participation.status)
            .where(Participation.offer_id == self.offer.id)
        ).all()
        return {pid: status for pid, status in rows}  # type: ignore[misc]

    def _status(self, participation_id: int) -> str:
        return self._statuses()[participation_id]


def _form(number: int, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": f"Bewoner {number}", "email": f"machine{number}@example.be",
        "street": "Kerkstraat", "house_number": str(number), "box": "", "postcode": "8400",
        "quantity": "40", "consent": "true",
    }
    values.update(changes)
    return values


def test_signup_withdraw_and_promotion_keep_the_invariants(db_session: Session) -> None:
    SignupMachine.session = db_session
    # No shrinking: a failing run of at most 15 steps reads well as it is, and shrinking one
    # (every step on the database) takes Hypothesis's full five minutes.
    run_state_machine_as_test(SignupMachine, settings=settings(
        max_examples=25, stateful_step_count=15, derandomize=True, database=None,
        deadline=None, phases=[Phase.explicit, Phase.generate], print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
