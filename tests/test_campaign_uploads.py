"""Campaign recipient uploads (``POST /campaigns/<id>/contacts``), campaign body validation and
the campaign media file: what a list from a spreadsheet or a script turns into, and that a long
upload neither blocks the server nor half-fails silently.

Everything is real: the app, the database (SQLite, or ``TT_TEST_DATABASE_URL``), the actors.
"""
import io

import gevent
import pytest

from helpers import wait_for
from storage import campaign_contacts as recipients
from storage import db
from storage.errors import Conflict
from storage.models import Campaign, CampaignContact, Contact


def _draft(tenant, **fields) -> int:
    body = {"name": "Promo", "whatsappId": tenant.whatsapp_id, "message1": "Oi {{name}}",
            **fields}
    created = tenant.api("POST", "/campaigns", body)
    assert created.status_code == 201, created.get_json()
    return created.get_json()["id"]


def _upload_csv(tenant, campaign_id: int, data: bytes):
    return tenant.api("POST", f"/campaigns/{campaign_id}/contacts",
                      data={"file": (io.BytesIO(data), "lista.csv")},
                      content_type="multipart/form-data")


def _csv(tenant, data: bytes) -> dict:
    response = _upload_csv(tenant, _draft(tenant), data)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _json(tenant, contacts) -> dict:
    response = tenant.api("POST", f"/campaigns/{_draft(tenant)}/contacts", {"contacts": contacts})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _recipients(tenant, campaign_id: int) -> list[tuple[str, str]]:
    rows = tenant.api("GET", f"/campaigns/{campaign_id}/contacts").get_json()["contacts"]
    return [(r["number"], r["name"]) for r in rows]


def _stored(tenant) -> list[tuple[str, str]]:
    """(number, recipient name) of every recipient of the tenant, in upload order."""
    with db.unit_of_work():
        return [(number, name) for number, name in
                CampaignContact.select(Contact.number, CampaignContact.name).join(Contact)
                .where(Contact.tenant == tenant.tenant_id).order_by(CampaignContact.id).tuples()]


def _rows(count: int, base: int = 5511970000000) -> list[tuple[int, str, str]]:
    return [(n, str(base + n), f"Nome {n}") for n in range(1, count + 1)]


def _add(tenant, campaign_id: int, rows) -> dict:
    with db.unit_of_work():
        return recipients.add(tenant.tenant_id, campaign_id, rows)


# --- reports: a bad row is reported, never fatal -----------------------------------------------

def test_bad_csv_rows_are_reported_not_fatal(tenant):
    campaign_id = _draft(tenant)
    csv_text = ("nome;telefone\n"
                "Ana;+55 (11) 97000-0001\n"
                "Bia;abc\n"
                "Caio;\n"
                "Duda;12345\n"
                "Ana de novo;5511970000001\n"
                "\n"
                "Eva;5511970000002\n")
    response = _upload_csv(tenant, campaign_id, csv_text.encode())
    assert response.status_code == 200
    report = response.get_json()
    assert (report["received"], report["added"], report["duplicates"]) == (6, 2, 1)
    assert [(r["row"], r["value"], r["code"]) for r in report["rejected"]] == [
        (3, "abc", "ERR_NOT_A_NUMBER"), (4, "", "ERR_EMPTY_NUMBER"),
        (5, "12345", "ERR_NUMBER_LENGTH")]
    assert report["rejected"][2]["got"] == 5 and "digits" in report["rejected"][2]["error"]
    assert set(_recipients(tenant, campaign_id)) == {
        ("5511970000001", "Ana"), ("5511970000002", "Eva")}


def test_contacts_json_takes_objects_and_bare_numbers(tenant):
    report = _json(tenant, [{"number": "5511970000001", "name": "Ana"}, "+55 11 97000-0002",
                            5511970000003, {"name": "sem número"}])
    assert (report["added"], report["rejected"]) == (3, [
        {"row": 4, "value": "", "code": "ERR_EMPTY_NUMBER", "error": "empty number"}])


def test_json_items_of_the_wrong_type_are_rejected_rows_not_a_failed_request(tenant):
    report = _json(tenant, ["5511970000001", {"number": [1]}, None, 5.5, True,
                            {"number": {"n": 1}}, "5511970000002"])
    assert report["added"] == 2
    assert [(r["row"], r["code"]) for r in report["rejected"]] == [
        (2, "ERR_NOT_A_NUMBER"), (3, "ERR_EMPTY_NUMBER"), (4, "ERR_NOT_A_NUMBER"),
        (5, "ERR_NOT_A_NUMBER"), (6, "ERR_NOT_A_NUMBER")]
    # each shown as JSON, as its author wrote it
    assert [r["value"] for r in report["rejected"]] == ["[1]", "", "5.5", "true", '{"n": 1}']


def test_a_json_name_that_is_not_a_string_is_a_rejected_row(tenant):
    report = _json(tenant, [{"number": "5511970000001", "name": ["Ana"]},
                            {"number": "5511970000002", "name": None}])
    assert (report["received"], report["added"]) == (2, 1)
    assert report["rejected"] == [{"row": 1, "value": "5511970000001",
                                   "code": "ERR_INVALID_NAME",
                                   "error": "the name must be a string"}]


def test_contacts_that_are_not_a_list_are_a_validation_error(tenant):
    campaign_id = _draft(tenant)
    response = tenant.api("POST", f"/campaigns/{campaign_id}/contacts",
                          {"contacts": {"number": "5511970000001"}})
    assert (response.status_code, response.get_json()["error"]) == (400, "ERR_VALIDATION")


@pytest.mark.parametrize("kind", ["csv", "json"])
def test_more_rows_than_the_limit_is_413_and_adds_nothing(tenant, monkeypatch, kind):
    monkeypatch.setattr(recipients, "MAX_ROWS", 5)
    campaign_id = _draft(tenant)
    numbers = [str(5511970000000 + n) for n in range(6)]
    if kind == "csv":
        response = _upload_csv(tenant, campaign_id, "\n".join(numbers).encode())
    else:
        response = tenant.api("POST", f"/campaigns/{campaign_id}/contacts",
                              {"contacts": numbers})
    assert (response.status_code, response.get_json()["error"]) == (413, "ERR_TOO_MANY_ROWS")
    assert _recipients(tenant, campaign_id) == []


# --- numbers -------------------------------------------------------------------------------------

def test_full_width_digits_count_as_ascii_and_dedupe_against_them(tenant):
    report = _json(tenant, ["５５１１９７００００００１", "+55 11 97000-0001",
                            "＋５５（１１）９７０００－０００２"])
    assert (report["added"], report["duplicates"], report["rejected"]) == (2, 1, [])
    assert [number for number, _ in _stored(tenant)] == ["5511970000001", "5511970000002"]


@pytest.mark.parametrize("number", ["٥٥١١٩٧٠٠٠٠٠٠١",       # Arabic-Indic
                                    "۵۵۱۱۹۷۰۰۰۰۰۰۱",       # Extended Arabic-Indic (Persian)
                                    "५५११९७००००००१",       # Devanagari
                                    "5511970000\u0661\u0662\u0663"])  # mixed
def test_non_ascii_digits_are_not_a_number(tenant, number):
    report = _json(tenant, [number])
    assert [r["code"] for r in report["rejected"]] == ["ERR_NOT_A_NUMBER"]


@pytest.mark.parametrize("number", ["(11) 97000-0001",       # Brazilian, no country code
                                    "011 97000-0001",        # with the trunk prefix
                                    "5511700000001"])        # no such Brazilian number
def test_a_number_invalid_for_its_country_code_is_rejected(tenant, number):
    report = _json(tenant, [number])
    assert [r["code"] for r in report["rejected"]] == ["ERR_INVALID_NUMBER"]


def test_a_spreadsheet_decimal_and_the_00_prefix_are_read_as_the_number(tenant):
    report = _json(tenant, ["5511970000001.0", "00 55 11 97000-0002", "5511.9700.0003"])
    assert report["added"] == 2
    assert [r["code"] for r in report["rejected"]] == ["ERR_INVALID_NUMBER"]  # not a decimal
    assert [number for number, _ in _stored(tenant)] == ["5511970000001", "5511970000002"]


def test_typographic_dashes_and_spaces_separate_digits(tenant):
    report = _json(tenant, ["+55 11 97000\u20130001", "55\u00a011\u00a097000\u20110002"])
    assert (report["added"], report["rejected"]) == (2, [])


# --- names -------------------------------------------------------------------------------------

def test_csv_names_lose_nul_and_control_characters(tenant):
    _csv(tenant, b"5511970000001;Ma\x00ria\x07\n5511970000002;\x1b[31mBia\n")
    assert _stored(tenant) == [("5511970000001", "Maria"), ("5511970000002", "[31mBia")]


def test_json_names_are_cleaned_like_csv_names(tenant):
    report = _json(tenant, [{"number": "5511970000001", "name": " Ana\x00\tPaula\r\n "},
                            {"number": "5511970000002", "name": "B" * 1000}])
    assert report["added"] == 2
    assert _stored(tenant) == [("5511970000001", "Ana Paula"), ("5511970000002", "B" * 255)]


def test_a_new_contact_takes_the_cleaned_name(tenant):
    _csv(tenant, b"5511970000001;Ma\x00ria\n")
    with db.unit_of_work():
        assert Contact.get(Contact.number == "5511970000001").name == "Maria"


def test_an_existing_contact_is_reused_and_lends_its_name(tenant):
    tenant.incoming("5511970000001", "oi", name="Ana Cliente")
    wait_for(lambda: tenant.tickets("pending"))
    _csv(tenant, b"5511970000001\n5511970000002\n")
    with db.unit_of_work():
        assert Contact.select().where(Contact.tenant == tenant.tenant_id).count() == 2
    assert _stored(tenant) == [("5511970000001", "Ana Cliente"), ("5511970000002", "")]


# --- CSV files as spreadsheets write them ------------------------------------------------------

def test_campaign_csv_with_old_mac_line_endings_is_read(tenant):
    report = _csv(tenant, b"5511977776697,Ana\r5511977776696,Bia\r")
    assert (report["added"], report["rejected"]) == (2, [])


def test_blank_lines_before_the_header_are_skipped(tenant):
    report = _csv(tenant, b"\n\n  \n;;\nnome;telefone\nAna;5511970000001\n")
    assert (report["received"], report["added"], report["rejected"]) == (1, 1, [])
    assert _stored(tenant) == [("5511970000001", "Ana")]


def test_a_windows_1252_file_decodes_as_windows_1252(tenant):
    _csv(tenant, "nome;telefone\nJoão “Jão” € Ltda;5511970000001\n".encode("cp1252"))
    assert _stored(tenant) == [("5511970000001", "João “Jão” € Ltda")]


def test_a_file_that_is_not_windows_1252_falls_back_to_latin_1(tenant):
    _csv(tenant, b"nome;telefone\nJo\xe3o\x81;5511970000001\n")  # 0x81: unused in cp1252
    assert _stored(tenant) == [("5511970000001", "João")]  # U+0081 is a control character


def test_a_utf8_bom_before_bytes_that_are_not_utf8_is_still_stripped(tenant):
    report = _csv(tenant, b"\xef\xbb\xbftelefone;nome\n5511970000001;Jo\xe3o\n")
    assert (report["received"], report["rejected"]) == (1, [])
    assert _stored(tenant) == [("5511970000001", "João")]


def test_a_utf16_file_with_its_bom_is_read(tenant):
    _csv(tenant, "telefone\tnome\n5511970000001\tJoão\n".encode("utf-16"))
    assert _stored(tenant) == [("5511970000001", "João")]


def test_semicolons_win_over_commas_inside_names(tenant):
    report = _csv(tenant, b"5511911100019;Ana, Maria e Cia\n5511911100020;Bia\n")
    assert report["rejected"] == []
    assert _stored(tenant) == [("5511911100019", "Ana, Maria e Cia"), ("5511911100020", "Bia")]


def test_tabs_win_over_commas_and_semicolons(tenant):
    _csv(tenant, b"5511911100019\tSilva; Ana, Maria\n")
    assert _stored(tenant) == [("5511911100019", "Silva; Ana, Maria")]


def test_a_semicolon_inside_quotes_leaves_a_comma_file_alone(tenant):
    _csv(tenant, b'5511911100019,"Ana; Maria"\n5511911100020,Bia\n')
    assert _stored(tenant) == [("5511911100019", "Ana; Maria"), ("5511911100020", "Bia")]


@pytest.mark.parametrize("header", ["Phone Number", "phone_number", "Número de Telefone",
                                    "numero_de_telefone", "Telefone Celular", "MOBILE",
                                    "WhatsApp", " Telefone (celular) "])
def test_number_headers_are_recognised_whatever_their_case_accents_and_spacing(tenant, header):
    report = _csv(tenant, f"Nome Completo;{header}\nAna;5511970000001\n".encode())
    assert (report["received"], report["rejected"]) == (1, [])
    assert _stored(tenant) == [("5511970000001", "Ana")]


# --- big uploads: chunked, the server keeps serving ---------------------------------------------

def test_a_long_upload_lets_other_greenlets_run_between_chunks(tenant, monkeypatch):
    monkeypatch.setattr(recipients, "CHUNK", 100)
    campaign_id = _draft(tenant)
    ticks: list[float] = []

    def ticker():
        while True:
            ticks.append(gevent.get_hub().loop.now())
            gevent.sleep(0.0005)

    greenlet = gevent.spawn(ticker)
    gevent.sleep(0.01)
    before = len(ticks)
    report = _add(tenant, campaign_id, _rows(2000))
    during = len(ticks) - before
    greenlet.kill()
    assert report["added"] == 2000
    assert during >= 15  # about one tick per chunk (20), not one after the whole upload


def test_statements_grow_with_the_chunks_not_with_the_rows(tenant, monkeypatch):
    monkeypatch.setattr(recipients, "CHUNK", 500)
    campaign_id = _draft(tenant)
    real = db.database.obj.execute_sql
    statements: list[str] = []

    def counting(sql, params=None, *args, **kwargs):
        statements.append(sql)
        return real(sql, params, *args, **kwargs)

    monkeypatch.setattr(db.database.obj, "execute_sql", counting)
    report = _add(tenant, campaign_id, _rows(2000))
    monkeypatch.undo()
    assert report["added"] == 2000
    writes = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert len(writes) == 8  # contacts + recipients, once per 500-row chunk
    assert len(statements) <= 4 * 8 + 4


def test_an_upload_cut_short_keeps_its_first_chunks_and_a_second_try_adds_the_rest(
        tenant, monkeypatch):
    monkeypatch.setattr(recipients, "CHUNK", 100)
    campaign_id = _draft(tenant)
    real, calls = recipients._insert_recipients, []

    def failing_third(*args):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("process killed")
        return real(*args)

    monkeypatch.setattr(recipients, "_insert_recipients", failing_third)
    with pytest.raises(RuntimeError):
        _add(tenant, campaign_id, _rows(500))
    monkeypatch.setattr(recipients, "_insert_recipients", real)
    assert len(_stored(tenant)) == 200
    report = _add(tenant, campaign_id, _rows(500))
    assert (report["added"], report["duplicates"]) == (300, 200)
    assert [n for n, _ in _stored(tenant)] == [str(5511970000000 + n) for n in range(1, 501)]


def test_a_campaign_cancelled_during_an_upload_stops_it_with_a_conflict(tenant, monkeypatch):
    monkeypatch.setattr(recipients, "CHUNK", 100)
    campaign_id = _draft(tenant)
    real_breathe = recipients.breathe

    def cancel_after_first_chunk():
        with db.write():
            Campaign.update(status="cancelled").where(Campaign.id == campaign_id).execute()
        real_breathe()

    monkeypatch.setattr(recipients, "breathe", cancel_after_first_chunk)
    with pytest.raises(Conflict) as raised:
        _add(tenant, campaign_id, _rows(300))
    assert raised.value.code == "ERR_CAMPAIGN_STATE"
    assert "100 rows were added" in str(raised.value)
    assert len(_stored(tenant)) == 100


def test_two_uploads_sharing_numbers_at_once_both_succeed(tenant, monkeypatch):
    monkeypatch.setattr(recipients, "CHUNK", 5000)  # long statements, to overlap on PostgreSQL
    first, second = _draft(tenant), _draft(tenant)
    rows = _rows(5000)
    backwards = [(n, number, name) for n, (_, number, name) in enumerate(reversed(rows), 1)]
    jobs = [gevent.spawn(_add, tenant, first, rows), gevent.spawn(_add, tenant, second, backwards)]
    gevent.joinall(jobs, raise_error=True)
    assert [job.value["added"] for job in jobs] == [5000, 5000]
    with db.unit_of_work():
        assert Contact.select().where(Contact.tenant == tenant.tenant_id).count() == 5000


def test_uploads_to_a_finished_campaign_are_refused_before_any_row_is_read(tenant):
    campaign_id = _draft(tenant)
    with db.write():
        Campaign.update(status="finished").where(Campaign.id == campaign_id).execute()
    response = _upload_csv(tenant, campaign_id, b"5511970000001\n")
    assert (response.status_code, response.get_json()["error"]) == (409, "ERR_CAMPAIGN_STATE")


# --- campaign bodies ---------------------------------------------------------------------------

def test_invalid_campaign_bodies_are_validation_errors(tenant):
    for body in [{"name": "x", "whatsappId": tenant.whatsapp_id},                   # no message
                 {"name": "x", "whatsappId": tenant.whatsapp_id, "message1": "a",
                  "windowStart": "25:00", "windowEnd": "10:00"},
                 {"name": "x", "whatsappId": tenant.whatsapp_id, "message1": "a",
                  "windowStart": "08:00"},
                 {"name": "x", "whatsappId": tenant.whatsapp_id, "message1": "a",
                  "windowStart": "10:00", "windowEnd": "10:00"},              # ambiguous
                 {"name": "x", "whatsappId": tenant.whatsapp_id, "message1": "a", "delay": -1}]:
        response = tenant.api("POST", "/campaigns", body)
        assert (response.status_code, response.get_json()["error"]) == (400, "ERR_VALIDATION")


def test_a_start_time_without_a_time_of_day_is_refused(tenant):
    body = {"name": "x", "whatsappId": tenant.whatsapp_id, "message1": "a",
            "startAt": "2026-12-01"}  # midnight UTC is nobody's meaning
    response = tenant.api("POST", "/campaigns", body)
    assert (response.status_code, response.get_json()["error"]) == (400, "ERR_VALIDATION")
    accepted = tenant.api("POST", "/campaigns", dict(body, startAt="2026-12-01 10:00-03:00"))
    assert accepted.get_json()["startAt"] == "2026-12-01T13:00:00.000000Z"


def test_an_attachment_is_shown_under_its_file_name_without_a_path(tenant):
    campaign_id = _draft(tenant)
    for sent_as, shown in (("../../../etc/passwd", "passwd"),
                           ("fotos/2026/promo.pdf", "promo.pdf")):
        response = tenant.api("POST", f"/campaigns/{campaign_id}/media",
                              data={"media": (io.BytesIO(b"data"), sent_as)},
                              content_type="multipart/form-data")
        assert response.get_json()["mediaName"] == shown


def test_a_misspelt_field_is_refused_not_dropped(tenant):
    body = {"name": "x", "whatsappId": tenant.whatsapp_id, "message1": "a", "dailycap": 2,
            "window_start": "09:00"}
    response = tenant.api("POST", "/campaigns", body)
    assert (response.status_code, response.get_json()["error"]) == (400, "ERR_VALIDATION")
    assert [d["field"] for d in response.get_json()["details"]] == ["dailycap", "window_start"]
    campaign_id = _draft(tenant)
    edited = tenant.api("PUT", f"/campaigns/{campaign_id}", {"optout": "SAIR"})
    assert [d["field"] for d in edited.get_json()["details"]] == ["optout"]


def test_a_campaign_read_back_with_a_change_is_accepted(tenant):
    campaign = tenant.api("GET", f"/campaigns/{_draft(tenant)}").get_json()
    edited = tenant.api("PUT", f"/campaigns/{campaign['id']}", dict(campaign, dailyCap=5))
    assert (edited.status_code, edited.get_json()["dailyCap"]) == (200, 5)


def test_an_edit_made_from_an_outdated_read_is_refused_and_changes_nothing(tenant):
    campaign_id = _draft(tenant)
    read = tenant.api("GET", f"/campaigns/{campaign_id}").get_json()
    other = tenant.api("PUT", f"/campaigns/{campaign_id}",
                       {"dailyCap": 9, "updatedAt": read["updatedAt"]})
    assert other.status_code == 200, other.get_json()
    stale = tenant.api("PUT", f"/campaigns/{campaign_id}",
                       {"name": "mine", "dailyCap": None, "updatedAt": read["updatedAt"]})
    assert (stale.status_code, stale.get_json()["error"]) == (409, "ERR_CAMPAIGN_CHANGED")
    now = tenant.api("GET", f"/campaigns/{campaign_id}").get_json()
    assert (now["name"], now["dailyCap"]) == (read["name"], 9)
    fresh = tenant.api("PUT", f"/campaigns/{campaign_id}",
                       {"name": "mine", "updatedAt": now["updatedAt"]})
    assert fresh.get_json()["name"] == "mine"


@pytest.mark.parametrize("field, value", [("whatsappId", True), ("dailyCap", True),
                                          ("delay", True), ("jitter", False),
                                          ("delay", "20"), ("whatsappId", "1"),
                                          ("dailyCap", 2.5)])
def test_campaign_numbers_must_be_json_numbers(tenant, field, value):
    body = {"name": "x", "whatsappId": tenant.whatsapp_id, "message1": "a", field: value}
    response = tenant.api("POST", "/campaigns", body)
    assert (response.status_code, response.get_json()["error"]) == (400, "ERR_VALIDATION")
    assert [d["field"] for d in response.get_json()["details"]] == [field]


@pytest.mark.parametrize("value", [12345, 1893456000.5, "12345", "next monday", True])
def test_start_at_must_be_an_iso_8601_string(tenant, value):
    response = tenant.api("POST", "/campaigns", {"name": "x", "whatsappId": tenant.whatsapp_id,
                                                 "message1": "a", "startAt": value})
    assert (response.status_code, response.get_json()["error"]) == (400, "ERR_VALIDATION")


def test_start_at_takes_an_iso_8601_string_with_an_offset(tenant):
    campaign_id = _draft(tenant, startAt="2030-01-07T14:00:00-03:00")
    started = tenant.api("GET", f"/campaigns/{campaign_id}").get_json()["startAt"]
    assert started.startswith("2030-01-07T17:00:00")


@pytest.mark.parametrize("keyword", ["!!!", " - ", "¿?"])
def test_an_opt_out_keyword_nobody_could_type_is_a_validation_error(tenant, keyword):
    response = tenant.api("POST", "/campaigns", {"name": "x", "whatsappId": tenant.whatsapp_id,
                                                 "message1": "a", "optOutKeyword": keyword})
    assert (response.status_code, response.get_json()["error"]) == (400, "ERR_VALIDATION")


def test_editing_with_deeply_nested_json_is_400_invalid_json(tenant):
    campaign_id = _draft(tenant)
    nested = '{"a":' * 100_000 + "1" + "}" * 100_000
    response = tenant.client.put(f"/campaigns/{campaign_id}", data=nested,
                                 content_type="application/json", headers=tenant.headers)
    assert (response.status_code, response.get_json()["error"]) == (400, "ERR_INVALID_JSON")


def test_editing_keeps_what_the_body_does_not_name(tenant):
    campaign_id = _draft(tenant, startAt="2030-01-07T17:00:00", dailyCap=10)
    edited = tenant.api("PUT", f"/campaigns/{campaign_id}", {"name": "Nova"}).get_json()
    assert (edited["name"], edited["dailyCap"]) == ("Nova", 10)
    assert edited["startAt"].startswith("2030-01-07T17:00:00")


# --- the campaign's media file -------------------------------------------------------------------

def _media(tenant, data: bytes, filename: str):
    return tenant.api("POST", f"/campaigns/{_draft(tenant)}/media",
                      data={"media": (io.BytesIO(data), filename)},
                      content_type="multipart/form-data")


def test_an_empty_media_file_is_400_err_empty_file(tenant):
    response = _media(tenant, b"", "promo.pdf")
    assert (response.status_code, response.get_json()["error"]) == (400, "ERR_EMPTY_FILE")


def test_a_media_file_name_loses_nul_and_control_characters(tenant):
    response = _media(tenant, b"\x89PNG", "a\x00b\x1b.png")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["mediaName"] == "ab.png"


def test_a_long_media_file_name_is_cut_to_255_characters_keeping_its_extension(tenant):
    response = _media(tenant, b"%PDF-1.4", "x" * 1000 + ".pdf")
    assert response.status_code == 200, response.get_json()
    name = response.get_json()["mediaName"]
    assert (len(name), name[-5:]) == (255, "x.pdf")

