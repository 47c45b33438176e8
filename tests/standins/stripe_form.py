"""Stripe's form encoding, both ways round, for the Stripe stand-in.

The SDK sends `application/x-www-form-urlencoded` with bracket notation (`metadata[k]=v`,
`line_items[0][price_data][unit_amount]=1500`, `expand[]=x` or `expand[0]=x`) and every scalar
as a string. `decode_form` rebuilds the nesting; `shape` then uses the operation's schema to turn
digit-keyed objects into lists and strings into the integers/booleans the schema wants, so the
strict validator sees what Stripe's own parser would. A string that is not a valid integer is
left alone on purpose: the validator then reports it as the wrong type.

`stripe_error_for` turns a validator problem ("body.line_items[0].price_data.unit_amount: ...")
into Stripe's wording with the parameter in bracket form, as Stripe names it in `error.param`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

_INTEGER = re.compile(r"^-?\d+$")
_NUMBER = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def _key_parts(key: str) -> list[str]:
    """`a[b][0][]` -> ["a", "b", "0", ""]."""
    head, _, rest = key.partition("[")
    if not rest:
        return [head]
    return [head] + _brackets("[" + rest)


def _brackets(text: str) -> list[str]:
    return re.findall(r"\[([^\]]*)\]", text)


def decode_form(raw: str) -> dict[str, Any]:
    """Nested dicts from bracket-notation pairs; `x[]` appends (as the next digit key)."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        parts = _key_parts(key)
        node = root
        for i, part in enumerate(parts):
            if part == "":
                part = str(len(node))
            if i == len(parts) - 1:
                node[part] = value
                break
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}  # a scalar then a nested key: the later nesting wins
            node = child
    return root


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while isinstance(schema, dict) and "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _is_index_map(value: Any) -> bool:
    return isinstance(value, dict) and all(k.isdigit() for k in value)


def _scalar(value: str, kind: str | None) -> tuple[bool, Any]:
    if kind == "integer" and _INTEGER.match(value):
        return True, int(value)
    if kind == "number" and _NUMBER.match(value):
        return True, float(value) if not _INTEGER.match(value) else int(value)
    if kind == "boolean" and value in ("true", "false"):
        return True, value == "true"
    if kind == "string":
        return True, value
    return False, value


def shape(spec: dict[str, Any], value: Any, schema: dict[str, Any] | None) -> Any:
    """`value` with lists and scalar types as `schema` describes; unchanged where it cannot tell."""
    schema = resolve(spec, schema or {})
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        branches = [resolve(spec, b) for b in branches]
        if isinstance(value, dict):
            wanted = "array" if _is_index_map(value) and any(b.get("type") == "array" for b in branches) else "object"
            chosen = next((b for b in branches if b.get("type") == wanted or (wanted == "object" and "properties" in b)),
                          None)
            return shape(spec, value, chosen) if chosen else value
        if isinstance(value, str):
            if value == "" and any("" in b.get("enum", []) for b in branches):
                return value  # Stripe's "unset this" value
            for kind in ("integer", "number", "boolean", "string"):
                if any(b.get("type") == kind for b in branches):
                    ok, converted = _scalar(value, kind)
                    if ok:
                        return converted
        return value
    kind = schema.get("type")
    if kind == "array" and _is_index_map(value):
        items = schema.get("items", {})
        return [shape(spec, value[k], items) for k in sorted(value, key=int)]
    if isinstance(value, dict) and (kind == "object" or "properties" in schema):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        return {k: shape(spec, v, props.get(k, extra if isinstance(extra, dict) else {})) for k, v in value.items()}
    if isinstance(value, str):
        return _scalar(value, kind)[1]
    return value


# -- validator problems in Stripe's words ----------------------------------------------------------

def _bracketed(where: str) -> str:
    """'body.line_items[0].price_data' -> 'line_items[0][price_data]'; 'query parameter limit' -> 'limit'."""
    where = re.sub(r"^(body|query parameter |path parameter |header parameter )\.?", "", where)
    parts = [p for p in re.split(r"\.|\[|\]", where) if p != ""]
    return parts[0] + "".join(f"[{p}]" for p in parts[1:]) if parts else ""


def _join(param: str, name: str) -> str:
    return f"{param}[{name}]" if param else name


def stripe_error_for(problem: str) -> tuple[str, str, str]:
    """(message, param, code) for one validator problem, worded like Stripe's own errors."""
    where, _, detail = problem.partition(": ")
    if not detail:  # a problem about the whole request, e.g. an unknown query parameter
        if m := re.match(r"unknown query parameter '(.+)'", problem):
            return f"Received unknown parameter: {m[1]}", m[1], "parameter_unknown"
        if "needs a request body" in problem:
            return f"Missing required param: {problem}", "", "parameter_missing"
        return problem, "", "parameter_invalid"
    param = _bracketed(where)
    if m := re.match(r"unknown property '(.+?)'", detail):
        name = _join(param, m[1])
        return f"Received unknown parameter: {name}", name, "parameter_unknown"
    if m := re.match(r"Additional properties are not allowed \('(.+?)'", detail):
        name = _join(param, m[1])
        return f"Received unknown parameter: {name}", name, "parameter_unknown"
    if m := re.match(r"'(.+?)' is a required property", detail):
        name = _join(param, m[1])
        return f"Missing required param: {name}.", name, "parameter_missing"
    if m := re.match(r"(.*) is not of type '(\w+)'", detail):
        return f"Invalid {m[2]}: {m[1].strip(chr(39))} (param {param})", param, "parameter_invalid_" + m[2]
    if "is not valid under any of the given schemas" in detail:
        return f"Invalid value for {param}: {detail}", param, "parameter_invalid"
    if "is read-only" in detail:
        return f"Received unknown parameter: {param} (read-only)", param, "parameter_unknown"
    return f"Invalid {param}: {detail}", param, "parameter_invalid"
