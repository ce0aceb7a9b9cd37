"""The reference for the hub's C2PA benchmark: c2pa-python validating an uploaded image alone.

A minimal Litestar endpoint served by uvicorn exactly as ``custody serve`` is (uvloop,
httptools): it receives the raw image, validates it with ``c2pa.Reader`` (remote manifest
and OCSP fetching off, the anchors in ``CUSTODY_BENCH_C2PA_ANCHORS`` as the trust list)
off the event loop, and answers with the validation state. Whatever the hub does beyond
that (authentication, its checks, the log append, the row) is what the ratio measures.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import c2pa  # type: ignore[import-untyped]
from anyio import to_thread
from litestar import Litestar, Request, post

_CONTEXT = c2pa.Context.from_dict(
    {
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False, "verify_trust": True},
        "trust": {"trust_anchors": Path(os.environ["CUSTODY_BENCH_C2PA_ANCHORS"]).read_text()},
    }
)


def _validate(data: bytes, media_type: str) -> dict[str, Any]:
    with c2pa.Reader(media_type, io.BytesIO(data), context=_CONTEXT) as reader:
        store = json.loads(reader.json())
    return {"validation_state": store.get("validation_state")}


@post("/validate", status_code=200, request_max_body_size=None)
async def validate(request: Request[Any, Any, Any]) -> dict[str, Any]:
    data = await request.body()
    media_type = request.headers.get("content-type", "image/png")
    return await to_thread.run_sync(_validate, data, media_type)


app = Litestar([validate])
