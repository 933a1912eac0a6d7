"""Group commit for sign-ups: one writer thread per process writes the sign-ups that arrive
together in one transaction.

When sign-up opens after an info evening, hundreds of households post at once. Written one
transaction each, they queue for the database's write lock (SQLite has one; on PostgreSQL the
offer's row lock serialises them just the same), and each waits for everyone ahead of it. Here a
request hands its sign-up to this process's writer thread and awaits the answer without holding
a thread or a connection. The writer validates everything that is waiting (no lock held), then
takes the lock once, writes the batch with a few multi-row statements
(`signups.commit_signups`), commits, and answers each request. A 201 is only sent after that
commit, so an acknowledged sign-up is never lost; the batch is at most MAX_BATCH sign-ups.

On SQLite the writers of all worker processes also take turns through `app.db.write_turn` (a
blocking file lock) instead of SQLite's sleeping busy handler, so the lock passes from one
writer to the next without delay.
"""

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Any

from sqlmodel import Session

from app import observability
from app.db import mark_foreground_write, write_turn
from app.services import signups
from app.services.errors import Conflict, ServiceError

log = logging.getLogger(__name__)

MAX_BATCH = 64
# A writer with nothing to do for this long ends its thread (the next sign-up starts another).
IDLE_SECONDS = 10.0
# While another process has the write turn, wait this long for new sign-ups between tries.
TURN_POLL_SECONDS = 0.001

SessionOpener = Callable[[], AbstractContextManager[Session]]
Outcome = signups.SignupReceipt | ServiceError
# Where an outcome goes: an asyncio future on its event loop, or a concurrent future.
_Reply = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Outcome]"] | Future[Outcome]
_Item = tuple[signups.SignupRequest, _Reply]
_Prepared = signups.PreparedSignup | ServiceError


class SignupWriter:
    def __init__(self, open_read: SessionOpener, open_write: SessionOpener) -> None:
        self._open_read = open_read
        self._open_write = open_write
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running = False

    async def sign_up(self, request: signups.SignupRequest) -> signups.SignupReceipt:
        """Store one sign-up (in a batch with whatever else is waiting); raises its
        ServiceError (SignupInvalid, Conflict, NotFound) as `signups.sign_up` would."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Outcome] = loop.create_future()
        self._put((request, (loop, answer)))
        outcome = await answer
        if isinstance(outcome, ServiceError):
            raise outcome
        return outcome

    def submit(self, request: signups.SignupRequest) -> Future[Outcome]:
        """The same from a thread without an event loop."""
        future: Future[Outcome] = Future()
        self._put((request, future))
        return future

    def _put(self, item: _Item) -> None:
        self._queue.put(item)
        with self._lock:
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="signup-writer", daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._running = False
                        return
                continue
            self._write([first])

    def _take_waiting(self, batch: list[_Item], prepared: list[_Prepared],
                      wait: float = 0.0) -> None:
        """Add what is waiting, or else what arrives within `wait` seconds, to the batch,
        validated."""
        arrived: list[_Item] = []
        if wait:
            if len(batch) >= MAX_BATCH:
                time.sleep(wait)
                return
            try:
                arrived.append(self._queue.get(timeout=wait))
            except queue.Empty:
                return
        while len(batch) + len(arrived) < MAX_BATCH:
            try:
                arrived.append(self._queue.get_nowait())
            except queue.Empty:
                break
        if arrived:
            # In the batch before they are validated: should that fail (the database gone),
            # `_write` answers the whole batch with the error, these included. (They were
            # added after, and a failure left them unanswered: their requests hung.)
            batch.extend(arrived)
            with self._open_read() as session:
                prepared.extend(signups.prepare_signups(
                    session, [request for request, _ in arrived]))

    def _write(self, batch: list[_Item]) -> None:
        observability.request_id.set("")  # commit_signups names each sign-up's request
        prepared: list[_Prepared] = []
        try:
            with self._open_read() as session:
                prepared.extend(signups.prepare_signups(session, [request for request, _ in batch]))
            self._take_waiting(batch, prepared)
            if any(isinstance(item, signups.PreparedSignup) for item in prepared):
                # While another process writes, keep taking in what arrives (see write_turn).
                with write_turn(while_waiting=lambda: self._take_waiting(
                        batch, prepared, TURN_POLL_SECONDS)), self._open_write() as session:
                    outcomes: list[Any] = signups.commit_signups(session, prepared)
                mark_foreground_write()
                observability.SIGNUP_BATCH.observe(len(batch))
            else:
                outcomes = [item for item in prepared if isinstance(item, ServiceError)]
        except BaseException as exc:  # the requests answer 500; the writer goes on
            log.exception("sign-up batch of %d failed", len(batch))
            outcomes = [exc] * len(batch)
        _count(outcomes)
        _answer(batch, outcomes)


def _count(outcomes: list[Any]) -> None:
    """Sign-ups by outcome, for /metrics."""
    for outcome in outcomes:
        if isinstance(outcome, signups.SignupReceipt):
            kind = "claim" if outcome.claim_id is not None else outcome.status
        elif isinstance(outcome, Conflict):  # signed up already, or sign-up closed meanwhile
            kind = "duplicate" if outcome.message == signups.MSG_DUPLICATE else "closed"
        elif isinstance(outcome, ServiceError):  # invalid input, unknown offer
            kind = "refused"
        else:
            kind = "error"
        observability.SIGNUPS.labels(kind).inc()


def _answer(batch: list[_Item], outcomes: list[Any]) -> None:
    """Hand each request its outcome: one wake-up per event loop for the whole batch."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
    for (_, reply), outcome in zip(batch, outcomes, strict=True):
        if isinstance(reply, Future):
            if isinstance(outcome, BaseException) and not isinstance(outcome, ServiceError):
                reply.set_exception(outcome)
            else:
                reply.set_result(outcome)
        else:
            loop, future = reply
            by_loop.setdefault(loop, []).append((future, outcome))
    for loop, answers in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, answers)
        except RuntimeError:  # that loop has closed: nobody waits for these answers any more
            log.warning("%d sign-up answers for a closed event loop", len(answers))


def _settle(answers: list[tuple["asyncio.Future[Any]", Any]]) -> None:
    for future, outcome in answers:
        if future.done():  # the request was cancelled (client gone); the sign-up is stored
            continue
        if isinstance(outcome, BaseException) and not isinstance(outcome, ServiceError):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
