"""Errors that services raise; routes turn them into 4xx answers or form messages."""


class ServiceError(Exception):
    """Base: a refusal the user can understand. `field` names the input it concerns."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    """Absent, or belongs to another organisation or contractor (never tell which)."""

    status_code = 404


class Forbidden(ServiceError):
    status_code = 403


class Conflict(ServiceError):
    """Duplicate, or a status transition that is not allowed."""

    status_code = 409


class Invalid(ServiceError):
    """Input that fails a rule; `field` says which."""

    status_code = 422


class RateLimited(ServiceError):
    status_code = 429


class Unauthorized(ServiceError):
    status_code = 401
