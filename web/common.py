"""Helpers every blueprint uses: the caller, the runtime, JSON bodies, pagination."""
from __future__ import annotations

from typing import Annotated, TypeVar

import pydantic
from flask import current_app, g, request

from web.errors import ApiError

M = TypeVar("M", bound=pydantic.BaseModel)


class Body(pydantic.BaseModel):
    """Base of request bodies: camelCase names as Izing sends them; unknown keys are ignored;
    no string may hold a NUL character (PostgreSQL refuses them: a 400 here, not a 500 there)."""

    model_config = pydantic.ConfigDict(populate_by_name=True, extra="ignore",
                                       str_strip_whitespace=True)

    @pydantic.field_validator("*", mode="after")
    @classmethod
    def no_nul(cls, value):
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("NUL characters are not allowed")
        return value


# A database id: a positive 64-bit integer (a bigger one is a 400, never an overflow).
Id = Annotated[int, pydantic.Field(ge=1, le=2**63 - 1, strict=False)]


def query_text(name: str, limit: int = 200) -> str | None:
    """A free-text query parameter (e.g. ``searchParam``): stripped, NUL-free, bounded."""
    value = (request.args.get(name) or "").replace("\x00", "").strip()[:limit]
    return value or None


def runtime():
    return current_app.extensions["tiktickets"]


def caller():
    """The authenticated user (``id``, ``tenant_id``, ``profile``), set by ``login_required``."""
    return g.caller


def json_body(model: type[M]) -> M:
    """Parse the JSON body into ``model``. 400 ERR_INVALID_JSON / ERR_VALIDATION otherwise."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nesting deeper than the JSON decoder goes
        data = None
    if data is None:
        raise ApiError(400, "ERR_INVALID_JSON", "the body must be a JSON object")
    if not isinstance(data, dict):
        raise ApiError(400, "ERR_INVALID_JSON", "the body must be a JSON object")
    return model.model_validate(data)


def page_number() -> int:
    """``?pageNumber=`` (1-based, default 1). 400 ERR_VALIDATION when not a positive integer."""
    raw = request.args.get("pageNumber", "1")
    try:
        page = int(raw)
    except ValueError:
        raise ApiError(400, "ERR_VALIDATION", "pageNumber must be a positive integer") from None
    if page < 1 or page > 100_000:
        raise ApiError(400, "ERR_VALIDATION", "pageNumber must be a positive integer")
    return page


def has_more(count: int, page: int, page_size: int) -> bool:
    return count > page * page_size
