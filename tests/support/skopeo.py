"""Debian's ``skopeo`` (containers/image, Go) run against a live registry, as a user would.

``make pytest`` installs it (the ``interop-tools`` target); without it the tests are
skipped loudly, and under CI they fail: an interop test that silently never runs proves
nothing. Each run gets a policy file that accepts anything (no signature policy is under
test) and an empty credentials file, so neither ``/etc/containers/policy.json`` nor a
developer's own logins decide the outcome. The registry is plain HTTP on 127.0.0.1, hence
``--*-tls-verify=false`` (skopeo tries HTTPS first and falls back; uvicorn logs that
first attempt as an "Invalid HTTP request").

Run as root, skopeo keeps its blob-info cache in ``/var/lib/containers/cache`` (it has
no option to move it): it may try a cross-repository mount of a blob it saw in another
repository of the same ``host:port``, which a registry must handle anyway.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from signing.media_types import MODEL_ARTIFACT, MODEL_CONFIG, model_layer
from tests.support.oci_layout import Blob, Layout, write_layout
from tests.support.registry_helpers import onnx_bytes

_TIMEOUT_S = 120


def skopeo_binary() -> str:
    """The ``skopeo`` to run (``$SKOPEO``, else on PATH); skip without one, fail under CI."""
    found = shutil.which(os.environ.get("SKOPEO", "skopeo"))
    if found is None:
        message = "skopeo is not installed (`make interop-tools` installs it from Debian)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must run the skopeo interop tests", pytrace=False)
        pytest.skip(message)
    return found


@dataclass(frozen=True)
class Skopeo:
    binary: str
    home: Path  # policy and credentials files of this run

    @classmethod
    def in_dir(cls, binary: str, home: Path) -> Skopeo:
        home.mkdir(parents=True, exist_ok=True)
        policy = {"default": [{"type": "insecureAcceptAnything"}]}
        (home / "policy.json").write_text(json.dumps(policy))
        (home / "auth.json").write_text('{"auths": {}}')
        return cls(binary, home)

    def run(self, *args: str, debug: bool = False) -> subprocess.CompletedProcess[str]:
        argv = [self.binary, "--policy", str(self.home / "policy.json")]
        if debug:
            argv.append("--debug")
        env = dict(os.environ, REGISTRY_AUTH_FILE=str(self.home / "auth.json"))
        env.pop("XDG_RUNTIME_DIR", None)  # where containers/image looks for logins first
        return subprocess.run(
            [*argv, *args], env=env, capture_output=True, text=True, timeout=_TIMEOUT_S
        )

    def ok(self, *args: str, debug: bool = False) -> subprocess.CompletedProcess[str]:
        done = self.run(*args, debug=debug)
        assert done.returncode == 0, f"skopeo {' '.join(args)}:\n{done.stderr}"
        return done


def creds(token: str) -> str:
    """A Custody token as skopeo's ``USER:PASSWORD``: Basic at the token endpoint, any user."""
    return f"skopeo:{token}"


def writing(token: str) -> tuple[str, ...]:
    """``copy`` options for a plain-HTTP destination registry, as ``token``."""
    return ("--dest-tls-verify=false", "--dest-creds", creds(token))


def reading(token: str | None) -> tuple[str, ...]:
    """``copy`` options for a plain-HTTP source registry, as ``token`` (None: anonymous)."""
    return ("--src-tls-verify=false", *(("--src-creds", creds(token)) if token else ()))


def asking(token: str) -> tuple[str, ...]:
    """``inspect``, ``list-tags`` and ``delete`` options for a plain-HTTP registry."""
    return ("--tls-verify=false", "--creds", creds(token))


def model_layout(root: Path, tag: str, onnx_payload: int = 300_000) -> Layout:
    """A ModelPack artifact as ``custody push`` would make it: an ONNX model and its config."""
    config = Blob(MODEL_CONFIG, json.dumps({"descriptor": {"name": root.name}}).encode())
    layers = [
        Blob(model_layer("weight.config"), b'{"arch": "unet"}', "config.json"),
        Blob(model_layer("weight"), onnx_bytes(onnx_payload), "model.onnx"),
    ]
    return write_layout(root, tag, config, layers, artifact_type=MODEL_ARTIFACT)
