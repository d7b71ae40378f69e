"""``tiktickets serve``: one gevent process — patch, boot the actors, serve HTTP and WebSockets.

gevent's plain ``pywsgi.WSGIServer`` with flask-sock serves the WebSockets. gevent-websocket is not
used: unmaintained since 2017, it fails silently on Werkzeug ≥ 2 and breaks flask-sock when both
are mounted.
"""
from gevent import monkey

monkey.patch_all()

import logging  # noqa: E402
import signal  # noqa: E402

import gevent  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

from web import create_app  # noqa: E402
from web.runtime import boot, shutdown  # noqa: E402
from web.settings import Settings  # noqa: E402

log = logging.getLogger("tiktickets")


def serve(settings: Settings) -> None:
    runtime = boot(settings)
    app = create_app(runtime)
    server = WSGIServer((settings.host, settings.port), app, log=None, error_log=log)
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
