"""The top floor: a thin Flask bridge from HTTP and WebSocket clients to the actors.

``create_app(runtime)`` builds the app around a booted :class:`web.runtime.Runtime`; nothing runs at
import time. One blueprint per resource; JSON errors from :mod:`web.errors`.
"""
from __future__ import annotations

# Nothing is imported at module level on purpose: ``python -m web.cli`` and the ``tiktickets``
# script import this package before their first line (``monkey.patch_all()``) runs, and a
# library imported before patching keeps real threads (peewee's connection state would then be
# shared by every greenlet).


def create_app(runtime):
    """The Flask app around a booted :class:`web.runtime.Runtime`."""
    from flask import Flask, jsonify, redirect

    from storage import db
    from storage.models import Tenant
    from web import auth, contacts, errors, messages, public, sim, socket, tickets, whatsapp

    settings = runtime.settings
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_mb * 1024 * 1024 + 64 * 1024
    app.config["SOCK_SERVER_OPTIONS"] = {"ping_interval": None}
    app.json.sort_keys = False
    app.extensions["tiktickets"] = runtime
    errors.init_app(app)
    for blueprint in (auth.bp, tickets.bp, messages.bp, contacts.bp, whatsapp.bp, public.bp):
        app.register_blueprint(blueprint)
    if runtime.network is not None:
        app.register_blueprint(sim.bp)
    socket.init_app(app)

    @app.get("/health")
    def health():
        """``{status, database, queue: {kind, status}, actors}``: 200 when every dependency
        answers, 503 otherwise (the body says which one failed)."""
        try:
            with db.unit_of_work():
                Tenant.select().limit(1).execute()
            database = "ok"
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            database = f"error: {type(exc).__name__}"
        queue = runtime.system.queue
        kind = "redis" if hasattr(queue, "redis") else "embedded"
        queue_state = "ok" if queue.ping() else "error: unreachable"
        ok = database == "ok" and queue_state == "ok"
        body = {"status": "ok" if ok else "degraded", "database": database,
                "queue": {"kind": kind, "status": queue_state},
                "actors": runtime.system.live_actors()}
        return jsonify(body), 200 if ok else 503

    @app.get("/")
    def index():
        return redirect("/static/index.html")

    return app
