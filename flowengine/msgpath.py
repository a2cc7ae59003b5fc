"""Node-RED property paths: `payload.a`, `a["b c"]`, `arr[0]`, `a[msg.topic]`.

Paths are parsed once (cached) into segments; `get`, `set` and `delete` walk them. Setting
creates missing parents (a list when the next segment is a number), as Node-RED does.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from .jsvalue import UNDEFINED


class PathError(ValueError):
    """An invalid property expression, or a set under a non-object."""


class MsgRef:
    """A nested `msg.x` reference inside brackets, resolved at access time."""

    __slots__ = ("segments",)

    def __init__(self, segments: tuple):
        self.segments = segments

    def __repr__(self) -> str:
        return f"MsgRef({self.segments!r})"


_IDENT_END = re.compile(r"[.\[]")


@lru_cache(maxsize=4096)
def parse(path: str) -> tuple:
    """Split a property expression into segments (str keys, int indexes, MsgRef)."""
    if not isinstance(path, str):
        raise PathError(f"property must be a string, got {type(path).__name__}")
    text = path.strip()
    if text.startswith("msg."):
        text = text[4:]
    if not text:
        raise PathError("empty property expression")
    segments: list = []
    i, n = 0, len(text)
    expect_ident = True
    while i < n:
        c = text[i]
        if c == ".":
            if expect_ident:
                raise PathError(f"invalid property expression {path!r}: unexpected '.' at {i}")
            i += 1
            expect_ident = True
            if i >= n:
                raise PathError(f"invalid property expression {path!r}: ends with '.'")
            continue
        if c == "[":
            j = i + 1
            if j < n and text[j] in "\"'":
                quote = text[j]
                k = text.find(quote, j + 1)
                if k < 0 or k + 1 >= n or text[k + 1] != "]":
                    raise PathError(f"invalid property expression {path!r}: unterminated string")
                segments.append(text[j + 1:k])
                i = k + 2
            else:
                depth, k = 1, j
                while k < n and depth:
                    if text[k] == "[":
                        depth += 1
                    elif text[k] == "]":
                        depth -= 1
                    k += 1
                if depth:
                    raise PathError(f"invalid property expression {path!r}: missing ']'")
                inner = text[j:k - 1].strip()
                if re.fullmatch(r"-?\d+", inner):
                    segments.append(int(inner))
                elif inner.startswith("msg."):
                    segments.append(MsgRef(parse(inner)))
                else:
                    raise PathError(f"invalid property expression {path!r}: bad index [{inner}]")
                i = k
            expect_ident = False
            continue
        if not expect_ident:
            raise PathError(f"invalid property expression {path!r}: unexpected {c!r} at {i}")
        m = _IDENT_END.search(text, i)
        end = m.start() if m else n
        ident = text[i:end]
        if not ident or " " in ident.strip() and ident.strip() != ident:
            raise PathError(f"invalid property expression {path!r}")
        segments.append(ident)
        i = end
        expect_ident = False
    return tuple(segments)


def _resolve(segments: tuple, root: dict | None) -> tuple:
    if not any(isinstance(s, MsgRef) for s in segments):
        return segments
    out = []
    for s in segments:
        if isinstance(s, MsgRef):
            v = get_segments(root, _resolve(s.segments, root))
            if v is UNDEFINED:
                raise PathError("nested property reference is undefined")
            out.append(v if isinstance(v, (int, str)) else str(v))
        else:
            out.append(s)
    return tuple(out)


def get_segments(obj: Any, segments: tuple) -> Any:
    for seg in segments:
        if isinstance(obj, dict):
            obj = obj.get(seg, UNDEFINED) if isinstance(seg, str) else obj.get(str(seg), UNDEFINED)
        elif isinstance(obj, (list, str, bytes, bytearray)):
            if isinstance(seg, int) or isinstance(seg, str) and seg.isdigit():
                idx = int(seg)
                if 0 <= idx < len(obj):
                    obj = obj[idx]
                else:
                    return UNDEFINED
            elif seg == "length":
                obj = len(obj)
            else:
                return UNDEFINED
        else:
            return UNDEFINED
        if obj is UNDEFINED:
            return UNDEFINED
    return obj


def get(obj: Any, path: str, root: dict | None = None) -> Any:
    """Value at `path`, or UNDEFINED when any part is missing."""
    segs = parse(path)
    if len(segs) == 1 and isinstance(obj, dict):  # hot path: `payload`, `topic`
        return obj.get(segs[0], UNDEFINED)
    return get_segments(obj, _resolve(segs, root if root is not None else obj))


def set(obj: dict, path: str, value: Any, create: bool = True, root: dict | None = None) -> None:
    """Set the value at `path`; UNDEFINED deletes it. Raises PathError under a non-object."""
    if value is UNDEFINED:
        delete(obj, path, root=root)
        return
    segs = _resolve(parse(path), root if root is not None else obj)
    target: Any = obj
    for i, seg in enumerate(segs[:-1]):
        nxt = _child(target, seg)
        if nxt is UNDEFINED or nxt is None:
            if not create:
                return
            nxt = [] if isinstance(segs[i + 1], int) else {}
            _assign(target, seg, nxt, path)
        elif not isinstance(nxt, (dict, list)):
            raise PathError(f"cannot set property {path!r}: {seg!r} is not an object")
        target = nxt
    _assign(target, segs[-1], value, path)


def delete(obj: dict, path: str, root: dict | None = None) -> None:
    segs = _resolve(parse(path), root if root is not None else obj)
    target = get_segments(obj, segs[:-1]) if len(segs) > 1 else obj
    last = segs[-1]
    if isinstance(target, dict):
        target.pop(last if isinstance(last, str) else str(last), None)
    elif isinstance(target, list) and isinstance(last, int) and 0 <= last < len(target):
        target[last] = None  # JS `delete arr[i]` leaves a hole, serialised as null


def _child(target: Any, seg: Any) -> Any:
    if isinstance(target, dict):
        return target.get(seg if isinstance(seg, str) else str(seg), UNDEFINED)
    if isinstance(target, list):
        if isinstance(seg, str) and seg.isdigit():
            seg = int(seg)  # `a.0.b` addresses an array element, as `a[0].b` does
        if isinstance(seg, int):
            return target[seg] if 0 <= seg < len(target) else UNDEFINED
    return UNDEFINED


def _assign(target: Any, seg: Any, value: Any, path: str) -> None:
    if isinstance(target, dict):
        target[seg if isinstance(seg, str) else str(seg)] = value
    elif isinstance(target, list):
        if isinstance(seg, str) and seg.isdigit():
            seg = int(seg)
        if not isinstance(seg, int) or seg < 0:
            raise PathError(f"cannot set property {path!r}: array index {seg!r}")
        if seg >= len(target):
            target.extend([None] * (seg + 1 - len(target)))
        target[seg] = value
    else:
        raise PathError(f"cannot set property {path!r} of a {type(target).__name__}")


def validate(path: str) -> str | None:
    """None if `path` parses, else the error text (for flow validation)."""
    try:
        parse(path)
    except PathError as exc:
        return str(exc)
    return None
