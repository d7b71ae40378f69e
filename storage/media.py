"""Media files under ``<public_dir>/<tenantId>/`` (seed §Entrada: ``public/[tenantId]/``).

The row stores ``<tenantId>/<file>``; the web serves it as ``/public/<tenantId>/<file>`` only to
users of that tenant.
"""
from __future__ import annotations

import logging
import mimetypes
import os
import re
import uuid

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def media_type_of(mimetype: str | None) -> str:
    """WhatsApp's coarse type for a MIME type: image, video, audio or document."""
    major = (mimetype or "").split("/", 1)[0]
    return major if major in ("image", "video", "audio") else "document"


def safe_filename(filename: str | None, mimetype: str | None) -> str:
    base = _UNSAFE.sub("_", os.path.basename(filename or "")).strip("._") or "file"
    if "." not in base:
        base += mimetypes.guess_extension(mimetype or "") or ".bin"
    return base[-120:]


def save(public_dir: str, tenant_id: int, data: bytes, filename: str | None,
         mimetype: str | None) -> str:
    """Write ``data`` to a new file of the tenant's folder; returns ``"<tenantId>/<file>"``.

    The stored name is ``<uuid>-<sanitised original name>``, so two uploads never collide and
    nothing in ``filename`` can escape the folder.
    """
    folder = os.path.join(public_dir, str(int(tenant_id)))
    os.makedirs(folder, exist_ok=True)
    name = f"{uuid.uuid4().hex}-{safe_filename(filename, mimetype)}"
    tmp = os.path.join(folder, "." + name + ".part")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, os.path.join(folder, name))
    return f"{int(tenant_id)}/{name}"


def resolve(public_dir: str, tenant_id: int, filename: str) -> str | None:
    """The absolute path of a tenant's file, or None if it does not exist or escapes the folder."""
    if "\x00" in filename:
        return None
    folder = os.path.realpath(os.path.join(public_dir, str(int(tenant_id))))
    path = os.path.realpath(os.path.join(folder, filename))
    if not path.startswith(folder + os.sep) or not os.path.isfile(path):
        return None
    return path


def discard(public_dir: str, stored: str | None) -> None:
    """Delete a file :func:`save` wrote (``"<tenantId>/<file>"``); a missing one, or None, is
    nothing to do. Only files of ``public_dir``'s tenant folders can go; a failure is logged."""
    if not stored or "/" not in stored:
        return
    tenant, _, filename = stored.partition("/")
    path = resolve(public_dir, int(tenant), filename) if tenant.isdigit() else None
    if path is None:
        return
    try:
        os.remove(path)
    except OSError as exc:
        log.warning("media %s not deleted: %s", stored, exc)
