"""JavaScript value semantics that Node-RED's behaviour depends on.

Node-RED runs on JavaScript: switch compares with `==`, templates print `String(x)`, MQTT out
serialises with `JSON.stringify`. These helpers reproduce those rules for Python values, with
`UNDEFINED` standing for JavaScript's `undefined` (a missing property), distinct from `None`
(JSON null).
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any


class _Undefined:
    """JavaScript `undefined`: what reading a missing property gives."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:  # one shared marker, compared with `is`
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Any = _Undefined()

_NUMERIC_RE = re.compile(r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$")
_HEX_RE = re.compile(r"^\s*0[xX][0-9a-fA-F]+\s*$")


def is_number(value: Any) -> bool:
    """A JS number: int or float, but not bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def to_number(value: Any) -> float:
    """JavaScript `Number(value)`; NaN when not convertible."""
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, (int, float)):
        return value
    if value is None:
        return 0
    if isinstance(value, str):
        s = value.strip()
        if s == "":
            return 0
        if _NUMERIC_RE.match(s):
            f = float(s)
            return int(f) if f.is_integer() and abs(f) < 2**53 else f
        if _HEX_RE.match(s):
            return int(s, 16)
        if s in ("Infinity", "+Infinity"):
            return math.inf
        if s == "-Infinity":
            return -math.inf
        return math.nan
    if isinstance(value, list):
        if not value:
            return 0
        if len(value) == 1:
            return to_number(value[0])
    return math.nan


def number_to_string(value: float | int) -> str:
    """JavaScript's Number.prototype.toString(): shortest round-trip digits, positional
    notation from 1e-7 up to 1e21, exponential outside (ECMAScript Number::toString)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and abs(value) < 2**53:
        return str(value)
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    _, digit_tuple, exp = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    exp += len("".join(map(str, digit_tuple))) - len(digits)  # trailing zeros moved into the exponent
    k = len(digits)
    n = k + exp  # value = 0.digits x 10^n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        text = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))
    return sign + text


def to_js_string(value: Any) -> str:
    """JavaScript `String(value)`."""
    if isinstance(value, str):
        return value
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return number_to_string(value)
    if isinstance(value, list):
        return ",".join("" if v is None or v is UNDEFINED else to_js_string(v) for v in value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def truthy(value: Any) -> bool:
    """JavaScript truthiness."""
    if value is UNDEFINED or value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    if isinstance(value, (dict, list, bytes, bytearray)):
        return True
    return bool(value)


def _primitive(value: Any) -> Any:
    """JS ToPrimitive for objects, arrays and Buffers (their string form), used by comparisons."""
    if isinstance(value, (list, dict, bytes, bytearray)):
        return to_js_string(value)
    return value


def loose_equals(a: Any, b: Any) -> bool:
    """JavaScript `a == b`."""
    a_nullish = a is None or a is UNDEFINED
    b_nullish = b is None or b is UNDEFINED
    if a_nullish or b_nullish:
        return a_nullish and b_nullish
    if isinstance(a, (dict, list, bytes, bytearray)) and isinstance(b, (dict, list, bytes, bytearray)):
        return a is b  # two objects are equal only when they are the same object
    a, b = _primitive(a), _primitive(b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    na, nb = to_number(a), to_number(b)
    return na == nb


def compare(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Operands of a JS relational comparison (`<`, `>`): strings compare as strings,
    otherwise both become numbers. None means the comparison is false (NaN)."""
    a, b = _primitive(a), _primitive(b)
    if a is UNDEFINED or b is UNDEFINED:
        return None
    if isinstance(a, str) and isinstance(b, str):
        return a, b
    na, nb = to_number(a), to_number(b)
    if isinstance(na, float) and math.isnan(na) or isinstance(nb, float) and math.isnan(nb):
        return None
    return na, nb


def js_typeof(value: Any) -> str:
    if value is UNDEFINED:
        return "undefined"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


_FLOAT_PREFIX = re.compile(r"[+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")


def js_parse_float(value: Any) -> float:
    """JavaScript parseFloat(value): the longest numeric prefix of String(value), else NaN."""
    if is_number(value):
        return value
    m = _FLOAT_PREFIX.match(to_js_string(value).lstrip())
    if not m:
        return math.nan
    text = m.group(0)
    if text.endswith("Infinity"):
        return -math.inf if text.startswith("-") else math.inf
    f = float(text)
    return int(f) if f.is_integer() and abs(f) < 2**53 else f


# ---------------------------------------------------------------- JSON like JSON.stringify


def _jsify(value: Any) -> Any:
    """Convert what JSON.stringify would print differently from Python's json module.

    Returns the same object when nothing needs converting, so the common case allocates nothing.
    """
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer() and abs(value) < 1e21:
            return int(value)
        return value
    if isinstance(value, dict):
        out = None
        for k, v in value.items():
            nv = _jsify(v)
            if nv is not v or v is UNDEFINED:
                if out is None:
                    out = dict(value)
                if v is UNDEFINED or callable(v) and not isinstance(v, type):
                    del out[k]
                else:
                    out[k] = nv
        return value if out is None else out
    if isinstance(value, (list, tuple)):
        out_list = None
        for i, v in enumerate(value):
            nv = _jsify(v)
            if nv is not v or v is UNDEFINED:
                if out_list is None:
                    out_list = list(value)
                out_list[i] = None if v is UNDEFINED else nv
        if out_list is None:
            return value if isinstance(value, list) else list(value)
        return out_list
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"type": "Buffer", "data": list(bytes(value))}
    if value is UNDEFINED:
        return None
    return value


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return {}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return {}


def js_json_dumps(value: Any, indent: int | None = None) -> str:
    """JSON text as JavaScript's JSON.stringify(value, null, indent) writes it."""
    value = _jsify(value)
    separators = (",", ": ") if indent else (",", ":")
    text = json.dumps(value, ensure_ascii=False, indent=indent or None, separators=separators,
                      default=_json_default)
    if "e-" in text and _has_small_float(value):
        # Python writes 1e-05 where JavaScript writes 0.00001 (and 1e-07 for 1e-7): rare, so
        # only then the pure-Python encoder runs, with JavaScript's number formatting.
        text = "".join(_js_number_encoder(indent, separators)(value, 0))
    return text


def _has_small_float(value: Any) -> bool:
    if isinstance(value, float):
        return value != 0 and abs(value) < 1e-4
    if isinstance(value, dict):
        return any(_has_small_float(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_small_float(v) for v in value)
    return False


def _js_number_encoder(indent: int | None, separators: tuple[str, str]) -> Any:
    from json.encoder import _make_iterencode, py_encode_basestring  # type: ignore[attr-defined]

    return _make_iterencode({}, _json_default, py_encode_basestring, " " * indent if indent else None,
                            number_to_string, separators[1], separators[0], False, False, True)


def json_loads(text: str | bytes) -> Any:
    """JSON.parse: rejects NaN/Infinity literals, which JavaScript does not accept."""
    return json.loads(text, parse_constant=_reject_constant)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"Unexpected token {name} in JSON")
