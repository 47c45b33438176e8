"""A small OpenAPI 3 request validator for stand-ins of third-party APIs (Square now, Stripe later).

    spec = OpenApiSpec.load(path)
    problems = spec.validate_request("POST", "/v2/orders", query={}, body={...})

Stricter than the schemas: any object property not declared in the schema's `properties` is
reported (unless the schema allows extra ones through `additionalProperties`/`patternProperties`),
and so is a read-only property sent in a request, so that a typo in a driver is caught here rather
than silently ignored by the real service. Bodies arrive already decoded (JSON now; a form-encoded
caller decodes to a dict first and passes its content type).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:tableside:openapi-spec"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _strict_properties(validator, properties, instance, schema) -> Iterator[ValidationError]:
    yield from jsonschema.Draft202012Validator.VALIDATORS["properties"](validator, properties, instance, schema)
    if not validator.is_type(instance, "object"):
        return
    if "additionalProperties" in schema or "patternProperties" in schema:
        return  # the schema decides about extra properties itself
    for name in instance:
        if name not in properties:
            yield ValidationError(f"unknown property {name!r} (declared: {', '.join(sorted(properties))})")


def _read_only(validator, read_only, instance, schema) -> Iterator[ValidationError]:
    if read_only:
        yield ValidationError("is read-only: the server sets it, a request must not send it")


StrictValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"properties": _strict_properties, "readOnly": _read_only})


def _absolute_refs(schema: Any) -> Any:
    """A copy of an inline schema whose local $refs point into the registered spec."""
    if isinstance(schema, dict):
        return {k: (SPEC_URI + v if k == "$ref" and isinstance(v, str) and v.startswith("#") else _absolute_refs(v))
                for k, v in schema.items()}
    if isinstance(schema, list):
        return [_absolute_refs(v) for v in schema]
    return schema


def _where(prefix: str, path: Any) -> str:
    out = prefix
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


@dataclass
class Operation:
    method: str
    template: str
    operation_id: str
    spec: dict[str, Any]
    path_params: dict[str, str] = field(default_factory=dict)


class OpenApiSpec:
    def __init__(self, spec: dict[str, Any]) -> None:
        if not str(spec.get("openapi", "")).startswith("3."):
            raise ValueError("not an OpenAPI 3 document (no 'openapi: 3.x' field)")
        self.spec = spec
        self.registry = Registry().with_resource(SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012))
        self._routes: list[tuple[re.Pattern[str], str, dict[str, Any]]] = []
        for template, item in spec.get("paths", {}).items():
            pattern = "".join(f"(?P<{m[1:-1]}>[^/]+)" if m.startswith("{") else re.escape(m)
                              for m in re.split(r"(\{[^}/]+\})", template) if m)
            self._routes.append((re.compile(f"^{pattern}$"), template, item))
        # a literal segment beats a template: /v2/catalog/search before /v2/catalog/{id}
        self._routes.sort(key=lambda r: r[1].count("{"))

    @classmethod
    def load(cls, path: str | Path) -> OpenApiSpec:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"OpenAPI spec not found at {path}: the stand-in needs it to check requests")
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def schema(self, name: str) -> dict[str, Any]:
        return self.spec["components"]["schemas"][name]

    def find(self, method: str, path: str) -> Operation | str:
        """The operation for a request, or a problem saying why there is none."""
        allowed: list[str] = []
        for pattern, template, item in self._routes:
            if not (m := pattern.match(path)):
                continue
            op = item.get(method.lower())
            if op is None:
                allowed += [k.upper() for k in item if k in METHODS]
                continue
            return Operation(method.upper(), template, op.get("operationId", ""), op, m.groupdict())
        if allowed:
            return f"method {method.upper()} not allowed on {path} (allowed: {', '.join(sorted(set(allowed)))})"
        return f"no operation matches {method.upper()} {path}"

    def _validator(self, schema: dict[str, Any]) -> Any:
        return StrictValidator(_absolute_refs(schema), registry=self.registry)

    def _check(self, schema: dict[str, Any], value: Any, where: str) -> list[str]:
        errors = sorted(self._validator(schema).iter_errors(value), key=lambda e: list(e.absolute_path))
        return [f"{_where(where, e.absolute_path)}: {e.message}" for e in errors]

    def _parameters(self, op: Operation) -> list[dict[str, Any]]:
        params = []
        for p in op.spec.get("parameters", []):
            if "$ref" in p:
                p = self.registry.resolver().lookup(SPEC_URI + p["$ref"]).contents
            params.append(p)
        return params

    @staticmethod
    def _coerce(raw: list[str], schema: dict[str, Any]) -> Any:
        """A query/path string as the type its schema wants, or the string itself if it is not one."""
        kind = schema.get("type")
        if kind == "array":
            items = [part for value in raw for part in value.split(",")]
            return [OpenApiSpec._coerce([v], schema.get("items", {})) for v in items]
        value = raw[-1]
        try:
            if kind == "integer":
                return int(value)
            if kind == "number":
                return float(value)
        except ValueError:
            return value
        if kind == "boolean" and value in ("true", "false"):
            return value == "true"
        return value

    def validate_request(self, method: str, path: str, *, query: Mapping[str, Any] | None = None,
                         headers: Mapping[str, str] | None = None, body: Any = None,
                         content_type: str = "application/json") -> list[str]:
        """Human-readable problems with a request; [] when the spec accepts it.

        query maps a name to a string or a list of strings (repeated parameters); body is the
        decoded body, None when there is none.
        """
        op = self.find(method, path)
        if isinstance(op, str):
            return [op]
        problems: list[str] = []
        query = {k: (v if isinstance(v, list) else [v]) for k, v in (query or {}).items()}
        header_names = {k.lower(): v for k, v in (headers or {}).items()}
        declared_query = set()
        for param in self._parameters(op):
            name, where, schema = param["name"], param["in"], param.get("schema", {})
            if where == "query":
                declared_query.add(name)
                raw = query.get(name)
            elif where == "path":
                raw = [op.path_params[name]] if name in op.path_params else None
            elif where == "header":
                raw = [header_names[name.lower()]] if name.lower() in header_names else None
            else:
                continue
            if raw is None:
                if param.get("required"):
                    problems.append(f"{where} parameter {name!r} is required")
                continue
            problems += self._check(schema, self._coerce(raw, schema), f"{where} parameter {name}")
        problems += [f"unknown query parameter {name!r}" for name in query if name not in declared_query]

        request_body = op.spec.get("requestBody")
        if request_body and "$ref" in request_body:
            request_body = self.registry.resolver().lookup(SPEC_URI + request_body["$ref"]).contents
        if body is None:
            if request_body and request_body.get("required"):
                problems.append(f"{op.operation_id or op.template} needs a request body")
            return problems
        if not request_body:
            return problems + [f"{op.operation_id or op.template} takes no request body"]
        media = request_body.get("content", {}).get(content_type.split(";")[0].strip())
        if media is None:
            accepted = ", ".join(request_body.get("content", {}))
            return problems + [f"content type {content_type!r} not accepted (accepted: {accepted})"]
        return problems + self._check(media.get("schema", {}), copy.deepcopy(body), "body")
