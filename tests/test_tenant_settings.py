"""Tenant settings (``/settings``, Izing's): known keys with defaults, admin-only changes,
checked values, one tenant's settings invisible to another."""
from helpers import WsClient
from storage import db, tenants


def _agent_headers(ctx) -> dict:
    with db.unit_of_work():
        tenants.create_user(ctx.tenant_id, "Agent", f"agent{ctx.tenant_id}@tenant.test",
                            "secret123")
    login = ctx.client.post("/auth/login", json={"email": f"agent{ctx.tenant_id}@tenant.test",
                                                 "password": "secret123"})
    return {"Authorization": f"Bearer {login.get_json()['token']}"}


def test_settings_list_the_known_keys_with_their_defaults(make_tenant):
    ctx = make_tenant(start=False)
    response = ctx.api("GET", "/settings")
    assert response.status_code == 200
    assert response.get_json() == [{"key": "timezone", "value": "America/Sao_Paulo"}]


def test_admin_sets_the_time_zone_and_reads_it_back(make_tenant):
    ctx = make_tenant(start=False)
    response = ctx.api("PUT", "/settings/timezone", {"value": " Europe/Lisbon "})
    assert response.status_code == 200
    assert response.get_json() == {"key": "timezone", "value": "Europe/Lisbon"}
    assert ctx.api("PUT", "/settings/timezone", {"value": "America/Manaus"}).status_code == 200
    assert ctx.api("GET", "/settings").get_json() == [{"key": "timezone",
                                                       "value": "America/Manaus"}]


def test_an_unknown_time_zone_is_a_validation_error_and_changes_nothing(make_tenant):
    ctx = make_tenant(start=False)
    for value in ("Mars/Olympus", "../../etc/passwd", "", "localtime", "Factory"):
        response = ctx.api("PUT", "/settings/timezone", {"value": value})
        assert (response.status_code, response.get_json()["error"]) == (
            400, "ERR_INVALID_TIMEZONE"), value
    response = ctx.api("PUT", "/settings/timezone", {"value": 3})
    assert (response.status_code, response.get_json()["error"]) == (400, "ERR_VALIDATION")
    assert ctx.api("GET", "/settings").get_json()[0]["value"] == "America/Sao_Paulo"


def test_an_unknown_setting_key_is_not_found(make_tenant):
    ctx = make_tenant(start=False)
    response = ctx.api("PUT", "/settings/userCreation", {"value": "enabled"})
    assert (response.status_code, response.get_json()["error"]) == (404, "ERR_NO_SETTING_FOUND")


def test_only_an_admin_changes_settings_but_every_user_reads_them(make_tenant):
    ctx = make_tenant(start=False)
    headers = _agent_headers(ctx)
    response = ctx.client.put("/settings/timezone", json={"value": "Europe/Lisbon"},
                              headers=headers)
    assert (response.status_code, response.get_json()["error"]) == (403, "ERR_NO_PERMISSION")
    assert ctx.client.get("/settings", headers=headers).status_code == 200


def test_one_tenants_setting_is_not_anothers(make_tenant):
    alice, bob = make_tenant(start=False), make_tenant(start=False)
    assert alice.api("PUT", "/settings/timezone", {"value": "Asia/Tokyo"}).status_code == 200
    assert bob.api("GET", "/settings").get_json()[0]["value"] == "America/Sao_Paulo"


def test_a_changed_setting_is_announced_to_the_tenants_dashboards(make_tenant, live_server):
    ctx = make_tenant(start=False)
    ws = WsClient(live_server, ctx.token)
    ws.subscribe("tenant")
    assert ctx.api("PUT", "/settings/timezone", {"value": "Asia/Tokyo"}).status_code == 200
    assert ws.wait_event("setting.updated")["data"] == {"key": "timezone", "value": "Asia/Tokyo"}
    ws.close()
