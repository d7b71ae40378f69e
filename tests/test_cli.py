"""The ``tiktickets`` command line: create-tenant prints one JSON object, errors too."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cli(tmp_path, *args, **env):
    environment = dict(os.environ, TT_DATABASE_URL=f"sqlite:///{tmp_path}/cli.db", **env)
    done = subprocess.run([sys.executable, "-m", "web.cli", *args], env=environment, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    return done.returncode, (done.stdout or done.stderr).strip().splitlines()[-1]


def test_create_tenant_prints_tenant_and_user_ids(tmp_path):
    rc, out = _cli(tmp_path, "create-tenant", "--name", "Loja", "--admin-email",
                   " Ana@Loja.test ", "--admin-password", "secret123")
    assert rc == 0
    assert set(json.loads(out)) == {"tenantId", "userId"}


def test_create_tenant_errors_are_json(tmp_path):
    _cli(tmp_path, "create-tenant", "--name", "A", "--admin-email", "a@a.test",
         "--admin-password", "secret123")
    cases = [(["--admin-email", "A@a.test", "--admin-password", "secret123"], "ERR_EMAIL_TAKEN"),
             (["--admin-email", "b@a.test", "--admin-password", "x" * 100],
              "ERR_INVALID_PASSWORD"),
             (["--admin-email", "not-an-email", "--admin-password", "secret123"],
              "ERR_INVALID_EMAIL")]
    for extra, code in cases:
        rc, out = _cli(tmp_path, "create-tenant", "--name", "B", *extra)
        assert rc != 0 and json.loads(out)["error"] == code, (extra, out)


def test_a_bad_setting_is_refused_by_name(tmp_path):
    rc, out = _cli(tmp_path, "migrate", TT_MAX_UPLOAD_MB="-1")
    assert rc == 2
    assert "TT_MAX_UPLOAD_MB" in json.loads(out)["message"]
