"""Service endpoints: ``GET /health``, ``GET /metrics`` (Prometheus), ``GET /openapi.json``."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from storage import db
from storage.models import Tenant
from web.common import runtime

bp = Blueprint("meta", __name__)


@bp.get("/health")
def health():
    """``{status, database, queue: {kind, status}, actors}``: 200 when every dependency answers,
    503 otherwise (the body says which one failed). No authentication; no tenant data."""
    try:
        with db.unit_of_work():
            Tenant.select().limit(1).execute()
        database = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        database = f"error: {type(exc).__name__}"
    system = runtime().system
    queue = system.queue
    kind = "redis" if hasattr(queue, "redis") else "embedded"
    queue_state = "ok" if queue.ping() else "error: unreachable"
    ok = database == "ok" and queue_state == "ok"
    body = {"status": "ok" if ok else "degraded", "database": database,
            "queue": {"kind": kind, "status": queue_state}, "actors": system.live_actors()}
    return jsonify(body), 200 if ok else 503


@bp.get("/metrics")
def metrics():
    """Prometheus text format: message counters, send failures, reconnects, live actors by kind.
    Process-wide totals only (no tenant data)."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return generate_latest(runtime().system.metrics.registry), 200, {
        "Content-Type": CONTENT_TYPE_LATEST}


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 document of every route (see :mod:`web.openapi`)."""
    from web.openapi import build_spec

    spec = current_app.extensions.get("tiktickets.openapi")
    if spec is None:
        spec = current_app.extensions["tiktickets.openapi"] = build_spec(current_app)
    return jsonify(spec)
