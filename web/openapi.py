"""The OpenAPI 3 document, built with apispec from the app itself.

Paths and methods come from the URL map; each operation's summary and description from its view's
docstring; request bodies from the pydantic model a view declares with :func:`accepts`; every
operation documents the JSON error shape. Nothing is written twice by hand.
"""
from __future__ import annotations

import inspect
import re

from apispec import APISpec

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {"error": {"type": "string", "example": "ERR_NO_TICKET_FOUND"},
                   "message": {"type": "string"}, "details": {"type": "array"}},
}
PUBLIC = {"/auth/login", "/auth/refresh_token", "/health", "/metrics", "/openapi.json"}


def accepts(model):
    """Declare a view's JSON body model (for the OpenAPI document; validation stays in the view)."""
    def mark(view):
        view.openapi_body = model
        return view
    return mark


def _path(rule: str) -> tuple[str, list[dict]]:
    params = []

    def swap(match):
        converter, name = match.group(1), match.group(2)
        kind = "integer" if converter == "int" else "string"
        params.append({"name": name, "in": "path", "required": True, "schema": {"type": kind}})
        return "{" + name + "}"

    return re.sub(r"<(?:(\w+):)?(\w+)>", swap, rule), params


def build_spec(app) -> dict:
    spec = APISpec(title="TikTickets", version="0.1.0", openapi_version="3.0.3",
                   info={"description": "Multi-tenant WhatsApp helpdesk. Izing's paths and "
                                        "camelCase JSON; every query scoped to the caller's "
                                        "tenant (another tenant's object is a 404)."})
    spec.components.schema("Error", ERROR_SCHEMA)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                               "bearerFormat": "JWT"})
    paths: dict[str, dict] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith("/static"):
            continue
        view = app.view_functions[rule.endpoint]
        path, params = _path(rule.rule)
        doc = inspect.getdoc(view) or ""
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation = {
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "summary": doc.split("\n", 1)[0] or rule.endpoint,
                "tags": [rule.endpoint.split(".", 1)[0]],
                "responses": {
                    "200": {"description": "success"},
                    "4XX": {"description": "client error",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}}}},
                },
            }
            if doc:
                operation["description"] = doc
            if params:
                operation["parameters"] = params
            if rule.rule not in PUBLIC:
                operation["security"] = [{"bearer": []}]
            model = getattr(view, "openapi_body", None)
            if model is not None:
                name = model.__name__
                schema = model.model_json_schema(by_alias=True,
                                                 ref_template="#/components/schemas/{model}")
                for nested, nested_schema in schema.pop("$defs", {}).items():
                    if nested not in spec.components.schemas:
                        spec.components.schema(nested, nested_schema)
                if name not in spec.components.schemas:
                    spec.components.schema(name, schema)
                operation["requestBody"] = {"required": True, "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{name}"}}}}
            paths.setdefault(path, {})[method.lower()] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
