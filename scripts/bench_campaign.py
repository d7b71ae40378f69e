"""CampaignProcess throughput and pacing against the simulated WhatsApp.

Boots the real runtime in-process (actors, database, embedded or Redis ``SendMessages`` queue,
simulated WhatsApp, the real clock), then:

1. runs a ``--contacts`` campaign (default 1,000) with delay 0 and no jitter, and prints the sends
   per minute it achieves — from ``start`` to the last message recorded ``sent``;
2. runs a ``--paced`` campaign (default 20 contacts) with ``--delay`` s (default 0.5) plus up to
   ``--jitter`` s (default 0.2), and prints the interval between consecutive sends as the
   simulated phone network received them.

``--send-rate`` is the connection throttle (``TT_SEND_RATE``, messages per minute; default 0 here
so the campaign's own pacing is what is measured — in production the throttle's 20/min applies
on top of it).

    scripts/bench_campaign [--contacts 1000] [--paced 20 --delay 0.5 --jitter 0.2]
                           [--send-rate 0] [--database-url URL] [--redis-url URL]
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import gevent  # noqa: E402

from actors.messages import CampaignControl, StartSession  # noqa: E402
from storage import campaign_contacts, campaigns, db, tenants  # noqa: E402
from storage.models import Campaign, Whatsapp  # noqa: E402
from web.runtime import boot, shutdown  # noqa: E402
from web.settings import Settings  # noqa: E402


def run_campaign(runtime, tenant_id: int, whatsapp_id: int, numbers: list[str],
                 **fields) -> float:
    """Create, fill and start a campaign; return seconds from start until it is finished."""
    with db.unit_of_work():
        campaign = campaigns.create_campaign(tenant_id, whatsapp=whatsapp_id, name="bench",
                                             message1="{{greeting}}, {{name}}!", **fields)
        campaign_contacts.add(tenant_id, campaign.id,
                              [(i, n, f"Cliente {i}") for i, n in enumerate(numbers, 1)])
    actor = runtime.system.campaigner(whatsapp_id, tenant_id)
    start = time.perf_counter()
    actor.ask(CampaignControl(tenant_id, campaign.id, "start"), timeout=30)
    while True:
        with db.unit_of_work():
            status = Campaign.select(Campaign.status).where(Campaign.id == campaign.id).scalar()
        if status == "finished":
            return time.perf_counter() - start
        gevent.sleep(0.005)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--paced", type=int, default=20)
    parser.add_argument("--delay", type=float, default=0.5)
    parser.add_argument("--jitter", type=float, default=0.2)
    parser.add_argument("--send-rate", type=float, default=0.0)
    parser.add_argument("--database-url", default=None,
                        help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--redis-url", default="")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="tt-bench-campaign-")
    url = args.database_url or f"sqlite:///{workdir}/bench.db"
    settings = Settings(database_url=url, redis_url=args.redis_url, secret_key="bench",
                        public_dir=f"{workdir}/public", send_rate=args.send_rate,
                        sim_pair_delay=0, watchdog_interval=3600,
                        sim_state=f"{workdir}/sim.jsonl")
    runtime = boot(settings)
    received: list[float] = []
    record_sent = runtime.network.record_sent

    def timed(phone, item):  # when the simulated WhatsApp received each send
        received.append(time.perf_counter())
        record_sent(phone, item)

    runtime.network.record_sent = timed
    with db.unit_of_work():
        tenant, _ = tenants.create_tenant("Bench", f"bench-{uuid.uuid4().hex[:8]}@x.test",
                                          "benchpw")
        whatsapp = tenants.create_whatsapp(tenant.id, "bench")
    runtime.system.start_connection(whatsapp.id, tenant.id)
    runtime.system.session(whatsapp.id).ask(StartSession(), timeout=5)
    while True:
        with db.unit_of_work():
            if Whatsapp.get_by_id(whatsapp.id).status == "CONNECTED":
                break
        gevent.sleep(0.01)

    bulk = [f"55119{n:08d}" for n in range(args.contacts)]
    bulk_seconds = run_campaign(runtime, tenant.id, whatsapp.id, bulk, delay=0, jitter=0)
    bulk_sent = len(runtime.network.sent(whatsapp.id))

    received.clear()
    paced = [f"55219{n:08d}" for n in range(args.paced)]
    paced_seconds = run_campaign(runtime, tenant.id, whatsapp.id, paced, delay=args.delay,
                                 jitter=args.jitter)
    intervals = [b - a for a, b in zip(received, received[1:])]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    shutdown(runtime)

    print(f"backend                 {url.split(':', 1)[0]}"
          f"{' + redis' if args.redis_url else ' + embedded queue'}, throttle "
          f"{args.send_rate:g}/min")
    print(f"bulk campaign           {args.contacts} contacts, delay 0: {bulk_sent} sent in "
          f"{bulk_seconds:.2f}s = {args.contacts / bulk_seconds * 60:,.0f} sends/min")
    print(f"paced campaign          {args.paced} contacts, delay {args.delay}s + jitter "
          f"0..{args.jitter}s: {paced_seconds:.2f}s")
    print(f"  intervals (s)         {' '.join(f'{i:.3f}' for i in intervals)}")
    if intervals:
        print(f"  min / mean / max      {min(intervals):.3f} / {statistics.mean(intervals):.3f}"
              f" / {max(intervals):.3f}  (bounds {args.delay:.3f} .. "
              f"{args.delay + args.jitter:.3f} + one send's round trip)")
    print(f"peak RSS                {rss_mb:,.0f} MiB")
    ok = bulk_sent == args.contacts and len(received) == args.paced
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
