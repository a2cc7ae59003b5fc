"""Messages are plain dicts, as in Node-RED; these helpers give them ids and copies."""

from __future__ import annotations

import copy
import os
from typing import Any

Message = dict[str, Any]

_IMMUTABLE = (str, int, float, bool, type(None), bytes)


def new_msgid() -> str:
    """A random 16-hex-digit id, the shape Node-RED gives `_msgid`."""
    return os.urandom(8).hex()


def clone_message(value: Any) -> Any:
    """Deep copy for fan-out: dicts and lists are copied, immutable values shared.

    Large payloads that nodes treat as read-only (bytes, numpy frames) are shared, never
    copied: a camera frame fanned out to three nodes costs nothing extra. A message that
    contains itself (a cycle) falls back to copy.deepcopy, which keeps the cycle.
    """
    try:
        return _clone(value)
    except RecursionError:
        return copy.deepcopy(value)


def _clone(value: Any) -> Any:
    cls = type(value)
    if cls is dict:
        return {k: (v if type(v) in _IMMUTABLE else _clone(v)) for k, v in value.items()}
    if cls is list:
        return [v if type(v) in _IMMUTABLE else _clone(v) for v in value]
    if cls in _IMMUTABLE:
        return value
    if cls is bytearray:
        return bytearray(value)
    if getattr(cls, "__module__", "") == "numpy":  # frames: shared by reference, read-only
        return value
    if cls is tuple:
        return tuple(_clone(v) for v in value)
    from .jsvalue import UNDEFINED
    if value is UNDEFINED:
        return value
    try:
        return copy.deepcopy(value)
    except Exception:  # objects that cannot be copied (sockets, handles) are shared
        return value
