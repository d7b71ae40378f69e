"""JWT auth (Izing's /auth): login, refresh, logout, bearer required, admin-only routes."""
from storage import db, tenants


def _login(client, email, password="secret123"):
    return client.post("/auth/login", json={"email": email, "password": password})


def test_login_returns_token_refresh_token_and_user(tenant):
    response = _login(tenant.client, tenant.email)
    assert response.status_code == 200
    body = response.get_json()
    assert body["token"] and body["refreshToken"]
    assert body["user"]["email"] == tenant.email
    assert body["user"]["tenantId"] == tenant.tenant_id
    assert body["user"]["profile"] == "admin"
    assert "passwordHash" not in body["user"] and "password_hash" not in body["user"]


def test_wrong_password_is_a_401(tenant):
    response = _login(tenant.client, tenant.email, "wrong-password")
    assert response.status_code == 401
    assert response.get_json()["error"] == "ERR_INVALID_CREDENTIALS"
    assert _login(tenant.client, "nobody@nowhere.test").status_code == 401


def test_routes_need_a_bearer_token(client):
    for path in ("/tickets", "/contacts", "/whatsapp", "/messages/1", "/auth/me"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.get_json()["error"] == "ERR_SESSION_EXPIRED"
    bad = client.get("/tickets", headers={"Authorization": "Bearer not.a.jwt"})
    assert bad.status_code == 401


def test_refresh_token_gives_new_tokens(tenant):
    refresh = _login(tenant.client, tenant.email).get_json()["refreshToken"]
    response = tenant.client.post("/auth/refresh_token", json={"refreshToken": refresh})
    assert response.status_code == 200
    token = response.get_json()["token"]
    me = tenant.client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.get_json()["email"] == tenant.email


def test_access_token_is_not_a_refresh_token(tenant):
    response = tenant.client.post("/auth/refresh_token", json={"refreshToken": tenant.token})
    assert response.status_code == 401


def test_logout_revokes_refresh_tokens(tenant):
    refresh = _login(tenant.client, tenant.email).get_json()["refreshToken"]
    assert tenant.api("POST", "/auth/logout").status_code == 200
    response = tenant.client.post("/auth/refresh_token", json={"refreshToken": refresh})
    assert response.status_code == 401


def test_logout_ends_the_access_tokens_at_once(tenant):
    other = _login(tenant.client, tenant.email).get_json()["token"]  # another device
    assert tenant.api("POST", "/auth/logout").status_code == 200
    for token in (tenant.token, other):
        response = tenant.client.get("/tickets", headers={"Authorization": f"Bearer {token}"})
        assert (response.status_code, response.get_json()["error"]) == (401,
                                                                         "ERR_SESSION_EXPIRED")
    assert _login(tenant.client, tenant.email).status_code == 200


def test_a_demoted_admin_loses_admin_routes_with_the_same_token(tenant):
    from storage.models import User

    with db.write():
        User.update(profile="user").where(User.id == tenant.user_id).execute()
    response = tenant.api("POST", "/whatsapp", {"name": "x"})
    assert (response.status_code, response.get_json()["error"]) == (403, "ERR_NO_PERMISSION")


def test_plain_users_cannot_use_admin_routes(tenant):
    with db.unit_of_work():
        tenants.create_user(tenant.tenant_id, "Agent", "agent@t.test", "secret123")
    token = _login(tenant.client, "agent@t.test").get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert tenant.client.post("/whatsapp", json={"name": "x"}, headers=headers).status_code == 403
    response = tenant.client.post(f"/sim/whatsapp/{tenant.whatsapp_id}/incoming",
                                  json={"from": "5511900000000", "body": "x"}, headers=headers)
    assert response.status_code == 403
    assert tenant.client.get("/tickets", headers=headers).status_code == 200


def test_failed_logins_past_the_limit_are_refused_with_retry_after(tenant):
    for _ in range(5):
        assert _login(tenant.client, tenant.email, "wrong-password").status_code == 401
    refused = _login(tenant.client, tenant.email, "wrong-password")
    assert (refused.status_code, refused.get_json()["error"]) == (429, "ERR_TOO_MANY_ATTEMPTS")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # the right password waits too: the brake is on the account from this address
    assert _login(tenant.client, tenant.email).status_code == 429


def test_successful_logins_never_count_against_the_limit(tenant):
    for _ in range(8):
        assert _login(tenant.client, tenant.email).status_code == 200


def test_one_accounts_failures_do_not_lock_out_another(make_tenant):
    alice, bob = make_tenant(start=False), make_tenant(start=False)
    for _ in range(6):
        _login(alice.client, alice.email, "wrong-password")
    assert _login(bob.client, bob.email).status_code == 200
