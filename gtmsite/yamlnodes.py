"""YAML that remembers where each value was written: for messages that point at `file:LINE`.

`load_located(text)` returns plain Python values in which every mapping is a `LocatedMap` (a dict
that knows the line of each key) and every list a `LocatedList` (a list that knows each item's line).
"""

from __future__ import annotations

from typing import Any

import yaml


class LocatedMap(dict):
    """A YAML mapping; `line_of(key)` is the line (1-based) where the key is written."""

    def __init__(self, items: list[tuple[Any, Any, int]], line: int):
        super().__init__((k, v) for k, v, _ in items)
        self.lines = {k: n for k, _, n in items}
        self.line = line

    def line_of(self, key: Any) -> int:
        return self.lines.get(key, self.line)


class LocatedList(list):
    """A YAML sequence; `line_of(i)` is the line of item i."""

    def __init__(self, items: list[tuple[Any, int]], line: int):
        super().__init__(v for v, _ in items)
        self.lines = [n for _, n in items]
        self.line = line

    def line_of(self, index: int) -> int:
        return self.lines[index] if 0 <= index < len(self.lines) else self.line


class YamlSyntaxError(ValueError):
    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.message = message
        self.line = line


class DuplicateKey(YamlSyntaxError):
    pass


def load_located(text: str, first_line: int = 1) -> Any:
    """Parse one YAML document; lines are counted from `first_line` (the file line of the text's first
    line). Raises YamlSyntaxError with the line of the mistake."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        return _value(loader, node, first_line - 1) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line + first_line) if mark else first_line
        raise YamlSyntaxError(f"not valid YAML: {exc.problem or exc.context}", line) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"not valid YAML: {exc}", first_line) from None
    finally:
        loader.dispose()


def _value(loader: yaml.SafeLoader, node: yaml.Node, offset: int) -> Any:
    line = node.start_mark.line + 1 + offset
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        items, seen = [], {}
        for key_node, value_node in node.value:
            key = _value(loader, key_node, offset)
            key_line = key_node.start_mark.line + 1 + offset
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise YamlSyntaxError(f"expected a name as key, got {key!r}", key_line)
            if key in seen:
                raise DuplicateKey(f"'{key}' is written twice (first on line {seen[key]}); keep one", key_line)
            seen[key] = key_line
            items.append((key, _value(loader, value_node, offset), key_line))
        return LocatedMap(items, line)
    if isinstance(node, yaml.SequenceNode):
        return LocatedList([(_value(loader, item, offset), item.start_mark.line + 1 + offset) for item in node.value],
                           line)
    return loader.construct_object(node, deep=True)
