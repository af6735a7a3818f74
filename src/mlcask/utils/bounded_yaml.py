"""Reading YAML that came from a file someone else may have written, within bounds.

A YAML document can be small on disk and huge in memory: anchors and aliases let a few
hundred bytes stand for billions of nodes (the "billion laughs"), and a long document
costs the pure-Python parser about a second per megabyte. :func:`load_yaml` reads a
document of at most ``max_bytes`` with libyaml where available, and refuses it before
building any Python object when its aliases would expand it past ``MAX_NODES`` nodes or
nest it deeper than ``MAX_DEPTH``.
"""

from __future__ import annotations

from typing import Any

import yaml

from mlcask.exceptions import ModelFormatError

MAX_NODES = 50_000
MAX_DEPTH = 100

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_expansion(root: yaml.Node, where: str) -> None:
    """Count the nodes ``root`` stands for once every alias is expanded, without expanding."""
    expanded: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, children_done = stack.pop()
        if depth > MAX_DEPTH:
            raise ModelFormatError(f"{where} nests deeper than {MAX_DEPTH} levels; refusing to read it.")
        if id(node) in expanded and not children_done:
            continue
        if isinstance(node, yaml.ScalarNode):
            expanded[id(node)] = 1
            continue
        children = ([n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode)
                    else list(node.value))
        if not children_done:
            stack.append((node, depth, True))
            stack.extend((child, depth + 1, False) for child in children if id(child) not in expanded)
            continue
        total = 1 + sum(expanded.get(id(child), 1) for child in children)
        if total > MAX_NODES:
            raise ModelFormatError(
                f"{where} expands to more than {MAX_NODES:,} YAML nodes (through anchors and aliases, or sheer "
                "size); refusing to read it.")
        expanded[id(node)] = total


def _check_event_count(data: bytes | str, where: str) -> None:
    """Refuse a document of more than ``MAX_NODES`` nodes before composing any (composing is
    the slow part: a few seconds for a megabyte of small nodes)."""
    for count, _event in enumerate(yaml.parse(data, Loader=_Loader)):
        if count > 2 * MAX_NODES:  # a collection is two events, start and end
            raise ModelFormatError(f"{where} holds more than {MAX_NODES:,} YAML nodes; refusing to read it.")


def load_yaml(data: bytes | str, where: str, max_bytes: int) -> Any:
    """Parse the YAML document ``data`` (from ``where``, for messages), within the bounds above."""
    size = len(data.encode() if isinstance(data, str) else data)
    if size > max_bytes:
        raise ModelFormatError(f"{where} is {size:,} bytes; at most {max_bytes:,} are read.")
    loader = _Loader(data)
    try:
        _check_event_count(data, where)
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node, where)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise ModelFormatError(f"{where} is not valid YAML: {exc}") from None
    except RecursionError:
        raise ModelFormatError(f"{where} nests too deeply; refusing to read it.") from None
    finally:
        loader.dispose()
