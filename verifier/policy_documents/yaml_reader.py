"""YAML policy documents into frozen msgspec models, with errors that name the line.

Every declarative policy (trust, admission, reprint) is read the same way: the
YAML is composed once to keep line numbers, duplicate keys are refused, the data
is converted into ``msgspec`` models that forbid unknown fields, and a
validation error becomes one :class:`~verifier.errors.PolicyFileInvalid` naming
the file, the line and (for an unknown field) the fields allowed there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

import msgspec
import yaml

from verifier.errors import PolicyFileInvalid

__all__ = ["DocumentError", "Lines", "decode_policy_yaml", "published_schema"]


class DocumentError(Protocol):
    """What builds a language's "this file is invalid" error: the class itself.

    The trust and admission languages use :class:`~verifier.errors.PolicyFileInvalid`; the
    reprint language its own provenance error, which has the same constructor.
    """

    def __call__(self, message: str, *, source: str = ..., line: int | None = ...) -> Exception: ...


SpecT = TypeVar("SpecT", bound=msgspec.Struct)


class Lines:
    """Line numbers for JSON paths in a composed YAML document."""

    def __init__(self, root: yaml.Node) -> None:
        self.root = root

    def _node(self, path: Sequence[str | int]) -> yaml.Node:
        node = self.root
        for step in path:
            child = None
            if isinstance(node, yaml.MappingNode):
                child = next((v for k, v in node.value if k.value == step), None)
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(step, int)
                and 0 <= step < len(node.value)
            ):
                child = node.value[step]
            if child is None:
                break
            node = child
        return node

    def line(self, path: Sequence[str | int], key: str | None = None) -> int:
        node = self._node(path)
        if key is not None and isinstance(node, yaml.MappingNode):
            for key_node, _ in node.value:
                if key_node.value == key:
                    return int(key_node.start_mark.line) + 1
        return int(node.start_mark.line) + 1


_AT = re.compile(r"^(?P<message>.*) - at `\$(?P<path>[^`]*)`\Z", re.DOTALL)
_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")
_UNKNOWN = re.compile(r"unknown field `([^`]+)`")


def _explain(
    error: msgspec.ValidationError,
    lines: Lines,
    source: str,
    root: type[msgspec.Struct],
    models: Sequence[type[msgspec.Struct]],
    fail: DocumentError,
) -> Exception:
    text = str(error)
    match = _AT.match(text)
    message, raw_path = (match["message"], match["path"]) if match else (text, "")
    path: list[str | int] = [
        name if name else int(index) for name, index in _STEP.findall(raw_path)
    ]
    where = "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in path).lstrip(".")
    unknown = _UNKNOWN.search(message)
    if unknown:
        fields = _fields_at(path, root, models)
        hint = f" (allowed: {', '.join(fields)})" if fields else ""
        return fail(
            f"unknown field {unknown[1]!r} in {where or 'the document'}{hint}",
            source=source,
            line=lines.line(path, unknown[1]),
        )
    message = message.replace("Object missing required field", "missing required field")
    return fail(f"{where or 'the document'}: {message}", source=source, line=lines.line(path))


def _fields_at(
    path: Sequence[str | int],
    root: type[msgspec.Struct],
    models: Sequence[type[msgspec.Struct]],
) -> list[str]:
    """The allowed field names of the model at ``path`` (for unknown-field hints)."""
    model: Any = root
    for step in path:
        if isinstance(step, int):
            continue
        annotation = model.__annotations__.get(step, "")
        found = next((m for m in models if m.__name__ in str(annotation)), None)
        if found is None:
            return []
        model = found
    return sorted(model.__struct_fields__)


def _check_duplicates(
    node: yaml.Node,
    source: str,
    fail: DocumentError,
    inside: frozenset[int] = frozenset(),
    done: set[int] | None = None,
) -> None:
    """Refuse duplicate keys, and aliases that contain themselves (``a: &a [*a]``).

    An alias is the same node object as its anchor: each node is checked once.
    """
    done = set() if done is None else done
    if id(node) in inside:
        raise fail(
            "a YAML alias refers to a node that contains it",
            source=source,
            line=int(node.start_mark.line) + 1,
        )
    if id(node) in done:
        return
    done.add(id(node))
    inside = inside | {id(node)}
    if isinstance(node, yaml.MappingNode):
        seen: dict[object, int] = {}
        for key, value in node.value:
            line = int(key.start_mark.line) + 1
            if key.value in seen:
                raise fail(
                    f"duplicate key {key.value!r} (first at line {seen[key.value]})",
                    source=source,
                    line=line,
                )
            seen[key.value] = line
            _check_duplicates(value, source, fail, inside, done)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicates(item, source, fail, inside, done)


def decode_policy_yaml(
    text: str,
    spec: type[SpecT],
    *,
    source: str = "",
    models: Sequence[type[msgspec.Struct]] = (),
    error: DocumentError = PolicyFileInvalid,
) -> tuple[SpecT, Lines]:
    """Decode ``text`` into ``spec``; ``models`` are the nested models (for error hints).

    Every failure is raised as ``error`` (a language's own subclass, or the base).
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else None
        raise error(f"not valid YAML: {exc.problem}", source=source, line=line) from exc
    except yaml.YAMLError as exc:
        raise error(f"not valid YAML: {exc}", source=source) from exc
    if root is None:
        raise error("the policy file is empty", source=source, line=1)
    _check_duplicates(root, source, error)
    lines = Lines(root)
    try:
        decoded = msgspec.convert(yaml.safe_load(text), spec)
    except msgspec.ValidationError as exc:
        raise _explain(exc, lines, source, spec, models, error) from exc
    return decoded, lines


def published_schema(
    spec: type[msgspec.Struct],
    *,
    schema_id: str,
    title: str,
    description: str,
    one_of: dict[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The JSON schema a policy file is published with, generated from its models.

    ``one_of`` adds "exactly one of" rules the models check in code. Optional
    fields read as plain types (a missing field is the null default).
    """
    generated = msgspec.json.schema(spec)
    defs: dict[str, Any] = generated["$defs"]
    root = defs.pop(spec.__name__)
    for name, alternatives in (one_of or {}).items():
        defs[name]["oneOf"] = alternatives
    for definition in defs.values():
        definition.pop("title", None)
        for prop in definition.get("properties", {}).values():
            if "anyOf" in prop and {"type": "null"} in prop["anyOf"]:
                options = [o for o in prop.pop("anyOf") if o != {"type": "null"}]
                prop.update(options[0] if len(options) == 1 else {"anyOf": options})
                prop.pop("default", None)
    root.pop("title", None)
    root.pop("description", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_id,
        "title": title,
        "description": description,
        **root,
        "$defs": dict(sorted(defs.items())),
    }
