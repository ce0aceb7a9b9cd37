"""Provenance: the cost of signing latent records and of validating C2PA credentials.

Reports, in the same run, as ratios to a reference measured alongside:

  (a) one latent record per denoising step through ``LatentRecorder.record``
      (canonical digest of an SDXL-sized latent, 1x4x128x128 float32 = 256 KiB,
      statement built and self-validated, DSSE signed) against a bare
      ``sign()`` of the same statement bytes with the same key (Ed25519 and
      ECDSA P-256): the record's overhead over the signature it must make;
      the same without the latent hashing (``sign_latent_record`` given the digest);
  (b) ``verify_c2pa`` on a 1024x1024 PNG (random pixels, ~3 MB, Custody-signed
      with ES256) against ``c2pa.Reader`` alone with the same settings (target
      <= 1.5, leaving room for the hub's own checks).

Rounds alternate reference and candidate; the median of per-round ratios is
reported (the machines are shared and noisy; paired ratios hold better).

    python -m bench provenance [--repeat 5] [--records 300] [--reads 40]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from PIL import Image

from signing.dsse import IN_TOTO_PAYLOAD_TYPE, pae
from signing.keys import generate_private_key
from signing.provenance import (
    LatentRecorder,
    canonical_latent_digest,
    parse_envelope,
    prompt_hash,
    sign_c2pa,
    sign_latent_record,
)
from signing.provenance.c2pa_module import c2pa_module
from signing.signers import KeySigner
from tests.support.c2pa_pki import make_c2pa_pki
from verifier.provenance import verify_c2pa

MODEL = "acme/sdxl-turbo@sha256:" + "ab" * 32
SHAPE = (1, 4, 128, 128)


def _per_call(function: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        function()
    return (time.perf_counter() - start) / count


def _latents(key_type: str, repeat: int, count: int) -> dict[str, Any]:
    signer = KeySigner(generate_private_key(key_type))
    latent = os.urandom(4 * 128 * 128 * 4)
    recorder = LatentRecorder(
        signer,
        model_reference=MODEL,
        sampler="euler_ancestral",
        scheduler="karras",
        seed=1234,
        guidance=7.5,
        prompt_hash=prompt_hash("a red fox in the snow", os.urandom(32)),
        node_id="edge-01",
        runtime={"onnxruntime": "1.20.1", "device": "cuda"},
        parameters={"steps": 30, "width": 1024, "height": 1024},
    )
    recorder.record(latent, "float32", SHAPE, 0)
    message = pae(IN_TOTO_PAYLOAD_TYPE, parse_envelope(recorder.chain[-1]).payload)
    digest = canonical_latent_digest(latent, "float32", SHAPE)
    step = [1]

    def record() -> None:
        recorder.record(latent, "float32", SHAPE, step[0])
        step[0] += 1

    def record_without_hashing() -> None:
        sign_latent_record(
            signer,
            latent_digest=digest,
            dtype="float32",
            shape=SHAPE,
            step=1,
            model_reference=MODEL,
            sampler="euler_ancestral",
            scheduler="karras",
            seed=1234,
            guidance=7.5,
            prompt_hash=recorder.prompt_hash,
            parent=recorder.head,
            node_id="edge-01",
            runtime=recorder.runtime,
            parameters=recorder.parameters,
        )

    full, bare_only, bare_ms, full_ms = [], [], [], []
    for _ in range(repeat):
        bare = _per_call(lambda: signer.sign(message), count)
        with_hash = _per_call(record, count)
        without_hash = _per_call(record_without_hashing, count)
        full.append(with_hash / bare)
        bare_only.append(without_hash / bare)
        bare_ms.append(bare * 1e3)
        full_ms.append(with_hash * 1e3)
    return {
        "bare_sign_ms": round(statistics.median(bare_ms), 4),
        "record_ms": round(statistics.median(full_ms), 4),
        "record_vs_bare_sign": round(statistics.median(full), 2),
        "record_without_latent_hash_vs_bare_sign": round(statistics.median(bare_only), 2),
        "statement_bytes": len(parse_envelope(recorder.chain[-1]).payload),
    }


def _c2pa(repeat: int, count: int) -> dict[str, Any]:
    c2pa = c2pa_module()
    pki = make_c2pa_pki()
    picture = Image.frombytes("RGB", (1024, 1024), os.urandom(3 * 1024 * 1024))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    signed = sign_c2pa(buffer.getvalue(), "image/png", pki.signer(), model_reference=MODEL)
    settings = {
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False, "verify_trust": True},
        "trust": {"trust_anchors": pki.anchors_pem.decode()},
    }
    context = c2pa.Context.from_dict(settings)

    def reader_alone() -> None:
        with c2pa.Reader("image/png", io.BytesIO(signed), context=context) as reader:
            json.loads(reader.json())

    def ours() -> None:
        verify_c2pa(signed, "image/png", pki.anchors_pem)

    ours()
    ratios, reference_ms, ours_ms = [], [], []
    for _ in range(repeat):
        reference = _per_call(reader_alone, count)
        candidate = _per_call(ours, count)
        ratios.append(candidate / reference)
        reference_ms.append(reference * 1e3)
        ours_ms.append(candidate * 1e3)
    return {
        "png_mb": round(len(signed) / 1e6, 2),
        "reader_alone_ms": round(statistics.median(reference_ms), 2),
        "verify_c2pa_ms": round(statistics.median(ours_ms), 2),
        "verify_c2pa_vs_reader": round(statistics.median(ratios), 3),
        "target": "<= 1.5",
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench provenance")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--records", type=int, default=300, help="Records per round and key.")
    parser.add_argument("--reads", type=int, default=40, help="C2PA validations per round.")
    args = parser.parse_args(argv)
    print(f"load average before: {os.getloadavg()}")
    report = {
        "latent_record_ed25519": _latents("ed25519", args.repeat, args.records),
        "latent_record_ecdsa_p256": _latents("ecdsa-p256", args.repeat, args.records),
        "c2pa_validate_1024_png": _c2pa(args.repeat, args.reads),
    }
    print(json.dumps(report, indent=2))
    print(f"load average after: {os.getloadavg()}")
    return 0
