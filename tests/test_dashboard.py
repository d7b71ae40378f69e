"""The attendant dashboard in real headless Chromium (selenium): login, live messages, the
composer and its ticks, ticket actions seen by two attendants, reconnect after a server restart,
escaping, tenancy, connections and QR codes.

One browser serves the whole module (each Chromium costs ~200 MB and a second to start); each
test gets its own server and database (``live_server``), hence its own origin. Screenshots of
the main screens are written to ``screenshots/`` (git-ignored).
"""
import base64
import time

import pytest
from selenium.webdriver.common.keys import Keys

from storage import db, tenants
from storage.models import Queue
from dashboard_screen import Screen, reset_windows, script_errors
from helpers import wait_for

# A 4×4 red PNG and a tiny WAV: real media for the inline image and the audio player.
PNG_4x4 = ("iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEklEQVR4nGP4z8CAB+GTG8HSALfKY52fTcuY"
           "AAAAAElFTkSuQmCC")
WAV = base64.b64encode(b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00@\x1f\x00\x00"
                       b"@\x1f\x00\x00\x01\x00\x08\x00data\x00\x00\x00\x00").decode()


def second_screen(screen: Screen) -> Screen:
    """Another window on the same server under another origin (its own login)."""
    port = screen.base.rsplit(":", 1)[1]
    return Screen.new_window(screen.driver, f"http://localhost:{port}")


def make_agent(tenant, name="Beatriz", email="beatriz@agents.test"):
    with db.unit_of_work():
        return tenants.create_user(tenant.tenant_id, name, email, "secret123")


def pending_ticket(tenant, number="5511988880000", body="Oi, preciso de ajuda", name="Maria"):
    tenant.incoming(number, body, name=name)
    return wait_for(lambda: [t for t in tenant.tickets("pending")
                             if t["contact"]["number"] == number])[0]


# --- login ------------------------------------------------------------------------------------

def test_login_shows_the_user_and_tenant_and_logout_returns_to_the_form(screen, make_tenant):
    tenant = make_tenant("Padaria Central")
    screen.open()
    screen.screenshot("login")
    screen.find("#login-email").send_keys(tenant.email)
    screen.find("#login-password").send_keys("wrong-password", Keys.ENTER)
    screen.wait(lambda: screen.shown("#login-error"), message="the error")
    screen.find("#login-password").clear()
    screen.login(tenant.email)
    assert (screen.text("#user-name"), screen.text("#tenant-name")) == ("Admin", "Padaria Central")
    screen.find("#logout").click()
    screen.wait(lambda: screen.shown("#login-email"), message="back to the login form")
    assert screen.js("return localStorage.getItem('tt.session')") is None


def test_an_expired_access_token_is_refreshed_without_a_new_login(screen, tenant):
    screen.login(tenant.email)
    screen.js("const s = JSON.parse(localStorage.getItem('tt.session'));"
              "s.token = 'expired.garbage.token'; localStorage.setItem('tt.session',"
              " JSON.stringify(s)); location.reload();")
    screen.wait(lambda: screen.text("#user-name") == "Admin" and screen.live() == "up",
                message="logged in again through the refresh token")
    assert screen.js("return JSON.parse(localStorage.getItem('tt.session')).token") \
        != "expired.garbage.token"


# --- live messages ------------------------------------------------------------------------------

def test_incoming_message_appears_within_two_seconds_without_reload(screen, tenant):
    screen.login(tenant.email)
    screen.js("window.__sameDocument = true")
    started = time.monotonic()
    tenant.incoming("5511988880001", "Bom dia! Meu pedido atrasou", name="Maria Souza")
    shown = screen.wait(lambda: (screen.ticket("5511988880001") or {}).get("unread") == 1
                        and screen.ticket("5511988880001"), 2.0, "the new ticket")
    assert time.monotonic() - started < 2.0
    assert (shown["name"], shown["preview"]) == ("Maria Souza", "Bom dia! Meu pedido atrasou")
    screen.wait(lambda: screen.count("pending") == 1, message="the pending count")
    screen.open_ticket("5511988880001")
    started = time.monotonic()
    tenant.incoming("5511988880001", "Ainda está aí?")
    screen.wait(lambda: screen.bubble("Ainda está aí?"), 2.0, "the bubble")
    assert time.monotonic() - started < 2.0
    assert screen.js("return window.__sameDocument") is True  # no reload happened
    assert screen.js("return document.title") == "(1) TikTickets"
    screen.screenshot("tickets")


def test_customer_markup_renders_as_text(screen, tenant):
    screen.login(tenant.email)
    name = '<b>Mallory</b><img src=x onerror="window.__xss=1">'
    body = "<img src=x onerror=alert(1)>"
    tenant.incoming("5511988880002", body, name=name)
    shown = screen.wait(lambda: (screen.ticket("5511988880002") or {}).get("preview") == body
                        and screen.ticket("5511988880002"), message="the ticket")
    assert shown["name"] == name
    screen.open_ticket("5511988880002")
    bubble = screen.wait(lambda: screen.bubble(body), message="the bubble")
    assert "<img" not in bubble["html"] and "&lt;img" in bubble["html"]
    assert screen.text("#conv-name") == name
    assert screen.js("return document.querySelectorAll('#ticket-list img, #messages img,"
                     " #conv-name img').length") == 0
    assert screen.no_script_ran()


# --- composer ---------------------------------------------------------------------------------

def test_reply_reaches_whatsapp_and_ticks_advance_with_acks(screen, tenant):
    pending_ticket(tenant, "5511988880003")
    screen.login(tenant.email)
    screen.open_ticket("5511988880003")
    screen.type("Olá Maria, vou verificar agora.", Keys.ENTER)
    sent = wait_for(lambda: [s for s in tenant.sent()
                             if s["body"] == "Olá Maria, vou verificar agora."],
                    message="the reply at /sim/.../sent")[0]
    screen.wait(lambda: (screen.bubble("Olá Maria, vou verificar agora.") or {})
                .get("state") == "sent", message="one tick (the server's ack)")
    for ack, state in ((2, "delivered"), (3, "read")):
        response = tenant.api("POST", f"/sim/whatsapp/{tenant.whatsapp_id}/ack",
                              {"id": sent["id"], "ack": ack})
        assert response.status_code == 202
        screen.wait(lambda: screen.bubble("Olá Maria, vou verificar agora.")["state"] == state,
                    message=state)
    mine = [b for b in screen.bubbles() if b["body"] == "Olá Maria, vou verificar agora."]
    assert len(mine) == 1 and not mine[0]["optimistic"]  # the stored message, no duplicate
    stored = [m for m in tenant.messages(screen.open_ticket("5511988880003"))
              if m["fromMe"]]
    assert mine[0]["id"] == stored[0]["id"]
    screen.screenshot("conversation")


def test_shift_enter_adds_a_line_and_enter_sends(screen, tenant):
    pending_ticket(tenant, "5511988880004")
    screen.login(tenant.email)
    screen.open_ticket("5511988880004")
    screen.type("linha 1", Keys.SHIFT, Keys.ENTER, Keys.NULL, "linha 2")
    assert screen.js("return document.getElementById('composer-text').value") == \
        "linha 1\nlinha 2"
    screen.type(Keys.ENTER)
    wait_for(lambda: [s for s in tenant.sent() if s["body"] == "linha 1\nlinha 2"],
             message="the two-line message sent")
    assert screen.js("return document.getElementById('composer-text').value") == ""


def test_failed_message_shows_an_error_and_retry_sends_it(screen, tenant):
    pending_ticket(tenant, "5511988880005")
    tenant.api("POST", f"/sim/whatsapp/{tenant.whatsapp_id}/faults", {"failSends": 4})
    screen.login(tenant.email)
    screen.open_ticket("5511988880005")
    screen.type("Vai falhar", Keys.ENTER)
    screen.wait(lambda: (screen.bubble("Vai falhar") or {}).get("state") == "failed", 10,
                "the failed state")
    assert tenant.sent() == []
    screen.find('#messages [data-testid="retry"]').click()
    screen.wait(lambda: screen.bubble("Vai falhar")["state"] == "sent", message="sent on retry")
    assert [s["body"] for s in tenant.sent()] == ["Vai falhar"]


def test_reply_quotes_the_chosen_message(screen, tenant):
    pending_ticket(tenant, "5511988880006", "Qual o prazo?")
    screen.login(tenant.email)
    screen.open_ticket("5511988880006")
    screen.js("document.querySelector('#messages .msg.in .reply').click()")
    assert screen.text("#reply-text") == "Qual o prazo?"
    screen.type("Cinco dias úteis.", Keys.ENTER)
    sent = wait_for(lambda: tenant.sent(), message="the reply sent")[0]
    inbound = tenant.messages(screen.open_ticket("5511988880006"))[0]
    assert sent["quotedMsgId"] == inbound["messageId"]
    screen.wait(lambda: "Qual o prazo?" in (screen.bubble("Cinco dias úteis.") or {})
                .get("html", ""), message="the quote in the bubble")


def test_media_is_fetched_with_the_token_and_shown_through_blob_urls(screen, tenant):
    tenant.incoming("5511988880007", "", media={"mimetype": "image/png", "data": PNG_4x4,
                                                "filename": "foto.png"})
    tenant.incoming("5511988880007", "", media={"mimetype": "audio/wav", "data": WAV,
                                                "filename": "audio.wav"})
    tenant.incoming("5511988880007", "", media={"mimetype": "application/pdf",
                                                "data": base64.b64encode(b"%PDF-1.4").decode(),
                                                "filename": "boleto.pdf"})
    screen.login(tenant.email)
    screen.open_ticket("5511988880007")
    screen.wait(lambda: screen.js("const i = document.querySelector('#messages img');"
                                  "return !!i && i.src.startsWith('blob:') && i.naturalWidth === 4"),
                message="the image through a blob: URL")
    screen.wait(lambda: screen.js("const a = document.querySelector('#messages audio');"
                                  "return !!a && a.src.startsWith('blob:')"),
                message="the audio player")
    assert screen.js("return document.querySelector('#messages a.doc').textContent") == "boleto.pdf"
    assert screen.js("return [...document.querySelectorAll('[src],[href]')].some(e =>"
                     " (e.src || e.href || '').includes(arguments[0]))", tenant.token) is False


def test_attached_file_is_sent_with_its_caption(screen, tenant, tmp_path):
    pending_ticket(tenant, "5511988880009")
    picture = tmp_path / "comprovante.png"
    picture.write_bytes(base64.b64decode(PNG_4x4))
    screen.login(tenant.email)
    screen.open_ticket("5511988880009")
    screen.find("#composer-file").send_keys(str(picture))
    assert screen.text("#file-name") == "comprovante.png"
    screen.type("segue o comprovante", Keys.ENTER)
    sent = wait_for(lambda: tenant.sent(), message="the file sent")[0]
    assert (sent["body"], sent["media"]["filename"], sent["media"]["size"]) == \
        ("segue o comprovante", "comprovante.png", picture.stat().st_size)
    screen.wait(lambda: screen.js("const i = document.querySelector('#messages .msg.out img');"
                                  "return !!i && i.naturalWidth === 4"),
                message="the stored image in the bubble")
    assert len([b for b in screen.bubbles() if b["body"] == "segue o comprovante"]) == 1


def test_older_messages_load_on_scroll(screen, tenant):
    for i in range(64):
        tenant.incoming("5511988880008", f"mensagem {i:02d}")
    ticket = tenant.pending_ticket()
    wait_for(lambda: tenant.api("GET", f"/messages/{ticket['id']}").get_json()["count"] == 64,
             timeout=10)
    screen.login(tenant.email)
    screen.open_ticket("5511988880008")
    screen.wait(lambda: len(screen.bubbles()) == 50, message="the newest page")
    screen.js("document.getElementById('messages').scrollTop = 0")
    screen.wait(lambda: len(screen.bubbles()) == 64, message="the older page")
    bodies = [b["body"] for b in screen.bubbles()]
    assert bodies == [f"mensagem {i:02d}" for i in range(64)]


# --- ticket actions seen by two attendants ----------------------------------------------------

def two_attendants(screen, tenant):
    """The admin in the first window, the agent Beatriz (not an admin) in a second one."""
    agent = make_agent(tenant)
    screen.login(tenant.email)
    other = second_screen(screen)
    other.login("beatriz@agents.test")
    return agent, other


def test_accept_changes_both_attendants_screens(screen, tenant):
    pending_ticket(tenant, "5511988880010")
    _, agent = two_attendants(screen, tenant)
    agent.wait(lambda: agent.ticket("5511988880010"), message="pending for the agent too")
    screen.open_ticket("5511988880010")
    screen.action("accept")
    screen.wait(lambda: screen.text("#conv-status") == "Open" and screen.count("open") == 1
                and screen.count("pending") == 0, message="accepted on the admin's screen")
    assert screen.text("#conv-assignee") == "Assigned to Admin"
    agent.wait(lambda: agent.count("pending") == 0 and agent.ticket("5511988880010") is None,
               message="gone from the agent's pending list")


def test_transfer_changes_both_attendants_screens(screen, tenant):
    ticket = pending_ticket(tenant, "5511988880011")
    tenant.api("PUT", f"/tickets/{ticket['id']}", {"status": "open"})
    with db.unit_of_work():
        Queue.create(tenant=tenant.tenant_id, queue="Financeiro")
    agent_user, agent = two_attendants(screen, tenant)
    assert agent.count("open") == 0
    screen.tab("open")
    screen.open_ticket("5511988880011")
    screen.action("transfer")
    screen.wait(lambda: screen.js("return document.getElementById('transfer-dialog').open"),
                message="the transfer dialog")
    screen.js("document.getElementById('transfer-user').value = arguments[0];"
              "document.getElementById('transfer-queue').value = arguments[1];",
              str(agent_user.id), str(_queue_id(tenant)))
    screen.find("#transfer-submit").click()
    screen.wait(lambda: screen.text("#conv-assignee") == "Assigned to Beatriz"
                and screen.text("#conv-queue") == "Queue: Financeiro",
                message="transferred on the admin's screen")
    agent.tab("open")
    agent.wait(lambda: agent.count("open") == 1 and agent.ticket("5511988880011"),
               message="the ticket arrives on the agent's screen")
    screen.screenshot("transfer")


def _queue_id(tenant):
    return tenant.api("GET", "/queue").get_json()[0]["id"]


def test_close_changes_both_attendants_screens(screen, tenant):
    ticket = pending_ticket(tenant, "5511988880012")
    agent_user, agent = two_attendants(screen, tenant)
    tenant.api("PUT", f"/tickets/{ticket['id']}", {"status": "open", "userId": agent_user.id})
    screen.tab("open")
    screen.open_ticket("5511988880012")
    agent.tab("open")
    agent.open_ticket("5511988880012")
    agent.action("close")
    agent.wait(lambda: agent.count("closed") == 1 and agent.count("open") == 0,
               message="closed on the agent's screen")
    assert agent.js("return document.getElementById('composer-text').disabled") is True
    screen.wait(lambda: screen.text("#conv-status") == "Closed" and screen.count("open") == 0
                and screen.count("closed") == 1, message="closed on the admin's screen")
    assert screen.find('#conv-actions [data-action="reopen"]') is not None


# --- tenancy --------------------------------------------------------------------------------

def test_second_tenants_attendant_sees_none_of_it(screen, make_tenant):
    alice, bob = make_tenant("Loja Alice"), make_tenant("Loja Bob")
    pending_ticket(alice, "5511988880020", "segredo da Alice", name="Cliente Alice")
    screen.login(alice.email)
    screen.wait(lambda: screen.ticket("5511988880020"), message="Alice's ticket for Alice")
    other = second_screen(screen)
    other.login(bob.email)
    alice.incoming("5511988880020", "outro segredo da Alice")
    bob.incoming("5511988880021", "mensagem do Bob", name="Cliente Bob")
    other.wait(lambda: other.ticket("5511988880021"), message="Bob's own ticket")
    screen.wait(lambda: screen.ticket("5511988880020")["preview"] == "outro segredo da Alice")
    for status in ("open", "closed"):
        other.tab(status)
        assert other.tickets() == []
    other.tab("pending")
    assert [t["number"] for t in other.tickets()] == ["5511988880021"]
    other.wait(lambda: (other.count("pending"), other.count("open"), other.count("closed"))
               == (1, 0, 0), message="Bob's counts")
    other.go("connections")
    other.wait(lambda: other.js("return document.querySelectorAll('[data-testid=connection]')"
                                ".length") == 1, message="only Bob's connection")
    source = other.driver.page_source
    assert "Alice" not in source.replace("Loja Alice", "") and "segredo" not in source


# --- connections --------------------------------------------------------------------------------

def test_connections_page_shows_the_qr_and_goes_live_when_scanned(screen, tenant, runtime):
    runtime.network.pair_delay = -1  # the simulated phone waits to be told to scan
    second = tenant.api("POST", "/whatsapp", {"name": "Suporte"}).get_json()
    screen.login(tenant.email)
    screen.go("connections")
    card = f'[data-testid=connection][data-id="{second["id"]}"]'
    screen.wait(lambda: screen.find(f'{card} [data-action="start"]'), message="start").click()
    screen.wait(lambda: screen.js(
        "const i = document.querySelector(arguments[0] + ' img[data-testid=qr]');"
        "return !!i && i.src.startsWith('blob:') && i.naturalWidth > 100", card),
        message="the QR code image")
    assert "Expires in" in screen.text(f"{card} .countdown")
    screen.screenshot("connections")
    assert tenant.api("POST", f"/sim/whatsapp/{second['id']}/scan").status_code == 202
    screen.wait(lambda: screen.js("return document.querySelector(arguments[0]).dataset.status",
                                  card) == "CONNECTED", message="connected, live")
    assert screen.find(f"{card} img") is None


# --- the rest of the list ----------------------------------------------------------------------

def test_search_finds_tickets_by_message_text(screen, tenant):
    pending_ticket(tenant, "5511988880030", "quero a segunda via do boleto")
    pending_ticket(tenant, "5511988880031", "bom dia")
    screen.login(tenant.email)
    screen.wait(lambda: len(screen.tickets()) == 2, message="both tickets")
    screen.find("#ticket-search").send_keys("segunda via")
    screen.wait(lambda: [t["number"] for t in screen.tickets()] == ["5511988880030"]
                and screen.count("pending") == 1, message="only the match")


def test_unread_tickets_come_first(screen, tenant):
    first = pending_ticket(tenant, "5511988880040", "primeiro")
    tenant.api("PUT", f"/tickets/{first['id']}", {"status": "open"})
    pending_ticket(tenant, "5511988880041", "segundo")
    second = tenant.tickets("pending")[0]
    tenant.api("PUT", f"/tickets/{second['id']}", {"status": "open"})  # read: unread 0
    tenant.incoming("5511988880040", "de novo")  # the older ticket gets an unread message
    screen.login(tenant.email)
    screen.tab("open")
    screen.wait(lambda: [t["number"] for t in screen.tickets()]
                == ["5511988880040", "5511988880041"], message="unread first")


def test_admin_mine_filter_hides_other_attendants_tickets(screen, tenant):
    theirs = pending_ticket(tenant, "5511988880060", "para a Beatriz")
    mine = pending_ticket(tenant, "5511988880061", "para o Admin")
    agent = make_agent(tenant)
    tenant.api("PUT", f"/tickets/{theirs['id']}", {"status": "open", "userId": agent.id})
    tenant.api("PUT", f"/tickets/{mine['id']}", {"status": "open"})
    screen.login(tenant.email)
    screen.tab("open")
    screen.wait(lambda: len(screen.tickets()) == 2, message="all: both tickets")
    screen.find('#owner-filter input[value="mine"]').click()
    screen.wait(lambda: [t["number"] for t in screen.tickets()] == ["5511988880061"]
                and screen.count("open") == 1, message="mine: only the admin's")


def test_language_switch_translates_the_screen(screen, tenant):
    screen.login(tenant.email)
    assert screen.text("#tab-pending span") == "Pending"
    screen.js("const s = document.getElementById('lang-select'); s.value = 'pt-BR';"
              "s.dispatchEvent(new Event('change'));")
    assert screen.text("#tab-pending span") == "Aguardando"
    assert screen.text("#logout") == "Sair"


# --- reconnect after a server restart ------------------------------------------------------------

def test_page_reconnects_after_a_server_restart_and_shows_what_arrived_meanwhile(
        browser, tmp_path, database_url):
    from dashboard_server import ServerProcess

    server = ServerProcess(tmp_path, database_url)
    try:
        login = server.setup()
        screen = Screen(browser, server.base)
        server.incoming("5511988880050", "antes do reinício")
        screen.login(login["email"], login["password"])
        screen.open_ticket("5511988880050")
        server.stop()
        screen.wait(lambda: screen.shown("#banner") and screen.live() == "down",
                    message="the disconnected banner")
        screen.driver.execute_cdp_cmd("Page.setWebLifecycleState", {"state": "frozen"})
        try:  # the page is frozen: nothing can reach it until it wakes up
            server.start()
            server.start_session()
            server.incoming("5511988880050", "chegou enquanto a página estava fora")
            server.incoming("5511988880051", "um cliente novo", name="Novo")
        finally:
            screen.driver.execute_cdp_cmd("Page.setWebLifecycleState", {"state": "active"})
        screen.wait(lambda: screen.live() == "up" and not screen.shown("#banner"), 10,
                    "reconnected")
        screen.wait(lambda: screen.bubble("chegou enquanto a página estava fora"),
                    message="the message that arrived meanwhile")
        screen.wait(lambda: screen.ticket("5511988880051"), message="the new ticket")
        assert int(screen.js("return document.body.dataset.resyncs")) >= 2
        assert [b["body"] for b in screen.bubbles()] == \
            ["antes do reinício", "chegou enquanto a página estava fora"]
        assert script_errors(browser) == []
    finally:
        server.stop()
        reset_windows(browser)
