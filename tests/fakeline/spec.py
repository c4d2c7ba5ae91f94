"""Validate JSON bodies against LINE's official OpenAPI files in ../shared/line-openapi/.

OpenAPI 3.0 schemas are not quite JSON Schema: ``nullable`` and, above all, ``discriminator`` (every LINE message,
action and flex component is chosen by its ``type``). Generic validators skip the discriminator, which would let a
``{"type": "txt"}`` message through, so it is enforced here: the base schema's ``discriminator`` picks the subtype
from its mapping, an unknown type is an error, and the subtype is validated in full (its ``allOf`` reference to the
base is pointed at a copy of the base without the discriminator, so validation does not loop).
"""

from __future__ import annotations

import copy
import functools
import os
import re
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator, ValidationError, validators

_PROJECT = Path(__file__).resolve().parents[2]
# LINE_OPENAPI_DIR; else ../shared/line-openapi beside the checkout (the team's machines and CI); else the copy
# `make line-openapi` fetches into var/line-openapi.
SPEC_DIR = Path(os.environ.get("LINE_OPENAPI_DIR") or next(
    (d for d in (_PROJECT.parent / "shared" / "line-openapi", _PROJECT / "var" / "line-openapi")
     if (d / "messaging-api.yml").exists()), _PROJECT.parent / "shared" / "line-openapi"))
FILES = ("messaging-api.yml", "webhook.yml")
MISSING_HINT = ("LINE's OpenAPI files (messaging-api.yml, webhook.yml) are not in {dir}: the tests check every "
                "request against them. Run `make line-openapi` (fetches line/line-openapi at the pinned commit), "
                "or set LINE_OPENAPI_DIR.")


def missing() -> str | None:
    """One line saying how to get LINE's OpenAPI files when they are not there; None when they are."""
    if all((SPEC_DIR / name).exists() for name in FILES):
        return None
    return MISSING_HINT.format(dir=SPEC_DIR)


def _load(name: str) -> dict[str, Any]:
    if not (SPEC_DIR / name).exists():
        raise FileNotFoundError(MISSING_HINT.format(dir=SPEC_DIR))
    with open(SPEC_DIR / name, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _to_json_schema(node: Any) -> Any:
    """nullable -> a null type; everything else is kept."""
    if isinstance(node, list):
        return [_to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v) for k, v in node.items()}
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    out.pop("format", None)  # formats (uri, uuid, int64...) are advisory in LINE's files
    return out


def _prepare(spec: dict[str, Any]) -> dict[str, Any]:
    spec = _to_json_schema(copy.deepcopy(spec))
    schemas = spec["components"]["schemas"]
    for name, schema in list(schemas.items()):
        if "discriminator" not in schema:
            continue
        base = copy.deepcopy(schema)
        base.pop("discriminator")
        schemas[name + "__base"] = base
        for target in schema["discriminator"].get("mapping", {}).values():
            sub = schemas[target.rsplit("/", 1)[-1]]
            for part in sub.get("allOf", []):
                if part.get("$ref") == f"#/components/schemas/{name}":
                    part["$ref"] = f"#/components/schemas/{name}__base"
    return spec


def _discriminator(validator: Any, discriminator: dict[str, Any], instance: Any, schema: dict[str, Any]) -> Any:
    if not isinstance(instance, dict):
        return
    prop = discriminator["propertyName"]
    mapping = discriminator.get("mapping", {})
    value = instance.get(prop)
    if value not in mapping:
        yield ValidationError(f"{prop}={value!r} is not one of {sorted(mapping)}")
        return
    yield from validator.descend(instance, {"$ref": mapping[value]})


OASValidator = validators.extend(Draft4Validator, {"discriminator": _discriminator})


@functools.cache
def messaging_api() -> dict[str, Any]:
    return _prepare(_load("messaging-api.yml"))


@functools.cache
def webhook_api() -> dict[str, Any]:
    return _prepare(_load("webhook.yml"))


def _errors(spec: dict[str, Any], ref: str, instance: Any) -> list[str]:
    root = dict(spec)
    root["$ref"] = ref  # Draft 4: a $ref beside other keys replaces them, and refs resolve against this document
    validator = OASValidator(root)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in validator.iter_errors(instance)]


@functools.cache
def _operations() -> list[tuple[re.Pattern[str], str, str | None]]:
    spec = messaging_api()
    ops = []
    for path, item in spec["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
        for method, op in item.items():
            if not isinstance(op, dict):
                continue
            content = (op.get("requestBody") or {}).get("content", {})
            schema = (content.get("application/json") or {}).get("schema", {})
            ops.append((pattern, method.upper(), schema.get("$ref")))
    return ops


def request_errors(method: str, path: str, body: Any) -> list[str]:
    """What is wrong with a request to the Messaging API, by messaging-api.yml; [] when it is valid."""
    for pattern, op_method, ref in _operations():
        if op_method == method.upper() and pattern.match(path):
            if ref is None:
                return []
            return _errors(messaging_api(), ref, body)
    return [f"{method} {path} is not an operation in messaging-api.yml"]


def webhook_errors(body: Any) -> list[str]:
    """What is wrong with a webhook body, by webhook.yml's CallbackRequest; [] when it is valid."""
    return _errors(webhook_api(), "#/components/schemas/CallbackRequest", body)
