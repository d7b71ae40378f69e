"""The dashboard's campaigns page in real headless Chromium (selenium): the form that creates a
campaign and uploads its contacts (typed and CSV) with the report of the rejected rows, progress
moving live from ``campaign.updated`` events, the control buttons, escaping, and that only admins
see the page.

Same set-up as ``test_dashboard.py``: one browser for the module, a server and a database per
test (``live_server``), the simulated WhatsApp answering the sends. The screenshot of the page is
written to ``screenshots/campaigns.png`` (git-ignored; ``docs/screenshots/`` holds a copy).
"""
import datetime

import pytest
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from storage import db, tenants
from dashboard_screen import Screen
from helpers import wait_for

CARDS = """return [...document.querySelectorAll('#campaigns [data-testid=campaign]')].map(e => ({
    id: Number(e.dataset.id), status: e.dataset.status,
    name: e.querySelector('.campaign-name').textContent,
    chip: e.querySelector('.campaign-status').textContent,
    connection: e.querySelector('.campaign-connection').textContent,
    progress: e.querySelector('.progress-label').textContent,
    counters: Object.fromEntries([...e.querySelectorAll('[data-counter]')]
        .map(c => [c.dataset.counter, Number(c.dataset.value)])),
    actions: [...e.querySelectorAll('.buttons button')].map(b => b.dataset.action)}));"""
REPORTS = """return [...document.querySelectorAll(arguments[0] + ' [data-testid=contacts-report]')]
    .map(r => ({summary: r.querySelector('.report-summary').textContent,
                rows: [...r.querySelectorAll('[data-testid=rejected-row]')]
                    .map(tr => [...tr.children].map(td => td.textContent))}));"""


# --- helpers ------------------------------------------------------------------------------------

def make_campaign(tenant, contacts=(), **fields) -> dict:
    """A draft through the API, with ``contacts`` (numbers) added."""
    body = {"name": "Promo", "whatsappId": tenant.whatsapp_id, "message1": "Oi {{name}}!",
            "delay": 0, "jitter": 0, **fields}
    response = tenant.api("POST", "/campaigns", body)
    assert response.status_code == 201, response.get_json()
    campaign = response.get_json()
    if contacts:
        added = tenant.api("POST", f"/campaigns/{campaign['id']}/contacts",
                           {"contacts": list(contacts)})
        assert added.get_json()["added"] == len(contacts), added.get_json()
    return campaign


def open_campaigns(screen: Screen) -> None:
    screen.go("campaigns")
    screen.wait(lambda: screen.shown("#campaigns-page")
                and screen.js("return !!document.querySelector('#campaigns > *')"),
                message="the campaigns page loaded")


def cards(screen: Screen) -> list[dict]:
    return screen.js(CARDS)


def card(screen: Screen, campaign_id: int) -> dict | None:
    return next((c for c in cards(screen) if c["id"] == campaign_id), None)


def wait_card(screen: Screen, campaign_id: int, test, message: str, timeout: float = 5.0):
    return screen.wait(lambda: (found := card(screen, campaign_id)) and test(found) and found,
                       timeout, message)


def click_action(screen: Screen, campaign_id: int, action: str) -> None:
    """A real click (a confirm() may open: scripts would block on it)."""
    selector = f'[data-testid=campaign][data-id="{campaign_id}"] button[data-action="{action}"]'
    screen.wait(lambda: screen.js("const b = document.querySelector(arguments[0]);"
                                  "return !!b && !b.disabled", selector),
                message=f"the {action} button")
    screen.find(selector).click()


def open_edit(screen: Screen, campaign_id: int) -> None:
    click_action(screen, campaign_id, "edit")
    screen.wait(lambda: screen.shown("#campaign-form"), message="the edit form")


def answer_confirm(screen: Screen, accept: bool) -> str:
    alert = WebDriverWait(screen.driver, 5).until(expected_conditions.alert_is_present())
    text = alert.text
    if accept:
        alert.accept()
    else:
        alert.dismiss()
    return text


def set_value(screen: Screen, css: str, value: str) -> None:
    """Type into an input the way the page reads it (date and time pickers too)."""
    screen.js("const e = document.querySelector(arguments[0]); e.value = arguments[1];"
              "e.dispatchEvent(new Event('input', {bubbles: true}));", css, value)


def reports(screen: Screen, scope: str) -> list[dict]:
    return screen.js(REPORTS, scope)


def utc(iso: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))


# --- creating ------------------------------------------------------------------------------------

def test_admin_creates_a_campaign_with_typed_and_csv_contacts_and_sees_the_rejected_rows(
        screen, tenant, tmp_path):
    csv_file = tmp_path / "lista.csv"
    csv_file.write_text("nome;telefone\nJoão;5511977770003\nZé;12\n", encoding="utf-8")
    screen.login(tenant.email)
    screen.find("#nav-campaigns").click()  # the admin's link
    screen.wait(lambda: screen.shown("#campaign-new"), message="the campaigns page")
    screen.find("#campaign-new").click()
    screen.wait(lambda: screen.shown("#campaign-form"), message="the form")
    screen.find("#campaign-name").send_keys("Black Friday")
    screen.find("#campaign-message1").send_keys("{{greeting}}, {{name}}! 20% off today.")
    screen.find("#campaign-message2").send_keys("Oi {{name}}, promoção!")
    set_value(screen, "#campaign-start", "2030-01-07T14:30")
    set_value(screen, "#campaign-delay", "5")
    set_value(screen, "#campaign-jitter", "2.5")
    set_value(screen, "#campaign-window-start", "09:00")
    set_value(screen, "#campaign-window-end", "18:00")
    set_value(screen, "#campaign-daily-cap", "100")
    screen.find("#campaign-opt-out").send_keys("SAIR")
    set_value(screen, "#campaign-numbers", "5511977770001,Maria\n\nabc,Fulano\n"
                                           "+55 (11) 97777-0002\n5511977770001\n123")
    screen.find("#campaign-csv").send_keys(str(csv_file))
    screen.find("#campaign-submit").click()

    shown = screen.wait(lambda: len(reports(screen, "#campaign-report")) == 2
                        and reports(screen, "#campaign-report"), message="the upload report")
    assert not screen.shown("#campaign-form")
    typed, uploaded = shown
    assert typed["summary"] == ("Typed list: 5 received, 2 added, 1 duplicates, 2 rejected.")
    assert typed["rows"] == [
        ["3", "abc", "Not a phone number"],
        ["6", "123", "A number needs 10 to 15 digits with the country code (this one has 3)"]]
    assert uploaded["summary"] == "File lista.csv: 2 received, 1 added, 0 duplicates, 1 rejected."
    assert uploaded["rows"] == [["3", "12", "A number needs 10 to 15 digits with the country "
                                             "code (this one has 2)"]]

    created = wait_card(screen, cards(screen)[0]["id"], lambda c: c["counters"]["pending"] == 3,
                        "the draft with its 3 contacts")
    assert (created["name"], created["chip"], created["connection"]) == \
        ("Black Friday", "Draft", "Number 1")
    assert created["actions"] == ["start", "edit", "contacts", "delete"]
    assert created["progress"] == "0 of 3 contacts processed (0%)"
    stored = tenant.api("GET", f"/campaigns/{created['id']}").get_json()
    # typed in the company's zone (São Paulo, UTC-3), whatever the browser's
    assert utc(stored["startAt"]) == utc("2030-01-07T17:30:00Z")
    assert {k: stored[k] for k in ("message1", "message2", "message3", "delay", "jitter",
                                   "windowStart", "windowEnd", "dailyCap", "optOutKeyword",
                                   "whatsappId")} == {
        "message1": "{{greeting}}, {{name}}! 20% off today.",
        "message2": "Oi {{name}}, promoção!", "message3": None, "delay": 5.0, "jitter": 2.5,
        "windowStart": "09:00", "windowEnd": "18:00", "dailyCap": 100, "optOutKeyword": "SAIR",
        "whatsappId": tenant.whatsapp_id}
    names = {c["number"]: c["name"] for c in tenant.api(
        "GET", f"/campaigns/{created['id']}/contacts").get_json()["contacts"]}
    assert names == {"5511977770001": "Maria", "5511977770002": "", "5511977770003": "João"}


def create_with_attachment(screen: Screen, path) -> None:
    """A new campaign through the form, with the file at ``path`` as its attachment."""
    open_campaigns(screen)
    screen.find("#campaign-new").click()
    screen.find("#campaign-name").send_keys(f"Com {path.name}")
    screen.find("#campaign-message1").send_keys("Veja o anexo")
    screen.find("#campaign-media").send_keys(str(path))
    screen.find("#campaign-submit").click()


def test_the_form_uploads_the_attachment_sent_with_every_message(screen, tenant, tmp_path):
    flyer = tmp_path / "folheto.pdf"
    flyer.write_bytes(b"%PDF-1.4 promo")
    screen.login(tenant.email)
    create_with_attachment(screen, flyer)
    screen.wait(lambda: "attachment folheto.pdf" in (screen.text(".campaign-meta") or ""),
                message="the attachment on the card")
    stored = tenant.api("GET", "/campaigns").get_json()["campaigns"][0]
    assert (stored["mediaName"], stored["mediaType"]) == ("folheto.pdf", "document")
    assert screen.text("#campaign-report-body") == \
        "No contacts were added yet: add them from the campaign's card."


def test_an_attachment_the_server_refuses_is_named_in_the_report(screen, tenant, tmp_path):
    empty = tmp_path / "vazio.png"
    empty.write_bytes(b"")
    screen.login(tenant.email)
    create_with_attachment(screen, empty)
    screen.wait(lambda: screen.shown("[data-testid=media-failed]"), message="the report says so")
    assert screen.text("[data-testid=media-failed]") == (
        "The attachment vazio.png was not added (The file is empty.): the draft has none. "
        "Add it with Edit on the campaign's card.")
    assert tenant.api("GET", "/campaigns").get_json()["campaigns"][0]["mediaName"] is None


@pytest.mark.parametrize("start, end, complaint", [
    ("09:00", "", "Fill in both ends of the sending window, or neither."),
    ("10:00", "10:00", "The window must end at another time than it starts (no window: leave "
                       "both empty).")])
def test_the_form_refuses_a_half_or_empty_sending_window(screen, tenant, start, end, complaint):
    screen.login(tenant.email)
    open_campaigns(screen)
    screen.find("#campaign-new").click()
    screen.find("#campaign-name").send_keys("Janela")
    screen.find("#campaign-message1").send_keys("Oi")
    set_value(screen, "#campaign-window-start", start)
    set_value(screen, "#campaign-window-end", end)
    screen.find("#campaign-submit").click()
    assert screen.js("return document.getElementById('campaign-window-end').validationMessage") \
        == complaint
    assert screen.shown("#campaign-form")
    assert tenant.api("GET", "/campaigns").get_json()["count"] == 0


def test_names_are_measured_in_characters_not_utf16_units(screen, tenant):
    screen.login(tenant.email)
    open_campaigns(screen)
    screen.find("#campaign-new").click()
    set_value(screen, "#campaign-name", "🎉" * 254)  # 508 UTF-16 units
    screen.find("#campaign-name").send_keys("!")       # typed: 255 characters
    screen.find("#campaign-message1").send_keys("Oi")
    screen.find("#campaign-submit").click()
    screen.wait(lambda: tenant.api("GET", "/campaigns").get_json()["count"] == 1,
                message="the campaign created")
    assert tenant.api("GET", "/campaigns").get_json()["campaigns"][0]["name"] == \
        "🎉" * 254 + "!"
    screen.find("#campaign-new").click()
    set_value(screen, "#campaign-name", "a" * 256)
    screen.find("#campaign-message1").send_keys("Oi")
    screen.find("#campaign-submit").click()
    assert screen.js("return document.getElementById('campaign-name').validationMessage") == \
        "At most 255 characters (this has 256)."


def test_add_contacts_dialog_uploads_a_csv_and_shows_its_report(screen, tenant, tmp_path):
    campaign = make_campaign(tenant, ["5511977770010"], name="Reativação")
    csv_file = tmp_path / "clientes.csv"
    csv_file.write_text("5511977770011,Ana\n5511977770010,Repetido\nnão é número,Bia\n",
                        encoding="utf-8")
    screen.login(tenant.email)
    open_campaigns(screen)
    click_action(screen, campaign["id"], "contacts")
    screen.wait(lambda: screen.js("return document.getElementById('contacts-dialog').open"),
                message="the dialog")
    assert screen.text("#contacts-title") == "Add contacts to “Reativação”"
    screen.find("#contacts-csv").send_keys(str(csv_file))
    screen.find("#contacts-submit").click()
    shown = screen.wait(lambda: reports(screen, "#contacts-report"), message="the report")
    assert shown == [{"summary": "File clientes.csv: 3 received, 1 added, 1 duplicates, "
                                 "1 rejected.",
                      "rows": [["3", "não é número", "Not a phone number"]]}]
    wait_card(screen, campaign["id"], lambda c: c["counters"]["pending"] == 2,
              "the card counts the new contact")


# --- live progress and the control buttons -------------------------------------------------------

def test_started_campaign_shows_its_progress_live_until_finished(screen, tenant):
    numbers = [f"55119777700{i:02d}" for i in range(20, 24)]
    # 0.3 s between sends, more than the 0.25 s between two events: each step shows
    campaign = make_campaign(tenant, numbers, name="Aviso de feriado", delay=0.3)
    screen.login(tenant.email)
    open_campaigns(screen)
    screen.js("window.__sameDocument = true")
    screen.js("""window.__sentSeen = [];
        new MutationObserver(() => {
          const e = document.querySelector('[data-testid=campaign] [data-counter=sent]');
          const value = e && e.dataset.value;
          if (value && window.__sentSeen.at(-1) !== value) window.__sentSeen.push(value);
        }).observe(document.getElementById('campaigns'), {subtree: true, childList: true,
                                                           attributes: true});""")
    click_action(screen, campaign["id"], "start")
    done = wait_card(screen, campaign["id"], lambda c: c["status"] == "finished",
                     "finished, live", timeout=10)
    assert done["chip"] == "Finished" and done["actions"] == ["delete"]
    assert done["counters"] == {"pending": 0, "sent": 4, "delivered": 0, "read": 0,
                                "replied": 0, "failed": 0}
    assert done["progress"] == "4 of 4 contacts processed (100%)"
    seen = [int(value) for value in screen.js("return window.__sentSeen")]
    assert seen == sorted(seen) and any(0 < value < 4 for value in seen), seen  # it moved
    sent = wait_for(lambda: len(tenant.sent()) == 4 and tenant.sent(), message="4 sends")
    assert sorted(s["to"].split("@")[0] for s in sent) == numbers
    for ack, message in ((3, sent[0]), (2, sent[1])):
        assert tenant.api("POST", f"/sim/whatsapp/{tenant.whatsapp_id}/ack",
                          {"id": message["id"], "ack": ack}).status_code == 202
    tenant.incoming(sent[2]["to"].split("@")[0], "Obrigado!")
    acked = wait_card(screen, campaign["id"], lambda c: c["counters"]["replied"] == 1
                      and c["counters"]["read"] == 2 and c["counters"]["delivered"] == 3,
                      "acks and the reply, live")
    assert acked["counters"]["sent"] == 4
    assert screen.js("return window.__sameDocument") is True
    screen.screenshot("campaigns")


def test_campaign_started_from_another_screen_appears_and_moves_live(screen, tenant):
    screen.login(tenant.email)
    open_campaigns(screen)
    assert screen.text("#campaigns .empty") == "No campaigns yet."
    campaign = make_campaign(tenant, ["5511977770070", "5511977770071"], name="Pelo API")
    assert tenant.api("POST", f"/campaigns/{campaign['id']}/start").status_code == 200
    shown = wait_card(screen, campaign["id"], lambda c: c["status"] == "finished",
                      "the campaign, from its events alone", timeout=10)
    assert (shown["name"], shown["counters"]["sent"]) == ("Pelo API", 2)
    assert screen.find("#campaigns .empty") is None


def test_a_running_campaign_outside_its_window_says_what_it_waits_for_in_company_time(
        screen, tenant):
    import zoneinfo

    assert tenant.api("PUT", "/settings/timezone", {"value": "Asia/Tokyo"}).status_code == 200
    here = datetime.datetime.now(zoneinfo.ZoneInfo("Asia/Tokyo"))  # the browser runs in UTC
    opens, closes = here + datetime.timedelta(hours=2), here + datetime.timedelta(hours=3)
    campaign = make_campaign(tenant, ["5511977770095"], windowStart=opens.strftime("%H:%M"),
                             windowEnd=closes.strftime("%H:%M"))
    screen.login(tenant.email)
    open_campaigns(screen)
    assert tenant.api("POST", f"/campaigns/{campaign['id']}/start").status_code == 200
    meta = screen.wait(lambda: (text := screen.text(".campaign-meta") or "").startswith(
        "Waiting for the sending window (opens ") and text, message="the reason it waits")
    assert f"{opens.strftime('%H:%M')})" in meta  # the window's own time, in Tokyo
    assert tenant.sent() == []
    screen.find("#campaign-new").click()
    assert "company's time zone (Asia/Tokyo)" in screen.text("#campaign-pacing-hint")


def test_a_new_company_time_zone_redraws_the_open_page_in_it(screen, tenant):
    import zoneinfo

    here = datetime.datetime.now(zoneinfo.ZoneInfo("America/Sao_Paulo"))
    opens, closes = here + datetime.timedelta(hours=2), here + datetime.timedelta(hours=3)
    campaign = make_campaign(tenant, ["5511977770096"], windowStart=opens.strftime("%H:%M"),
                             windowEnd=closes.strftime("%H:%M"))
    assert tenant.api("POST", f"/campaigns/{campaign['id']}/start").status_code == 200
    screen.login(tenant.email)
    open_campaigns(screen)
    screen.wait(lambda: f"{opens.strftime('%H:%M')})" in (screen.text(".campaign-meta") or ""),
                message="the opening in São Paulo time")
    started = utc(tenant.api("GET", f"/campaigns/{campaign['id']}").get_json()["startedAt"])
    in_tokyo = started.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo")).strftime("%H:%M")
    assert f"Started {in_tokyo}" not in screen.text(".campaign-meta")  # 12 hours apart
    assert tenant.api("PUT", "/settings/timezone", {"value": "Asia/Tokyo"}).status_code == 200
    screen.wait(lambda: in_tokyo in (screen.text(".campaign-meta") or "").split("Started ")[-1],
                message="the start time redrawn in Tokyo time, without a reload")
    assert "company's time zone (Asia/Tokyo)" in screen.js(
        "return document.getElementById('campaign-pacing-hint').textContent")


def test_pause_resume_and_cancel_change_the_status_on_every_admin_screen(screen, tenant):
    # starts in 2099: it stays running without sending, so each step is seen in its own state
    campaign = make_campaign(tenant, ["5511977770030", "5511977770031"], name="Lançamento",
                             startAt="2099-01-07T12:00:00")
    screen.login(tenant.email)
    open_campaigns(screen)
    port = screen.base.rsplit(":", 1)[1]
    other = Screen.new_window(screen.driver, f"http://localhost:{port}")
    other.login(tenant.email)
    open_campaigns(other)
    steps = (("start", "running", "Running", ["pause", "contacts", "cancel"]),
             ("pause", "paused", "Paused", ["resume", "edit", "contacts", "cancel", "delete"]),
             ("resume", "running", "Running", ["pause", "contacts", "cancel"]))
    for action, status, chip, actions in steps:
        click_action(screen, campaign["id"], action)
        for window in (screen, other):
            shown = wait_card(window, campaign["id"], lambda c: c["status"] == status,
                              f"{status} after {action}")
            assert (shown["chip"], shown["actions"]) == (chip, actions)
    click_action(screen, campaign["id"], "cancel")
    assert answer_confirm(screen, accept=True) == \
        "Cancel the campaign “Lançamento”? Contacts not sent yet will not be sent."
    for window in (screen, other):
        shown = wait_card(window, campaign["id"], lambda c: c["status"] == "cancelled"
                          and c["counters"].get("cancelled") == 2, "cancelled")
        assert shown["progress"] == "2 of 2 contacts processed (100%)"
    assert tenant.sent() == []


def test_cancel_is_not_sent_when_the_confirmation_is_dismissed(screen, tenant):
    campaign = make_campaign(tenant, ["5511977770040"], startAt="2099-01-07T12:00:00")
    tenant.api("POST", f"/campaigns/{campaign['id']}/start")
    screen.login(tenant.email)
    open_campaigns(screen)
    click_action(screen, campaign["id"], "cancel")
    answer_confirm(screen, accept=False)
    click_action(screen, campaign["id"], "pause")  # a cancel sent before would make this a 409
    wait_card(screen, campaign["id"], lambda c: c["status"] == "paused", "paused, not cancelled")
    assert tenant.api("GET", f"/campaigns/{campaign['id']}").get_json()["status"] == "paused"


def test_campaign_created_and_deleted_on_another_screen_comes_and_goes_live(screen, tenant):
    screen.login(tenant.email)
    open_campaigns(screen)
    campaign = make_campaign(tenant, ["5511977770090"], name="De outra tela")
    wait_card(screen, campaign["id"], lambda c: c["counters"]["pending"] == 1,
              "the new draft with its contact, from events alone")
    assert tenant.api("DELETE", f"/campaigns/{campaign['id']}").status_code == 200
    screen.wait(lambda: card(screen, campaign["id"]) is None, message="the draft gone live")


def test_delete_asks_for_confirmation_and_removes_the_draft(screen, tenant):
    keep = make_campaign(tenant, name="Fica")
    drop = make_campaign(tenant, name="Sai")
    screen.login(tenant.email)
    open_campaigns(screen)
    click_action(screen, drop["id"], "delete")
    assert answer_confirm(screen, accept=False) == \
        "Delete the campaign “Sai”? Messages already sent stay in WhatsApp."
    assert [c["name"] for c in cards(screen)] == ["Sai", "Fica"]
    click_action(screen, drop["id"], "delete")
    answer_confirm(screen, accept=True)
    screen.wait(lambda: [c["id"] for c in cards(screen)] == [keep["id"]],
                message="the draft gone")
    assert tenant.api("GET", f"/campaigns/{drop['id']}").status_code == 404


def test_starting_a_campaign_without_contacts_shows_why_in_a_toast(screen, tenant):
    campaign = make_campaign(tenant, name="Vazia")
    screen.login(tenant.email)
    open_campaigns(screen)
    click_action(screen, campaign["id"], "start")
    screen.wait(lambda: screen.text("#toasts .toast.error")
                == "Add contacts before starting the campaign.", message="the toast")
    assert card(screen, campaign["id"])["status"] == "draft"


def test_a_toast_never_takes_a_click_meant_for_what_is_under_it(screen, tenant):
    campaign = make_campaign(tenant, name="Vazia")
    screen.login(tenant.email)
    open_campaigns(screen)
    click_action(screen, campaign["id"], "start")  # refused: no contacts → an error toast
    screen.wait(lambda: screen.shown("#toasts .toast.error"), message="the toast")
    under = screen.js("const r = document.querySelector('#toasts .toast').getBoundingClientRect();"
                      "const e = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);"
                      "return e ? !!e.closest('#toasts') : null")
    assert under is False


# --- editing --------------------------------------------------------------------------------------

FIELDS = """return Object.fromEntries(['name', 'message1', 'message2', 'delay', 'jitter',
    'window-start', 'window-end', 'daily-cap', 'opt-out', 'start']
    .map(k => [k, document.getElementById('campaign-' + k).value]));"""


def test_edit_fills_the_form_and_saves_changed_and_cleared_fields(screen, tenant):
    campaign = make_campaign(tenant, ["5511977770100"], name="Rascunho", message2="Variante",
                             delay=7, jitter=3, windowStart="09:00", windowEnd="18:00",
                             dailyCap=50, optOutKeyword="SAIR", startAt="2030-01-07T12:00:45Z")
    screen.login(tenant.email)
    open_campaigns(screen)
    open_edit(screen, campaign["id"])
    assert screen.text("#campaign-form-title") == "Edit campaign “Rascunho”"
    assert screen.text("#campaign-submit") == "Save changes"
    assert not screen.shown("#campaign-recipients")  # contacts go through their own dialog
    assert screen.js(FIELDS) == {
        "name": "Rascunho", "message1": "Oi {{name}}!", "message2": "Variante", "delay": "7",
        "jitter": "3", "window-start": "09:00", "window-end": "18:00", "daily-cap": "50",
        "opt-out": "SAIR", "start": "2030-01-07T09:00"}  # 12:00:45Z in São Paulo
    screen.screenshot("campaign_edit")
    set_value(screen, "#campaign-name", "Rascunho revisto")
    set_value(screen, "#campaign-message2", "")
    set_value(screen, "#campaign-daily-cap", "")
    screen.find("#campaign-submit").click()
    wait_card(screen, campaign["id"], lambda c: c["name"] == "Rascunho revisto", "the new name")
    assert not screen.shown("#campaign-form")
    stored = tenant.api("GET", f"/campaigns/{campaign['id']}").get_json()
    assert {k: stored[k] for k in ("name", "message1", "message2", "dailyCap", "delay",
                                   "jitter", "windowStart", "windowEnd", "optOutKeyword",
                                   "status")} == {
        "name": "Rascunho revisto", "message1": "Oi {{name}}!", "message2": None,
        "dailyCap": None, "delay": 7.0, "jitter": 3.0, "windowStart": "09:00",
        "windowEnd": "18:00", "optOutKeyword": "SAIR", "status": "draft"}
    assert utc(stored["startAt"]) == utc("2030-01-07T12:00:45Z")  # untouched: seconds kept
    assert stored["counters"]["pending"] == 1


def test_a_paused_campaign_is_edited_on_its_own_connection(screen, tenant):
    campaign = make_campaign(tenant, ["5511977770110"], name="Pausada",
                             startAt="2099-01-07T12:00:00")
    tenant.api("POST", f"/campaigns/{campaign['id']}/start")
    tenant.api("POST", f"/campaigns/{campaign['id']}/pause")
    screen.login(tenant.email)
    open_campaigns(screen)
    open_edit(screen, campaign["id"])
    assert screen.js("return document.getElementById('campaign-whatsapp').disabled")
    set_value(screen, "#campaign-message1", "Texto novo")
    screen.find("#campaign-submit").click()
    screen.wait(lambda: not screen.shown("#campaign-form"), message="the form closed")
    stored = tenant.api("GET", f"/campaigns/{campaign['id']}").get_json()
    assert (stored["message1"], stored["status"], stored["whatsappId"]) == \
        ("Texto novo", "paused", tenant.whatsapp_id)


def test_edit_removes_the_attachment_when_asked(screen, tenant, tmp_path):
    campaign = make_campaign(tenant, name="Com anexo")
    flyer = tmp_path / "folheto.pdf"
    flyer.write_bytes(b"%PDF-1.4 promo")
    with flyer.open("rb") as handle:
        uploaded = tenant.client.post(f"/campaigns/{campaign['id']}/media",
                                      data={"media": (handle, "folheto.pdf")},
                                      headers={"Authorization": f"Bearer {tenant.token}"})
    assert uploaded.status_code == 200, uploaded.get_json()
    screen.login(tenant.email)
    open_campaigns(screen)
    click_action(screen, campaign["id"], "edit")
    screen.wait(lambda: screen.shown("#campaign-media-current"), message="the current file")
    assert screen.text("#campaign-media-remove-label") == "Remove the attachment folheto.pdf"
    screen.find("#campaign-media-remove").click()
    screen.find("#campaign-submit").click()
    screen.wait(lambda: not screen.shown("#campaign-form"), message="the form closed")
    assert tenant.api("GET", f"/campaigns/{campaign['id']}").get_json()["mediaName"] is None


def test_the_edit_closes_when_the_campaign_is_started_on_another_screen(screen, tenant):
    campaign = make_campaign(tenant, ["5511977770120"], name="Disputada",
                             startAt="2099-01-07T12:00:00")
    screen.login(tenant.email)
    open_campaigns(screen)
    open_edit(screen, campaign["id"])
    assert tenant.api("POST", f"/campaigns/{campaign['id']}/start").status_code == 200
    screen.wait(lambda: not screen.shown("#campaign-form"), message="the form closed")
    assert screen.text("#toasts .toast.error") == ("The campaign “Disputada” was started or "
                                                   "deleted on another screen: the edit was "
                                                   "closed.")


def test_an_edit_changed_on_another_screen_offers_the_new_values_instead_of_overwriting(
        screen, tenant):
    campaign = make_campaign(tenant, name="Disputada")
    screen.login(tenant.email)
    open_campaigns(screen)
    open_edit(screen, campaign["id"])
    set_value(screen, "#campaign-name", "Minha versão")
    changed = tenant.api("PUT", f"/campaigns/{campaign['id']}", {"dailyCap": 9})
    assert changed.status_code == 200
    screen.wait(lambda: screen.shown("#campaign-form-stale"), message="the stale notice")
    screen.find("#campaign-submit").click()
    screen.wait(lambda: screen.text("#toasts .toast.error") == (
        "The campaign was changed on another screen: load the new values, then save again."),
        message="the refusal")
    assert tenant.api("GET", f"/campaigns/{campaign['id']}").get_json()["name"] == "Disputada"
    screen.find("#campaign-form-reload").click()
    assert screen.js(FIELDS)["daily-cap"] == "9"
    set_value(screen, "#campaign-name", "Minha versão")
    screen.find("#campaign-submit").click()
    wait_card(screen, campaign["id"], lambda c: c["name"] == "Minha versão", "the saved name")
    stored = tenant.api("GET", f"/campaigns/{campaign['id']}").get_json()
    assert (stored["name"], stored["dailyCap"]) == ("Minha versão", 9)


def test_editing_a_draft_on_a_connection_added_after_the_page_loaded_keeps_it(screen, tenant):
    screen.login(tenant.email)
    open_campaigns(screen)
    added = tenant.api("POST", "/whatsapp", {"name": "Nova"}).get_json()
    campaign = make_campaign(tenant, name="Na nova", whatsappId=added["id"])
    wait_card(screen, campaign["id"], lambda c: True, "the new draft")
    open_edit(screen, campaign["id"])
    set_value(screen, "#campaign-name", "Na nova, renomeada")
    screen.find("#campaign-submit").click()
    screen.wait(lambda: not screen.shown("#campaign-form"), message="the form closed")
    stored = tenant.api("GET", f"/campaigns/{campaign['id']}").get_json()
    assert (stored["name"], stored["whatsappId"]) == ("Na nova, renomeada", added["id"])


def test_a_new_campaign_starts_on_the_default_connection(screen, tenant):
    default = tenant.api("POST", "/whatsapp", {"name": "Principal", "isDefault": True})
    screen.login(tenant.email)
    open_campaigns(screen)
    screen.find("#campaign-new").click()
    screen.wait(lambda: screen.shown("#campaign-form"), message="the form")
    assert screen.js("return document.getElementById('campaign-whatsapp').value") == \
        str(default.get_json()["id"])


def test_no_other_form_opens_while_a_slow_save_is_in_flight(screen, tenant):
    saved = make_campaign(tenant, name="Salvando")
    other = make_campaign(tenant, name="Outra")
    screen.login(tenant.email)
    open_campaigns(screen)
    open_edit(screen, saved["id"])
    set_value(screen, "#campaign-name", "Salva devagar")
    screen.driver.execute_cdp_cmd("Network.enable", {})
    screen.driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": False, "latency": 1500, "downloadThroughput": -1, "uploadThroughput": -1})
    try:
        screen.find("#campaign-submit").click()
        click_action_now = (f'[data-testid=campaign][data-id="{other["id"]}"] '
                            'button[data-action="edit"]')
        screen.find(click_action_now).click()
        assert screen.text("#toasts .toast.error") == "Wait for the campaign being saved."
        assert screen.text("#campaign-form-title") == "Edit campaign “Salvando”"
        screen.wait(lambda: not screen.shown("#campaign-form"), 10, "the save finished")
    finally:
        screen.driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    assert tenant.api("GET", f"/campaigns/{saved['id']}").get_json()["name"] == "Salva devagar"
    assert tenant.api("GET", f"/campaigns/{other['id']}").get_json()["name"] == "Outra"


def test_starting_the_campaign_being_edited_from_its_own_card_closes_the_form_quietly(
        screen, tenant):
    campaign = make_campaign(tenant, ["5511977770130"], startAt="2099-01-07T12:00:00")
    screen.login(tenant.email)
    open_campaigns(screen)
    open_edit(screen, campaign["id"])
    click_action(screen, campaign["id"], "start")
    wait_card(screen, campaign["id"], lambda c: c["status"] == "running", "running")
    assert not screen.shown("#campaign-form")
    assert screen.js("return document.querySelectorAll('#toasts .toast').length") == 0


# --- escaping, permissions, language -----------------------------------------------------------

def test_campaign_markup_renders_as_text(screen, tenant):
    name = "<img src=x onerror=alert(1)>"
    campaign = make_campaign(tenant, ["5511977770050"], name=name,
                             message1='<b onmouseover="window.__xss=1">oi</b>')
    screen.login(tenant.email)
    open_campaigns(screen)
    shown = card(screen, campaign["id"])
    assert shown["name"] == name
    assert screen.text(f'[data-id="{campaign["id"]}"] .campaign-message') == \
        '<b onmouseover="window.__xss=1">oi</b>'
    click_action(screen, campaign["id"], "contacts")
    screen.find("#contacts-numbers").send_keys("<img src=y onerror=window.__xss=2>")
    screen.find("#contacts-submit").click()
    rows = screen.wait(lambda: reports(screen, "#contacts-report"), message="the report")[0]
    assert rows["rows"] == [["1", "<img src=y onerror=window.__xss=2>", "Not a phone number"]]
    assert screen.text("#contacts-title") == f"Add contacts to “{name}”"
    assert screen.js("return document.querySelectorAll('#campaigns-page img, #campaigns-page b,"
                     " #contacts-dialog img').length") == 0
    assert screen.no_script_ran()


def test_attendant_who_is_not_an_admin_has_no_campaigns_page(screen, tenant):
    make_campaign(tenant, name="Só para admins")
    with db.unit_of_work():
        tenants.create_user(tenant.tenant_id, "Beatriz", "beatriz@agents.test", "secret123")
    screen.login("beatriz@agents.test")
    assert not screen.shown("#nav-campaigns") and screen.shown("#nav-connections")
    screen.go("campaigns")
    screen.wait(lambda: screen.js("return location.hash") == "#/campaigns")
    assert screen.shown("#tickets-page") and not screen.shown("#campaigns-page")
    assert "Só para admins" not in screen.driver.page_source


def test_language_switch_translates_the_campaigns_page(screen, tenant):
    campaign = make_campaign(tenant, ["5511977770060"], name="Promo")
    screen.login(tenant.email)
    open_campaigns(screen)
    assert card(screen, campaign["id"])["chip"] == "Draft"
    screen.js("const s = document.getElementById('lang-select'); s.value = 'pt-BR';"
              "s.dispatchEvent(new Event('change'));")
    shown = card(screen, campaign["id"])
    assert (shown["chip"], shown["progress"]) == \
        ("Rascunho", "0 de 1 contatos processados (0%)")
    assert screen.text("#nav-campaigns") == "Campanhas"
    assert screen.text(f'[data-id="{campaign["id"]}"] button[data-action="start"]') == "Iniciar"
