"""A local WhatsApp Web simulator: a page that offers the in-page contract ``bridge.js`` uses, and a
control API for tests and demos. Served on 127.0.0.1 (``scripts/wa_simulator``, or in-process by
the tests); the selenium client points at it with ``TT_WHATSAPP_WEB_URL``. It imports nothing
from ``actors`` or ``storage``: it plays WhatsApp, not us.

The page (``static/index.html`` + ``static/waweb.js``) exposes ``window.require`` with the module
names of :data:`actors.whatsapp.adapter.PAGE` and shows the QR in ``div[data-ref]``.

Page API (what WhatsApp's servers do; JSON):
- ``POST /api/hello`` ``{token?}`` → ``{paired, device, qr | number+chats, since}``
- ``GET /api/poll?device=&after=&timeout=`` → ``{events: [{n, kind, …}]}`` (long poll; kinds qr,
  paired, message, ack, logout, reload)
- ``POST /api/send`` ``{device, id, to, body, media?, quotedId?}`` → ``{id}`` | 502 | hang
- ``GET /api/profile-pic?device=`` → ``{eurl}`` | 500 | hang;  ``POST /api/logout`` ``{device}``
- ``GET /api/media/<id>`` → the bytes

Control API (tests, demos):
- ``POST /control/scan`` ``{qr, number?}`` → ``{device, number}`` (409: no page shows it)
- ``GET /control/qr`` → ``[{device, qr}]``;  ``POST /control/qr/rotate`` → ``{rotated}``
- ``POST /control/phones/<number>/incoming`` ``{from, body?, name?, id?, type?, media?:
  {mimetype, data (base64), filename?}, quotedId?, live? (false: unread backlog only)}`` → ``{id}``
- ``GET /control/phones/<number>/sent`` → ``[{id, to, body, media?, quotedMsgId?}]``
- ``POST /control/phones/<number>/ack`` ``{id, ack}`` (404: never sent)
- ``POST /control/phones/<number>/faults`` ``{ghost?, profilePic? ok|error|hang,
  sends? ok|reject|hang, acks? auto|none, ackDelay?}`` → the phone's state
- ``POST /control/phones/<number>/logout`` (remote logout), ``…/reload`` (page reload)
- ``GET /control/phones/<number>`` → state;  ``POST /control/reset``
A browser crash is not the page's to fake: kill the Chromium process (see the tests).
"""
from __future__ import annotations

import binascii
import os

from flask import Flask, Response, jsonify, request, send_from_directory

from web.wa_simulator.state import SimError, WhatsAppSimulator

STATIC = os.path.join(os.path.dirname(__file__), "static")


def create_app(sim: WhatsAppSimulator) -> Flask:
    app = Flask(__name__, static_folder=None)
    app.json.sort_keys = False

    @app.errorhandler(SimError)
    def sim_error(exc: SimError):
        return jsonify({"error": str(exc)}), exc.status

    @app.get("/")
    def page():
        return send_from_directory(STATIC, "index.html", max_age=0)

    @app.get("/waweb.js")
    def script():
        return send_from_directory(STATIC, "waweb.js", max_age=0)

    # --- the page's API -----------------------------------------------------------------------

    @app.post("/api/hello")
    def hello():
        return jsonify(sim.hello(_body().get("token")))

    @app.get("/api/poll")
    def poll():
        args = request.args
        events = sim.events_after(args["device"], int(args.get("after", 0)),
                                  float(args.get("timeout", 20)))
        return jsonify({"events": events})

    @app.post("/api/send")
    def send():
        body = _body()
        return jsonify(sim.send(body["device"], body["id"], body["to"], body.get("body", ""),
                                body.get("media"), body.get("quotedId")))

    @app.get("/api/profile-pic")
    def profile_pic():
        return jsonify(sim.profile_pic(request.args["device"]))

    @app.post("/api/logout")
    def page_logout():
        sim.logout(_body().get("device", ""))
        return jsonify({"ok": True})

    @app.get("/api/media/<msg_id>")
    def media(msg_id: str):
        mimetype, data = sim.media_of(msg_id)
        return Response(data, mimetype=mimetype)

    # --- control API --------------------------------------------------------------------------

    @app.post("/control/scan")
    def scan():
        body = _body()
        return jsonify(sim.scan(body["qr"], body.get("number")))

    @app.get("/control/qr")
    def qrs():
        return jsonify(sim.waiting_qrs())

    @app.post("/control/qr/rotate")
    def rotate():
        return jsonify({"rotated": sim.rotate_qr()})

    @app.post("/control/phones/<number>/incoming")
    def incoming(number: str):
        body = _body()
        if not body.get("from") or not (body.get("body") or body.get("media")):
            raise SimError(400, "a message needs from and a body or media")
        try:
            msg_id = sim.incoming(number, str(body["from"]), body.get("body", ""),
                                  body.get("name"), body.get("id"), body.get("type"),
                                  body.get("media"), body.get("quotedId"),
                                  bool(body.get("live", True)))
        except (binascii.Error, ValueError, KeyError):
            raise SimError(400, "media needs mimetype and base64 data") from None
        return jsonify({"id": msg_id}), 202

    @app.get("/control/phones/<number>/sent")
    def sent(number: str):
        return jsonify(sim.phone(number).sent)

    @app.post("/control/phones/<number>/ack")
    def ack(number: str):
        body = _body()
        if not sim.ack(number, body["id"], int(body["ack"])):
            raise SimError(404, "no message with this id was sent")
        return jsonify({"id": body["id"], "ack": body["ack"]}), 202

    @app.post("/control/phones/<number>/faults")
    def faults(number: str):
        body = _body()
        return jsonify(sim.set_faults(number, body.get("ghost"), body.get("profilePic"),
                                      body.get("sends"), body.get("acks"),
                                      body.get("ackDelay")))

    @app.post("/control/phones/<number>/logout")
    def remote_logout(number: str):
        return jsonify({"devices": sim.remote_logout(number)})

    @app.post("/control/phones/<number>/reload")
    def reload(number: str):
        return jsonify({"devices": sim.reload(number)})

    @app.get("/control/phones/<number>")
    def phone(number: str):
        return jsonify(sim.phone_state(number))

    @app.post("/control/reset")
    def reset():
        sim.reset()
        return jsonify({"ok": True})

    return app


def _body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise SimError(400, "the body must be a JSON object")
    return data


def serve(host: str = "127.0.0.1", port: int = 0, **options):
    """Start a simulator server in this (gevent) process. Returns ``(server, sim, base_url)``."""
    from gevent.pywsgi import WSGIServer

    sim = WhatsAppSimulator(**options)
    server = WSGIServer((host, port), create_app(sim), log=None)
    server.start()
    return server, sim, f"http://{host}:{server.server_port}/"
