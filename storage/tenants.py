"""Tenants, users and connections: creation and lookups (the CLI and the admin routes use these)."""
from __future__ import annotations

import bcrypt
import gevent
import peewee as pw

from storage import db
from storage.errors import Conflict, Invalid, NotFound
from storage.models import Setting, Tenant, User, Whatsapp, utcnow


BCRYPT_ROUNDS = 12  # bcrypt's cost factor; tests lower it


def _off_hub(fn, *args):
    """bcrypt takes ~0.25 s of CPU and releases the GIL: run it on gevent's thread pool so the
    hub (every actor, every request) keeps running meanwhile."""
    return gevent.get_hub().threadpool.apply(fn, args)


MAX_PASSWORD_BYTES = 72  # bcrypt reads no further (bcrypt 5 refuses longer ones)


def normalise_email(email: str) -> str:
    """Lower case, no surrounding spaces. Invalid ``ERR_INVALID_EMAIL`` unless it looks like one."""
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or " " in email or len(email) > 255:
        raise Invalid(f"not an e-mail address: {email!r}", "ERR_INVALID_EMAIL")
    return email


def _check_password(password: str) -> None:
    if not 6 <= len(password) or len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise Invalid("the password needs 6 characters to 72 bytes", "ERR_INVALID_PASSWORD")


def hash_password(password: str) -> str:
    _check_password(password)
    salt = bcrypt.gensalt(BCRYPT_ROUNDS)
    return _off_hub(bcrypt.hashpw, password.encode("utf-8"), salt).decode("ascii")


def check_password(password: str, password_hash: str) -> bool:
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        return False  # no stored password is that long (hash_password refuses them)
    try:
        return _off_hub(bcrypt.checkpw, password.encode("utf-8"), password_hash.encode("ascii"))
    except ValueError:
        return False


def create_tenant(name: str, admin_email: str, admin_password: str,
                  admin_name: str = "Admin") -> tuple[Tenant, User]:
    """A tenant and its first admin. Raises Conflict ``ERR_EMAIL_TAKEN`` if the e-mail exists."""
    admin_email = normalise_email(admin_email)
    if not name.strip():
        raise Invalid("the tenant needs a name", "ERR_VALIDATION")
    password_hash = hash_password(admin_password)  # slow on purpose: outside the write lock
    try:
        with db.write():
            tenant = Tenant.create(name=name)
            user = User.create(tenant=tenant, name=admin_name, email=admin_email,
                               password_hash=password_hash, profile="admin")
    except pw.IntegrityError:
        raise Conflict("a user with this e-mail already exists", "ERR_EMAIL_TAKEN") from None
    return tenant, user


def create_user(tenant_id: int, name: str, email: str, password: str,
                profile: str = "user") -> User:
    email = normalise_email(email)
    password_hash = hash_password(password)
    try:
        with db.write():
            return User.create(tenant=tenant_id, name=name, email=email,
                               password_hash=password_hash, profile=profile)
    except pw.IntegrityError:
        raise Conflict("a user with this e-mail already exists", "ERR_EMAIL_TAKEN") from None


def create_whatsapp(tenant_id: int, name: str, is_default: bool = False) -> Whatsapp:
    with db.write():
        if is_default or not Whatsapp.select().where(Whatsapp.tenant == tenant_id).exists():
            Whatsapp.update(is_default=False).where(Whatsapp.tenant == tenant_id).execute()
            is_default = True
        return Whatsapp.create(tenant=tenant_id, name=name, is_default=is_default)


def find_user_by_email(email: str) -> User | None:
    return User.get_or_none(User.email == email.strip().lower())


# --- tenant settings (Izing's ``Setting``: one row per tenant and key) -------------------------

DEFAULT_TIMEZONE = "America/Sao_Paulo"


def _zone(value: str) -> str:
    """An IANA zone name (``America/Sao_Paulo``); Invalid ``ERR_INVALID_TIMEZONE`` otherwise."""
    import zoneinfo

    name = value.strip()
    if name not in zoneinfo.available_timezones() or name in ("localtime", "Factory",
                                                               "posixrules"):
        raise Invalid(f"not an IANA time zone: {value!r}", "ERR_INVALID_TIMEZONE")
    return name


# key → (default, check). ``timezone`` places the campaigns' daily window and cap day.
SETTINGS = {"timezone": (DEFAULT_TIMEZONE, _zone)}


def settings(tenant_id: int) -> dict[str, str]:
    """Every known setting of the tenant: its stored value, else the default."""
    stored = dict(Setting.select(Setting.key, Setting.value)
                  .where(Setting.tenant == tenant_id, Setting.key.in_(list(SETTINGS))).tuples())
    return {key: stored.get(key, default) for key, (default, _) in SETTINGS.items()}


def setting(tenant_id: int, key: str) -> str:
    return settings(tenant_id)[key]


def put_setting(tenant_id: int, key: str, value: str) -> str:
    """Store one setting (checked) and return the stored value. NotFound
    ``ERR_NO_SETTING_FOUND`` for an unknown key; Invalid from the key's check."""
    if key not in SETTINGS:
        raise NotFound(f"no setting {key!r}", "ERR_NO_SETTING_FOUND")
    value = SETTINGS[key][1](value)
    stamp = utcnow()
    (Setting.insert(tenant=tenant_id, key=key, value=value, created_at=stamp, updated_at=stamp)
     .on_conflict(conflict_target=[Setting.tenant, Setting.key],
                  update={Setting.value: value, Setting.updated_at: stamp})
     .execute())
    return value
