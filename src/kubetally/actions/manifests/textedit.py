"""Targeted text edits of a container's ``resources`` in a YAML file.

ruamel.yaml's round-trip dumper cannot promise byte-identical output (it
normalises sequence indentation, some quoting and spacing), so we do not dump.
ruamel parses, and its line/column positions guide a small edit of the original
text: replace a scalar in place (keeping its quote style), insert a line at the
indentation of its siblings, or delete a line. Every other byte stays as it was.
The caller re-parses the result and checks it means exactly what was intended.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubetally.actions.manifests.lines import (
    Edit,
    ManifestError,
    block_end_line,
    body_of,
    flow_span,
    is_comment_or_blank,
    scalar_span,
    value_end,
)

SECTIONS = ("requests", "limits")
RESOURCES = ("cpu", "memory")

Field = tuple[str, str]
"""(section, resource), e.g. ("requests", "cpu")."""

Change = Mapping[Field, str | None]
"""Desired values: a quantity string sets the field, None removes it; absent fields stay."""


def quoted(value: str, quote: str) -> str:
    return f"{quote}{value}{quote}" if quote else value


def _flow_text(tree: Mapping[str, Any]) -> str:
    parts = []
    for key, value in tree.items():
        rendered = _flow_text(value) if isinstance(value, Mapping) else str(value)
        parts.append(f"{key}: {rendered}")
    return "{" + ", ".join(parts) + "}"


def _block_lines(tree: Mapping[str, Any], col: int, step: int) -> list[str]:
    out: list[str] = []
    for key, value in tree.items():
        if isinstance(value, Mapping):
            out.append(f"{' ' * col}{key}:")
            out.extend(_block_lines(value, col + step, step))
        else:
            out.append(f"{' ' * col}{key}: {value}")
    return out


def merged_resources(current: Mapping[str, Any] | None, change: Change) -> dict[str, Any]:
    """Plain data: ``current`` resources (None = absent) with ``change`` applied."""
    result: dict[str, Any] = {k: dict(v) if isinstance(v, Mapping) else v for k, v in (current or {}).items()}
    for (section, resource), value in change.items():
        target = result.get(section)
        if value is None:
            if isinstance(target, dict):
                target.pop(resource, None)
                if not target:
                    del result[section]
            continue
        if not isinstance(target, dict):
            target = {}
            result[section] = target
        target[resource] = value
    order = {name: index for index, name in enumerate(SECTIONS)}
    return {
        k: dict(sorted(v.items(), key=lambda kv: RESOURCES.index(kv[0]) if kv[0] in RESOURCES else 9))
        if isinstance(v, dict)
        else v
        for k, v in sorted(result.items(), key=lambda kv: order.get(kv[0], 9))
    }


def container_edits(lines: list[str], container: Any, change: Change, step: int) -> list[Edit]:
    """Edits that give ``container`` (a ruamel CommentedMap) the ``change``d resources."""
    if not change:
        return []
    key_col: int = container.lc.col
    if "resources" not in container or container["resources"] is None:
        wanted = merged_resources(None, change)
        if not wanted:
            return []
        block = _block_lines({"resources": wanted}, key_col, step)
        if "resources" in container:  # `resources:` with no value (null)
            line, col = container.lc.key("resources")
            return [
                Edit(line, "replace", col, value_end(lines[line], col), block[0].lstrip()),
                _after(line, block[1:]),
            ]
        end_line = block_end_line(lines, container.lc.line, key_col)
        return [_after(end_line, block)]
    return _map_edits(lines, container, "resources", change_tree(change), step, keep_empty=True)


def change_tree(change: Change) -> dict[str, dict[str, str | None]]:
    tree: dict[str, dict[str, str | None]] = {}
    for (section, resource), value in sorted(change.items(), key=lambda item: _canonical(item[0])):
        tree.setdefault(section, {})[resource] = value
    return tree


def _canonical(fld: Field) -> tuple[int, int, str]:
    section, resource = fld
    rank = RESOURCES.index(resource) if resource in RESOURCES else len(RESOURCES)
    return (SECTIONS.index(section) if section in SECTIONS else len(SECTIONS), rank, resource)


def is_map(value: Any) -> bool:
    """isinstance without narrowing (ruamel nodes carry ``lc`` that Mapping does not declare)."""
    return isinstance(value, Mapping)


def _after(line: int, block: list[str]) -> Edit:
    return Edit(line, "insert_after", new_lines=tuple(block))


def _is_flow(lines: list[str], parent: Any, key: str) -> bool:
    line, col = parent.lc.value(key)
    return body_of(lines[line])[col : col + 1] in ("{", "[")


def _emptied(lines: list[str], parent: Any, key: str, *, keep_empty: bool) -> list[Edit]:
    """Edits that leave ``key: {}`` (keep_empty) or remove the key and its content lines."""
    key_line, key_col = parent.lc.key(key)
    end = block_end_line(lines, key_line, key_col + 1)
    edits = [Edit(i, "delete") for i in range(key_line + 1, end + 1) if not is_comment_or_blank(lines[i])]
    if keep_empty:
        value_line, value_col = parent.lc.value(key)
        if value_line == key_line and _is_flow(lines, parent, key):
            stop = flow_span(lines, value_line, value_col)[1]
        else:
            stop = value_end(lines[key_line], key_col)
        edits.append(Edit(key_line, "replace", key_col, stop, f"{key}: {{}}"))
    else:
        edits.append(Edit(key_line, "delete"))
    return edits


def _map_edits(
    lines: list[str], parent: Any, key: str, tree: Mapping[str, Any], step: int, *, keep_empty: bool
) -> list[Edit]:
    """Edits making ``parent[key]`` (a mapping) carry ``tree`` (nested; None = remove a leaf)."""
    node = parent[key]
    if not is_map(node):
        raise ManifestError(f"`{key}` is not a mapping")
    merged = _apply_tree(node, tree)
    if merged == _apply_tree(node, {}):
        return []
    if not merged:
        return _emptied(lines, parent, key, keep_empty=keep_empty)
    key_col = parent.lc.key(key)[1]
    if _is_flow(lines, parent, key):
        line, col = parent.lc.value(key)
        start, end = flow_span(lines, line, col)
        if len(node) > 0:
            return [Edit(line, "replace", start, end, _flow_text(merged))]
        block = _block_lines({key: merged}, key_col, step)  # `key: {}` becomes a block
        return [Edit(line, "replace", key_col, end, block[0].lstrip()), _after(line, block[1:])]
    child_col: int = node.lc.col
    edits: list[Edit] = []
    keys = list(node.keys())
    for name, want in tree.items():
        if isinstance(want, Mapping):
            if name in node and is_map(node[name]):
                edits.extend(_map_edits(lines, node, name, want, step, keep_empty=False))
                continue
            wanted = {k: v for k, v in want.items() if v is not None}
            if not wanted:
                continue
            if name in node:  # present with a null value: replace that line
                line, col = node.lc.key(name)
                block = _block_lines({name: wanted}, col, step)
                edits += [
                    Edit(line, "replace", col, value_end(lines[line], col), block[0].lstrip()),
                    _after(line, block[1:]),
                ]
                continue
            block = _block_lines({name: wanted}, child_col, step)
            edits.append(_insertion(lines, node, keys, name, block, child_col))
            continue
        if want is None:
            if name in node:
                edits.append(Edit(node.lc.key(name)[0], "delete"))
            continue
        if name in node:
            line, col = node.lc.value(name)
            if body_of(lines[line])[col:].startswith(("{", "[", "|", ">")) or line != node.lc.key(name)[0]:
                raise ManifestError(f"`{name}` value is not a one-line scalar")
            start, end, quote = scalar_span(lines[line], col)
            if body_of(lines[line])[start:end] != quoted(str(want), quote):
                edits.append(Edit(line, "replace", start, end, quoted(str(want), quote)))
        else:
            edits.append(_insertion(lines, node, keys, name, [f"{' ' * child_col}{name}: {want}"], child_col))
    return edits


def _insertion(lines: list[str], node: Any, keys: list[str], name: str, block: list[str], col: int) -> Edit:
    """Insert ``block`` in canonical order (requests before limits, cpu before memory)."""
    order = SECTIONS if name in SECTIONS else RESOURCES
    later = [k for k in keys if k in order and order.index(k) > order.index(name)]
    if later:
        line, _ = node.lc.key(later[0])
        return Edit(line, "insert_before", new_lines=tuple(block))
    return _after(block_end_line(lines, node.lc.line, col), block)


def _apply_tree(node: Mapping[str, Any], tree: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {k: (_apply_tree(v, {}) if isinstance(v, Mapping) else v) for k, v in node.items()}
    for name, want in tree.items():
        if isinstance(want, Mapping):
            current = result.get(name)
            sub = _apply_tree(current if isinstance(current, Mapping) else {}, want)
            if sub:
                result[name] = sub
            else:
                result.pop(name, None)
        elif want is None:
            result.pop(name, None)
        else:
            result[name] = want
    return result
