"""Node type discovery through the `flowengine.nodes` entry-point group.

Each entry point names a list of Node subclasses (or a callable returning one). Our own packs
in nodes/ register exactly like a third-party pack. A pack that fails to import is recorded
with its error and never stops the engine from starting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from .node import Node

log = logging.getLogger("flowengine.registry")

ENTRY_POINT_GROUP = "flowengine.nodes"


@dataclass
class PackInfo:
    name: str
    module: str
    types: list[str] = field(default_factory=list)
    error: str | None = None


class Registry:
    def __init__(self) -> None:
        self.types: dict[str, type[Node]] = {}
        self.packs: dict[str, PackInfo] = {}

    def register(self, cls: type[Node], pack: str = "local") -> None:
        if not cls.type:
            raise ValueError(f"{cls.__name__} has no type name")
        existing = self.types.get(cls.type)
        if existing is not None and existing is not cls:
            raise ValueError(f"node type {cls.type!r} is registered twice: "
                             f"{existing.__module__} and {cls.__module__}")
        self.types[cls.type] = cls
        self.packs.setdefault(pack, PackInfo(pack, cls.__module__)).types.append(cls.type)

    def get(self, type_name: str) -> type[Node] | None:
        return self.types.get(type_name)

    def load_entry_points(self) -> Registry:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            info = PackInfo(ep.name, ep.value)
            self.packs[ep.name] = info
            try:
                loaded = ep.load()
                classes = loaded() if callable(loaded) and not isinstance(loaded, type) else loaded
                if isinstance(classes, type):
                    classes = [classes]
                for cls in classes:
                    self.register(cls, ep.name)
            except Exception as exc:  # a broken pack is listed, never fatal
                info.error = f"{type(exc).__name__}: {exc}"
                log.error("node pack %s (%s) failed to load: %s", ep.name, ep.value, info.error)
        return self


def collect_nodes(package: str) -> list[type[Node]]:
    """Every Node subclass with a type name defined in the modules of `package` (a pack's
    `NODES` list can be just `collect_nodes(__name__)`). Modules starting with _ are skipped."""
    import importlib
    import inspect
    import pkgutil

    pkg = importlib.import_module(package)
    found: list[type[Node]] = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Node) and obj.type and obj.__module__ == module.__name__:
                found.append(obj)
    return found


def default_registry() -> Registry:
    return Registry().load_entry_points()
