"""Edit policy text in tests so that an edit that matches nothing fails loudly.

``str.replace`` returns the text unchanged when the old text is not there: a test
that "turns a rule off" that way silently keeps testing the old policy after the
policy format changes (it happened when rules moved from ``acme`` to ``acme/**``).
"""

from __future__ import annotations

from pathlib import Path


def replace_once(text: str, old: str, new: str) -> str:
    """``text`` with its one occurrence of ``old`` replaced; fails unless exactly one."""
    count = text.count(old)
    assert count == 1, f"expected exactly one {old!r} in the policy text, found {count}"
    return text.replace(old, new)


def edit_once(path: Path, old: str, new: str) -> None:
    """Rewrite the file at ``path`` with :func:`replace_once`."""
    path.write_text(replace_once(path.read_text(), old, new))
