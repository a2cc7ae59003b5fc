"""Load-time `${NAME}` substitution in node properties, as Node-RED does it.

A property whose whole string value is `${NAME}` (or legacy `$(NAME)`) is replaced by that
variable resolved through the node's env chain; unresolved names stay as written. Embedded
references (`a-${X}-b`) are left for `env` typed values to expand.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

_WHOLE_REF = re.compile(r"^\$\{([^}]+)\}$|^\$\(([^)]+)\)$")
_STRUCTURAL = frozenset({"id", "type", "z", "wires", "x", "y", "g", "d"})

EnvLookup = Callable[[str], Any]


def process_env_lookup(name: str) -> Any:
    return os.environ.get(name)


def _subst(value: Any, lookup: EnvLookup) -> Any:
    if isinstance(value, str):
        if "$" not in value:
            return value
        m = _WHOLE_REF.match(value)
        if m:
            resolved = lookup((m.group(1) or m.group(2)).strip())
            return value if resolved is None else resolved
        return value
    if isinstance(value, list):
        out = [_subst(v, lookup) for v in value]
        return value if all(a is b for a, b in zip(out, value, strict=True)) else out
    if isinstance(value, dict):
        changed = {k: _subst(v, lookup) for k, v in value.items()}
        return value if all(changed[k] is value[k] for k in value) else changed
    return value


def substitute_properties(obj: dict, lookup: EnvLookup | None) -> dict:
    """A copy-on-write version of `obj` with whole-value env references replaced."""
    lookup = lookup or process_env_lookup
    out = None
    for key, value in obj.items():
        if key in _STRUCTURAL:
            continue
        new = _subst(value, lookup)
        if new is not value:
            if out is None:
                out = dict(obj)
            out[key] = new
    return obj if out is None else out
