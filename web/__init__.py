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
    from flask import Flask, redirect

    from web import (auth, contacts, errors, messages, meta, public, sim, socket, tickets,
                     whatsapp)

    settings = runtime.settings
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.url_map.converters["int"] = errors.BoundedInt  # an id past 2**63 - 1 is a 404
    app.url_map.merge_slashes = False  # /tickets//1 is a 404, not an HTML redirect
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_mb * 1024 * 1024 + 64 * 1024
    app.config["SOCK_SERVER_OPTIONS"] = {"ping_interval": None,
                                         "max_message_size": socket.MAX_FRAME}
    app.json.sort_keys = False
    app.extensions["tiktickets"] = runtime
    errors.init_app(app)
    auth.init_app(app, settings)
    for blueprint in (meta.bp, auth.bp, tickets.bp, messages.bp, contacts.bp, whatsapp.bp,
                      public.bp):
        app.register_blueprint(blueprint)
    from web import queues, users  # the dashboard's pickers (issue 4)

    app.register_blueprint(users.bp)
    app.register_blueprint(queues.bp)
    from web import campaigns  # CampaignProcess (issue 6)

    app.register_blueprint(campaigns.bp)
    from web import tenant_settings  # the campaigns' time zone

    app.register_blueprint(tenant_settings.bp)
    if runtime.network is not None:
        app.register_blueprint(sim.bp)
    socket.init_app(app)

    @app.get("/")
    def index():
        return redirect("/static/index.html")

    return app
