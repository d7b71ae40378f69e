"""Campaign rows (``CampaignProcess``): create / edit / delete, the state machine, counters, JSON.

States: ``draft`` → ``running`` ⇄ ``paused`` → ``finished`` | ``cancelled``. Every web-facing
function takes ``tenant_id`` and filters on it: another tenant's campaign is NotFound
``ERR_NO_CAMPAIGN_FOUND``. A state change that the current state does not allow is Conflict
``ERR_CAMPAIGN_STATE``. Only the connection's :class:`~actors.campaign.CampaignActor` calls
:func:`transition` (it owns running campaigns); the web edits drafts and paused campaigns.

Pause and cancel *revoke* the campaign's queued sends in the same transaction: the message row
goes ``pending`` → ``cancelled``, and the sender skips a job whose row is no longer ``pending``.
A revoked row stays linked to its recipient; resume re-arms that same row (see
:mod:`storage.campaign_contacts`), so a recipient never gets two message rows.
"""
from __future__ import annotations

import datetime
import logging
import zoneinfo

import peewee as pw

from storage import campaign_contacts as recipients
from storage import db, tenants
from storage.errors import Conflict, NotFound
from storage.models import Campaign, CampaignContact, Message, utcnow
from storage.serialize import iso

log = logging.getLogger(__name__)

PAGE_SIZE = 40
EDITABLE = ("draft", "paused")
COUNTER_KEYS = ("pending", "queued", "sent", "delivered", "read", "replied", "failed",
                "cancelled", "opted_out")
_ALLOWED = {"start": ("draft",), "pause": ("running",), "resume": ("paused",),
            "cancel": ("draft", "running", "paused")}
_TARGET = {"start": "running", "pause": "paused", "resume": "running", "cancel": "cancelled"}


def tenant_timezone(tenant_id: int) -> zoneinfo.ZoneInfo:
    """The tenant's time zone: setting ``timezone`` (an IANA name, checked when stored), else
    America/Sao_Paulo."""
    name = tenants.setting(tenant_id, "timezone")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):  # a row written before the check
        log.warning("tenant %s: unknown time zone %r; using %s", tenant_id, name,
                    tenants.DEFAULT_TIMEZONE)
        return zoneinfo.ZoneInfo(tenants.DEFAULT_TIMEZONE)


# --- the web's side: drafts ---------------------------------------------------------------------

def get_campaign(tenant_id: int, campaign_id: int) -> Campaign:
    found = Campaign.get_or_none(Campaign.id == campaign_id, Campaign.tenant == tenant_id)
    if found is None:
        raise NotFound("campaign not found", "ERR_NO_CAMPAIGN_FOUND")
    return found


def list_campaigns(tenant_id: int, page: int = 1,
                   page_size: int = PAGE_SIZE) -> tuple[list[Campaign], int]:
    """A page of the tenant's campaigns, newest first. Returns ``(campaigns, count)``."""
    query = Campaign.select().where(Campaign.tenant == tenant_id)
    return list(query.order_by(Campaign.id.desc()).paginate(page, page_size)), query.count()


def create_campaign(tenant_id: int, **fields) -> Campaign:
    """A ``draft``. ``fields`` are :class:`~storage.models.Campaign` columns, already validated;
    ``whatsapp`` must be the tenant's connection (the caller checks)."""
    with db.write():
        return Campaign.create(tenant=tenant_id, status="draft", **fields)


def update_campaign(tenant_id: int, campaign_id: int, expected_version: str | None = None,
                    **fields) -> Campaign:
    """Change a draft or paused campaign (Conflict ``ERR_CAMPAIGN_STATE`` otherwise; also for a
    new ``whatsapp`` unless it is a draft). NotFound for another tenant's campaign.

    ``expected_version``: the ``updatedAt`` string the editor read; when given and the row has
    changed since, Conflict ``ERR_CAMPAIGN_CHANGED`` and nothing is written.
    """
    with db.write():
        campaign = _locked(tenant_id, campaign_id)
        _require(campaign, EDITABLE, "edit")
        if expected_version is not None and expected_version != iso(campaign.updated_at):
            raise Conflict("the campaign was changed since it was read", "ERR_CAMPAIGN_CHANGED")
        moved = "whatsapp" in fields and fields["whatsapp"] != campaign.whatsapp_id
        if moved and campaign.status != "draft":
            raise Conflict("only a draft can change its connection", "ERR_CAMPAIGN_STATE")
        for name, value in fields.items():
            setattr(campaign, name, value)
        campaign.updated_at = utcnow()
        campaign.save()
        return campaign


def set_media(tenant_id: int, campaign_id: int, path: str | None, name: str | None,
              media_type: str | None) -> tuple[Campaign, str | None]:
    """Replace the attachment of a draft or paused campaign (``path`` None: remove it).

    ``path`` is :func:`storage.media.save`'s ``"<tenantId>/<file>"``. Returns the campaign and
    the previous file's path when none of the campaign's messages still carries it, for the
    caller to delete after the commit (else None). Conflict ``ERR_CAMPAIGN_STATE`` otherwise.
    """
    with db.write():
        campaign = _locked(tenant_id, campaign_id)
        _require(campaign, EDITABLE, "edit")
        previous = campaign.media_path
        campaign.media_path, campaign.media_name, campaign.media_type = path, name, media_type
        campaign.updated_at = utcnow()
        campaign.save()
        return campaign, (_unused_media(campaign_id, previous) if previous != path else None)


def delete_campaign(tenant_id: int, campaign_id: int) -> str | None:
    """Delete a campaign that is not running (pause or cancel it first). Its message rows stay.

    Returns the campaign's media path when none of its messages carries it (the caller deletes
    the file after the commit), else None.
    """
    with db.write():
        campaign = _locked(tenant_id, campaign_id)
        _require(campaign, ("draft", "paused", "finished", "cancelled"), "delete")
        unused = _unused_media(campaign_id, campaign.media_path)
        campaign.delete_instance()
        return unused


def _unused_media(campaign_id: int, path: str | None) -> str | None:
    """``path`` when no message of the campaign that can still be shown or sent carries it. A
    revoked (``cancelled``) row does not count: resume re-arms it with the current media."""
    if not path:
        return None
    used = (Message.select(Message.id)
            .join(CampaignContact, on=(CampaignContact.message == Message.id))
            .where(CampaignContact.campaign == campaign_id, Message.media_path == path,
                   Message.status != "cancelled").exists())
    return None if used else path


def _locked(tenant_id: int, campaign_id: int) -> Campaign:
    """The campaign row, locked for this transaction (PostgreSQL; SQLite has one writer)."""
    found = recipients.locked(Campaign.select().where(Campaign.id == campaign_id,
                                                      Campaign.tenant == tenant_id)).first()
    if found is None:
        raise NotFound("campaign not found", "ERR_NO_CAMPAIGN_FOUND")
    return found


def _require(campaign: Campaign, states: tuple[str, ...], action: str) -> None:
    if campaign.status not in states:
        raise Conflict(f"cannot {action} a {campaign.status} campaign", "ERR_CAMPAIGN_STATE")


# --- the actor's side: the state machine ---------------------------------------------------------

def transition(tenant_id: int, campaign_id: int, action: str, now: datetime.datetime,
               whatsapp_id: int | None = None) -> Campaign:
    """``start`` | ``pause`` | ``resume`` | ``cancel``, in one transaction with its revocations.

    ``now``: the campaign clock's UTC time. ``whatsapp_id``: the connection whose actor asks (a
    draft moved to another connection meanwhile is a Conflict: its actor must do it). Raises
    NotFound, Conflict ``ERR_CAMPAIGN_STATE``, or Conflict ``ERR_CAMPAIGN_EMPTY`` when starting
    a campaign without recipients.
    """
    with db.write():
        campaign = _locked(tenant_id, campaign_id)
        if whatsapp_id is not None and campaign.whatsapp_id != whatsapp_id:
            raise Conflict("the campaign moved to another connection; try again",
                           "ERR_CAMPAIGN_STATE")
        _require(campaign, _ALLOWED[action], action)
        if action == "start":
            if not CampaignContact.select().where(CampaignContact.campaign == campaign.id).exists():
                raise Conflict("add contacts before starting", "ERR_CAMPAIGN_EMPTY")
            campaign.started_at = now
        if action in ("pause", "cancel"):
            recipients.revoke(campaign.id, "pending" if action == "pause" else "cancelled", now)
        if action == "cancel":
            campaign.finished_at = now
        campaign.waiting_for = campaign.next_send_at = None  # the actor says again if it waits
        campaign.status = _TARGET[action]
        campaign.updated_at = utcnow()
        campaign.save()
        return campaign


def finish_if_done(campaign_id: int, now: datetime.datetime) -> bool:
    """Mark a running campaign ``finished`` once no recipient is pending or queued."""
    with db.write():
        campaign = recipients.locked(Campaign.select().where(Campaign.id == campaign_id)).first()
        if campaign is None or campaign.status != "running":
            return False
        if (CampaignContact.select().where(CampaignContact.campaign == campaign_id,
                                           CampaignContact.status.in_(("pending", "queued")))
                .exists()):
            return False
        campaign.status, campaign.finished_at, campaign.updated_at = "finished", now, utcnow()
        campaign.waiting_for = campaign.next_send_at = None
        campaign.save()
        return True


def set_waiting(campaign_id: int, reason: str | None, until: datetime.datetime | None) -> None:
    """Record why a running campaign is not sending (``window`` | ``dailyCap`` | ``startAt`` |
    ``connection``)
    and until when (UTC); ``None, None`` once it sends again. Only while it is running."""
    with db.write():
        (Campaign.update(waiting_for=reason, next_send_at=until)
         .where(Campaign.id == campaign_id, Campaign.status == "running").execute())


def running_connections() -> list[tuple[int, int]]:
    """``(whatsapp_id, tenant_id)`` of every connection with a running campaign."""
    return list(Campaign.select(Campaign.whatsapp, Campaign.tenant)
                .where(Campaign.status == "running").distinct().tuples())


def running_with_window() -> list[Campaign]:
    """Every running campaign that has a daily window, on any connection."""
    return list(Campaign.select().where(Campaign.status == "running",
                                        Campaign.window_start.is_null(False)))


def running_on(whatsapp_id: int) -> list[Campaign]:
    return list(Campaign.select().where(Campaign.whatsapp == whatsapp_id,
                                        Campaign.status == "running").order_by(Campaign.id))


def load(campaign_id: int) -> Campaign | None:
    return Campaign.get_or_none(Campaign.id == campaign_id)


# --- counters and JSON ------------------------------------------------------------------------

def counters(campaign_ids: list[int]) -> dict[int, dict[str, int]]:
    """Recipients per status for each campaign — one ``GROUP BY`` for the whole list.

    Each recipient counts once, in its current status: ``{total, pending, queued, sent,
    delivered, read, replied, failed, cancelled, optedOut}`` (a read message is not also counted
    as delivered; ``sent + delivered + read + replied`` reached the phone).
    """
    if not campaign_ids:
        return {}
    result = {cid: dict.fromkeys(COUNTER_KEYS, 0) for cid in campaign_ids}
    rows = (CampaignContact.select(CampaignContact.campaign, CampaignContact.status,
                                   pw.fn.COUNT(CampaignContact.id))
            .where(CampaignContact.campaign.in_(campaign_ids))
            .group_by(CampaignContact.campaign, CampaignContact.status).tuples())
    for campaign_id, status, count in rows:
        result[campaign_id][status] = count
    return {cid: _camel_counts(counts) for cid, counts in result.items()}


def _camel_counts(counts: dict[str, int]) -> dict[str, int]:
    out = {"total": sum(counts.values())}
    out.update({("optedOut" if k == "opted_out" else k): v for k, v in counts.items()})
    return out


def campaign_json(campaign: Campaign, counts: dict[str, int] | None = None) -> dict:
    """camelCase JSON; ``counts`` from :func:`counters` (queried when omitted)."""
    if counts is None:
        counts = counters([campaign.id])[campaign.id]
    return {
        "id": campaign.id,
        "tenantId": campaign.tenant_id,
        "whatsappId": campaign.whatsapp_id,
        "name": campaign.name,
        "status": campaign.status,
        "message1": campaign.message1,
        "message2": campaign.message2,
        "message3": campaign.message3,
        "mediaUrl": f"/public/{campaign.media_path}" if campaign.media_path else None,
        "mediaType": campaign.media_type,
        "mediaName": campaign.media_name,
        "startAt": iso(campaign.start_at),
        "delay": campaign.delay,
        "jitter": campaign.jitter,
        "windowStart": campaign.window_start,
        "windowEnd": campaign.window_end,
        "dailyCap": campaign.daily_cap,
        "optOutKeyword": campaign.opt_out_keyword,
        "waitingFor": campaign.waiting_for,
        "nextSendAt": iso(campaign.next_send_at),
        "startedAt": iso(campaign.started_at),
        "finishedAt": iso(campaign.finished_at),
        "createdAt": iso(campaign.created_at),
        "updatedAt": iso(campaign.updated_at),
        "counters": counts,
    }


def message_status(message_id: str) -> str | None:
    return Message.select(Message.status).where(Message.id == message_id).scalar()
