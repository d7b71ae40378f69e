"""CampaignProcess: paced bulk sends through the SendMessages queue, on a manual clock.

Campaign time (start, gaps, window, cap day) comes from :class:`ManualClock`: a test moves it to
the next armed moment and never sleeps through a delay. Everything else is real: the actors, the
queue, the sender, the simulated WhatsApp, the database.
"""
import datetime
import io
import os
import zoneinfo

import pytest

from actors.campaign_schedule import day_bounds, gap, render, window_wait
from actors.messages import CampaignCheck, ClientMessage, WaMessage
from helpers import WsClient, wait_for
from storage import campaign_contacts as recipients
from storage import campaigns, db, tenants
from storage.errors import Conflict
from storage.models import Campaign, Contact, Message
from web import create_app
from web.runtime import Runtime, client_factory, connect_database, shutdown, system_config

SAO_PAULO = zoneinfo.ZoneInfo("America/Sao_Paulo")
T0 = datetime.datetime(2030, 1, 7, 17, 0)  # UTC: Monday 14:00 in São Paulo (UTC-3)


class ManualClock:
    """The campaign clock of a test: ``now()`` stands still until :meth:`advance_to`, which fires
    the timers that came due, in order. ``armed`` records every delay asked for, in seconds."""

    def __init__(self, now: datetime.datetime) -> None:
        self._now = now
        self.timers: list = []
        self.armed: list[float] = []

    def now(self) -> datetime.datetime:
        return self._now

    def call_later(self, seconds: float, fn):
        self.armed.append(seconds)
        timer = _ManualTimer(self, self._now + datetime.timedelta(seconds=max(0.0, seconds)), fn)
        self.timers.append(timer)
        if seconds <= 0:
            self.advance_to(self._now)
        return timer

    def next_due(self) -> datetime.datetime | None:
        return min((t.at for t in self.timers), default=None)

    def advance_to(self, moment: datetime.datetime) -> None:
        while self.timers and min(t.at for t in self.timers) <= moment:
            timer = min(self.timers, key=lambda t: t.at)
            self.timers.remove(timer)
            self._now = max(self._now, timer.at)
            timer.fn()
        self._now = max(self._now, moment)

    def step(self) -> datetime.datetime:
        """Wait until the campaign arms its next moment, then move there."""
        # up to the campaign actor's 30 s wall-clock check, the net for a lost notification
        due = wait_for(self.next_due, timeout=40, message="a campaign timer")
        self.advance_to(due)
        return due


class _ManualTimer:
    def __init__(self, clock: ManualClock, at: datetime.datetime, fn) -> None:
        self.clock, self.at, self.fn = clock, at, fn

    def cancel(self) -> None:
        if self in self.clock.timers:
            self.clock.timers.remove(self)


@pytest.fixture
def clock(runtime):
    clock = ManualClock(T0)
    runtime.system.clock = clock  # before any campaign actor starts
    return clock


@pytest.fixture
def ctx(clock, make_tenant):
    return make_tenant()


def _numbers(count: int, base: int = 5511970000000) -> list[str]:
    return [str(base + i) for i in range(count)]


def _campaign(ctx, numbers, **fields) -> int:
    body = {"name": "Promo", "whatsappId": ctx.whatsapp_id, "message1": "Oi {{name}}",
            "delay": 0, "jitter": 0, **fields}
    created = ctx.api("POST", "/campaigns", body)
    assert created.status_code == 201, created.get_json()
    campaign_id = created.get_json()["id"]
    contacts = [{"number": n, "name": f"Cliente {i}"} for i, n in enumerate(numbers)]
    report = ctx.api("POST", f"/campaigns/{campaign_id}/contacts", {"contacts": contacts})
    assert report.get_json()["added"] == len(numbers), report.get_json()
    return campaign_id


def _act(ctx, campaign_id: int, action: str) -> dict:
    response = ctx.api("POST", f"/campaigns/{campaign_id}/{action}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _counters(ctx, campaign_id: int) -> dict:
    return ctx.api("GET", f"/campaigns/{campaign_id}").get_json()["counters"]


def _recipients(ctx, campaign_id: int) -> list[dict]:
    return ctx.api("GET", f"/campaigns/{campaign_id}/contacts").get_json()["contacts"]


def _sent_to(ctx) -> list[str]:
    return [item["to"] for item in ctx.sent()]


def _wait_sent(ctx, count: int) -> list[str]:
    return wait_for(lambda: len(sent := _sent_to(ctx)) >= count and sent,
                    message=f"{count} sends")


# --- the calendar, as pure functions ---------------------------------------------------------

def test_window_opens_at_its_start_and_may_cross_midnight():
    at = datetime.datetime(2030, 1, 7, 12, 0)  # 09:00 local
    assert window_wait(at, SAO_PAULO, "08:00", "18:00") is None
    assert window_wait(at, SAO_PAULO, "10:00", "18:00") == datetime.datetime(2030, 1, 7, 13, 0)
    assert window_wait(at, SAO_PAULO, "06:00", "09:00") == datetime.datetime(2030, 1, 8, 9, 0)
    assert window_wait(at, SAO_PAULO, "22:00", "10:00") is None          # crosses midnight
    assert window_wait(at, SAO_PAULO, "22:00", "06:00") == datetime.datetime(2030, 1, 8, 1, 0)


def test_the_cap_day_runs_from_local_midnight_to_local_midnight():
    at = datetime.datetime(2030, 1, 7, 12, 0)  # 09:00 local
    assert day_bounds(at, SAO_PAULO) == (datetime.datetime(2030, 1, 7, 3, 0),
                                         datetime.datetime(2030, 1, 8, 3, 0))


@pytest.mark.parametrize("now, opens", [
    # 01:10 EDT, before the clocks go back: the first 01:15 (EDT)
    (datetime.datetime(2024, 11, 3, 5, 10), datetime.datetime(2024, 11, 3, 5, 15)),
    # 01:10 EST, the hour again: the second 01:15 (EST), never the first one, now past
    (datetime.datetime(2024, 11, 3, 6, 10), datetime.datetime(2024, 11, 3, 6, 15))])
def test_in_the_hour_a_dst_change_repeats_the_window_opens_after_now(now, opens):
    new_york = zoneinfo.ZoneInfo("America/New_York")
    assert window_wait(now, new_york, "01:15", "05:00") == opens


def test_a_window_start_that_a_dst_change_skips_opens_an_hour_later_that_day():
    new_york = zoneinfo.ZoneInfo("America/New_York")
    at = datetime.datetime(2024, 3, 10, 6, 0)  # 01:00 EST; 02:00-03:00 does not exist
    assert window_wait(at, new_york, "02:30", "05:00") == datetime.datetime(2024, 3, 10, 7, 30)


def test_gap_is_the_delay_plus_at_most_the_jitter():
    import random

    gaps = [gap(10, 5, random.Random(seed)) for seed in range(500)]
    assert all(10 <= g <= 15 for g in gaps)
    assert max(gaps) - min(gaps) > 4  # the jitter is used, not a constant


# --- sending ---------------------------------------------------------------------------------

@pytest.mark.parametrize("template, expected", [
    ("{{greeting}}, {{name}}!", "Boa tarde!"),
    ("Oi {{name}}, tudo bem?", "Oi, tudo bem?"),
    ("{{ name }}, temos novidades", "temos novidades"),
    ("Olá {{name}} tudo certo", "Olá tudo certo"),
])
def test_a_recipient_without_a_name_gets_no_dangling_comma_or_space(template, expected):
    assert render(template, "  ", "Boa tarde") == expected


@pytest.mark.parametrize("template", ["{{greeting}}, {{name}}!", "{{GREETING}}, {{Name}}!",
                                      "{{saudação}}, {{nome}}!", "{{ Saudacao }}, {{NOME}}!"])
def test_placeholders_are_read_in_any_case_and_in_portuguese(template):
    assert render(template, "Ana", "Bom dia") == "Bom dia, Ana!"


def test_each_contact_gets_one_random_variant_with_name_and_greeting(ctx):
    variants = ["{{greeting}}, {{name}}! A", "B para {{ name }}", "{{name}}: C"]
    numbers = _numbers(30)
    campaign_id = _campaign(ctx, numbers, message1=variants[0], message2=variants[1],
                            message3=variants[2])
    _act(ctx, campaign_id, "start")
    sent = dict((s["to"], s["body"]) for s in wait_for(
        lambda: len(ctx.sent()) == 30 and ctx.sent(), timeout=20, message="30 sends"))
    rows = _recipients(ctx, campaign_id)
    for row in rows:
        expected = (variants[row["variant"] - 1].replace("{{greeting}}", "Boa tarde")
                    .replace("{{name}}", row["name"]).replace("{{ name }}", row["name"]))
        assert sent[row["number"]] == expected
    assert {row["variant"] for row in rows} == {1, 2, 3}
    assert wait_for(lambda: ctx.api("GET", f"/campaigns/{campaign_id}")
                    .get_json()["status"] == "finished")


def test_sends_are_spaced_by_delay_plus_jitter_and_only_when_due(ctx, clock):
    campaign_id = _campaign(ctx, _numbers(8), delay=10, jitter=5)
    _act(ctx, campaign_id, "start")
    _wait_sent(ctx, 1)
    moments = []
    for count in range(2, 9):
        before = clock.now()
        assert len(ctx.sent()) == count - 1  # nothing leaves before its moment
        due = clock.step()
        moments.append((due - before).total_seconds())
        assert len(_wait_sent(ctx, count)) == count
    assert all(10 <= m <= 15 for m in moments), moments
    assert len(set(moments)) > 1  # jittered
    assert len(ctx.sent()) == 8


def test_window_holds_sends_until_it_opens_and_stops_them_when_it_closes(ctx, clock):
    # T0 is 14:00 local: outside 08:00–10:00; one send every 30 minutes inside it
    campaign_id = _campaign(ctx, _numbers(6), delay=1800, windowStart="08:00",
                            windowEnd="10:00")
    _act(ctx, campaign_id, "start")
    opens = wait_for(clock.next_due)
    assert opens == datetime.datetime(2030, 1, 8, 11, 0)  # 08:00 local, next day
    assert ctx.sent() == []
    shown = ctx.api("GET", f"/campaigns/{campaign_id}").get_json()
    assert (shown["waitingFor"], shown["nextSendAt"]) == ("window", "2030-01-08T11:00:00.000000Z")
    for count in range(1, 5):  # 08:00, 08:30, 09:00, 09:30
        clock.step()
        _wait_sent(ctx, count)
    assert ctx.api("GET", f"/campaigns/{campaign_id}").get_json()["waitingFor"] is None
    assert clock.step() == datetime.datetime(2030, 1, 8, 13, 0)  # the gap ends at 10:00 …
    assert wait_for(clock.next_due) == datetime.datetime(2030, 1, 9, 11, 0)  # … closed: tomorrow
    assert len(ctx.sent()) == 4
    clock.step()
    _wait_sent(ctx, 5)


def test_daily_cap_holds_the_rest_until_the_next_local_day(ctx, clock):
    campaign_id = _campaign(ctx, _numbers(5), dailyCap=3)
    _act(ctx, campaign_id, "start")
    _wait_sent(ctx, 3)
    assert wait_for(clock.next_due) == datetime.datetime(2030, 1, 8, 3, 0)  # local midnight
    assert len(ctx.sent()) == 3
    assert _counters(ctx, campaign_id)["pending"] == 2
    assert ctx.api("GET", f"/campaigns/{campaign_id}").get_json()["waitingFor"] == "dailyCap"
    clock.step()
    _wait_sent(ctx, 5)


def test_start_time_in_the_future_waits_for_it(ctx, clock):
    campaign_id = _campaign(ctx, _numbers(2), startAt="2030-01-07T18:30:00Z")
    _act(ctx, campaign_id, "start")
    assert wait_for(clock.next_due) == datetime.datetime(2030, 1, 7, 18, 30)
    assert ctx.sent() == []
    assert ctx.api("GET", f"/campaigns/{campaign_id}").get_json()["waitingFor"] == "startAt"
    clock.step()
    _wait_sent(ctx, 2)


def test_campaign_sends_wait_for_the_connection_throttle(clock, make_tenant, runtime):
    import dataclasses
    import time

    runtime.system.config = dataclasses.replace(runtime.system.config, send_rate=600,
                                                send_jitter=0.0)
    ctx = make_tenant()  # its sender reads the new config: one send per 0.1 s
    campaign_id = _campaign(ctx, _numbers(4))  # delay 0: only the throttle spaces them
    arrivals: list[float] = []
    record_sent = runtime.network.record_sent

    def stamped(phone, item):  # when each send reaches the simulated phone network
        arrivals.append(time.monotonic())
        record_sent(phone, item)

    runtime.network.record_sent = stamped
    _act(ctx, campaign_id, "start")
    _wait_sent(ctx, 4)
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:])]
    assert len(gaps) == 3 and all(g >= 0.08 for g in gaps), gaps  # 0.1 s, less scheduling


def test_failed_send_marks_the_recipient_failed_and_the_campaign_goes_on(ctx):
    ctx.api("POST", f"/sim/whatsapp/{ctx.whatsapp_id}/faults", {"failSends": 4})
    numbers = _numbers(2)
    campaign_id = _campaign(ctx, numbers)
    _act(ctx, campaign_id, "start")
    assert _wait_sent(ctx, 1) == [numbers[1]]
    counters = wait_for(lambda: (c := _counters(ctx, campaign_id))["failed"] == 1
                        and c["sent"] + c["delivered"] == 1 and c)
    assert counters["failed"] == 1


def test_acks_move_the_recipient_and_emit_campaign_updated(ctx, live_server):
    ws = WsClient(live_server, ctx.token)
    ws.subscribe("tenant")
    campaign_id = _campaign(ctx, _numbers(1))
    _act(ctx, campaign_id, "start")
    wa_id = wait_for(ctx.sent)[0]["id"]
    for ack in (2, 3):
        assert ctx.api("POST", f"/sim/whatsapp/{ctx.whatsapp_id}/ack",
                       {"id": wa_id, "ack": ack}).status_code == 202
    event = ws.wait_event("campaign.updated", lambda d: d["counters"]["read"] == 1)
    assert event["data"]["id"] == campaign_id
    assert _recipients(ctx, campaign_id)[0]["status"] == "read"
    assert not [f for f in ws.frames if f.get("event") in ("message.ack", "message.updated")]
    ws.close()


def test_campaign_events_reach_administrators_only(ctx, live_server):
    with db.unit_of_work():
        tenants.create_user(ctx.tenant_id, "Agent", "agent@tenant.test", "secret123")
    agent_token = ctx.client.post("/auth/login", json={
        "email": "agent@tenant.test", "password": "secret123"}).get_json()["token"]
    admin, agent = WsClient(live_server, ctx.token), WsClient(live_server, agent_token)
    admin.subscribe("tenant")
    agent.subscribe("tenant")
    campaign_id = _campaign(ctx, _numbers(1))
    _act(ctx, campaign_id, "start")
    admin.wait_event("campaign.updated", lambda d: d["status"] == "finished")
    ctx.incoming("5511911112222", "oi")  # an ordinary event both get, after the campaign's
    agent.wait_event("message.created")
    assert not [f for f in agent.frames if str(f.get("event")).startswith("campaign.")]
    replay = WsClient(live_server, agent_token)  # nor from the replay buffer
    first = min(f["id"] for f in admin.frames if f.get("type") == "event")
    replay.subscribe("tenant", last_event_id=first - 1)
    replay.wait_event("message.created")
    assert not [f for f in replay.frames if str(f.get("event")).startswith("campaign.")]
    for ws in (admin, agent, replay):
        ws.close()


def test_create_contacts_and_delete_are_announced_to_the_dashboard(ctx, live_server):
    ws = WsClient(live_server, ctx.token)
    ws.subscribe("tenant")
    campaign_id = _campaign(ctx, _numbers(3))  # create, then its contacts
    ws.wait_event("campaign.updated", lambda d: d["id"] == campaign_id
                  and d["counters"]["pending"] == 3)
    assert ctx.api("DELETE", f"/campaigns/{campaign_id}").status_code == 200
    assert ws.wait_event("campaign.deleted")["data"] == {"id": campaign_id}
    ws.close()


def test_a_deleted_campaigns_id_is_never_given_to_a_new_one(ctx):
    """A dashboard that saw campaign.deleted for an id ignores that id from then on."""
    kept = _campaign(ctx, _numbers(1))
    newest = _campaign(ctx, _numbers(2))
    assert ctx.api("DELETE", f"/campaigns/{newest}").status_code == 200
    again = _campaign(ctx, _numbers(1))
    assert again > newest > kept
    assert ctx.api("GET", f"/campaigns/{newest}").status_code == 404
    assert ctx.api("GET", f"/campaigns/{again}").get_json()["counters"]["pending"] == 1


def test_media_goes_with_every_campaign_message(ctx):
    campaign_id = _campaign(ctx, _numbers(2), message1="veja")
    uploaded = ctx.api("POST", f"/campaigns/{campaign_id}/media",
                       data={"media": (io.BytesIO(b"%PDF-1.4 promo"), "promo.pdf")},
                       content_type="multipart/form-data")
    assert uploaded.get_json()["mediaType"] == "document"
    _act(ctx, campaign_id, "start")
    sent = wait_for(lambda: len(ctx.sent()) == 2 and ctx.sent())
    assert [(s["body"], s["media"]["size"]) for s in sent] == [("veja", 14)] * 2


def _attach(ctx, campaign_id: int, name: str, data: bytes = b"%PDF-1.4 promo") -> str:
    """Upload ``name`` as the campaign's media; returns the file's absolute path."""
    uploaded = ctx.api("POST", f"/campaigns/{campaign_id}/media",
                       data={"media": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")
    assert uploaded.status_code == 200, uploaded.get_json()
    stored = uploaded.get_json()["mediaUrl"].removeprefix("/public/")
    return os.path.join(ctx.runtime.settings.public_dir, stored)


def test_a_replaced_removed_or_deleted_attachment_leaves_no_file_behind(ctx):
    campaign_id = _campaign(ctx, _numbers(1))
    first = _attach(ctx, campaign_id, "a.pdf")
    second = _attach(ctx, campaign_id, "b.pdf")
    assert (os.path.exists(first), os.path.exists(second)) == (False, True)
    assert ctx.api("DELETE", f"/campaigns/{campaign_id}/media").status_code == 200
    assert not os.path.exists(second)
    third = _attach(ctx, campaign_id, "c.pdf")
    assert ctx.api("DELETE", f"/campaigns/{campaign_id}").status_code == 200
    assert not os.path.exists(third)


def test_the_attachment_of_a_sent_message_outlives_its_campaign(ctx):
    campaign_id = _campaign(ctx, _numbers(1))
    path = _attach(ctx, campaign_id, "promo.pdf")
    _act(ctx, campaign_id, "start")
    wait_for(lambda: len(ctx.sent()) == 1)
    wait_for(lambda: _counters(ctx, campaign_id)["queued"] == 0)  # its outcome is recorded
    assert ctx.api("DELETE", f"/campaigns/{campaign_id}").status_code == 200
    assert os.path.exists(path)
    with db.unit_of_work():
        shown = Message.get().media_path
    assert ctx.api("GET", f"/public/{shown}").status_code == 200


def test_a_contact_who_opts_out_after_being_picked_is_not_sent_to(ctx):
    campaign_id = _campaign(ctx, _numbers(1))  # a draft: no actor paces it
    with db.unit_of_work():
        campaign = Campaign.get_by_id(campaign_id)
        recipient_id, contact_id, _, opted_out = recipients.next_pending(campaign_id)
        assert not opted_out
        # another connection's actor commits the contact's opt-out here
        Contact.update(opted_out_at=T0).where(Contact.id == contact_id).execute()
        assert recipients.hand_off(campaign, recipient_id, "Oi", 1, T0) is None
        assert Message.select().count() == 0
        assert recipients.next_pending(campaign_id)[3] is True  # settled as opted out next


# --- pause, resume, cancel, restart ----------------------------------------------------------

def test_pause_stops_new_sends_at_once_and_resume_goes_on(ctx, clock):
    campaign_id = _campaign(ctx, _numbers(4), delay=60)
    _act(ctx, campaign_id, "start")
    _wait_sent(ctx, 1)
    wait_for(clock.next_due)
    paused = _act(ctx, campaign_id, "pause")
    assert paused["status"] == "paused"
    assert clock.next_due() is None  # its timer is gone
    clock.advance_to(T0 + datetime.timedelta(hours=1))
    assert len(ctx.sent()) == 1
    assert _act(ctx, campaign_id, "resume")["status"] == "running"
    _wait_sent(ctx, 2)  # the gap since the last send has passed: at once
    assert _counters(ctx, campaign_id)["pending"] == 2


def test_pause_revokes_a_queued_send_and_resume_sends_that_row_once(clock, make_tenant, runtime):
    ctx = make_tenant(start=False)  # not connected: the first send waits in the queue
    numbers = _numbers(1)
    campaign_id = _campaign(ctx, numbers)
    _act(ctx, campaign_id, "start")
    wait_for(lambda: _counters(ctx, campaign_id)["queued"] == 1)
    _act(ctx, campaign_id, "pause")
    with db.unit_of_work():
        assert [m.status for m in Message.select()] == ["cancelled"]
    ctx.api("POST", f"/whatsappsession/{ctx.whatsapp_id}")
    wait_for(lambda: ctx.api("GET", f"/whatsapp/{ctx.whatsapp_id}")
             .get_json()["status"] == "CONNECTED")
    assert runtime.system.sweep() == 0
    assert ctx.sent() == []
    _act(ctx, campaign_id, "resume")
    assert _wait_sent(ctx, 1) == numbers
    with db.unit_of_work():
        assert Message.select().count() == 1


def test_a_revoked_send_goes_out_with_the_attachment_chosen_while_paused(clock, make_tenant,
                                                                         runtime):
    ctx = make_tenant(start=False)  # not connected: the first send waits in the queue
    campaign_id = _campaign(ctx, _numbers(1), message1="veja")
    old = _attach(ctx, campaign_id, "old.pdf", b"%PDF-1.4 old")
    _act(ctx, campaign_id, "start")
    wait_for(lambda: _counters(ctx, campaign_id)["queued"] == 1)
    _act(ctx, campaign_id, "pause")
    _attach(ctx, campaign_id, "new.pdf", b"%PDF-1.4 the new one")
    assert not os.path.exists(old)  # only the revoked row carried it
    ctx.api("POST", f"/whatsappsession/{ctx.whatsapp_id}")
    wait_for(lambda: ctx.api("GET", f"/whatsapp/{ctx.whatsapp_id}")
             .get_json()["status"] == "CONNECTED")
    _act(ctx, campaign_id, "resume")
    sent = wait_for(lambda: ctx.sent())
    assert [(s["body"], s["media"]["size"]) for s in sent] == [("veja", 20)]


def test_a_send_still_queued_when_the_window_closes_waits_for_the_next_window(
        clock, make_tenant, runtime):
    ctx = make_tenant(start=False)  # not connected: the send waits in the queue
    numbers = _numbers(1)
    campaign_id = _campaign(ctx, numbers, windowStart="13:00", windowEnd="15:00")  # T0: 14:00
    _act(ctx, campaign_id, "start")
    wait_for(lambda: _counters(ctx, campaign_id)["queued"] == 1)
    clock.advance_to(datetime.datetime(2030, 1, 7, 18, 1))  # 15:01 local: closed
    campaigner = runtime.system.campaigner(ctx.whatsapp_id, ctx.tenant_id)
    campaigner.tell(CampaignCheck())  # what the 30 s check does
    wait_for(lambda: _counters(ctx, campaign_id)["pending"] == 1, message="the send held")
    with db.unit_of_work():
        assert [m.status for m in Message.select()] == ["cancelled"]
    ctx.api("POST", f"/whatsappsession/{ctx.whatsapp_id}")  # the number comes back at night
    wait_for(lambda: ctx.api("GET", f"/whatsapp/{ctx.whatsapp_id}")
             .get_json()["status"] == "CONNECTED")
    assert runtime.system.sweep() == 0
    assert ctx.sent() == []
    assert clock.step() == datetime.datetime(2030, 1, 8, 16, 0)  # 13:00 the next day
    assert _wait_sent(ctx, 1) == numbers
    with db.unit_of_work():
        assert Message.select().count() == 1  # the same row, re-armed


def test_only_a_draft_changes_connection(ctx):
    other = ctx.api("POST", "/whatsapp", {"name": "Outro"}).get_json()["id"]
    campaign_id = _campaign(ctx, _numbers(1), startAt="2031-01-01T00:00:00")
    moved = ctx.api("PUT", f"/campaigns/{campaign_id}", {"whatsappId": other})
    assert moved.get_json()["whatsappId"] == other
    _act(ctx, campaign_id, "start")
    _act(ctx, campaign_id, "pause")
    refused = ctx.api("PUT", f"/campaigns/{campaign_id}", {"whatsappId": ctx.whatsapp_id})
    assert (refused.status_code, refused.get_json()["error"]) == (409, "ERR_CAMPAIGN_STATE")


def test_a_draft_moved_to_another_connection_is_not_started_by_the_old_ones_actor(ctx):
    campaign_id = _campaign(ctx, _numbers(1))
    other = ctx.api("POST", "/whatsapp", {"name": "Outro"}).get_json()["id"]
    with db.unit_of_work():
        Campaign.update(whatsapp=other).where(Campaign.id == campaign_id).execute()  # a PUT
        with pytest.raises(Conflict):
            campaigns.transition(ctx.tenant_id, campaign_id, "start", T0, ctx.whatsapp_id)


def test_a_campaign_on_a_disconnected_number_says_it_waits_for_the_connection(
        clock, make_tenant, runtime):
    ctx = make_tenant(start=False)
    campaign_id = _campaign(ctx, _numbers(1))
    _act(ctx, campaign_id, "start")
    wait_for(lambda: ctx.api("GET", f"/campaigns/{campaign_id}").get_json()["waitingFor"]
             == "connection", message="the reason on the campaign")
    ctx.api("POST", f"/whatsappsession/{ctx.whatsapp_id}")
    _wait_sent(ctx, 1)
    shown = wait_for(lambda: (row := ctx.api("GET", f"/campaigns/{campaign_id}").get_json())
                     ["status"] == "finished" and row, message="finished")
    assert shown["waitingFor"] is None


def test_cancel_removes_every_unsent_send(clock, make_tenant, runtime):
    ctx = make_tenant(start=False)
    campaign_id = _campaign(ctx, _numbers(3))
    _act(ctx, campaign_id, "start")
    wait_for(lambda: _counters(ctx, campaign_id)["queued"] == 1)
    cancelled = _act(ctx, campaign_id, "cancel")
    assert cancelled["status"] == "cancelled"
    assert cancelled["counters"]["cancelled"] == 3
    ctx.api("POST", f"/whatsappsession/{ctx.whatsapp_id}")
    wait_for(lambda: ctx.api("GET", f"/whatsapp/{ctx.whatsapp_id}")
             .get_json()["status"] == "CONNECTED")
    assert runtime.system.sweep() == 0
    assert ctx.sent() == []
    refused = ctx.api("POST", f"/campaigns/{campaign_id}/resume")
    assert (refused.status_code, refused.get_json()["error"]) == (409, "ERR_CAMPAIGN_STATE")


def _boot(settings, clock) -> Runtime:
    """``web.runtime.boot`` with a campaign clock: the same composition root, our time."""
    from actors.system import ActorSystem
    from storage.jobs import EmbeddedJobQueue, RedisJobQueue

    connect_database(settings)
    network, factory = client_factory(settings)
    queue = (RedisJobQueue(settings.redis_url, settings.redis_consumer_ttl)
             if settings.redis_url else EmbeddedJobQueue())
    system = ActorSystem(system_config(settings), factory, queue, clock=clock).start()
    return Runtime(settings, system, network)


def _login(runtime, ctx):
    client = create_app(runtime).test_client()
    token = client.post("/auth/login", json={"email": ctx.email, "password": "secret123"})
    return type(ctx)(client, runtime, ctx.tenant_id, ctx.user_id, ctx.whatsapp_id,
                     token.get_json()["token"], ctx.email)


@pytest.mark.timeout(240)
def test_restart_in_the_middle_sends_nobody_twice_and_skips_nobody(ctx, clock, runtime,
                                                                     settings):
    numbers = _numbers(8)
    campaign_id = _campaign(ctx, numbers, delay=10)
    _act(ctx, campaign_id, "start")
    _wait_sent(ctx, 1)
    for count in (2, 3):
        clock.step()
        _wait_sent(ctx, count)
    # the 4th send is on its way when the process goes down: WhatsApp never answers it
    ctx.api("POST", f"/sim/whatsapp/{ctx.whatsapp_id}/faults", {"ghostDisconnect": True})
    clock.step()
    wait_for(lambda: _counters(ctx, campaign_id)["queued"] == 1)
    shutdown(runtime)

    later = ManualClock(clock.now() + datetime.timedelta(minutes=5))
    again = _boot(settings, later)
    try:
        ctx2 = _login(again, ctx)
        _wait_sent(ctx2, 4)  # the queued one, resumed from its pending row
        for count in range(5, 9):
            later.step()
            _wait_sent(ctx2, count)
        sent = _sent_to(ctx2)
        assert sorted(sent) == sorted(numbers) and len(sent) == len(set(sent))
        assert wait_for(lambda: ctx2.api("GET", f"/campaigns/{campaign_id}")
                        .get_json()["status"] == "finished")
    finally:
        shutdown(again)


@pytest.mark.timeout(120)
def test_restart_outside_the_window_holds_the_queued_send_until_it_opens(ctx, clock, runtime,
                                                                          settings):
    numbers = _numbers(2)  # T0 is 14:00 in São Paulo: inside 14:00–15:00
    campaign_id = _campaign(ctx, numbers, delay=10, windowStart="14:00", windowEnd="15:00")
    ctx.api("POST", f"/sim/whatsapp/{ctx.whatsapp_id}/faults", {"ghostDisconnect": True})
    _act(ctx, campaign_id, "start")
    wait_for(lambda: _counters(ctx, campaign_id)["queued"] == 1)
    shutdown(runtime)

    later = ManualClock(T0 + datetime.timedelta(hours=2))  # 16:00 local: closed
    again = _boot(settings, later)
    try:
        ctx2 = _login(again, ctx)
        opens = wait_for(later.next_due, message="the window's opening")
        assert opens == datetime.datetime(2030, 1, 8, 17, 0)  # 14:00 local, the next day
        assert _counters(ctx2, campaign_id)["pending"] == 2
        assert ctx2.sent() == []
        later.step()
        _wait_sent(ctx2, 1)
        later.step()
        assert sorted(_wait_sent(ctx2, 2)) == numbers
    finally:
        shutdown(again)


# --- replies, echoes, opt-out ----------------------------------------------------------------

def test_campaign_send_and_its_echo_open_no_ticket(ctx, runtime):
    campaign_id = _campaign(ctx, _numbers(1))
    _act(ctx, campaign_id, "start")
    sent = wait_for(ctx.sent)[0]
    wait_for(lambda: _recipients(ctx, campaign_id)[0]["status"] == "sent")
    echo = WaMessage(wa_id=sent["id"], number=sent["to"], body=sent["body"], from_me=True)
    runtime.system.session(ctx.whatsapp_id).ask(ClientMessage(echo), timeout=5)
    assert ctx.tickets("pending", "open", "closed") == []
    with db.unit_of_work():
        assert Message.select().count() == 1


def test_reply_opens_a_ticket_and_marks_the_recipient_replied(ctx):
    numbers = _numbers(1)
    campaign_id = _campaign(ctx, numbers)
    _act(ctx, campaign_id, "start")
    wait_for(lambda: _recipients(ctx, campaign_id)[0]["status"] == "sent")
    ctx.incoming(numbers[0], "Quero saber mais")
    ticket = ctx.pending_ticket()
    assert ticket["contact"]["number"] == numbers[0]
    wait_for(lambda: _recipients(ctx, campaign_id)[0]["status"] == "replied")
    assert _counters(ctx, campaign_id)["replied"] == 1


def test_the_reply_ticket_shows_the_campaign_message_above_the_answer(ctx):
    numbers = _numbers(1)
    campaign_id = _campaign(ctx, numbers, message1="Oi {{name}}, temos novidades")
    _act(ctx, campaign_id, "start")
    wait_for(lambda: _recipients(ctx, campaign_id)[0]["status"] == "sent")
    ctx.incoming(numbers[0], "Quais?")
    ticket = ctx.pending_ticket()
    thread = wait_for(lambda: len(rows := ctx.messages(ticket["id"])) == 2 and rows)
    assert [(m["fromMe"], m["body"]) for m in thread] == [
        (True, "Oi Cliente 0, temos novidades"), (False, "Quais?")]
    assert ctx.tickets("pending")[0]["lastMessage"] == "Quais?"  # the answer, not the campaign


def test_an_old_campaign_message_stays_out_of_a_new_ticket(ctx):
    numbers = _numbers(1)
    campaign_id = _campaign(ctx, numbers)
    _act(ctx, campaign_id, "start")
    wait_for(lambda: _recipients(ctx, campaign_id)[0]["status"] == "sent")
    with db.write():
        Message.update(created_at=datetime.datetime.utcnow() - datetime.timedelta(days=8)).execute()
    ctx.incoming(numbers[0], "Ainda vale?")
    ticket = ctx.pending_ticket()
    assert [m["body"] for m in wait_for(lambda: ctx.messages(ticket["id"]))] == ["Ainda vale?"]


def test_a_reply_before_the_send_is_recorded_counts_once_it_is(ctx):
    numbers = _numbers(1)
    campaign_id = _campaign(ctx, numbers)
    ctx.api("POST", f"/sim/whatsapp/{ctx.whatsapp_id}/faults", {"hangSends": True})
    _act(ctx, campaign_id, "start")
    wait_for(lambda: _recipients(ctx, campaign_id)[0]["status"] == "queued")
    ctx.incoming(numbers[0], "Oi, recebi")  # WhatsApp got it; our sender has no outcome yet
    wait_for(lambda: _recipients(ctx, campaign_id)[0]["repliedAt"] is not None)
    assert _recipients(ctx, campaign_id)[0]["status"] == "queued"
    ctx.api("POST", f"/sim/whatsapp/{ctx.whatsapp_id}/faults", {"hangSends": False})
    wait_for(lambda: _recipients(ctx, campaign_id)[0]["status"] == "replied")
    assert _counters(ctx, campaign_id)["replied"] == 1


def test_opt_out_keyword_stops_future_campaign_sends_to_that_contact(ctx):
    leaver, stayer = _numbers(2)
    first = _campaign(ctx, [leaver], optOutKeyword="SAIR")
    _act(ctx, first, "start")
    wait_for(lambda: _recipients(ctx, first)[0]["status"] == "sent")
    ctx.incoming(leaver, " Sair! ")
    wait_for(lambda: _recipients(ctx, first)[0]["status"] == "replied")
    second = _campaign(ctx, [leaver, stayer])
    _act(ctx, second, "start")
    wait_for(lambda: ctx.api("GET", f"/campaigns/{second}").get_json()["status"] == "finished")
    assert _sent_to(ctx) == [leaver, stayer]  # the first campaign's send, then only the stayer
    assert {r["number"]: r["status"] for r in _recipients(ctx, second)}[leaver] == "opted_out"


# --- the API -----------------------------------------------------------------------------------

def test_state_changes_the_state_does_not_allow_are_conflicts(ctx):
    empty = ctx.api("POST", "/campaigns", {"name": "x", "whatsappId": ctx.whatsapp_id,
                                           "message1": "oi"}).get_json()["id"]
    assert ctx.api("POST", f"/campaigns/{empty}/start").get_json()["error"] == "ERR_CAMPAIGN_EMPTY"
    assert ctx.api("POST", f"/campaigns/{empty}/pause").status_code == 409
    campaign_id = _campaign(ctx, _numbers(2), delay=60)  # the clock stands still: running
    _act(ctx, campaign_id, "start")
    for method, path, body in [("POST", "start", None), ("POST", "resume", None),
                               ("PUT", "", {"name": "y"}), ("DELETE", "", None)]:
        response = ctx.api(method, f"/campaigns/{campaign_id}" + (f"/{path}" if path else ""),
                           body)
        assert (response.status_code, response.get_json()["error"]) == (
            409, "ERR_CAMPAIGN_STATE"), (method, path)


def test_other_tenant_cannot_see_or_start_the_campaign(clock, make_tenant):
    alice, bob = make_tenant(), make_tenant()
    campaign_id = _campaign(alice, _numbers(1))
    for method, path, body in [("GET", "", None), ("PUT", "", {"name": "mine"}),
                               ("DELETE", "", None), ("POST", "/start", None),
                               ("POST", "/cancel", None), ("GET", "/contacts", None),
                               ("POST", "/contacts", {"contacts": ["5511970009999"]})]:
        response = bob.api(method, f"/campaigns/{campaign_id}{path}", body)
        assert (response.status_code, response.get_json()["error"]) == (
            404, "ERR_NO_CAMPAIGN_FOUND"), (method, path)
    assert bob.api("GET", "/campaigns").get_json()["campaigns"] == []
    on_alices = bob.api("POST", "/campaigns", {"name": "x", "whatsappId": alice.whatsapp_id,
                                               "message1": "oi"})
    assert on_alices.status_code == 404
    assert alice.api("GET", f"/campaigns/{campaign_id}").get_json()["status"] == "draft"
    assert alice.sent() == []


def test_campaigns_are_for_admins_only(ctx):
    with db.unit_of_work():
        tenants.create_user(ctx.tenant_id, "Agent", "agent@tenant.test", "secret123")
    login = ctx.client.post("/auth/login", json={"email": "agent@tenant.test",
                                                 "password": "secret123"})
    headers = {"Authorization": f"Bearer {login.get_json()['token']}"}
    response = ctx.client.get("/campaigns", headers=headers)
    assert (response.status_code, response.get_json()["error"]) == (403, "ERR_NO_PERMISSION")


def test_a_time_zone_change_moves_the_window_at_once(ctx, clock):
    campaign_id = _campaign(ctx, _numbers(2), windowStart="08:00", windowEnd="10:00")
    _act(ctx, campaign_id, "start")
    assert wait_for(clock.next_due) == datetime.datetime(2030, 1, 8, 11, 0)  # 08:00 São Paulo
    assert ctx.api("PUT", "/settings/timezone", {"value": "Asia/Tokyo"}).status_code == 200
    # 17:00 UTC is 02:00 in Tokyo: closed until 08:00 Tokyo (23:00 UTC), the wake re-armed
    assert wait_for(lambda: clock.next_due() == datetime.datetime(2030, 1, 7, 23, 0))
    assert ctx.sent() == []
    clock.step()
    _wait_sent(ctx, 2)


def test_a_campaign_asleep_outside_its_window_sends_when_the_new_zone_opens_it(ctx, clock):
    campaign_id = _campaign(ctx, _numbers(1), windowStart="01:00", windowEnd="03:00")
    _act(ctx, campaign_id, "start")  # 14:00 in São Paulo: closed
    wait_for(clock.next_due)
    assert ctx.api("PUT", "/settings/timezone", {"value": "Asia/Tokyo"}).status_code == 200
    _wait_sent(ctx, 1)  # 02:00 in Tokyo: open, without moving the clock


def test_pause_and_resume_do_not_eat_the_daily_cap(ctx, clock):
    campaign_id = _campaign(ctx, _numbers(3), dailyCap=2)
    ctx.api("POST", f"/sim/whatsapp/{ctx.whatsapp_id}/faults", {"ghostDisconnect": True})
    _act(ctx, campaign_id, "start")
    for _ in range(3):  # the first send is revoked and re-armed each time: one handed, not four
        wait_for(lambda: _counters(ctx, campaign_id)["queued"] == 1)
        _act(ctx, campaign_id, "pause")
        _act(ctx, campaign_id, "resume")
    wait_for(lambda: _counters(ctx, campaign_id)["queued"] == 1)
    ctx.api("POST", f"/sim/whatsapp/{ctx.whatsapp_id}/faults", {"ghostDisconnect": False})
    assert len(_wait_sent(ctx, 2)) == 2  # the cap's two, today
    assert wait_for(clock.next_due) == datetime.datetime(2030, 1, 8, 3, 0)  # then midnight


def test_an_empty_message_is_not_sent_and_counts_as_failed(ctx):
    numbers = _numbers(2)
    campaign_id = _campaign(ctx, [], message1="{{name}}")
    ctx.api("POST", f"/campaigns/{campaign_id}/contacts",
            {"contacts": [numbers[0], {"number": numbers[1], "name": "Bia"}]})
    _act(ctx, campaign_id, "start")
    wait_for(lambda: ctx.api("GET", f"/campaigns/{campaign_id}").get_json()["status"]
             == "finished")
    assert [(s["to"], s["body"]) for s in ctx.sent()] == [(numbers[1], "Bia")]
    assert _counters(ctx, campaign_id)["failed"] == 1


def test_a_contact_in_an_open_ticket_sees_the_campaign_message_there_live(ctx, live_server):
    numbers = _numbers(1)
    ctx.incoming(numbers[0], "Oi, tudo bem?")
    ticket = ctx.pending_ticket()
    ws = WsClient(live_server, ctx.token)
    ws.subscribe(f"ticket:{ticket['id']}")
    campaign_id = _campaign(ctx, numbers, message1="Promo da semana")
    _act(ctx, campaign_id, "start")
    event = ws.wait_event("message.created", lambda d: d["body"] == "Promo da semana")
    assert event["data"]["ticketId"] == ticket["id"] and event["data"]["fromMe"] is True
    assert [m["body"] for m in ctx.messages(ticket["id"])] == ["Oi, tudo bem?", "Promo da semana"]
    ws.close()
