"""Documents as transcripts: parse ``console`` blocks and compare what commands print.

A Markdown document's fenced blocks whose info string starts with ``console`` are
transcripts: a line starting with ``$ `` is a command (a trailing backslash continues it on
the next line), the lines after it, up to the next command, are what it prints. In the
expected output:

- a line that is only ``...`` matches any number of lines (none included);
- ``...`` inside a line matches any text on that line;
- a last line ``[exit N]`` says the command fails on purpose, with exit status N (a refusal
  the reader should see); without it the command must succeed;
- digests, long hex strings, tokens, times and loopback ports are normalised on both sides,
  so a document can show real output without pinning values that change on every run.

A command with a here-document (``<<'EOF'``) continues up to the line holding only its
delimiter. A block whose info string is ``console background`` starts its one command in the
background (a server the rest of the document talks to).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FENCE = re.compile(r"^```(\S*)(.*)$")
EXIT = re.compile(r"^\[exit (\d+)\]$")
HEREDOC = re.compile(r"<<-?\s*['\"]?([A-Za-z_][A-Za-z0-9_]*)['\"]?")

_NORMALISERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"sha256:[0-9a-f]{64}"), "sha256:<digest>"),
    (re.compile(r"\bcst_[A-Za-z0-9_\-]{8,}"), "cst_<token>"),
    (re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?"), "<time>"),
    (re.compile(r"\b[0-9a-f]{16,}\b"), "<hex>"),
    (re.compile(r"(127\.0\.0\.1|localhost):\d+"), r"\1:<port>"),
    (re.compile(r"[ \t]+$"), ""),
)


@dataclass
class Command:
    """One ``$`` command of a transcript and what the document says it prints."""

    line: int  # 1-based line of the document where the command starts
    text: str
    expected: list[str] = field(default_factory=list)
    background: bool = False

    @property
    def status(self) -> int:
        """The exit status the document promises (0 unless it ends with ``[exit N]``)."""
        shown = [line for line in self.expected if line.strip()]
        found = EXIT.match(shown[-1].strip()) if shown else None
        return int(found.group(1)) if found else 0

    @property
    def output(self) -> list[str]:
        """The expected output lines, without the ``[exit N]`` annotation."""
        shown = [line for line in self.expected if line.strip()]
        if shown and EXIT.match(shown[-1].strip()):
            shown = shown[:-1]
        return shown


def parse(markdown: str) -> list[Command]:
    """Every command of every ``console`` block, in document order."""
    commands: list[Command] = []
    in_block = False
    background = False
    current: Command | None = None
    continuing = False
    heredoc: str | None = None
    for number, raw in enumerate(markdown.splitlines(), start=1):
        fence = FENCE.match(raw.strip())
        if fence is not None:
            if not in_block:
                in_block = fence.group(1) == "console"
                background = in_block and fence.group(2).strip() == "background"
                current = None
            else:
                in_block = False
            continue
        if not in_block:
            continue
        if heredoc is not None and current is not None:
            current.text += "\n" + raw
            if raw.strip() == heredoc:
                heredoc = None
            continue
        if continuing and current is not None:
            current.text += "\n" + raw
            continuing = raw.endswith("\\")
            continue
        if raw.startswith("$ "):
            current = Command(line=number, text=raw[2:], background=background)
            commands.append(current)
            continuing = raw.endswith("\\")
            opened = HEREDOC.search(raw)
            heredoc = opened.group(1) if opened else None
        elif current is not None:
            current.expected.append(raw)
    return commands


def normalise(line: str) -> str:
    for pattern, replacement in _NORMALISERS:
        line = pattern.sub(replacement, line)
    return line


def _line_pattern(expected: str) -> re.Pattern[str]:
    parts = [re.escape(part) for part in normalise(expected).split("...")]
    return re.compile(".*".join(parts) + r"\Z")


def mismatch(expected: list[str], actual: str) -> str | None:
    """None when ``actual`` matches the document's ``expected`` lines, else why not."""
    want = [line for line in expected if line.strip()]
    have = [normalise(line) for line in actual.splitlines() if line.strip()]
    if _match(want, 0, have, 0):
        return None
    return (
        "expected:\n  "
        + "\n  ".join(want or ["(nothing)"])
        + "\ngot:\n  "
        + "\n  ".join(have or ["(nothing)"])
    )


def _match(want: list[str], i: int, have: list[str], j: int) -> bool:
    while i < len(want):
        if want[i].strip() == "...":
            return any(_match(want, i + 1, have, k) for k in range(j, len(have) + 1))
        if j >= len(have) or not _line_pattern(want[i]).match(have[j]):
            return False
        i += 1
        j += 1
    return j == len(have)
