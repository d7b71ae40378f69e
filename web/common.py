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


def json_object() -> dict:
    """The JSON body as a dict, for a view that validates it itself. 400 ERR_INVALID_JSON when
    it is missing, malformed, nested deeper than the decoder goes, or not an object."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nesting deeper than the JSON decoder goes
        data = None
    if not isinstance(data, dict):
        raise ApiError(400, "ERR_INVALID_JSON", "the body must be a JSON object")
    return data


def json_body(model: type[M]) -> M:
    """Parse the JSON body into ``model``. 400 ERR_INVALID_JSON / ERR_VALIDATION otherwise."""
    return model.model_validate(json_object())


def _control_table() -> dict[int, str | None]:
    table: dict[int, str | None] = dict.fromkeys(range(0x00, 0x20))      # C0, NUL included
    table.update(dict.fromkeys(range(0x7F, 0xA0)))                      # DEL, C1
    table.update(dict.fromkeys(range(0xD800, 0xE000)))                  # lone surrogates
    table.update(dict.fromkeys((*range(0x202A, 0x202F), *range(0x2066, 0x206A))))  # bidi
    table.update(dict.fromkeys(map(ord, "\t\n\v\f\r\x1c\x1d\x1e\x1f\x85\u2028\u2029"), " "))
    return table


_CONTROLS = _control_table()


def clean_text(value: str | None, limit: int) -> str:
    """A client's text made fit for a name column (a contact's name, a file's display name):
    line breaks and tabs become spaces; NUL and the other control characters, lone surrogates
    and bidirectional overrides are dropped (PostgreSQL refuses NUL; the rest garble or
    disguise what a person reads); trimmed; at most ``limit`` characters. "" for None."""
    text = value or ""
    if not (text.isascii() and text.isprintable()):
        text = text.translate(_CONTROLS)
    return text.strip()[:limit].rstrip()


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
