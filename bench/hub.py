"""Reprint hub: registration throughput and C2PA registration latency, as ratios.

Against a real ``custody serve`` (SQLite, one worker) with a signed, verified
model version, in the same run:

  (a) registrations of outputs with a 30-step latent chain (31 DSSE envelopes
      each: 30 latent records + the output manifest), posted by ``--clients``
      threads, against bare DSSE verification of the same envelopes in this
      process (parse the envelope, PAE, one signature check each): the hub's
      whole path (multipart intake, hashing, chain checks, model status, log
      append with its fsync, the row, the receipt) over the cryptography alone;
  (b) C2PA registration of a 1024x1024 PNG (random pixels, ~3 MB, ES256), one at a
      time, credentials only (the namespace's reprint rule sets c2pa_without_latents):
      sent as the whole body (image/png), as a multipart part, and as a
      part with its 30-step chain; against c2pa-python validating the same kind of image
      behind the same HTTP transport (``bench._c2pa_reference_app``: receive, then
      ``c2pa.Reader``; target <= 1.5), and against ``c2pa.Reader`` alone in this process.
      The hub's checks in process (``c2pa_claim``, with and without the chain) are
      compared with the Reader too. Each as the median per-image ratio and its quartiles.

Ratios are medians over ``--repeat`` rounds; the machines are shared and noisy.

    python -m bench hub [--repeat 3] [--outputs 200] [--clients 4] [--images 12]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from bench._server import Server, custody_server, free_port
from registry.hub.c2pa_claims import c2pa_claim
from registry.hub.intake import ImagePart
from signing.dsse import Envelope
from signing.keys import verify_bytes
from signing.provenance import sign_c2pa
from tests.registry.hub.conftest import (
    Generation,
    Keys,
    generate,
    push_version,
    write_reprint_policy,
    write_trust_policy,
)
from tests.support.c2pa_pki import C2paPki, make_c2pa_pki
from tests.support.oci_client import Oci
from tests.support.registry_helpers import bearer
from verifier.provenance import load_reprint_policy

STEPS = 30


def _keys() -> Keys:
    from signing.keys import generate_private_key
    from signing.signers import KeySigner

    return Keys(*(KeySigner(generate_private_key("ed25519")) for _ in range(4)))


@contextmanager
def _hub(root: Path, keys: Keys, pki: C2paPki) -> Iterator[tuple[Server, str, Path]]:
    anchors = root / "c2pa-anchors.pem"
    anchors.write_bytes(pki.anchors_pem)
    policy = write_reprint_policy(root, keys, c2pa_without_latents=True)
    env = {
        "CUSTODY_REPRINT_POLICY": str(policy),
        "CUSTODY_TRUST_POLICY": str(write_trust_policy(root, keys)),
        "CUSTODY_C2PA_TRUST_ANCHORS": str(anchors),
        "CUSTODY_MAX_IMAGE_BYTES": str(16 * 1024 * 1024),
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        with custody_server(root) as server:
            token = server.token("acme", "admin")
            with httpx.Client(base_url=server.url) as http:
                oci = Oci(http, bearer(token), "acme/sd")  # type: ignore[arg-type]
                push_version(oci, signer=keys.release, root=root)
            yield server, token, policy
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _model(server: Server, token: str) -> str:
    with httpx.Client(base_url=server.url, headers=bearer(token)) as http:
        versions = http.get("/api/v1/models/acme/sd/versions").json()["versions"]
    return "acme/sd@" + versions[0]["digest"]


def _files(gen: Generation, image: bytes, mime: str, manifest: bool) -> list[Any]:
    chain = json.dumps([json.loads(e) for e in gen.latents]).encode()
    parts: list[Any] = []
    if manifest:
        parts.append(("manifest", ("manifest.json", gen.manifest, "application/json")))
    parts.append(("latents", ("latents.json", chain, "application/json")))
    parts.append(("image", ("image", image, mime)))
    return parts


def _bare_verify(generations: list[Generation], keys: Keys) -> float:
    """Seconds to parse and check every envelope's one signature, single-threaded."""
    node, creator = keys.node.public_key, keys.creator.public_key
    start = time.perf_counter()
    for gen in generations:
        for raw in gen.latents:
            envelope = Envelope.from_json(json.loads(raw))
            assert verify_bytes(node, envelope.signatures[0].sig, envelope.pae())
        envelope = Envelope.from_json(json.loads(gen.manifest))
        assert verify_bytes(creator, envelope.signatures[0].sig, envelope.pae())
    return time.perf_counter() - start


def _post_all(server: Server, token: str, jobs: list[list[Any]], clients: int) -> float:
    pool = [
        httpx.Client(base_url=server.url, headers=bearer(token), timeout=120)
        for _ in range(clients)
    ]

    def send(index: int) -> None:
        response = pool[index % len(pool)].post("/api/v1/outputs", files=jobs[index])
        if response.status_code != 201:
            raise RuntimeError(f"registration failed: {response.status_code} {response.text}")

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as executor:
        list(executor.map(send, range(len(jobs))))
    elapsed = time.perf_counter() - start
    for client in pool:
        client.close()
    return elapsed


def _unique_png(index: int) -> bytes:
    picture = Image.new("RGB", (32, 32), (index % 256, (index // 256) % 256, 7))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()


def _throughput(
    server: Server, token: str, keys: Keys, repeat: int, outputs: int, clients: int
) -> dict[str, Any]:
    model = _model(server, token)
    ratios, rates, references = [], [], []
    for round_ in range(repeat):
        base = round_ * outputs
        generations = [
            generate(keys, model, image=_unique_png(base + i), steps=STEPS) for i in range(outputs)
        ]
        jobs = [_files(g, g.image, "image/png", manifest=True) for g in generations]
        reference = _bare_verify(generations, keys)
        hub = _post_all(server, token, jobs, clients)
        ratios.append(hub / reference)
        rates.append(outputs / hub)
        references.append(outputs / reference)
    return {
        "envelopes_per_output": STEPS + 1,
        "hub_registrations_per_s": round(statistics.median(rates), 1),
        "bare_dsse_verify_outputs_per_s": round(statistics.median(references), 1),
        "hub_vs_bare_dsse_verify": round(statistics.median(ratios), 2),
    }


def _per_call(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _c2pa_images(
    keys: Keys, pki: C2paPki, model: str, count: int, side: int = 1024
) -> list[tuple[bytes, Any]]:
    made = []
    for _ in range(count):
        picture = Image.frombytes("RGB", (side, side), os.urandom(3 * side * side))
        buffer = io.BytesIO()
        picture.save(buffer, "PNG")
        gen = generate(keys, model, image=buffer.getvalue(), steps=STEPS)
        signer = pki.signer()
        signed = sign_c2pa(
            gen.image, "image/png", signer, model_reference=model, output_manifest=gen.manifest
        )
        made.append((signed, gen))
    return made


@contextmanager
def _reference_server(root: Path, pki: C2paPki) -> Iterator[str]:
    """``bench._c2pa_reference_app`` under uvicorn, configured as ``custody serve`` runs."""
    anchors = root / "reference-anchors.pem"
    anchors.write_bytes(pki.anchors_pem)
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "bench._c2pa_reference_app:app"]
    options = ["--port", str(port), "--loop", "uvloop", "--http", "httptools"]
    process = subprocess.Popen(
        [*command, *options, "--log-level", "warning", "--no-access-log"],
        cwd=Path(__file__).resolve().parent.parent,
        env=dict(os.environ, CUSTODY_BENCH_C2PA_ANCHORS=str(anchors)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(f"{url}/validate", content=b"", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the C2PA reference server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _c2pa_latency(
    server: Server,
    token: str,
    keys: Keys,
    pki: C2paPki,
    policy: Path,
    repeat: int,
    count: int,
    side: int,
) -> dict[str, Any]:
    from signing.provenance.c2pa_module import c2pa_module

    c2pa = c2pa_module()
    model = _model(server, token)
    context = c2pa.Context.from_dict(
        {
            "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False, "verify_trust": True},
            "trust": {"trust_anchors": pki.anchors_pem.decode()},
        }
    )
    loaded = load_reprint_policy(policy)

    def reader_alone(image: bytes) -> None:
        with c2pa.Reader("image/png", io.BytesIO(image), context=context) as reader:
            json.loads(reader.json())

    def checks(image: bytes, latents: list[bytes] | None) -> None:
        c2pa_claim(ImagePart.of(image, "image/png"), latents, pki.anchors_pem, loaded)

    png = {"content-type": "image/png"}
    times: dict[str, list[float]] = {name: [] for name in _C2PA_TIMES}
    with (
        tempfile.TemporaryDirectory(prefix="custody-bench-c2pa-ref-") as scratch,
        _reference_server(Path(scratch), pki) as reference_url,
        httpx.Client(base_url=server.url, headers=bearer(token), timeout=120) as hub,
        httpx.Client(base_url=reference_url, timeout=120) as reference,
    ):

        def validated_by_reference(image: bytes) -> None:
            answer = reference.post("/validate", content=image, headers=png)
            if answer.json().get("validation_state") != "Trusted":
                raise RuntimeError(f"the reference did not validate the image: {answer.text}")

        def registered(**request: Any) -> None:
            answer = hub.post("/api/v1/outputs", **request)
            if answer.status_code != 201:
                raise RuntimeError(f"C2PA registration failed: {answer.text}")

        for _ in range(repeat):
            # Three images per round: each registration form needs an image of its own.
            made = _c2pa_images(keys, pki, model, 3 * count, side)
            reader_alone(made[0][0])  # warm the reader's trust context
            validated_by_reference(made[0][0])
            for index in range(count):
                (raw, _), (part, _), (chained, gen) = made[3 * index : 3 * index + 3]
                times["reader"].append(_per_call(lambda i=raw: reader_alone(i)))  # type: ignore[misc]
                times["reference_http"].append(
                    _per_call(lambda i=raw: validated_by_reference(i))  # type: ignore[misc]
                )
                times["hub_raw"].append(
                    _per_call(lambda i=raw: registered(content=i, headers=png))  # type: ignore[misc]
                )
                times["hub_multipart"].append(
                    _per_call(
                        lambda i=part: registered(files=[("image", ("i.png", i, "image/png"))])  # type: ignore[misc]
                    )
                )
                times["hub_with_chain"].append(
                    _per_call(
                        lambda i=chained, g=gen: registered(  # type: ignore[misc]
                            files=_files(g, i, "image/png", manifest=False)
                        )
                    )
                )
                times["checks"].append(_per_call(lambda i=raw: checks(i, None)))  # type: ignore[misc]
                times["checks_with_chain"].append(
                    _per_call(lambda i=chained, g=gen: checks(i, g.latents))  # type: ignore[misc]
                )
    reference, reader = times["reference_http"], times["reader"]
    return {
        "png_mb": round(len(made[0][0]) / 1e6, 2),
        "median_ms": {name: round(statistics.median(t) * 1e3, 2) for name, t in times.items()},
        "hub_raw_vs_reference_http": _ratio(times["hub_raw"], reference),
        "hub_multipart_vs_reference_http": _ratio(times["hub_multipart"], reference),
        "hub_with_30_step_chain_vs_reference_http": _ratio(times["hub_with_chain"], reference),
        "hub_raw_vs_reader_alone": _ratio(times["hub_raw"], reader),
        "checks_in_process_vs_reader_alone": _ratio(times["checks"], reader),
        "checks_with_30_step_chain_vs_reader_alone": _ratio(times["checks_with_chain"], reader),
        "target": "<= 1.5",
    }


_C2PA_TIMES = (
    "reader",
    "reference_http",
    "hub_raw",
    "hub_multipart",
    "hub_with_chain",
    "checks",
    "checks_with_chain",
)


def _ratio(times: list[float], reference: list[float]) -> dict[str, Any]:
    """Median and quartiles of per-image ratios (each image against its own reference run)."""
    ratios = [t / r for t, r in zip(times, reference, strict=True)]
    return {"median": round(statistics.median(ratios), 2), "p25_p75": _quartiles(ratios)}


def _quartiles(ratios: list[float]) -> list[float]:
    """The spread of per-image ratios: on shared machines the median alone hides a lot."""
    if len(ratios) < 2:
        return [round(ratios[0], 2)] * 2 if ratios else []
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    return [round(q1, 2), round(q3, 2)]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench hub")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--outputs", type=int, default=200, help="Registrations per round.")
    parser.add_argument("--clients", type=int, default=4, help="Concurrent clients.")
    parser.add_argument("--images", type=int, default=12, help="C2PA images per round.")
    parser.add_argument("--side", type=int, default=1024, help="C2PA image side in pixels.")
    args = parser.parse_args(argv)
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()}")
    keys = _keys()
    pki = make_c2pa_pki()
    with (
        tempfile.TemporaryDirectory(prefix="custody-bench-hub-") as scratch,
        _hub(Path(scratch), keys, pki) as (server, token, policy),
    ):
        report = {
            "register_30_step_chain": _throughput(
                server, token, keys, args.repeat, args.outputs, args.clients
            ),
            "c2pa_register_1024_png": _c2pa_latency(
                server, token, keys, pki, policy, args.repeat, args.images, args.side
            ),
        }
    print(json.dumps(report, indent=2))
    print(f"load average after: {os.getloadavg()}")
    return 0
