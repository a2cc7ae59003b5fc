"""The function pack: the python-function node, registered through the `flowengine.nodes` entry point
like any third-party pack. Every Node subclass with a type name in this package's modules is
exported in NODES."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from flowengine.node import Node


def _collect() -> list[type[Node]]:
    found: list[type[Node]] = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Node) and obj.type and obj.__module__ == module.__name__:
                found.append(obj)
    return found


NODES = _collect()
