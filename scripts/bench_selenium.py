"""One Chromium WhatsApp Web session against the local simulator: memory and start → CONNECTED.

Serves the WhatsApp Web simulator in-process, starts a :class:`SeleniumClient` on a fresh profile
(start → QR, the simulated phone scans at once → CONNECTED), then restarts it on the same profile
(start → CONNECTED from the saved login, no QR), ``--runs`` times. Memory is summed over the
chromedriver process tree after ``--settle`` seconds CONNECTED: RSS (counts shared pages once per
process, so it over-states) and PSS (shared pages split between processes).

    scripts/bench_selenium [--runs 3] [--settle 2]
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import gevent  # noqa: E402

from actors.messages import ClientQr, ClientReady  # noqa: E402
from actors.whatsapp.selenium_client import BrowserOptions, SeleniumClient  # noqa: E402
from web.wa_simulator import serve  # noqa: E402


def wait(predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        gevent.sleep(0.01)
    return value


def memory_kib(pids: list[int]) -> tuple[int, int]:
    """(RSS, PSS) in KiB summed over ``pids``."""
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
    return rss, pss


def one_run(sim, url: str, settle: float) -> dict:
    events: list = []
    options = BrowserOptions(url=url, profiles_dir=tempfile.mkdtemp(prefix="tt-bench-"),
                             poll_interval=0.05)
    client = SeleniumClient(1, events.append, options)
    started = time.monotonic()
    client.start()
    qr = wait(lambda: [e for e in events if isinstance(e, ClientQr)])[-1].qr
    to_qr = time.monotonic() - started
    sim.scan(qr, "5511999000111")
    wait(lambda: any(isinstance(e, ClientReady) for e in events))
    to_paired = time.monotonic() - started
    gevent.sleep(settle)
    pids = client.browser_pids()
    rss, pss = memory_kib(pids)
    client.stop()
    events.clear()
    started = time.monotonic()
    client.start()  # same profile: the saved login, no QR
    wait(lambda: any(isinstance(e, ClientReady) for e in events))
    to_connected = time.monotonic() - started
    assert not any(isinstance(e, ClientQr) for e in events), "the saved login was lost"
    client.stop()
    return {"to_qr": to_qr, "to_paired": to_paired, "to_connected": to_connected,
            "rss": rss, "pss": pss, "processes": len(pids)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settle", type=float, default=2.0,
                        help="seconds CONNECTED before memory is read")
    args = parser.parse_args()
    server, sim, url = serve()
    runs = [one_run(sim, url, args.settle) for _ in range(args.runs)]
    server.stop(timeout=1)
    sim.close()

    def median(key):
        return statistics.median(r[key] for r in runs)
    print(f"chromium {os.popen('/usr/bin/chromium --version 2>/dev/null').read().strip()}, "
          f"{os.cpu_count()} cores, {args.runs} runs (medians)")
    print(f"  start -> QR on screen (fresh profile)      {median('to_qr'):6.2f} s")
    print(f"  start -> CONNECTED, QR scanned at once     {median('to_paired'):6.2f} s")
    print(f"  start -> CONNECTED from the saved login    {median('to_connected'):6.2f} s")
    print(f"  memory of one session ({int(median('processes'))} processes): "
          f"RSS {median('rss') / 1024:.0f} MiB, PSS {median('pss') / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
