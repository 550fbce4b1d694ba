"""Line-level YAML text editing: positions, spans and applying edits without touching other bytes.

Only ``\\n``, ``\\r\\n`` and ``\\r`` break lines (as in YAML), so line numbers agree with ruamel's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kubetally.errors import KubetallyError


class ManifestError(KubetallyError):
    """A manifest cannot be read or rewritten safely."""


@dataclass(frozen=True)
class Edit:
    """Replace ``lines[line][start:end]`` with ``text``, or insert/delete whole lines."""

    line: int
    op: str  # "replace" | "insert_before" | "insert_after" | "delete"
    start: int = 0
    end: int = 0
    text: str = ""
    new_lines: tuple[str, ...] = ()


_LINE_BREAK = re.compile(r"(\r\n|\r|\n)")


def split_lines(text: str) -> list[str]:
    """Lines with their YAML line break kept (only \\n, \\r\\n and \\r break lines)."""
    parts = _LINE_BREAK.split(text)
    lines = [parts[i] + parts[i + 1] for i in range(0, len(parts) - 1, 2)]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def newline_of(lines: list[str]) -> str:
    for line in lines:
        for brk in ("\r\n", "\n", "\r"):
            if line.endswith(brk):
                return brk
    return "\n"


def body_of(line: str) -> str:
    return line.rstrip("\r\n")


def is_comment_or_blank(line: str) -> bool:
    stripped = body_of(line).strip()
    return not stripped or stripped.startswith("#")


def indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


_BLOCK_SCALAR = re.compile(r"(?:^|:|-)\s*[|>][-+0-9]*\s*(?:#.*)?$")


def block_end_line(lines: list[str], first_line: int, col: int) -> int:
    """Last content line of a block node whose keys start at ``col``.

    The node ends before the first later line (not blank, not a comment) indented
    less than ``col``, or a document marker; trailing comments are not part of it.
    Lines of a block scalar (``|``/``>``) are content even when they start with ``#``.
    """
    last = first_line
    scalar_indent = indent_of(lines[first_line]) if _BLOCK_SCALAR.search(body_of(lines[first_line])) else -1
    for index in range(first_line + 1, len(lines)):
        line = lines[index]
        body = body_of(line)
        if scalar_indent >= 0:
            if not body.strip():
                continue
            if indent_of(line) > scalar_indent:
                last = index
                continue
            scalar_indent = -1
        if is_comment_or_blank(line):
            continue
        if indent_of(line) < col or body.startswith(("---", "...")):
            break
        last = index
        if _BLOCK_SCALAR.search(body):
            scalar_indent = indent_of(line)
    return last


def scalar_span(line: str, col: int) -> tuple[int, int, str]:
    """(start, end, quote) of the single-line scalar starting at ``col``."""
    body = body_of(line)
    if col >= len(body):
        raise ManifestError("empty value")
    quote = body[col]
    if quote == '"':
        index = col + 1
        while index < len(body):
            if body[index] == "\\":
                index += 2
                continue
            if body[index] == '"':
                return col, index + 1, '"'
            index += 1
        raise ManifestError("multi-line quoted value")
    if quote == "'":
        index = col + 1
        while index < len(body):
            if body[index] == "'":
                if index + 1 < len(body) and body[index + 1] == "'":
                    index += 2
                    continue
                return col, index + 1, "'"
            index += 1
        raise ManifestError("multi-line quoted value")
    if quote in "|>[{&*!":
        raise ManifestError(f"unsupported value style {quote!r}")
    comment = re.search(r"\s#", body[col:])
    end = col + comment.start() if comment else len(body)
    return col, len(body[:end].rstrip()), ""


def flow_span(lines: list[str], line: int, col: int) -> tuple[int, int]:
    """(start, end) of a single-line flow collection starting at ``col``."""
    body = body_of(lines[line])
    depth = 0
    quote = ""
    for index in range(col, len(body)):
        char = body[index]
        if quote:
            if char == quote:
                quote = ""
            continue
        if char in "\"'":
            quote = char
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return col, index + 1
    raise ManifestError("flow-style resources spanning several lines")


def value_end(line: str, col: int) -> int:
    """End of ``key: value`` on one line, before any comment."""
    body = body_of(line)
    comment = re.search(r"\s#", body[col:])
    end = col + comment.start() if comment else len(body)
    return len(body[:end].rstrip())


def apply_edits(lines: list[str], edits: list[Edit]) -> str:
    """The text with ``edits`` applied; positions refer to the original ``lines``."""
    newline = newline_of(lines)
    before: dict[int, list[str]] = {}
    after: dict[int, list[str]] = {}
    replaces: dict[int, list[Edit]] = {}
    deleted: set[int] = set()
    for edit in edits:
        if edit.op == "replace":
            replaces.setdefault(edit.line, []).append(edit)
        elif edit.op == "delete":
            deleted.add(edit.line)
        elif edit.op == "insert_before":
            before.setdefault(edit.line, []).extend(edit.new_lines)
        else:
            after.setdefault(edit.line, []).extend(edit.new_lines)
    out: list[str] = []
    for index, line in enumerate(lines):
        body = body_of(line)
        ending = line[len(body) :]
        out.extend(text + newline for text in before.get(index, []))
        if index not in deleted:
            for edit in sorted(replaces.get(index, []), key=lambda e: e.start, reverse=True):
                body = body[: edit.start] + edit.text + body[edit.end :]
            out.append(body + (ending or (newline if after.get(index) else "")))
        extra = after.get(index, [])
        if extra and not ending:  # inserting after a last line without a line break: keep it without one
            out.append(newline.join(extra))
        else:
            out.extend(text + newline for text in extra)
    return "".join(out)
