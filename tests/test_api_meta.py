"""Meta-tests that keep the API honest: every operation in the OpenAPI document has a test that calls it by
method and path, an entry in docs/api.md, and documents its error statuses with the one error shape."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

from renkou.api import api

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "/api/v1"
# The generic schemathesis test and this file call every route without proving anything about one of them.
GENERIC = {"test_openapi_schemathesis.py", "test_api_meta.py"}


@cache
def _document() -> dict:
    return json.loads(json.dumps(api.get_openapi_schema()))  # as served: status codes become strings


def _operations() -> list[tuple[str, str]]:
    document = _document()
    return sorted((method.upper(), path) for path, item in document["paths"].items() for method in item)


def _test_sources() -> str:
    files = [*ROOT.glob("src/renkou/*/tests/test_api*.py"), *ROOT.glob("tests/test_*.py")]
    return "\n".join(f.read_text(encoding="utf-8") for f in files if f.name not in GENERIC)


def _call_pattern(method: str, path: str) -> re.Pattern[str]:
    """``.get("/persons/…"`` or ``.get(f"/persons/{p.pk}"`` in a test, for the template /persons/{person_id}."""
    relative = path.removeprefix(PREFIX)
    parts = re.split(r"\{[^}]+\}", relative)
    template = r"[^/\"'?\s]+".join(re.escape(part) for part in parts)
    return re.compile(rf"\.{method.lower()}\(\s*f?[\"']{template}[\"'?]")


OPERATIONS = _operations()


def test_the_document_lists_the_routes_of_the_issue():
    paths = {path for _, path in OPERATIONS}
    for expected in ("/persons", "/persons/{person_id}", "/households", "/events", "/units", "/units/{code}", "/me"):
        assert PREFIX + expected in paths


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_has_a_test(method, path):
    assert _call_pattern(method, path).search(_test_sources()), (
        f"No test calls {method} {path}: add one under the module's tests/test_api*.py")


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_is_documented(method, path):
    docs = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert f"`{method} {path}`" in docs, f"docs/api.md has no entry `{method} {path}`"


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_declares_401_and_its_errors_in_the_error_shape(method, path):
    responses = _document()["paths"][path][method.lower()]["responses"]
    assert "401" in responses
    errors = {status: r for status, r in responses.items() if status.startswith(("4", "5"))}
    for status, response in errors.items():
        ref = response["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ErrorOut"), (status, ref)
    if not path.startswith((PREFIX + "/units", PREFIX + "/me")):  # personal data: roles, scope, input
        assert {"403", "404", "422"} <= set(responses)


def test_no_output_schema_carries_a_clear_id_number():
    schemas = _document()["components"]["schemas"]
    for name, schema in schemas.items():
        if name.endswith("Out") and name != "RevealOut":
            assert "id_number" not in schema.get("properties", {}), name


def test_operation_ids_are_unique_names():
    ids = [op["operationId"] for item in _document()["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z_]+", i) for i in ids), ids


def test_schema_names_are_unique_across_modules():
    """The OpenAPI document keys its schemas by class name: two modules' schemas of one name would silently share
    one entry, and one of them would then be documented wrongly."""
    import importlib
    import inspect

    from ninja import Schema

    modules = [m for m in ("accounts.api", "orgunits.api", "registry.schemas", "registry.api", "intake.api",
                           "dedup.api", "quality.api", "stats.api", "aggregates.api", "migrants.api")]
    owners: dict[str, set[str]] = {}
    for name in modules:
        module = importlib.import_module(f"renkou.{name}")
        for cls_name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Schema) and cls is not Schema and cls.__module__.startswith("renkou."):
                owners.setdefault(cls_name, set()).add(cls.__module__)
    assert {n: m for n, m in owners.items() if len(m) > 1} == {}
