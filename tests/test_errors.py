"""Bad input gets a 4xx JSON error with a code, never a 500 or an HTML page."""
import io

import pytest

from helpers import wait_for


def _assert_error(response, status, code=None):
    assert response.status_code == status, response.data[:300]
    assert response.is_json, response.data[:300]
    payload = response.get_json()
    assert set(payload) >= {"error", "message"}
    assert payload["error"].startswith("ERR_")
    if code:
        assert payload["error"] == code
    return payload


def test_malformed_json_is_a_400(tenant):
    ticket_id = _ticket(tenant)
    response = tenant.client.post(f"/messages/{ticket_id}", data="{not json",
                                  headers=dict(tenant.headers, **{"Content-Type":
                                                                  "application/json"}))
    _assert_error(response, 400, "ERR_INVALID_JSON")
    _assert_error(tenant.client.post("/auth/login", data="[1,2", content_type="application/json"),
                  400, "ERR_INVALID_JSON")


def test_json_that_is_not_an_object_is_a_400(tenant):
    _assert_error(tenant.api("POST", "/contacts", [1, 2, 3]), 400, "ERR_INVALID_JSON")


def _ticket(ctx):
    ctx.incoming("5511944440000", "hi")
    return ctx.pending_ticket()["id"]


@pytest.mark.parametrize("path,body", [
    ("/auth/login", {"email": "x@y.z"}),
    ("/contacts", {"name": "No number"}),
    ("/contacts", {"name": "Bad", "number": "abc"}),
    ("/whatsapp", {}),
])
def test_missing_or_invalid_fields_are_a_400_with_details(tenant, path, body):
    payload = _assert_error(tenant.api("POST", path, body), 400, "ERR_VALIDATION")
    assert payload["details"]


def test_empty_message_body_is_a_400(tenant):
    _assert_error(tenant.api("POST", f"/messages/{_ticket(tenant)}", {"body": "  "}), 400,
                  "ERR_VALIDATION")


def test_unknown_ticket_status_is_a_400(tenant):
    _assert_error(tenant.api("PUT", f"/tickets/{_ticket(tenant)}", {"status": "archived"}), 400,
                  "ERR_VALIDATION")
    _assert_error(tenant.api("GET", "/tickets?status=archived"), 400, "ERR_VALIDATION")


def test_bad_page_number_is_a_400(tenant):
    _assert_error(tenant.api("GET", "/tickets?pageNumber=zero"), 400, "ERR_VALIDATION")
    _assert_error(tenant.api("GET", "/tickets?pageNumber=-1"), 400, "ERR_VALIDATION")


def test_oversize_upload_is_a_413(tenant, app):
    ticket_id = _ticket(tenant)
    big = io.BytesIO(b"0" * (app.config["MAX_CONTENT_LENGTH"] + 1))
    response = tenant.api("POST", f"/messages/{ticket_id}", data={"medias": (big, "big.bin")},
                          content_type="multipart/form-data")
    _assert_error(response, 413, "ERR_FILE_TOO_LARGE")
    assert len(tenant.messages(ticket_id)) == 1  # nothing was stored


def test_an_empty_uploaded_file_is_refused_and_nothing_is_sent(tenant):
    ticket_id = _ticket(tenant)
    response = tenant.api("POST", f"/messages/{ticket_id}",
                          data={"medias": (io.BytesIO(b""), "empty.pdf")},
                          content_type="multipart/form-data")
    _assert_error(response, 400, "ERR_EMPTY_FILE")
    assert len(tenant.messages(ticket_id)) == 1 and tenant.sent() == []


def test_multipart_without_files_is_a_400(tenant):
    response = tenant.api("POST", f"/messages/{_ticket(tenant)}", data={"body": "caption only"},
                          content_type="multipart/form-data")
    _assert_error(response, 400, "ERR_VALIDATION")


@pytest.mark.parametrize("method,path,body,code", [
    ("GET", "/tickets/999999", None, "ERR_NO_TICKET_FOUND"),
    ("PUT", "/tickets/999999", {"status": "open"}, "ERR_NO_TICKET_FOUND"),
    ("GET", "/messages/999999", None, "ERR_NO_TICKET_FOUND"),
    ("POST", "/messages/999999", {"body": "x"}, "ERR_NO_TICKET_FOUND"),
    ("GET", "/contacts/999999", None, "ERR_NO_CONTACT_FOUND"),
    ("GET", "/whatsapp/999999", None, "ERR_NO_WAPP_FOUND"),
    ("POST", "/whatsappsession/999999", None, "ERR_NO_WAPP_FOUND"),
    ("POST", "/sim/whatsapp/999999/incoming", {"from": "5511900000000", "body": "x"},
     "ERR_NO_WAPP_FOUND"),
    ("GET", "/no/such/route", None, "ERR_NOT_FOUND"),
])
def test_unknown_ids_are_a_404(tenant, method, path, body, code):
    _assert_error(tenant.api(method, path, body), 404, code)


def test_unknown_quoted_message_is_a_404(tenant):
    response = tenant.api("POST", f"/messages/{_ticket(tenant)}",
                          {"body": "x", "quotedMsgId": "00000000-0000-0000-0000-000000000000"})
    _assert_error(response, 404, "ERR_NO_QUOTED_MESSAGE")


def test_wrong_method_is_a_405(tenant):
    _assert_error(tenant.api("DELETE", "/tickets"), 405, "ERR_METHOD_NOT_ALLOWED")


def test_sim_incoming_with_bad_base64_is_a_400(tenant):
    response = tenant.api("POST", f"/sim/whatsapp/{tenant.whatsapp_id}/incoming",
                          {"from": "5511944440001", "media": {"mimetype": "image/png",
                                                              "data": "***not base64***"}})
    _assert_error(response, 400, "ERR_VALIDATION")


def test_sim_incoming_with_bad_number_is_a_400(tenant):
    response = tenant.api("POST", f"/sim/whatsapp/{tenant.whatsapp_id}/incoming",
                          {"from": "<script>", "body": "x"})
    _assert_error(response, 400, "ERR_VALIDATION")
