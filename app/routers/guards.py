"""Checks every route shares before its own code runs: input the database could not even look
up is answered with a 4xx here instead of failing in the database driver (a 500)."""

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError

from app import i18n
from app.services.validation import MAX_DB_INT, MSG_BAD_CHARACTER

# The largest body a request may have (API and forms alike): what any of them needs is a few
# kilobytes; a larger one is refused with 413 before it is read into memory.
MAX_BODY_BYTES = 1024 * 1024


async def lookable_input(request: Request) -> None:
    """An id in the path (`{..._id}`) beyond the database's integers, or a NUL character in the
    path, cannot name anything: 404. A NUL character in the query string (PostgreSQL cannot
    even compare text holding one): 422 on that parameter. Not-a-number stays FastAPI's own
    422. Async, so that it costs no trip to the thread pool: cached public pages take none."""
    for name, value in request.path_params.items():
        if not isinstance(value, str):
            continue
        if "\x00" in value or (name.endswith("_id") and not _fits_an_integer_column(value)):
            raise HTTPException(status_code=404, detail="Not Found")
    for name, value in request.query_params.multi_items():
        if "\x00" in value or "\x00" in name:
            message = i18n.gettext(MSG_BAD_CHARACTER)
            raise RequestValidationError([{"loc": ("query", name), "msg": message,
                                           "type": "value_error"}])


def _fits_an_integer_column(text: str) -> bool:
    try:
        number = int(text)
    except ValueError:
        return True  # not a number at all: the route's own validation answers
    return -MAX_DB_INT - 1 <= number <= MAX_DB_INT
