"""Seed the ``demo`` namespace: real content, made with the project's own code.

The design (docs/demo.md):

- ``custody serve`` seeds only when ``CUSTODY_DEMO`` is on (``make run`` turns it on), the
  database has no namespace at all, and the operator configured none of the three policy
  files (trust, admission, reprint). A registry with content, or with an operator's
  policies, is never touched.
- The demo brings its own policies, written under ``<data_dir>/demo/``: they trust the demo
  key for ``demo/*`` only. While the demo is there and the operator still configures no
  policy, every start uses them (:func:`demo_policies`); ``custody demo remove`` deletes them.
- Preparation (keys, policies, files, the namespace, a short-lived token, TUF keys when the
  repository has none) happens before the server starts; the content is then pushed over
  HTTP to the running server by the same clients ``custody publish``, ``custody output
  register`` and ``custody reprint`` use, so it passes every check a user's push passes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import threading
import time
import zlib
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.auth.principal import Scope
from registry.auth.tokens import TokenService, ensure_namespace
from registry.db.engine import create_service_engine
from registry.db.models import AuditEvent, Namespace, TlogEntry
from registry.namespaces.service import set_anonymous_pull
from registry.settings import Settings
from registry.tuf import admin
from registry.tuf import queries as tuf_queries
from registry.tuf.service import publisher_for

log = logging.getLogger("registry.demo")

DEMO_NAMESPACE = "demo"
MODEL = "tiny-add"
REPOSITORY = f"{DEMO_NAMESPACE}/{MODEL}"
VERSION = "1.0.0"
ALIAS = "prod"
ACTOR = "demo"
IMAGE_NAME = "demo-output.png"
#: Written last: the demo is complete (and ``custody demo remove`` reads what it holds).
MARKER = "seeded.json"
LATENT_SHAPE = (1, 4, 8, 8)


def demo_dir(settings: Settings) -> Path:
    """Where the demo keeps its key, policies and files: ``<data_dir>/demo``."""
    return settings.data_dir / "demo"


def _policy_paths(directory: Path) -> tuple[Path, Path, Path]:
    return directory / "trust.yaml", directory / "admission.yaml", directory / "reprint.yaml"


def _operator_policies(settings: Settings) -> list[str]:
    named = []
    if settings.policies.trust is not None:
        named.append("CUSTODY_TRUST_POLICY")
    if settings.policies.admission is not None:
        named.append("CUSTODY_ADMISSION_POLICY")
    if settings.hub.reprint_policy is not None:
        named.append("CUSTODY_REPRINT_POLICY")
    return named


def demo_policies(settings: Settings) -> Settings:
    """``settings`` with the demo's policy files in force, when the demo is there and the
    operator configured no policy file; ``settings`` unchanged otherwise."""
    trust, admission, reprint = _policy_paths(demo_dir(settings))
    if _operator_policies(settings) or not all(p.is_file() for p in (trust, admission, reprint)):
        return settings
    return replace(
        settings,
        policies=replace(settings.policies, trust=trust, admission=admission),
        hub=replace(settings.hub, reprint_policy=reprint),
    )


# --- the files ---------------------------------------------------------------------------


def _write_model(directory: Path) -> None:
    """A real ONNX model, ``y = x + w`` over four floats (a few hundred bytes)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    weights = np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        "tiny-add",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        [numpy_helper.from_array(weights, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10  # onnxruntime refuses the IR version newer onnx writes by default
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "model.onnx").write_bytes(model.SerializeToString())
    (directory / "config.json").write_text(json.dumps({"task": "add", "size": 4}) + "\n")


def _png(width: int, height: int) -> bytes:
    """A small real PNG: a diagonal colour gradient (standard library only)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + b"".join(bytes((8 * x, 8 * y, 255 - 4 * (x + y))) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _latent(step: int) -> bytes:
    count = 1
    for size in LATENT_SHAPE:
        count *= size
    return struct.pack(f"<{count}f", *(float(step + 1) / (1 + i % 7) for i in range(count)))


def _write_policies(directory: Path) -> None:
    trust, admission, reprint = _policy_paths(directory)
    trust.write_text(
        "# The demo's trust policy (custody demo remove deletes it).\n"
        "version: 1\nnamespaces:\n"
        f'  - match: "{DEMO_NAMESPACE}/*"\n    level: enforce\n    signers:\n'
        "      - name: demo-release\n        public_key: demo-key.pub\n"
    )
    admission.write_text(
        "# The demo's admission policy (custody demo remove deletes it).\n"
        "version: 1\nnamespaces:\n"
        f'  - match: "{DEMO_NAMESPACE}/*"\n    strict: false\n    aliases:\n'
        f"      - match: {ALIAS}\n        signatures: 1\n        require_sbom: true\n"
    )
    reprint.write_text(
        "# The demo's reprint policy (custody demo remove deletes it).\n"
        "version: 1\nterms:\n  attribution:\n"
        "    description: The reprint must credit the creator.\n"
        "    requires_attribution: true\n"
        f'namespaces:\n  - match: "{DEMO_NAMESPACE}/*"\n    creators:\n'
        "      - name: demo-creator\n        public_key: demo-key.pub\n"
        '        identity: "mailto:demo@example.com"\n'
        "    nodes:\n      - name: demo-node\n        public_key: demo-key.pub\n"
    )


# --- preparation (before the server starts) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """What :func:`prepare` made, for :func:`seed_over_http` to push."""

    directory: Path
    token: str
    token_id: str


async def _has_content(session: AsyncSession) -> bool:
    """Anything at all: a namespace, or history (audit events, log entries) of a removed one.

    After ``custody demo remove`` the audit trail remembers the demo, so it is not
    seeded again.
    """
    for table in (Namespace, AuditEvent, TlogEntry):
        if await session.scalar(select(func.count()).select_from(table)):
            return True
    return False


async def _registry_has_content(settings: Settings) -> bool:
    engine = create_service_engine(settings.effective_database_url)
    try:
        async with async_sessionmaker(engine)() as session:
            return await _has_content(session)
    finally:
        await engine.dispose()


async def _prepare_database(settings: Settings) -> tuple[str, str] | None:
    """The namespace, a one-hour token and TUF keys; ``None`` when the registry has content."""
    engine = create_service_engine(settings.effective_database_url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            if await _has_content(session):
                return None
            issued = await TokenService(session).create(
                namespace=DEMO_NAMESPACE,
                scopes=frozenset({Scope.PULL, Scope.PUSH, Scope.PROMOTE}),
                actor=ACTOR,
                expires_in=timedelta(hours=1),
                description="demo seeding (revoked when done)",
            )
            namespace = await ensure_namespace(session, DEMO_NAMESPACE, actor=ACTOR)
            await set_anonymous_pull(session, namespace, True, actor=ACTOR)
            if await tuf_queries.latest_row(session, "root") is None:
                await admin.initialise(session, publisher_for(settings))
            await session.commit()
            return issued.id, issued.secret
    finally:
        await engine.dispose()


def why_not(settings: Settings) -> str | None:
    """Why the demo is not seeded now (``None``: it may be, if the database is empty)."""
    if not settings.demo.enabled:
        return "off (CUSTODY_DEMO is not set)"
    if (demo_dir(settings) / MARKER).is_file():
        return "already seeded"
    operator = _operator_policies(settings)
    if operator:
        return f"not seeded: {', '.join(operator)} set (the demo brings its own policies)"
    return None


def prepare(settings: Settings) -> Plan | None:
    """Make the demo's files, key, policies, namespace and token; ``None`` if not seeding.

    ``settings`` must be located (an existing data directory). Logs one line when it
    decides not to seed.
    """
    reason = why_not(settings)
    if reason is not None:
        if settings.demo.enabled:
            log.info("demo: %s", reason)
            if (demo_dir(settings) / MARKER).is_file():
                log.info("demo: %s", pages(settings))
        return None
    directory = demo_dir(settings)
    if asyncio.run(_registry_has_content(settings)):
        if directory.is_dir():
            # Files without the marker: an earlier start prepared the demo and then stopped
            # (Ctrl-C within its first seconds) or failed before the content was pushed.
            log.info(
                "demo: not seeded: an earlier start did not finish seeding it (no %s in %s); "
                "'custody demo remove' takes the partial demo out, an empty data directory "
                "seeds it whole",
                MARKER,
                directory,
            )
        else:
            log.info("demo: not seeded: the registry already has content")
        return None
    from signing.keys import write_key_pair

    # Files first: if they cannot be written, the database stays empty.
    directory.mkdir(parents=True, exist_ok=True)
    write_key_pair(directory / "demo-key", "ecdsa-p256", None, overwrite=True)
    _write_policies(directory)
    _write_model(directory / "model")
    made = asyncio.run(_prepare_database(settings))
    if made is None:  # a namespace appeared meanwhile
        log.info("demo: not seeded: the registry already has content")
        return None
    token_id, secret = made
    return Plan(directory, secret, token_id)


# --- seeding (over HTTP, once the server answers) ----------------------------------------


def pages(settings: Settings) -> str:
    """The start-up line naming the model page, the verify page and the image to drop."""
    public = _local_base(settings.http.host, settings.http.port)
    image = demo_dir(settings).resolve() / IMAGE_NAME
    return (
        f"model page {public}/ui/{REPOSITORY} ; verify page {public}/ui/-/verify "
        f"(drop {image} on it)"
    )


def _local_base(host: str, port: int) -> str:
    if host in ("0.0.0.0", ""):  # noqa: S104 - a wildcard bind is reached on loopback
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _wait_until_healthy(base: str, deadline_s: float = 120.0) -> None:
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{base} did not answer within {deadline_s:.0f} s")
        time.sleep(0.1)


def seed_over_http(base: str, plan: Plan) -> dict[str, object]:
    """Publish, promote, register an output and a reprint; returns what was made."""
    from signing.provenance.latent import (
        canonical_latent_digest,
        prompt_hash,
        sign_latent_record,
    )
    from signing.provenance.output import image_digest, sign_output_manifest
    from signing.provenance.statements import record_digest
    from signing.sbom import BomMetadata, generate_bom
    from signing.signers import load_signer
    from verifier.clients.hub import HubClient
    from verifier.clients.publish import publish_model
    from verifier.clients.push import PushClient

    key = str(plan.directory / "demo-key")
    # The ML-BOM from the files' headers, with what they cannot say (licence, supplier).
    bom = generate_bom(
        plan.directory / "model",
        BomMetadata(
            name=MODEL,
            version=VERSION,
            supplier="Custody demo",
            description="y = x + w over four floats: the demo model of a fresh registry",
            licenses=("Apache-2.0",),
            task="add",
        ),
    ).to_bytes()
    with PushClient(base, plan.token) as client:
        summary = publish_model(
            client, plan.directory / "model", REPOSITORY, VERSION, key=key, sbom=bom, alias=ALIAS
        )
    model_ref = f"{REPOSITORY}@{summary['digest']}"
    signer = load_signer(key)
    salt = b"custody-demo-salt-0123456789abcd"
    chain: list[bytes] = []
    for step in (0, 1):
        data = _latent(step)
        chain.append(
            sign_latent_record(
                signer,
                latent_digest=canonical_latent_digest(data, "float32", LATENT_SHAPE),
                dtype="float32",
                shape=LATENT_SHAPE,
                step=step,
                model_reference=model_ref,
                sampler="euler",
                scheduler="karras",
                seed=42,
                guidance=7.5,
                prompt_hash=prompt_hash("a colour gradient", salt),
                parent=record_digest(chain[-1]) if chain else None,
                node_id="demo-node",
            )
        )
    image = _png(32, 32)
    image_path = plan.directory / IMAGE_NAME
    image_path.write_bytes(image)
    (plan.directory / "latents.jsonl").write_bytes(b"\n".join(chain) + b"\n")
    digest = image_digest(image)
    manifest = sign_output_manifest(
        signer,
        image_digest=digest,
        model_reference=model_ref,
        final_latent=record_digest(chain[-1]),
        creator_id="mailto:demo@example.com",
        license="CC-BY-4.0",
        terms=["attribution"],
    )
    (plan.directory / f"{IMAGE_NAME}.custody.json").write_bytes(manifest)
    with HubClient(base, plan.token) as hub:
        with image_path.open("rb") as handle:
            registered = hub.register(handle, manifest, chain, "image/png")
        with image_path.open("rb") as handle:
            reprint = hub.reprint(
                handle,
                digest,
                "image/png",
                reprinter="Demo Reprints",
                commercial=False,
                derivative=False,
                attribution=True,
            )
    made: dict[str, object] = {
        "repository": REPOSITORY,
        "version": VERSION,
        "digest": summary["digest"],
        "alias": ALIAS,
        "image": str(image_path),
        "image_digest": digest,
        "log_index": registered.get("log_index"),
        "reprint_log_index": reprint.answer.get("log_index"),
    }
    return made


async def _revoke(settings: Settings, token_id: str) -> None:
    engine = create_service_engine(settings.effective_database_url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            await TokenService(session).revoke(token_id, actor=ACTOR)
            await session.commit()
    finally:
        await engine.dispose()


def seed(settings: Settings, plan: Plan, base: str | None = None) -> dict[str, object]:
    """Push the demo to the server at ``base`` (default: where ``settings`` listen), write
    the marker, revoke the token; print the two URLs to the log."""
    base = base or _local_base(settings.http.host, settings.http.port)
    try:
        _wait_until_healthy(base)
        made = seed_over_http(base, plan)
    finally:
        asyncio.run(_revoke(settings, plan.token_id))
    (plan.directory / MARKER).write_text(json.dumps(made, indent=2) + "\n")
    log.info(
        "demo: seeded %s:%s (signed, verified, promoted to %s; ML-BOM, TUF, an output and "
        "a reprint); 'custody demo remove' takes it out",
        REPOSITORY,
        VERSION,
        ALIAS,
    )
    log.info("demo: %s", pages(settings))
    return made


def seed_in_background(settings: Settings, plan: Plan) -> threading.Thread:
    """Seed once the server answers, on a daemon thread; a failure is one log line."""

    logging.getLogger("httpx").setLevel(logging.WARNING)  # not one line per request

    def run() -> None:
        started = time.monotonic()
        try:
            seed(settings, plan)
        except Exception as exc:  # noqa: BLE001 - the server carries on without the demo
            text = " ".join(str(exc).split()) or type(exc).__name__
            log.warning("demo: seeding failed, the server carries on: %s", text)
        else:
            log.info("demo: seeded in %.1f s", time.monotonic() - started)

    thread = threading.Thread(target=run, name="demo-seed", daemon=True)
    thread.start()
    return thread
