"""``tiktickets serve``: one gevent process — patch, boot the actors, serve HTTP and WebSockets.

gevent's plain ``pywsgi.WSGIServer`` with flask-sock serves the WebSockets. gevent-websocket is not
used: unmaintained since 2017, it fails silently on Werkzeug ≥ 2 and breaks flask-sock when both
are mounted.
"""
from gevent import monkey

monkey.patch_all()

import logging  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402

import gevent  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

from web import create_app  # noqa: E402
from web.runtime import boot, shutdown  # noqa: E402
from web.settings import Settings  # noqa: E402

log = logging.getLogger("tiktickets")


class Server(WSGIServer):
    """pywsgi with ``TCP_NODELAY`` on every connection: a response goes out in more than one
    write (headers, body), and with Nagle's algorithm the second one waited for the client's
    delayed ACK — about 40 ms on every small keep-alive answer (measured: ``/health`` 44 ms,
    0.8 ms with it)."""

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
