"""Field types for node config models that read Node-RED's flows.json as written.

Node-RED's editor stores most numbers as strings ("5", "" for unset) and booleans sometimes as
"true"/"false"; these annotated types accept that and give clean Python values.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field


def _opt_number(v: Any) -> Any:
    if v is None or (isinstance(v, str) and v.strip() == ""):
        return None
    return v


def _js_bool(v: Any) -> Any:
    if isinstance(v, str):
        s = v.strip().lower()
        if s in ("true", "1", "yes", "on"):
            return True
        if s in ("false", "0", "", "no", "off"):
            return False
    if v is None:
        return False
    return v


def _str(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return v


# A number that may be blank ("" or missing -> None).
OptionalNumber = Annotated[float | None, BeforeValidator(_opt_number)]
OptionalInt = Annotated[int | None, BeforeValidator(_opt_number)]
# true/false, also "true"/"false" as Node-RED writes some flags.
JSBool = Annotated[bool, BeforeValidator(_js_bool)]
# Any scalar as a string (Node-RED mixes "5" and 5).
Text = Annotated[str, BeforeValidator(_str)]


def node_ref(node_type: str, *, required: bool = True, **kw: Any) -> Any:
    """A field holding the id of a config node of `node_type` (checked at validation)."""
    return Field(default="", json_schema_extra={"node_ref": node_type, "required": required}, **kw)
