"""Schemathesis against the published OpenAPI document, served by the real app.

Every operation of ``/api/v1/openapi/openapi.json`` gets generated requests (valid,
and invalid where the schema allows it: the coverage phase), on both engines, as an
anonymous caller and as a site admin. Whatever comes in, the registry must answer
below 500, with a status, media type and body the document declares, and every error
must be RFC 9457 problem details. Bounded so the whole file takes a few minutes:
a fixed number of examples per operation, derandomized, no deadline.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from litestar.testing import TestClient
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from registry import create_app
from registry.digests import Digest
from registry.errors import RegistryError
from registry.http.problems import PROBLEM_JSON
from registry.naming import RepositoryName, validate_namespace, validate_tag
from registry.settings import Settings
from tests.support.c2pa_pki import make_c2pa_pki
from tests.support.oci_client import Oci
from tests.support.registry_helpers import bearer, safetensors_bytes

SCHEMA_PATH = "/api/v1/openapi/openapi.json"
REPRINT_POLICY = Path(__file__).parents[2] / "policies" / "reprint-policy.example.yaml"
#: Examples per operation and pass. A longer hunt: CUSTODY_FUZZ_EXAMPLES=100 with
#: ``-o timeout=0`` (pytest's 300 s per test would cut it short).
MAX_EXAMPLES = int(os.environ.get("CUSTODY_FUZZ_EXAMPLES", "12"))
PROBLEM_FIELDS = {"type", "title", "status", "detail", "code", "instance"}


def _seed(settings: Settings, make_token: Callable[..., Any]) -> None:
    """A public namespace with a model, a version and an alias, so lookups find things."""
    token = make_token(namespace="acme", scopes="admin")
    with TestClient(app=create_app(settings), base_url="http://127.0.0.1") as client:
        oci = Oci(client, bearer(token.secret))
        body = oci.manifest([safetensors_bytes()], titles=["model.safetensors"])
        pushed = oci.put_manifest("1.0.0", body)
        assert pushed.status_code == 201, pushed.text
        moved = client.put(
            "/api/v1/models/acme/model/aliases/staging",
            json={"version": "1.0.0"},
            headers=bearer(token.secret),
        )
        assert moved.status_code == 200, moved.text
        public = client.patch(
            "/api/v1/namespaces/acme", json={"anonymous_pull": True}, headers=bearer(token.secret)
        )
        assert public.status_code == 200, public.text


@pytest.fixture(params=["anonymous", "site-admin"])
def caller(request: pytest.FixtureRequest, make_token: Callable[..., Any]) -> dict[str, str]:
    """The Authorization header the fuzzer sends: none, or a site admin's token."""
    if request.param == "anonymous":
        return {}
    return bearer(make_token(namespace="*", scopes="admin").secret)


@pytest.fixture
def api_schema(settings: Settings, make_token: Callable[..., Any], caller: dict[str, str]) -> Any:
    """The document served by an app with every feature on (the hub, C2PA), seeded."""
    anchors = settings.data_dir.parent / "c2pa-anchors.pem"
    anchors.write_bytes(make_c2pa_pki("es256").anchors_pem)
    fuzz_settings = replace(
        settings,
        hub=replace(settings.hub, reprint_policy=REPRINT_POLICY, c2pa_trust_anchors=anchors),
    )
    _seed(fuzz_settings, make_token)
    return schemathesis.openapi.from_asgi(SCHEMA_PATH, create_app(fuzz_settings))


def problem_details(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """Every 4xx/5xx answer of the API is problem details naming its status."""
    if response.status_code < 400:
        return
    media_type = response.headers.get("content-type", [""])[0].split(";")[0].strip()
    assert media_type == PROBLEM_JSON, f"{response.status_code} answered as {media_type!r}"
    body = response.json()
    missing = PROBLEM_FIELDS - set(body)
    assert not missing, f"problem details without {sorted(missing)}: {body}"
    assert body["status"] == response.status_code, body


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    problem_details,
]


#: The seeded records, for a pass whose path parameters name things that exist.
SEEDED = {"name": "acme", "namespace": "acme", "model": "model", "version": "1.0.0"}
SEEDED_ALIAS = "staging"


def _path_parameters(operation: Any) -> dict[str, str]:
    names = {p["name"] for p in operation.definition.raw.get("parameters", []) if p["in"] == "path"}
    fixed = {name: value for name, value in SEEDED.items() if name in names}
    if "alias" in names:
        fixed["alias"] = SEEDED_ALIAS
    return fixed


def _has_inputs(operation: Any) -> bool:
    raw = operation.definition.raw
    return bool(raw.get("parameters")) or "requestBody" in raw


#: Values generation reaches only by luck, each set on one parameter at a time: past every
#: SQL integer, a NUL byte (PostgreSQL text refuses it), a non-BMP character.
HOSTILE_INTEGER = 2**64
HOSTILE_TEXT = ("nul\x00byte", "\U0001f600")


def _hostile(operation: Any) -> list[dict[str, Any]]:
    """One fixed-input pass per (parameter, hostile value): {"query": {...}} or path."""
    fixed: list[dict[str, Any]] = []
    for parameter in operation.definition.raw.get("parameters", []):
        location, name, schema = parameter["in"], parameter["name"], parameter["schema"]
        if location not in {"query", "path"}:
            continue
        kind = "query" if location == "query" else "path_parameters"
        types = {schema.get("type")} | {s.get("type") for s in schema.get("oneOf", [])}
        if "integer" in types:
            fixed.append({kind: {name: HOSTILE_INTEGER}})
        elif "string" in types:
            fixed.extend({kind: {name: text}} for text in HOSTILE_TEXT)
    return fixed


Pass = tuple[GenerationMode, dict[str, Any], int]


def _passes(operation: Any) -> list[Pass]:
    passes: list[Pass] = [(GenerationMode.POSITIVE, {}, MAX_EXAMPLES)]
    if _has_inputs(operation):
        passes.append((GenerationMode.NEGATIVE, {}, MAX_EXAMPLES))
    if seeded := _path_parameters(operation):
        passes.append((GenerationMode.POSITIVE, {"path_parameters": seeded}, MAX_EXAMPLES))
    passes.extend((GenerationMode.POSITIVE, fixed, 2) for fixed in _hostile(operation))
    return passes


def _fuzz(operation: Any, case_pass: Pass, caller: dict[str, str], statuses: Counter[int]) -> None:
    mode, fixed, examples = case_pass
    strategy = operation.as_strategy(generation_mode=mode, **fixed)

    @hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=(hypothesis.Phase.explicit, hypothesis.Phase.generate),
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        response = case.call(headers=caller)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    run()


def test_api_answers_every_request_with_a_declared_4xx_or_success(
    api_schema: Any, caller: dict[str, str]
) -> None:
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:
        for case_pass in _passes(operation):
            try:
                _fuzz(operation, case_pass, caller, statuses)
            # Schemathesis raises a BaseExceptionGroup of its failures; every operation is
            # tried, then all are reported.
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001
                mode, fixed, _ = case_pass
                failures.append(f"{operation.label} ({mode} {fixed or ''}): {exc}")
    print(f"fuzz: {sum(statuses.values())} requests, by status {dict(sorted(statuses.items()))}")
    assert not failures, "\n\n".join(failures)
    # The run reached real records and real refusals, not only 404s.
    assert sum(n for status, n in statuses.items() if status < 300) > 30, statuses
    assert statuses[400] > 50, statuses


# The document itself: what a client generator or a gateway reads must be what the server does.


def _published(settings: Settings) -> dict[str, Any]:
    with TestClient(app=create_app(settings), base_url="http://127.0.0.1") as client:
        response = client.get(SCHEMA_PATH)
        assert response.status_code == 200
        document: dict[str, Any] = response.json()
        return document


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", "put", "post", "patch", "delete"}
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_operation_declares_its_security_and_problem_errors(settings: Settings) -> None:
    document = _published(settings)
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearerToken"]["description"],
    }
    assert schemes["basicToken"]["scheme"] == "basic"
    problem = document["components"]["schemas"]["ProblemDetails"]
    assert set(problem["required"]) == PROBLEM_FIELDS
    operations = _operations(document)
    assert len(operations) > 20
    for method, path, operation in operations:
        where = f"{method} {path}"
        security = operation.get("security")
        assert security, f"{where} declares no security"
        needs_token = {} not in security
        errors = {status: r for status, r in operation["responses"].items() if status >= "400"}
        if needs_token or len(security) > 1:
            assert "401" in errors, f"{where} reads a token but documents no 401"
        if needs_token:
            assert "403" in errors, f"{where} needs a token but documents no 403"
        for status, response in errors.items():
            content = response["content"]
            assert list(content) == [PROBLEM_JSON], f"{where} {status}: {list(content)}"
            schema = content[PROBLEM_JSON]["schema"]
            assert schema == {"$ref": "#/components/schemas/ProblemDetails"}, where


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_integer_bounds_are_exact(settings: Settings) -> None:
    """Litestar writes bounds as floats: 2**63 - 1 would come out as 2**63, one too many."""
    for method, path, operation in _operations(_published(settings)):
        for parameter in operation.get("parameters", []):
            schema = parameter["schema"]
            types = [schema.get("type")] + [s.get("type") for s in schema.get("oneOf", [])]
            if "integer" not in types:
                continue
            for bound in ("minimum", "maximum"):
                if bound in schema:
                    value = schema[bound]
                    assert float(value).is_integer(), (method, path, parameter["name"])
                    assert abs(value) < 2**53 or isinstance(value, int), (
                        f"{method} {path} {parameter['name']}: {bound} {value!r} is a float"
                    )
                    assert value <= 2**63 - 1, (method, path, parameter["name"])


def _path_schema(document: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    item = document["paths"][path]
    operation = next(iter(v for k, v in item.items() if k in {"get", "put", "post", "delete"}))
    found: dict[str, Any] = next(p["schema"] for p in operation["parameters"] if p["name"] == name)
    return found


def _accepted_by(validator: Callable[[str], Any], text: str) -> bool:
    try:
        validator(text)
    except RegistryError:
        return False
    return True


def _allowed_by(schema: dict[str, Any], text: str) -> bool:
    return (
        # ECMA-262's "$" is the end of the text; Python's also matches before a final "\n".
        re.search(schema["pattern"].removesuffix("$") + r"\Z", text) is not None
        and schema.get("minLength", 0) <= len(text) <= schema.get("maxLength", len(text))
        and text not in schema.get("not", {}).get("enum", [])
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_path_patterns_are_the_server_grammar(settings: Settings) -> None:
    """Any string the published pattern allows, the server's validator accepts, and back."""
    document = _published(settings)
    model_path = "/api/v1/models/{namespace}/{model}"
    cases: list[tuple[dict[str, Any], Callable[[str], Any]]] = [
        (_path_schema(document, model_path, "namespace"), validate_namespace),
        (
            _path_schema(document, model_path, "model"),
            lambda model: RepositoryName.parse(f"acme/{model}"),
        ),
        (_path_schema(document, model_path + "/versions/{version}", "version"), validate_tag),
        (_path_schema(document, "/api/v1/outputs/{digest}", "digest"), Digest.parse),
    ]
    for schema, validator in cases:
        _check_agreement(schema, validator)


def _check_agreement(schema: dict[str, Any], validator: Callable[[str], Any]) -> None:
    @hypothesis.settings(max_examples=200, derandomize=True, database=None, deadline=None)
    @hypothesis.given(
        text=st.one_of(
            st.from_regex(schema["pattern"], fullmatch=True),
            st.text(alphabet="abcXYZ019.-_:/ \n\x00", max_size=80),
            st.sampled_from(["root", "acme\n", "1.0.0\n", "sha256:" + "a" * 64 + "\n", "a" * 129]),
        )
    )
    def agree(text: str) -> None:
        assert _allowed_by(schema, text) == _accepted_by(validator, text), repr(text)

    agree()
