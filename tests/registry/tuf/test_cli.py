"""``custody tuf``: bad input gives one error line and a non-zero exit, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.registry.tuf.conftest import push_version
from tests.support.registry_helpers import safetensors_bytes


def _refused(result, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith(("Error:", "Usage:")), result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


def test_commands_before_init_are_refused(tuf_cli):
    _refused(tuf_cli("tuf", "export-root"), "not initialised", "custody tuf init")
    _refused(tuf_cli("tuf", "rotate-root"), "not initialised")
    _refused(tuf_cli("tuf", "resign"), "not initialised")
    _refused(tuf_cli("tuf", "namespace-keys", "acme", "--generate", "1", "--threshold", "1"))


def test_init_twice_is_refused(tuf_cli, root_json):
    _refused(tuf_cli("tuf", "init"), "already initialised")
    assert tuf_cli("tuf", "export-root").output.strip().encode() == root_json


def test_export_root_to_a_file(tuf_cli, root_json, tmp_path: Path):
    out = tmp_path / "exported.json"
    assert tuf_cli("tuf", "export-root", "--output", str(out)).exit_code == 0
    assert out.read_bytes() == root_json
    _refused(tuf_cli("tuf", "export-root", "--output", str(tmp_path / "no" / "dir.json")))


BAD_NAMESPACE_KEYS = [
    (["--generate", "2", "--threshold", "0"], "threshold must be at least 1"),
    (["--generate", "2", "--threshold", "3"], "needs at least 3 distinct keys"),
    (["--threshold", "1"], "give at least one --key or --generate"),
    (["--generate", "-1", "--threshold", "1"], "must not be negative"),
    (["--generate", "1"], "Missing option '--threshold'"),
]


def test_namespace_keys_bad_input(tuf_cli, client, oci, root_json):
    push_version(oci, "1.0.0", {"model.safetensors": safetensors_bytes()})
    for args, message in BAD_NAMESPACE_KEYS:
        _refused(tuf_cli("tuf", "namespace-keys", "acme", *args), message)


def test_namespace_keys_unknown_or_invalid_namespace(tuf_cli, root_json):
    _refused(
        tuf_cli("tuf", "namespace-keys", "nobody", "--generate", "1", "--threshold", "1"),
        "namespace 'nobody' does not exist",
    )
    _refused(
        tuf_cli("tuf", "namespace-keys", "Bad/Name", "--generate", "1", "--threshold", "1"),
        "Invalid value",
    )
    _refused(tuf_cli("tuf", "rotate-namespace", "nobody"), "has no TUF role yet")


def test_namespace_keys_bad_key_files(tuf_cli, client, oci, root_json, tmp_path: Path):
    push_version(oci, "1.0.0", {"model.safetensors": safetensors_bytes()})
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key\n")
    _refused(
        tuf_cli("tuf", "namespace-keys", "acme", "--key", str(junk), "--threshold", "1"),
        "junk.pem: not a usable private key",
    )
    gone = str(tmp_path / "gone.pem")
    _refused(
        tuf_cli("tuf", "namespace-keys", "acme", "--key", gone, "--threshold", "1"),
        "does not exist",
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [("1", "must be at least 2"), ("soon", "must be an integer"), ("-5", "must not be negative")],
)
def test_bad_expiry_settings(tuf_cli, value, message):
    result = tuf_cli("tuf", "init", env_extra={"CUSTODY_TUF_TIMESTAMP_EXPIRY_SECONDS": value})
    _refused(result, message)


def test_init_warns_when_the_root_key_sits_beside_the_online_keys(tuf_cli, tmp_path: Path):
    result = tuf_cli("tuf", "init")
    assert result.exit_code == 0, result.output
    assert "warning: the root key was written to" in result.stderr
    assert "CUSTODY_TUF_ROOT_KEYS_DIR" in result.stderr


def test_init_with_an_offline_root_key_directory_does_not_warn(tuf_cli, tmp_path: Path):
    offline = tmp_path / "offline-root-keys"
    result = tuf_cli("tuf", "init", env_extra={"CUSTODY_TUF_ROOT_KEYS_DIR": str(offline)})
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    assert list(offline.glob("*.pem")), "the root key is written to the offline directory"
