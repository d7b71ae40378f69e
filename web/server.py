"""``tiktickets serve``: one gevent process — patch, boot the actors, serve HTTP and WebSockets.

gevent's plain ``pywsgi.WSGIServer`` with flask-sock serves the WebSockets. gevent-websocket is not
used: unmaintained since 2017, it fails silently on Werkzeug ≥ 2 and breaks flask-sock when both
are mounted.
"""
from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402

import gevent  # noqa: E402
from gevent.pywsgi import WSGIHandler, WSGIServer  # noqa: E402

from web import create_app  # noqa: E402
from web.runtime import boot, shutdown  # noqa: E402
from web.settings import Settings  # noqa: E402

log = logging.getLogger("tiktickets")


def _refusal(status: str, code: str, message: str) -> bytes:
    body = json.dumps({"error": code, "message": message}).encode()
    head = (f"HTTP/1.1 {status}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


# pywsgi refuses a request it cannot parse before Flask sees it, with an empty body.
_REFUSALS = {
    "400": _refusal("400 Bad Request", "ERR_BAD_REQUEST", "malformed HTTP request"),
    "414": _refusal("414 URI Too Long", "ERR_REQUEST_TOO_LONG", "the request line is too long"),
}


class Handler(WSGIHandler):
    """pywsgi's handler, whose own refusals (a malformed request line or header, a request line
    of 64 KiB or more) carry the API's JSON error body like every other error."""

    def handle_one_request(self):
        result = super().handle_one_request()
        if isinstance(result, tuple) and result[0] in _REFUSALS:
            return result[0], _REFUSALS[result[0]]
        return result


class Server(WSGIServer):
    """pywsgi with ``TCP_NODELAY`` on every connection: a response goes out in more than one
    write (headers, body), and with Nagle's algorithm the second one waited for the client's
    delayed ACK — about 40 ms on every small keep-alive answer (measured: ``/health`` 44 ms,
    0.8 ms with it). Requests it cannot parse get a JSON error (:class:`Handler`)."""

    handler_class = Handler

    def handle(self, sock, address):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not TCP (a Unix socket): nothing to tune
        super().handle(sock, address)


def serve(settings: Settings) -> None:
    runtime = boot(settings)
    app = create_app(runtime)
    server = Server((settings.host, settings.port), app, log=None, error_log=log)
    stopping = gevent.event.Event()

    def stop(*_):
        stopping.set()

    gevent.signal_handler(signal.SIGTERM, stop)
    gevent.signal_handler(signal.SIGINT, stop)
    server.start()
    log.info("TikTickets serving on http://%s:%d (database %s, client %s)", settings.host,
             server.server_port, settings.database_url, settings.whatsapp_client)
    stopping.wait()
    log.info("stopping")
    server.stop(timeout=5)
    shutdown(runtime)
