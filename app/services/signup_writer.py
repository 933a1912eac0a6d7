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
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager

from sqlmodel import Session

from app.db import write_turn
from app.services import signups
from app.services.errors import ServiceError

log = logging.getLogger(__name__)

MAX_BATCH = 64
# A writer with nothing to do for this long ends its thread (the next sign-up starts another).
IDLE_SECONDS = 10.0

SessionOpener = Callable[[], AbstractContextManager[Session]]
_Item = tuple[signups.SignupRequest, "Future[signups.SignupReceipt | ServiceError]"]


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
        outcome = await asyncio.wrap_future(self.submit(request))
        if isinstance(outcome, ServiceError):
            raise outcome
        return outcome

    def submit(self, request: signups.SignupRequest
               ) -> "Future[signups.SignupReceipt | ServiceError]":
        future: Future[signups.SignupReceipt | ServiceError] = Future()
        self._queue.put((request, future))
        with self._lock:
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="signup-writer", daemon=True).start()
        return future

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
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)

    def _write(self, batch: list[_Item]) -> None:
        try:
            requests = [request for request, _ in batch]
            with self._open_read() as session:
                prepared = signups.prepare_signups(session, requests)
            if any(isinstance(item, signups.PreparedSignup) for item in prepared):
                with write_turn(), self._open_write() as session:
                    outcomes = signups.commit_signups(session, prepared)
            else:
                outcomes = [item for item in prepared if isinstance(item, ServiceError)]
        except BaseException as exc:  # the requests answer 500; the writer goes on
            log.exception("sign-up batch of %d failed", len(batch))
            for _, future in batch:
                future.set_exception(exc)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            future.set_result(outcome)
