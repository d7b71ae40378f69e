"""Authentication (Izing's ``/auth``): JWT access tokens, refresh tokens, bcrypt passwords.

- ``POST /auth/login`` ``{email, password}`` → ``{token, refreshToken, user}``; 401
  ERR_INVALID_CREDENTIALS; 429 ERR_TOO_MANY_ATTEMPTS (``Retry-After`` seconds) after
  ``TT_LOGIN_RATE`` failed attempts (default ``5/minute;20/hour``) for one e-mail from one
  address — a brute-force brake that leaves the other users of a shared office address alone.
- ``POST /auth/refresh_token`` ``{refreshToken}`` → the same shape; 401 ERR_SESSION_EXPIRED.
- ``POST /auth/logout`` (Bearer) ends every access and refresh token of the user.
- ``GET /auth/me`` → the user.

Access tokens live ``TT_ACCESS_TOKEN_MINUTES`` (15), refresh tokens ``TT_REFRESH_TOKEN_DAYS`` (7);
both are HS256 JWTs signed with ``TT_SECRET_KEY``. Both carry the user's ``token_version``;
logout bumps it, and every request compares it with the database.
"""
from __future__ import annotations

import datetime
import functools
import logging

import jwt
from flask import Blueprint, current_app, g, jsonify, request

from storage import db
from storage.models import User
from storage.serialize import user_json
from storage.tenants import check_password, find_user_by_email
from web.common import Body, json_body, runtime
from web.openapi import accepts
from web.errors import ApiError

bp = Blueprint("auth", __name__, url_prefix="/auth")
log = logging.getLogger(__name__)


class LoginThrottle:
    """Failed logins per (client address, e-mail) over moving windows (the ``limits``
    library). Counters live in Redis when ``TT_REDIS_URL`` is set (shared by every process),
    else in this process's memory. Only failures count: a user who types the password right
    is never slowed down."""

    def __init__(self, spec: str, redis_url: str = "") -> None:
        from limits import parse_many, storage, strategies

        self.items = parse_many(spec)
        backend = storage.storage_from_string(redis_url or "memory://")
        self.window = strategies.MovingWindowRateLimiter(backend)

    def check(self, address: str, email: str) -> None:
        """ApiError 429 ``ERR_TOO_MANY_ATTEMPTS`` while a window is full (``Retry-After``).
        With Redis unreachable the brake is off (logged): logging in must keep working."""
        import time

        for item in self.items:
            try:
                if self.window.test(item, "login", address, email):
                    continue
                reset = self.window.get_window_stats(item, "login", address, email).reset_time
            except Exception as exc:  # noqa: BLE001 - redis errors: fail open, loudly
                log.warning("login throttle unavailable (%s); not applied", exc)
                return
            retry = max(1, int(reset - time.time()) + 1)
            raise ApiError(429, "ERR_TOO_MANY_ATTEMPTS",
                           f"too many failed logins; retry in {retry} s",
                           headers={"Retry-After": str(retry)})

    def failed(self, address: str, email: str) -> None:
        try:
            for item in self.items:
                self.window.hit(item, "login", address, email)
        except Exception as exc:  # noqa: BLE001
            log.warning("login throttle unavailable (%s); failure not counted", exc)


def init_app(app, settings) -> None:
    app.extensions["tt_login_throttle"] = LoginThrottle(settings.login_rate, settings.redis_url)


class Caller:
    __slots__ = ("id", "tenant_id", "profile", "name")

    def __init__(self, id: int, tenant_id: int, profile: str, name: str = ""):
        self.id, self.tenant_id, self.profile, self.name = id, tenant_id, profile, name

    @property
    def is_admin(self) -> bool:
        return self.profile == "admin"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def issue_tokens(user: User) -> dict:
    settings = runtime().settings
    base = {"sub": str(user.id), "tenantId": user.tenant_id, "profile": user.profile,
            "name": user.name, "tv": user.token_version}
    token = jwt.encode(dict(base, type="access", exp=_now() + datetime.timedelta(
        minutes=settings.access_token_minutes)), settings.secret_key, algorithm="HS256")
    refresh = jwt.encode(dict(base, type="refresh", exp=_now() +
                              datetime.timedelta(days=settings.refresh_token_days)),
                         settings.secret_key, algorithm="HS256")
    return {"token": token, "refreshToken": refresh, "user": user_json(user),
            "tenantId": user.tenant_id, "profile": user.profile, "username": user.name}


def decode(token: str, kind: str = "access") -> dict:
    """The token's claims. Raises ApiError 401 ERR_SESSION_EXPIRED when invalid or expired."""
    try:
        claims = jwt.decode(token, runtime().settings.secret_key, algorithms=["HS256"],
                            options={"require": ["exp", "sub"]})
    except jwt.PyJWTError:
        raise ApiError(401, "ERR_SESSION_EXPIRED", "invalid or expired token") from None
    if claims.get("type") != kind:
        raise ApiError(401, "ERR_SESSION_EXPIRED", "wrong kind of token")
    return claims


def caller_from_token(token: str) -> Caller:
    """The caller named by an access token, as the database has them now: one primary-key
    read, so a logout (``token_version`` bumped) ends every access token at once, and a
    changed profile or a deleted user counts from the next request. 401 ERR_SESSION_EXPIRED
    when a claim is malformed or the session was ended."""
    claims = decode(token)
    try:
        user_id, tenant_id, version = int(claims["sub"]), int(claims["tenantId"]), int(claims["tv"])
    except (KeyError, TypeError, ValueError):
        raise ApiError(401, "ERR_SESSION_EXPIRED", "malformed token") from None
    with db.unit_of_work():
        row = (User.select(User.tenant, User.profile, User.name, User.token_version)
               .where(User.id == user_id).tuples().first())
    if row is None or row[0] != tenant_id or row[3] != version:
        raise ApiError(401, "ERR_SESSION_EXPIRED", "the session was ended; log in again")
    return Caller(user_id, tenant_id, row[1], row[2])


def login_required(fn=None, *, admin: bool = False):
    """Require ``Authorization: Bearer <token>`` (401) and, with ``admin``, an admin (403)."""
    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise ApiError(401, "ERR_SESSION_EXPIRED", "missing bearer token")
            g.caller = caller_from_token(token.strip())
            if admin and not g.caller.is_admin:
                raise ApiError(403, "ERR_NO_PERMISSION", "administrators only")
            return view(*args, **kwargs)
        return inner
    return wrap(fn) if fn is not None else wrap


class LoginBody(Body):
    email: str
    password: str


class RefreshBody(Body):
    refreshToken: str


@bp.post("/login")
@accepts(LoginBody)
def login():
    body = json_body(LoginBody)
    throttle: LoginThrottle = current_app.extensions["tt_login_throttle"]
    address, email = request.remote_addr or "-", body.email.strip().lower()
    throttle.check(address, email)
    with db.unit_of_work():
        user = find_user_by_email(body.email)
    if user is None or not check_password(body.password, user.password_hash):
        throttle.failed(address, email)
        raise ApiError(401, "ERR_INVALID_CREDENTIALS", "wrong e-mail or password")
    return jsonify(issue_tokens(user))


@bp.post("/refresh_token")
@accepts(RefreshBody)
def refresh_token():
    body = json_body(RefreshBody)
    claims = decode(body.refreshToken, "refresh")
    with db.unit_of_work():
        user = User.get_or_none(User.id == int(claims["sub"]))
    if user is None or user.token_version != claims.get("tv"):
        raise ApiError(401, "ERR_SESSION_EXPIRED", "the session was ended; log in again")
    return jsonify(issue_tokens(user))


@bp.post("/logout")
@login_required
def logout():
    with db.write():
        User.update(token_version=User.token_version + 1).where(User.id == g.caller.id).execute()
    return jsonify({"ok": True})


@bp.get("/me")
@login_required
def me():
    with db.unit_of_work():
        user = User.get_or_none(User.id == g.caller.id)
    if user is None:
        raise ApiError(401, "ERR_SESSION_EXPIRED", "user no longer exists")
    return jsonify(user_json(user))
