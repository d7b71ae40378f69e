"""``python -m web.wa_simulator [--host 127.0.0.1] [--port 8100] [--qr-interval 20]``: serve the
WhatsApp Web simulator (page + control API) until interrupted. See :mod:`web.wa_simulator`."""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import signal  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402

from web.wa_simulator import serve  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--qr-interval", type=float, default=20.0,
                        help="seconds before a QR code is replaced")
    parser.add_argument("--ack-delay", type=float, default=0.05,
                        help="seconds before the server ack (1) of a sent message")
    args = parser.parse_args()
    server, sim, url = serve(args.host, args.port, qr_interval=args.qr_interval,
                             ack_delay=args.ack_delay)
    print(f"WhatsApp Web simulator on {url} (control API: {url}control/…)", flush=True)
    stopping = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stopping.set)
    gevent.signal_handler(signal.SIGINT, stopping.set)
    stopping.wait()
    server.stop(timeout=2)
    sim.close()


if __name__ == "__main__":
    main()
