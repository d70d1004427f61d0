"""Turn the OpenAPI document into plain data for the server-rendered docs page.

The usual UIs (Swagger UI, ReDoc, RapiDoc) load their scripts from a CDN: not reachable on
the intranet the panel runs on, and refused by its Content-Security-Policy anyway. The page
made from this is HTML and CSS only, generated from the same document the API serves, so it
cannot drift from it.
"""

from __future__ import annotations

METHOD_ORDER = ("get", "post", "put", "patch", "delete")


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_label(schema: dict | None) -> str:
    """A short human rendering of a JSON schema: ``string (date-time)``, ``Issue[]``…"""
    if not schema:
        return ""
    if "$ref" in schema:
        return _ref_name(schema["$ref"])
    if "anyOf" in schema or "oneOf" in schema:
        parts = [type_label(part) for part in schema.get("anyOf") or schema.get("oneOf")]
        return " | ".join(part for part in parts if part and part != "object")
    kind = schema.get("type", "")
    if kind == "array":
        return type_label(schema.get("items")) + "[]"
    if kind == "object" and "additionalProperties" in schema:
        values = schema["additionalProperties"]
        if isinstance(values, dict) and values:
            return f"object of {type_label(values)}"
    label = kind
    if schema.get("format"):
        label += f" ({schema['format']})"
    if schema.get("nullable"):
        label += ", nullable"
    return label


def _constraints(schema: dict) -> str:
    parts = []
    if schema.get("enum"):
        parts.append("one of " + ", ".join(str(v) for v in schema["enum"] if v is not None))
    for key, text in (("minimum", "≥ {}"), ("maximum", "≤ {}"), ("minLength", "length ≥ {}"),
                      ("maxLength", "length ≤ {}"), ("pattern", "pattern {}"),
                      ("default", "default {}")):
        if key in schema:
            parts.append(text.format(schema[key]))
    return "; ".join(parts)


def _properties(schema: dict) -> list[dict]:
    required = set(schema.get("required", ()))
    return [{
        "name": name, "type": type_label(prop), "required": name in required,
        "description": prop.get("description", ""), "constraints": _constraints(prop),
    } for name, prop in schema.get("properties", {}).items()]


def describe(spec: dict) -> dict:
    """Operations (with parameters, body and responses) and schemas, ready for the template."""
    operations = []
    for path, item in spec.get("paths", {}).items():
        for method in METHOD_ORDER:
            op = item.get(method)
            if op is None:
                continue
            body = (op.get("requestBody") or {}).get("content", {}).get("application/json", {})
            responses = []
            for code, response in op.get("responses", {}).items():
                if "$ref" in response:
                    name = _ref_name(response["$ref"])
                    response = spec.get("components", {}).get("responses", {}).get(name, {})
                content = response.get("content", {}).get("application/json", {})
                responses.append({"code": code, "description": response.get("description", ""),
                                  "type": type_label(content.get("schema"))})
            responses.sort(key=lambda r: (r["code"] == "default", r["code"]))
            operations.append({
                "id": op.get("operationId") or f"{method}-{path}",
                "method": method.upper(), "path": path,
                "summary": op.get("summary", ""), "description": op.get("description", ""),
                "tags": op.get("tags", []),
                "parameters": [{
                    "name": p["name"], "in": p["in"], "required": p.get("required", False),
                    "type": type_label(p.get("schema")),
                    "description": p.get("description", ""),
                    "constraints": _constraints(p.get("schema", {})),
                } for p in op.get("parameters", []) + item.get("parameters", [])],
                "body": type_label(body.get("schema")) if body else "",
                "responses": responses,
            })
    schemas = [{"name": name, "description": schema.get("description", ""),
                "properties": _properties(schema)}
               for name, schema in spec.get("components", {}).get("schemas", {}).items()]
    return {"info": spec.get("info", {}), "openapi": spec.get("openapi", ""),
            "operations": operations, "schemas": schemas}
