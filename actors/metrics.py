"""Prometheus metrics of one actor system, in its own registry (no process-global state).

Served by ``GET /metrics`` in the text exposition format. Counters are incremented where the
thing happens (after the commit that makes it true); gauges are read at scrape time.
"""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily


class Metrics:
    def __init__(self, system) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.inbound_stored = Counter("tt_inbound_messages_stored", "Inbound messages stored",
                                      registry=r)
        self.inbound_replayed = Counter("tt_inbound_messages_replayed",
                                        "Inbound messages already stored (replays, syncs)",
                                        registry=r)
        self.outbound_sent = Counter("tt_outbound_messages_sent", "Outbound messages sent",
                                     registry=r)
        self.outbound_failed = Counter("tt_outbound_messages_failed",
                                       "Outbound messages failed after every retry", registry=r)
        self.send_attempts_failed = Counter("tt_send_attempts_failed",
                                            "Failed send attempts (each retry counts)", registry=r)
        self.reconnects = Counter("tt_session_reconnects", "Progressive reconnects started",
                                  registry=r)
        self.events = Counter("tt_events_published", "Events published to tenant rooms",
                              registry=r)
        r.register(_LiveActors(system))


class _LiveActors:
    def __init__(self, system) -> None:
        self.system = system

    def describe(self):
        return []

    def collect(self):
        gauge = GaugeMetricFamily("tt_live_actors", "Live actors by kind", labels=["kind"])
        for kind, count in self.system.live_actors().items():
            gauge.add_metric([kind], count)
        yield gauge
