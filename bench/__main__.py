"""Dispatch: ``python -m bench`` runs every benchmark, ``python -m bench NAME`` one."""

from __future__ import annotations

import importlib
import sys

# name -> module with a ``main(argv: list[str]) -> int``
BENCHMARKS = {
    "upload": "bench.blob_upload",
    "sign": "bench.sign_verify",
    "sbom": "bench.sbom",
    "push": "bench.push_pull",
    "s3": "bench.s3_push_pull",
    "publish": "bench.publish_verify",
    "manifest": "bench.manifest_get",
    "limits": "bench.rate_limits",
    "load": "bench.verified_load",
    "agent-update": "bench.agent_update",
    "tlog": "bench.tlog",
    "provenance": "bench.provenance",
    "hub": "bench.hub",
    "verify-page": "bench.verify_page",
    "verify-c2pa": "bench.verify_c2pa",
    "tuf": "bench.tuf_publish",
    "crash": "bench.crash_soak",
    "fsck": "bench.fsck",
    "gc": "bench.gc_pass",
    "gc-soak": "bench.gc_soak",
    "replicas": "bench.replicas",
    "quota": "bench.quota",
    "web-pages": "bench.web_pages",
    "signer-search": "bench.signer_search",
}


def main(argv: list[str]) -> int:
    # Leading arguments that name benchmarks select them; the rest go to each one.
    names: list[str] = []
    while argv and not argv[0].startswith("-"):
        names.append(argv.pop(0))
    names = names or list(BENCHMARKS)
    options = argv
    status = 0
    for name in names:
        if name not in BENCHMARKS:
            print(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
            return 2
        try:
            module = importlib.import_module(BENCHMARKS[name])
        except ModuleNotFoundError as exc:
            print(f"benchmark {name!r} is not available: {exc}")
            status = 1
            continue
        status |= module.main(options)
    return status


sys.exit(main(sys.argv[1:]))
