"""The transcript parser and matcher that the quickstart test relies on."""

from __future__ import annotations

from tests.docs.transcript import mismatch, normalise, parse

DOC = """Intro text.

```console
$ custody ls
acme/tiny  versions=1
$ custody push ./m \\
    acme/tiny:1.0.0
pushed acme/tiny:1.0.0 sha256:...
```

```sh
$ not a transcript
```

```console background
$ make run
```

```console
$ cat > t.yaml <<'EOF'
version: 1
$ not a command inside the here-document
EOF
$ false
[exit 1]
```
"""


def test_parse_commands_outputs_continuations_and_heredocs() -> None:
    commands = parse(DOC)
    assert [c.text.splitlines()[0] for c in commands] == [
        "custody ls",
        "custody push ./m \\",
        "make run",
        "cat > t.yaml <<'EOF'",
        "false",
    ]
    assert commands[0].expected == ["acme/tiny  versions=1"]
    assert commands[1].text.endswith("acme/tiny:1.0.0")
    assert commands[1].line == 6
    assert commands[2].background and not commands[1].background
    assert commands[3].text.splitlines()[-1] == "EOF"
    assert commands[3].expected == []
    assert commands[3].status == 0
    assert commands[4].status == 1 and commands[4].output == []
    assert commands[0].status == 0 and commands[0].output == ["acme/tiny  versions=1"]


def test_normalise_digests_tokens_times_ports() -> None:
    line = f"sha256:{'a' * 64} cst_abc_DEF123456 2026-12-06T01:02:03.5+00:00 127.0.0.1:41234"
    assert normalise(line) == "sha256:<digest> cst_<token> <time> 127.0.0.1:<port>"


def test_match_wildcards_and_failures() -> None:
    assert mismatch(["a ... c", "...", "z"], "a b c\nx\ny\nz\n") is None
    assert mismatch(["...", "z"], "z") is None
    assert mismatch(["a"], "a\nextra") is not None
    assert mismatch(["a", "b"], "a") is not None
    assert mismatch([], "") is None
    assert mismatch([f"sha256:{'0' * 64}"], f"sha256:{'f' * 64}") is None
