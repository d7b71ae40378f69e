"""JSON errors from one place: ``{"error": "ERR_CODE", "message": "…"}`` with the right status.

Nothing reaches a client as an HTML page or a traceback: HTTP errors, validation errors, domain
errors, an unreachable database (503), an actor that did not answer in time (503
``ERR_TIMEOUT``: the action may still complete) or is stopping (503 ``ERR_SHUTTING_DOWN``) and
unexpected exceptions (500, logged) all become JSON.
"""
from __future__ import annotations

import logging

import peewee
import pydantic
import pykka
from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from storage.db import DatabaseUnavailable
from storage.errors import DomainError

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "ERR_BAD_REQUEST", 401: "ERR_SESSION_EXPIRED", 403: "ERR_NO_PERMISSION",
    404: "ERR_NOT_FOUND", 405: "ERR_METHOD_NOT_ALLOWED", 409: "ERR_CONFLICT",
    413: "ERR_FILE_TOO_LARGE", 415: "ERR_UNSUPPORTED_MEDIA_TYPE", 429: "ERR_TOO_MANY_REQUESTS",
}


class BoundedInt(IntegerConverter):
    """``<int:…>`` for ids: a value past what a database column holds (2**63 - 1) becomes 0,
    an id no row has, so the view answers its own 404 for every method (a converter that
    refused the value made werkzeug answer 405 for PUT and DELETE, and a database would fail
    on the number)."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        return number if number <= 2**63 - 1 else 0


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details=None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, details=None, headers=None):
    payload = {"error": code, "message": message}
    if details is not None:
        payload["details"] = details
    return jsonify(payload), status, headers or {}


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        return error_response(exc.status, exc.code, str(exc))

    @app.errorhandler(pydantic.ValidationError)
    def validation_error(exc: pydantic.ValidationError):
        details = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                   for e in exc.errors(include_url=False, include_input=False)]
        return error_response(400, "ERR_VALIDATION", "invalid request body", details)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = HTTP_CODES.get(exc.code, f"ERR_HTTP_{exc.code}")
        return error_response(exc.code or 500, code, exc.description or exc.name)

    @app.errorhandler(pykka.Timeout)
    def actor_timeout(exc: pykka.Timeout):
        log.warning("an actor did not answer in time: %s", exc)
        return error_response(503, "ERR_TIMEOUT", "the service did not answer in time; the "
                              "action may still complete: read the object before retrying")

    @app.errorhandler(pykka.ActorDeadError)
    def actor_gone(exc: pykka.ActorDeadError):
        return error_response(503, "ERR_SHUTTING_DOWN", "the service is stopping; retry")

    @app.errorhandler(DatabaseUnavailable)
    @app.errorhandler(peewee.OperationalError)
    @app.errorhandler(peewee.InterfaceError)
    def database_down(exc: Exception):
        log.warning("database unavailable: %s", exc)
        return error_response(503, "ERR_DB_UNAVAILABLE", "the database is unavailable; retry")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error")
        return error_response(500, "ERR_INTERNAL", "internal error")
