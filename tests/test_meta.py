"""Service endpoints: health per dependency, Prometheus metrics, the OpenAPI document."""
from helpers import wait_for


def test_health_reports_each_dependency(client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["database"] == "ok"
    assert body["queue"]["status"] == "ok" and body["queue"]["kind"] in ("embedded", "redis")
    assert set(body["actors"]) == {"rooms", "sessions", "senders", "tickets"}


def test_metrics_count_stored_and_sent_messages(tenant):
    tenant.incoming("5511900001111", "count me")
    ticket = tenant.pending_ticket()
    tenant.api("POST", f"/messages/{ticket['id']}", {"body": "and me"})
    wait_for(lambda: tenant.sent())
    def scraped():
        text = tenant.client.get("/metrics").get_data(as_text=True)
        return text if "tt_outbound_messages_sent_total 1.0" in text else None

    text = wait_for(scraped)
    assert "tt_inbound_messages_stored_total 1.0" in text
    assert 'tt_live_actors{kind="sessions"} 1.0' in text


def test_openapi_documents_routes_bodies_and_errors(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert {"/tickets", "/tickets/{ticket_id}", "/messages/{ticket_id}", "/auth/login",
            "/whatsappsession/{whatsapp_id}", "/contacts"} <= set(spec["paths"])
    put = spec["paths"]["/tickets/{ticket_id}"]["put"]
    assert put["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "TicketUpdate")
    assert put["security"] == [{"bearer": []}]
    assert "security" not in spec["paths"]["/auth/login"]["post"]
    assert set(spec["components"]["schemas"]["Error"]["required"]) == {"error", "message"}
    assert "quotedMsgId" in spec["components"]["schemas"]["MessageCreate"]["properties"]
