"""``tiktickets`` — the command line: ``serve``, ``migrate``, ``create-tenant``, ``demo``."""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402

from storage import db, tenants  # noqa: E402
from storage.errors import DomainError  # noqa: E402
from storage.models import Tenant  # noqa: E402
from web import settings as settings_module  # noqa: E402
from web.runtime import connect_database  # noqa: E402

DEMO_EMAIL = "admin@demo.test"
DEMO_PASSWORD = "demo1234"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tiktickets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the service on TT_HOST:TT_PORT")
    sub.add_parser("migrate", help="apply pending database migrations")
    create = sub.add_parser("create-tenant", help="create a tenant and its admin; prints JSON")
    create.add_argument("--name", required=True)
    create.add_argument("--admin-email", required=True)
    create.add_argument("--admin-password", required=True)
    create.add_argument("--admin-name", default="Admin")
    sub.add_parser("demo", help="create a demo tenant, admin and simulated connection if the "
                                "database has no tenant; prints the login")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = settings_module.from_env()
    except ValueError as exc:
        print(json.dumps({"error": "ERR_CONFIGURATION", "message": str(exc)}), file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Pykka logs every exception an ask() returns to its caller (a 404 from a ticket actor, say)
    # with a traceback at INFO; the web answers those as 4xx, so they are noise here.
    logging.getLogger("pykka").setLevel(logging.WARNING)
    if args.command == "serve":
        from web.server import serve

        serve(settings)
        return 0
    connect_database(settings)
    if args.command == "migrate":
        print(json.dumps({"ok": True}))
        return 0
    if args.command == "create-tenant":
        try:
            with db.unit_of_work():
                tenant, user = tenants.create_tenant(args.name, args.admin_email,
                                                     args.admin_password, args.admin_name)
        except DomainError as exc:
            print(json.dumps({"error": exc.code, "message": str(exc)}))
            return 1
        print(json.dumps({"tenantId": tenant.id, "userId": user.id}))
        return 0
    if args.command == "demo":
        with db.unit_of_work():
            if Tenant.select().exists():
                print(json.dumps({"created": False, "message": "database already has tenants"}))
                return 0
            tenant, user = tenants.create_tenant("Demo", DEMO_EMAIL, DEMO_PASSWORD, "Demo Admin")
            whatsapp = tenants.create_whatsapp(tenant.id, "Demo (simulated)", True)
        print(json.dumps({"created": True, "tenantId": tenant.id, "userId": user.id,
                          "whatsappId": whatsapp.id, "email": DEMO_EMAIL,
                          "password": DEMO_PASSWORD}))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
