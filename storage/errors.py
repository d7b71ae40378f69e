"""Domain errors raised by the storage layer; ``web`` maps each to an HTTP status and code."""


class DomainError(Exception):
    """Base class. ``code`` is the ``ERR_…`` string clients see; ``status`` the HTTP status."""

    code = "ERR_DOMAIN"
    status = 400

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        if code:
            self.code = code


class NotFound(DomainError):
    """The object does not exist *for this tenant* (another tenant's object is not found)."""

    code = "ERR_NOT_FOUND"
    status = 404


class Conflict(DomainError):
    code = "ERR_CONFLICT"
    status = 409


class Invalid(DomainError):
    code = "ERR_VALIDATION"
    status = 400
