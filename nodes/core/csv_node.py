"""csv: convert between CSV text and objects with Node-RED 4's two engines.

`spec: "rfc"` is the RFC 4180 engine (Node-RED 4's default for new nodes); an empty spec is the
legacy engine that older flows use. Both keep Node-RED's observable quirks (column order,
number parsing, null vs empty cells, msg.parts), because flows depend on the exact output.

Python's `csv` module is not used for reading: it cannot tell an unquoted empty cell (null in
Node-RED) from a quoted one ("" in Node-RED), which `include_null_values` and
`include_empty_strings` depend on, and its recovery from stray quotes differs.
"""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import Field

from flowengine import ConfigError, Message, Node, NodeConfig
from flowengine.fields import JSBool, Text
from flowengine.jsvalue import UNDEFINED, is_number, js_json_dumps, to_js_string, to_number
from flowengine.message import clone_message

CSV_JS = "This node only handles CSV strings or js objects."
OBJ_CSV = "No columns template specified for object -> CSV."
BAD_CSV = "Malformed CSV data - output probably corrupt."
BAD_TEMPLATE = "Malformed columns template."

# Legacy engine: which cells become numbers (then read with parseFloat)
_LEGACY_NUMBER = re.compile(r"-?(?![eE])(?!0[0-9])[0-9]*\.?[0-9]*([eE]-?\+?)?[0-9]+")
_FLOAT_PREFIX = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
# RFC engine: cells that stay strings even when numeric (leading +, leading zero)
_RFC_NOT_NUMBER = re.compile(r" *(\+|-0[0-9]|0[0-9])")
_RADIX = re.compile(r"\s*0([bBoO])([0-9a-fA-F]+)\s*")
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")


class CsvConfig(NodeConfig):
    spec: Text = Field("", description="'rfc' for RFC 4180, '' for the legacy engine")
    sep: Text = Field(",", description="column separator (\\t for tab)")
    temp: Text = Field("", description="column names, comma-separated; else msg.columns or the header row")
    hdrin: JSBool = Field(False, description="the first row of the CSV holds the column names")
    hdrout: Text = Field("none", description="none | all | once (until msg.reset): write the column-name row")
    multi: Text = Field("one", description="one: a message per row | mult: one message with an array")
    ret: Text = Field("", description="line ending written: \\n, \\r or \\r\\n (default \\n; rfc \\r\\n)")
    skip: Text = Field("0", description="lines to skip at the start of the CSV")
    strings: JSBool = Field(True, description="parse numerical values into numbers")
    include_empty_strings: JSBool = Field(False, description="keep empty cells as ''")
    include_null_values: JSBool = Field(False, description="keep missing cells as null")


class CsvError(ValueError):
    """A runtime error reported with the message (Node-RED throws these as TypeErrors)."""


# ---------------------------------------------------------------- JavaScript value helpers


def _unescape(text: str) -> str:
    return text.replace("\\t", "\t").replace("\\n", "\n").replace("\\r", "\r")


def _parse_int(text: str) -> int:
    """parseInt(text), with NaN read as 0 (Node-RED then never skips)."""
    m = re.match(r"\s*([+-]?[0-9]+)", text)
    return int(m.group(1)) if m else 0


def _js_num(value: float) -> int | float:
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _is_object(value: Any) -> bool:
    """typeof value === "object" (null, arrays and Buffers included)."""
    return not isinstance(value, (str, bool, int, float)) and value is not UNDEFINED


def js_keys(value: Any) -> list[str]:
    """Object.keys / for-in order: array-index keys ascending first, then insertion order."""
    if value is None or value is UNDEFINED:
        raise CsvError("Cannot convert undefined or null to object")
    if isinstance(value, dict):
        keys = [str(k) for k in value]
        index = sorted((k for k in keys if _ARRAY_INDEX.fullmatch(k) and int(k) < 2**32 - 1), key=int)
        return index + [k for k in keys if k not in set(index)] if index else keys
    if isinstance(value, (list, str, bytes, bytearray)):
        return [str(i) for i in range(len(value))]
    return []


def _own(value: Any, key: str) -> Any:
    """value[key] for a JS object or array; UNDEFINED when absent."""
    if value is None or value is UNDEFINED:
        raise CsvError(f"Cannot read properties of {to_js_string(value)} (reading '{key}')")
    if isinstance(value, dict):
        return value.get(key, UNDEFINED)
    if isinstance(value, (list, str, bytes, bytearray)) and _ARRAY_INDEX.fullmatch(key) \
            and int(key) < len(value):
        return value[int(key)]
    return UNDEFINED


def _ensure_string(value: Any) -> str:
    """RED.util.ensureString: objects (and null) as JSON, Buffers as text."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    if value is None or isinstance(value, (dict, list, tuple)):
        return js_json_dumps(value)
    return to_js_string(value)


def _columns_text(msg: Message) -> str:
    cols = msg.get("columns")
    if not cols:  # msg.columns || ""
        return ""
    if not isinstance(cols, str):
        raise CsvError("msg.columns must be a comma-separated string")
    return cols


def _later_part(msg: Message) -> bool:
    """msg.parts.index > 0: a later message of a sequence keeps the columns found so far."""
    parts = msg.get("parts")
    return isinstance(parts, dict) and is_number(parts.get("index")) and parts["index"] > 0


# ---------------------------------------------------------------- the two engines


class _Engine:
    """What both engines share: config, header state and the message-per-row output."""

    def __init__(self, node: Node, cfg: CsvConfig, default_ret: str):
        self.node = node
        self.sep = _unescape(cfg.sep or ",")
        self.ret = _unescape(cfg.ret or default_ret)
        self.multi = cfg.multi or "one"
        hdrout = cfg.hdrout or "none"
        self.hdrout = {"true": "all", "false": "none"}.get(hdrout, hdrout)
        self.hdrin = cfg.hdrin
        self.skip = _parse_int(cfg.skip or "0")
        self.parse_numbers = cfg.strings
        self.include_empty = cfg.include_empty_strings
        self.include_null = cfg.include_null_values
        self.config_template = cfg.temp or ""
        self.hdr_sent = False
        self.warned_template = False
        self.store: list[dict] = []  # rows of a msg.parts sequence, until its last part

    def warn_no_template(self) -> None:
        if not self.warned_template:  # Node-RED warns only once per node
            self.warned_template = True
            self.node.warn(OBJ_CSV)

    def sequence(self, msg: Message) -> tuple[dict | None, bool, bool, Any]:
        """(parts, first_line, last_part, line_count) for a CSV string, from msg.parts."""
        parts = msg.get("parts")
        if not isinstance(parts, dict):
            return None, True, False, 0
        index, count = parts.get("index", UNDEFINED), parts.get("count", UNDEFINED)
        numeric = is_number(index)
        first = not (numeric and index > self.skip)
        last = numeric and is_number(count) and index + 1 >= count
        return parts, first, last, index

    def keep(self, rows: list[dict]) -> None:
        limit = self.node.host.setting("max_buffered", 10000)
        room = max(0, limit - len(self.store))
        if len(rows) > room:
            self.node.warn(f"csv: more than {limit} rows waiting for the last part; rows dropped")
        self.store.extend(rows[:room])

    def one_per_row(self, msg: Message, rows: list[dict], columns: str, parts: dict | None,
                    last: bool) -> list[Message]:
        out = []
        for index, row in enumerate(rows):
            m = clone_message(msg)
            m["columns"] = columns
            m["payload"] = row
            if parts is None:
                m["parts"] = {"id": msg.get("_msgid"), "index": index, "count": len(rows)}
            else:  # a line of a split file: renumber without the skipped and header lines
                shift = self.skip + (1 if self.hdrin else 0)
                for key in ("index", "count"):
                    if is_number(m["parts"].get(key)):
                        m["parts"][key] -= shift
            if last:
                m["complete"] = True
            out.append(m)
        if parts is not None and last and not rows:
            out.append({"complete": True})
        return out

    def all_in_one(self, msg: Message, rows: list[dict], stored: list[dict], columns: str,
                   parts: dict | None, line_breaks: int) -> list[Message]:
        if parts is None or line_breaks > 1:
            msg["payload"] = rows
            msg["columns"] = columns
            return [msg]
        self.keep(stored)
        index, count = parts.get("index"), parts.get("count")
        if not (is_number(index) and is_number(count) and index + 1 == count):
            return []  # wait for the last part of the sequence
        msg["payload"], self.store = self.store, []
        msg["columns"] = columns
        del msg["parts"]
        return [msg]


class _Legacy(_Engine):
    """Node-RED's original CSV engine: a character loop where any quote toggles quoting."""

    def __init__(self, node: Node, cfg: CsvConfig):
        super().__init__(node, cfg, "\n")
        self.split_sep = ","  # Node-RED's template splitter keeps the separator it last used
        self.good = True
        self.template = self.clean(self.config_template, ",")
        self.no_template = self.template == [""]

    def clean(self, text: str, sep: str | None = None) -> list[str]:
        """Column names: split at separators outside quotes, drop every quote, trim."""
        if sep:
            self.split_sep = sep
        text, sep = text.strip(), self.split_sep
        cols, start, i = [], 0, text.find(sep)
        while i >= 0:
            if text.count('"', i + len(sep)) % 2 == 0:  # an even number of quotes follows it
                cols.append(text[start:i])
                start = i + len(sep)
                i = text.find(sep, start)
            else:
                i = text.find(sep, i + 1)
        cols.append(text[start:])
        cols = [c.replace('"', "").strip() for c in cols]
        self.good = cols != [""]
        return cols

    def _quote(self, text: str, newline: bool) -> str:
        if '"' in text:
            return '"' + text.replace('"', '""') + '"'
        if self.sep in text or newline:
            return '"' + text + '"'
        return text

    # -------------------------------------------------------- objects -> CSV text
    def to_csv(self, msg: Message) -> list[Message]:
        payload = msg["payload"]
        if not (self.no_template and _later_part(msg)):
            self.template = self.clean(self.config_template)
        rows = payload if isinstance(payload, list) else [payload]
        lines = []
        if self.hdrout != "none" and not self.hdr_sent:
            if self.template == [""]:
                if "columns" in msg:
                    self.template = self.clean(_columns_text(msg), ",")
                else:
                    self.template = js_keys(rows[0] if rows else UNDEFINED)
            lines.append(self.sep.join(f'"{c}"' if self.sep in c else c for c in self.template))
            if self.hdrout == "once":
                self.hdr_sent = True
        s = 0
        while s < len(rows):
            row = rows[s]
            if isinstance(row, list) or not _is_object(row):
                if not _is_object(row):  # primitives: the whole array is a single row
                    rows = [rows]
                    if s >= len(rows):
                        raise CsvError("Cannot read properties of undefined (reading 'length')")
                    row = rows[s]
                lines.append(self.sep.join(self._array_cell(v) for v in row))
            else:
                lines.append(self._object_line(msg, rows, row))
            s += 1
        msg["payload"] = self.ret.join(lines) + self.ret
        msg["columns"] = ",".join(f'"{c}"' if "," in c else c for c in self.template)
        return [msg]

    def _array_cell(self, value: Any) -> str:
        if value is None:
            raise CsvError("Cannot read properties of null (reading 'toString')")
        text = "" if value is UNDEFINED else to_js_string(value)
        return self._quote(text, "\n" in text)

    def _object_line(self, msg: Message, rows: list, row: Any) -> str:
        if self.template == [""] and "columns" in msg:
            self.template = self.clean(_columns_text(msg), ",")
        if self.template != [""]:
            cells = []
            for name in self.template:
                value = _own(row, name) if name else ""
                text = "" if value is UNDEFINED else _ensure_string(value)
                cells.append(self._quote(text, "\n" in text) if name else "")
            return self.sep.join(cells)
        self.warn_no_template()
        first = rows[0]
        cells = []
        for key in [] if first is None else js_keys(first):  # the first row's keys, for every row
            value = _own(row, key)
            if value is not UNDEFINED and not _is_object(value):
                cells.append(self._quote(to_js_string(value), "\n" in key))
        return self.sep.join(cells)

    # -------------------------------------------------------- CSV text -> objects
    def from_csv(self, msg: Message, text: str) -> list[Message]:
        parts, first, last, line_count = self.sequence(msg)
        line_breaks = text.count("\r") + text.count("\n")
        if parts is not None and self.multi == "mult" and line_breaks > 1:
            first = True
        sep, n = self.sep, len(text)
        header, quoted = "", False
        j, cells, obj = 0, [""], {}
        rows: list[dict] = []
        for i, ch in enumerate(text):
            if first and is_number(line_count) and line_count < self.skip:
                if ch == "\n":  # the legacy engine counts only \n when skipping
                    line_count += 1
                continue
            if self.hdrin and first:  # the header ends at the first \r or \n, quoted or not
                if ch in "\r\n" or i == n - 1:
                    if i == n - 1:
                        header += ch
                    self.template = self.clean(header, sep)
                    first = False
                else:
                    header += ch
                continue
            if ch == '"':
                quoted = not quoted
                if quoted and i > 0 and text[i - 1] == '"':  # "" inside quotes is a quote
                    cells[j] += '"'
            elif ch == sep and not quoted:
                if self._column(j):
                    if i == 0:  # Node-RED reads line[-1] here and throws
                        raise CsvError("Cannot read properties of undefined (reading 'includes')")
                    self._put(obj, j, None if text[i - 1] in (sep, "\n") else cells[j])
                j += 1
                cells.append(None if i == n - 1 else "")
            elif ch in "\r\n" and not quoted:
                if self._column(j):
                    self._put(obj, j, None if i > 0 and text[i - 1] == sep else cells[j])
                if obj:
                    rows.append(obj)
                j, cells, obj = 0, [""], {}
            else:
                cells[j] += ch
        if quoted:
            self.node.warn(BAD_CSV)
        if self._column(j):
            self._put(obj, j, cells[j])
        if obj:
            rows.append(obj)
        columns = ",".join(f'"{c}"' if "," in c else c for c in self.template if c)
        if self.multi != "one":
            # only the object still open at the end is kept for a sequence (Node-RED's rule)
            return self.all_in_one(msg, rows, [obj] if obj else [], columns, parts, line_breaks)
        return self.one_per_row(msg, rows, columns, parts, last)

    def _column(self, j: int) -> str | None:
        if not self.good:  # no column names: col1, col2, ... (kept for later messages)
            self.template.extend([""] * (j + 1 - len(self.template)))
            self.template[j] = f"col{j + 1}"
        return self.template[j] if j < len(self.template) else None

    def _put(self, obj: dict, j: int, value: str | None) -> None:
        name = self.template[j]
        if value is not None and self.parse_numbers and _LEGACY_NUMBER.fullmatch(value.strip()):
            m = _FLOAT_PREFIX.match(value.strip())  # parseFloat: the longest numeric prefix
            value = _js_num(float(m.group(0))) if m else math.nan  # ".E5" passes the test, is NaN
        if value is None:
            if self.include_null:
                obj[name] = None
        elif value == "":
            if self.include_empty:
                obj[name] = ""
        else:
            obj[name] = value


class _Rfc(_Engine):
    """Node-RED 4's RFC 4180 engine."""

    def __init__(self, node: Node, cfg: CsvConfig):
        super().__init__(node, cfg, "\r\n")
        self.quoteables = (self.sep, '"', "\n", "\r")
        try:
            self.template: list | None = self.template_from(self.config_template) or [""]
        except CsvError as exc:
            raise ConfigError("temp", f"{BAD_TEMPLATE} {exc}") from exc
        self.no_template = not _has_template(self.template)

    @staticmethod
    def template_from(text: str) -> list | None:
        rows, _ = rfc_tokenize(text, 0, ",", strict=True)
        return rows[0] if rows else None

    # -------------------------------------------------------- objects -> CSV text
    def to_csv(self, msg: Message) -> list[Message]:
        data = msg["payload"]
        if not isinstance(data, list):
            data, arrays = [data], False
        elif data and not _is_object(data[0]):
            data, arrays = [data], True  # an array of primitives is one row
        else:
            arrays = bool(data) and isinstance(data[0], list)
        if not (self.no_template and _later_part(msg)):
            self.template = self.template_from(self.config_template) or [""]
        lines = []
        if self.hdrout in ("all", "once") and not self.hdr_sent:
            if not _has_template(self.template):
                if "columns" in msg:
                    self.template = self.template_from(_columns_text(msg)) or [""]
                else:
                    self.template = js_keys(data[0] if data else UNDEFINED)
            # the header row is always comma-joined, whatever the separator (as Node-RED does)
            lines.append(",".join(quote_cell(h or "", (",", '"', "\n", "\r")) for h in self.template or []))
            if self.hdrout == "once":
                self.hdr_sent = True
        for row in data:
            lines.append(self._array_line(row) if arrays else self._object_line(msg, data, row))
        msg["payload"] = self.ret.join(lines) + self.ret
        msg["columns"] = header_string(self.template or [])
        return [msg]

    def _array_line(self, row: Any) -> str:
        template = self.template or []
        use_template = _has_template(template)
        if use_template:
            length = len(template)
        elif row is None:
            raise CsvError("Cannot read properties of null (reading 'length')")
        else:
            length = len(row) if isinstance(row, (list, str)) else 0
        cells = []
        for t in range(length):
            if use_template and not template[t]:
                cells.append("")
                continue
            cell = _own(row, str(t))
            cells.append(quote_cell(_ensure_string("" if cell is UNDEFINED else cell), self.quoteables))
        return self.sep.join(cells)

    def _object_line(self, msg: Message, data: list, row: Any) -> str:
        if not _has_template(self.template) and "columns" in msg:
            self.template = self.template_from(_columns_text(msg))
        if _has_template(self.template):
            cells = []
            for name in self.template:  # type: ignore[union-attr]
                value = _own(row, name) if name else ""
                cells.append(quote_cell(_ensure_string("" if value is UNDEFINED else value), self.quoteables)
                             if name else "")
            return self.sep.join(cells)
        self.warn_no_template()
        first = data[0]
        cells = []
        for key in [] if first is None else js_keys(first):
            value = _own(row, key)
            if value is not UNDEFINED and not _is_object(value):
                cells.append(quote_cell(to_js_string(value), self.quoteables))
        return self.sep.join(cells)

    # -------------------------------------------------------- CSV text -> objects
    def from_csv(self, msg: Message, text: str) -> list[Message]:
        parts, first, last, line_count = self.sequence(msg)
        cursor = 0
        if self.skip > 0 and is_number(line_count) and line_count < self.skip:
            while cursor < len(text) and first and line_count < self.skip:
                if text[cursor] in "\r\n":  # here \r\n counts as two lines, as in Node-RED
                    line_count += 1
                cursor += 1
            if cursor >= len(text):
                return []  # only skipped lines: nothing to send
        line_breaks = sum(1 for c in text[cursor:] if c in "\r\n")
        if parts is not None and self.multi == "mult" and line_breaks > 1:
            first = True
        if first and self.hdrin:
            try:
                head, cursor = rfc_tokenize(text, cursor, self.sep, strict=True, first_row_only=True)
            except CsvError:
                self.node.status(fill="red", shape="dot", text=BAD_TEMPLATE)
                raise
            self.template = head[0] if head else []
        rows, _ = rfc_tokenize(text, cursor, self.sep, strict=False)
        if _has_template(self.template):
            headers: list = self.template  # type: ignore[assignment]
        else:
            headers = [f"col{i + 1}" for i in range(len(rows[0]))] if rows else []
        objects = self._objects(rows, headers)
        columns = header_string(headers)
        if self.multi != "one":
            return self.all_in_one(msg, objects, objects, columns, parts, line_breaks)
        return self.one_per_row(msg, objects, columns, parts, last)

    def _objects(self, rows: list[list], headers: list) -> list[dict]:
        out = []
        for row in rows:
            obj: dict = {}
            filled = False
            for j, name in enumerate(headers):
                if not name:
                    continue
                value = row[j] if j < len(row) else None
                if value is None:
                    if not self.include_null:
                        continue
                elif value == "":
                    if not self.include_empty:
                        continue
                elif self.parse_numbers and not _RFC_NOT_NUMBER.match(value):
                    value = _js_number(value)
                obj[name] = value
                filled = True
            if filled:
                out.append(obj)
        return out


def _has_template(template: list | None) -> bool:
    return bool(template) and template != [""]


def _js_number(text: str) -> Any:
    """Number(text) when it is a number, else the text unchanged."""
    if not text.strip().isascii():
        return text  # JavaScript digits are ASCII only
    m = _RADIX.fullmatch(text)
    if m:
        try:
            return int(m.group(2), 2 if m.group(1) in "bB" else 8)
        except ValueError:
            return text
    num = to_number(text)
    return text if isinstance(num, float) and math.isnan(num) else num


def quote_cell(cell: str, quoteables: tuple[str, ...]) -> str:
    """Quote a cell if it holds any of `quoteables`, doubling its quotes (RFC 4180 2.6)."""
    if any(q and q in cell for q in quoteables):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def header_string(headers: list) -> str:
    """msg.columns: the non-empty column names, quoted where needed, comma-joined."""
    return ",".join(quote_cell(h, ('"', ",", "\r", "\n")) for h in headers if h)


def rfc_tokenize(text: str, start: int, sep: str, strict: bool,
                 first_row_only: bool = False) -> tuple[list[list[str | None]], int]:
    """Rows of cells from `start`, and where reading stopped, as Node-RED 4's RFC parser reads
    them: an unquoted empty cell is None, a quoted one is ""; empty rows are dropped; \\r, \\n
    and \\r\\n end rows. Not strict: stray quotes are kept as text instead of failing."""
    rows: list[list[str | None]] = []
    row: list[str | None] = []
    buf: list[str] = []
    fresh = True  # nothing of the current cell read yet
    quoted = closed = False  # inside quotes / just after the closing quote
    i, n = start, len(text)
    # runs of ordinary characters are copied in one step (a multi-character sep never matches)
    plain = re.compile('[^"\r\n' + (re.escape(sep) if len(sep) == 1 else "") + "]+")

    def end_cell() -> None:
        row.append("".join(buf) or (None if fresh else ""))
        buf.clear()

    def end_row() -> None:
        nonlocal row
        if buf:
            end_cell()
        if row:
            rows.append(row)
            row = []

    while i < n:
        c = text[i]
        if quoted:
            if c == '"' and text[i + 1:i + 2] == '"':
                buf.append('"')
                i += 2
            elif c == '"':
                quoted, closed = False, True
                i += 1
            else:
                end = text.find('"', i)
                end = n if end < 0 else end
                buf.append(text[i:end])
                i = end
            fresh = False
        elif c == sep:
            end_cell()
            fresh, closed = True, False
            i += 1
        elif c == '"':
            if fresh:
                quoted, fresh, closed = True, False, False
                i += 1
            elif strict:
                raise CsvError("Quote found in the middle of an unquoted field")
            else:  # keep it unless it ends the cell; a doubled one counts once
                i += 1
                nxt = text[i:i + 1]
                if nxt and nxt not in ("\n", "\r", sep):
                    buf.append('"')
                    if nxt == '"':
                        i += 1
        elif c in "\r\n":
            end_row()
            i += 2 if text[i + 1:i + 2] == "\n" else 1
            fresh, closed = True, False
            if first_row_only:
                break
        elif closed:
            if strict:
                raise CsvError("Data found after closing quote")
            i -= 1  # read the closing quote again, as a stray quote
            closed = False
        else:
            run = plain.match(text, i)
            buf.append(run.group() if run else c)
            fresh = False
            i = run.end() if run else i + 1
    if strict and quoted:
        raise CsvError("Missing quote, unclosed cell")
    end_row()
    return rows, i


# ---------------------------------------------------------------- the node


class Csv(Node):
    type = "csv"
    color = "#debd5c"
    icon = "parser"
    category = "parser"
    Config = CsvConfig
    help = "Converts between CSV text and objects (one message per row, or one with an array)."

    def setup(self) -> None:
        cfg: CsvConfig = self.config  # type: ignore[assignment]
        if cfg.spec not in ("", "rfc"):
            raise ConfigError("spec", f"unknown CSV engine {cfg.spec!r} (expected 'rfc' or '')")
        if (cfg.hdrout or "none") not in ("none", "all", "once", "true", "false"):
            raise ConfigError("hdrout", f"unknown header mode {cfg.hdrout!r} (none, all or once)")
        self._rfc = cfg.spec == "rfc"
        self._engine: _Legacy | _Rfc = _Rfc(self, cfg) if self._rfc else _Legacy(self, cfg)

    async def on_message(self, msg: Message) -> None:
        engine = self._engine
        if self._rfc:
            self.status({})
        if "reset" in msg:
            engine.hdr_sent = False
        payload = msg.get("payload", UNDEFINED)
        if payload is UNDEFINED:
            if "reset" not in msg:
                await self.send(msg)
            return
        try:
            if isinstance(payload, (str, bytes, bytearray)):
                # a Buffer is read as UTF-8 CSV text (Node-RED would treat it as an object)
                text = payload if isinstance(payload, str) else bytes(payload).decode("utf-8", "replace")
                out = engine.from_csv(msg, text)
            elif _is_object(payload):
                out = engine.to_csv(msg)
            elif self._rfc:  # the RFC engine makes this a catchable error, legacy only warns
                self.status(fill="red", shape="dot", text=CSV_JS)
                self.error(CSV_JS, msg)
                return
            else:
                self.warn(CSV_JS)
                return
        except CsvError as exc:
            self.error(str(exc), msg)
            return
        for m in out:
            await self.send(m)
