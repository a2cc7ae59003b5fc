"""csv node: Node-RED 4.x behaviour of both engines (conformance cases cv01-cv03) and edge cases."""

from __future__ import annotations

import math

import pytest

from flowengine.errors import FlowValidationError
from flowengine.testing import FlowHarness
from flowengine_nodes.core.csv_node import CsvError, rfc_tokenize

LEGACY = {"spec": "", "sep": ",", "hdrin": "", "hdrout": "none", "multi": "one", "ret": "\\n", "temp": "",
          "skip": "0", "strings": True, "include_empty_strings": "", "include_null_values": ""}
RFC = dict(LEGACY, spec="rfc", ret="\\r\\n")


class Run:
    def __init__(self, out: list[dict], caught: list[dict], events: list[dict]):
        self.out = [{k: v for k, v in m.items() if k != "_msgid"} for m in out]
        self.raw = out
        self.errors = [m["error"]["message"] for m in caught]
        self.caught = caught
        self.warnings = [e["data"]["msg"] for e in events if e["type"] == "log" and e["data"]["level"] == "warn"]
        self.statuses = [e["data"] for e in events if e["type"] == "status"]

    @property
    def payloads(self) -> list:
        return [m.get("payload") for m in self.out]


async def run(base: dict, msgs: list[dict], settings: dict | None = None, **props) -> Run:
    node = {"id": "n", "type": "csv", **base, **props, "wires": [["out"]]}
    flow = [node, {"id": "out", "type": "helper"},
            {"id": "c", "type": "catch", "scope": None, "wires": [["caught"]]},
            {"id": "caught", "type": "helper"}]
    async with FlowHarness(flow, settings=settings) as h:
        events = h.events()
        for m in msgs:
            await h.inject("n", m)
        return Run(h.messages("out"), h.messages("caught"), events.drain())


# ------------------------------------------------------------------ conformance cases


async def test_cv01_legacy_header_row_gives_a_message_per_line_with_parts():
    msg = {"payload": "name,age\nbob,30\nann,25", "_msgid": "m1"}
    r = await run(LEGACY, [msg], hdrin=True)
    assert r.out == [
        {"payload": {"name": "bob", "age": 30}, "parts": {"id": "m1", "index": 0, "count": 2}, "columns": "name,age"},
        {"payload": {"name": "ann", "age": 25}, "parts": {"id": "m1", "index": 1, "count": 2}, "columns": "name,age"},
    ]
    assert list(r.out[0]["payload"]) == ["name", "age"]


async def test_cv02_legacy_objects_to_csv_with_template_and_header():
    r = await run(LEGACY, [{"payload": {"a": 1, "b": "x,y"}}, {"payload": [{"a": 'q"uote', "b": 2}, {"a": 3}]}],
                  hdrout="all", temp="a,b")
    assert r.out == [{"payload": 'a,b\n1,"x,y"\n', "columns": "a,b"},
                     {"payload": 'a,b\n"q""uote",2\n3,\n', "columns": "a,b"}]


async def test_cv03_rfc_quoted_cells_in_a_single_message():
    text = '"a","b",c\r\n1,"x""y",\r\n"line\nbreak",2.50,-3\r\n'
    r = await run(RFC, [{"payload": text}], hdrin=True, multi="mult")
    assert r.out == [{"payload": [{"a": 1, "b": 'x"y'}, {"a": "line\nbreak", "b": 2.5, "c": -3}],
                      "columns": "a,b,c"}]


# ------------------------------------------------------------------ legacy: CSV -> objects


async def test_legacy_without_names_uses_col_n_and_remembers_them():
    r = await run(LEGACY, [{"payload": "1,2,3\n4,5"}, {"payload": "6"}])
    assert r.payloads == [{"col1": 1, "col2": 2, "col3": 3}, {"col1": 4, "col2": 5}, {"col1": 6}]
    assert [m["columns"] for m in r.out] == ["col1,col2,col3"] * 3  # Node-RED keeps the longest seen


async def test_legacy_quotes_separators_and_crlf_in_one_array():
    r = await run(LEGACY, [{"payload": 'a,"b,c",d\r\ne,"say ""hi"""'}], multi="mult")
    assert r.out == [{"payload": [{"col1": "a", "col2": "b,c", "col3": "d"}, {"col1": "e", "col2": 'say "hi"'}],
                      "columns": "col1,col2,col3"}]


async def test_legacy_number_parsing_rules():
    r = await run(LEGACY, [{"payload": "007,1e3,-.5,5., 12 ,0x1F,1E-+5,0,x1"}])
    assert r.payloads == [{"col1": "007", "col2": 1000, "col3": -0.5, "col4": "5.", "col5": 12,
                           "col6": "0x1F", "col7": 1, "col8": 0, "col9": "x1"}]


async def test_legacy_strings_off_keeps_text():
    r = await run(LEGACY, [{"payload": "1,2.5"}], strings=False)
    assert r.payloads == [{"col1": "1", "col2": "2.5"}]


async def test_legacy_empty_cells_null_and_empty_string_options():
    text = '1,,3\n,2,\n4,"",'
    plain = await run(LEGACY, [{"payload": text}], temp="a,b,c")
    assert plain.payloads == [{"a": 1, "c": 3}, {"b": 2}, {"a": 4}]
    nulls = await run(LEGACY, [{"payload": text}], temp="a,b,c", include_null_values=True)
    assert nulls.payloads == [{"a": 1, "b": None, "c": 3}, {"a": None, "b": 2, "c": None},
                              {"a": 4, "c": None}]
    empties = await run(LEGACY, [{"payload": text}], temp="a,b,c", include_empty_strings=True)
    assert empties.payloads == [{"a": 1, "c": 3}, {"b": 2}, {"a": 4, "b": ""}]


async def test_legacy_template_skips_blank_columns_and_strips_quotes():
    r = await run(LEGACY, [{"payload": "1,2,3"}], temp=' "a" ,, c ')
    assert r.out[0]["payload"] == {"a": 1, "c": 3}
    assert r.out[0]["columns"] == "a,c"


async def test_legacy_skip_lines_then_header():
    r = await run(LEGACY, [{"payload": "junk\nmore junk\nname,n\nx,1"}], skip="2", hdrin=True)
    assert r.payloads == [{"name": "x", "n": 1}]


async def test_legacy_line_starting_with_separator_errors_like_node_red():
    r = await run(LEGACY, [{"payload": ",1", "topic": "t"}])
    assert r.out == []
    assert r.errors == ["Cannot read properties of undefined (reading 'includes')"]
    assert r.caught[0]["topic"] == "t"


async def test_legacy_unbalanced_quote_warns_and_still_sends():
    r = await run(LEGACY, [{"payload": 'a,"b'}])
    assert r.warnings == ["Malformed CSV data - output probably corrupt."]
    assert r.payloads == [{"col1": "a", "col2": "b"}]


async def test_legacy_tab_separator_is_unescaped():
    r = await run(LEGACY, [{"payload": "a\tb\n1\t2"}], sep="\\t", hdrin=True)
    assert r.payloads == [{"a": 1, "b": 2}]


async def test_legacy_parts_sequence_one_per_row_renumbers_without_header():
    seq = [{"payload": line, "parts": {"id": "p", "index": i, "count": 3}}
           for i, line in enumerate(["h1,h2", "1,2", "3,4"])]
    r = await run(LEGACY, seq, hdrin=True)
    assert r.out == [
        {"payload": {"h1": 1, "h2": 2}, "parts": {"id": "p", "index": 0, "count": 2}, "columns": "h1,h2"},
        {"payload": {"h1": 3, "h2": 4}, "parts": {"id": "p", "index": 1, "count": 2}, "columns": "h1,h2",
         "complete": True},
    ]


async def test_legacy_parts_sequence_in_array_mode_collects_until_last_part():
    seq = [{"payload": line, "parts": {"id": "p", "index": i, "count": 3}, "topic": str(i)}
           for i, line in enumerate(["h1,h2", "1,2", "3,4"])]
    r = await run(LEGACY, seq, hdrin=True, multi="mult")
    assert r.out == [{"payload": [{"h1": 1, "h2": 2}, {"h1": 3, "h2": 4}], "columns": "h1,h2", "topic": "2"}]


async def test_last_part_without_rows_sends_complete():
    seq = [{"payload": "a,b", "parts": {"id": "p", "index": 0, "count": 2}},
           {"payload": "", "parts": {"id": "p", "index": 1, "count": 2}}]
    r = await run(LEGACY, seq, hdrin=True)
    assert r.out == [{"complete": True}]


async def test_sequence_buffer_is_bounded():
    seq = [{"payload": f"{i},{i}", "parts": {"id": "p", "index": i, "count": 5}} for i in range(5)]
    r = await run(RFC, seq, settings={"max_buffered": 2}, temp="a,b", multi="mult")
    assert r.payloads == [[{"a": 0, "b": 0}, {"a": 1, "b": 1}]]
    assert len(r.warnings) == 3 and "dropped" in r.warnings[0]


# ------------------------------------------------------------------ legacy: objects -> CSV


async def test_legacy_header_once_until_reset_and_js_key_order():
    msgs = [{"payload": {"b": 1, "2": "x", "1": "y"}}, {"payload": {"a": 1}}, {"reset": True},
            {"payload": {"b": 1}}]
    r = await run(LEGACY, msgs, hdrout="once")
    assert r.out == [{"payload": "1,2,b\ny,x,1\n", "columns": "1,2,b"},
                     {"payload": "1\n", "columns": ""},
                     {"payload": "b\n1\n", "columns": "b"}]  # the reset message itself is not sent
    assert r.warnings == ["No columns template specified for object -> CSV."]


async def test_legacy_object_without_template_uses_first_row_keys_and_skips_objects():
    rows = [{"a": 1, "b": {"x": 1}, "c": "p,q"}, {"c": 3, "a": 'say "x"', "z": 9}]
    r = await run(LEGACY, [{"payload": rows}])
    assert r.out[0]["payload"] == '1,"p,q"\n"say ""x""",3\n'


async def test_legacy_msg_columns_template_and_value_formatting():
    r = await run(LEGACY, [{"payload": [{"b": None, "a": [1, 2], "c": "l\nm"}], "columns": "a,b,c"}],
                  hdrout="all", ret="\\r\\n")
    assert r.out == [{"payload": 'a,b,c\r\n"[1,2]",null,"l\nm"\r\n', "columns": "a,b,c"}]


async def test_legacy_arrays_and_primitive_rows():
    r = await run(LEGACY, [{"payload": [[1, "a,b"], ['q"', {"k": 1}]]}, {"payload": [1, "a\nb", True]}])
    assert r.payloads == ['1,"a,b"\n"q""",[object Object]\n', '1,"a\nb",true\n']


async def test_legacy_null_array_cell_is_a_caught_error():
    r = await run(LEGACY, [{"payload": [[1, None]]}])
    assert r.out == [] and r.errors == ["Cannot read properties of null (reading 'toString')"]


async def test_legacy_other_payload_types_warn_and_missing_payload_passes():
    r = await run(LEGACY, [{"payload": 5}, {"topic": "no payload"}])
    assert r.warnings == ["This node only handles CSV strings or js objects."]
    assert r.out == [{"topic": "no payload"}]


# ------------------------------------------------------------------ RFC engine


async def test_rfc_default_line_ending_is_crlf_and_cells_are_quoted():
    r = await run(RFC, [{"payload": [{"a": "1;2", "b": 'q"', "c": "l\nm", "d": "x,y"}]}],
                  ret="", sep=";", hdrout="all")
    # the header row is comma-joined whatever the separator, as Node-RED 4 writes it
    assert r.out == [{"payload": 'a,b,c,d\r\n"1;2";"q""";"l\nm";x,y\r\n', "columns": "a,b,c,d"}]


async def test_rfc_null_and_empty_cells_differ():
    text = 'a,b,c,d\n1,,"",x\n'
    plain = await run(RFC, [{"payload": text}], hdrin=True)
    assert plain.payloads == [{"a": 1, "d": "x"}]
    nulls = await run(RFC, [{"payload": text}], hdrin=True, include_null_values=True)
    assert nulls.payloads == [{"a": 1, "b": None, "d": "x"}]
    empties = await run(RFC, [{"payload": text}], hdrin=True, include_empty_strings=True)
    assert empties.payloads == [{"a": 1, "c": "", "d": "x"}]


async def test_rfc_number_parsing_rules():
    r = await run(RFC, [{"payload": "007,1e3,-.5,5., 12 ,0x1F,+5,0b101,-0x1,abc,١٢"}])
    assert r.payloads == [{"col1": "007", "col2": 1000, "col3": -0.5, "col4": 5, "col5": 12, "col6": 31,
                           "col7": "+5", "col8": 5, "col9": "-0x1", "col10": "abc", "col11": "١٢"}]


async def test_rfc_infinity_is_a_number():
    r = await run(RFC, [{"payload": "Infinity"}])
    assert math.isinf(r.payloads[0]["col1"])


async def test_rfc_stray_quotes_are_kept():
    r = await run(RFC, [{"payload": 'a"b,"a"b,c""d'}])
    assert r.payloads == [{"col1": 'a"b', "col2": 'a"b', "col3": 'c"d'}]


async def test_rfc_one_message_per_row_with_skip_and_header():
    r = await run(RFC, [{"payload": "junk\nname,n\r\nx,1\r\ny,2", "_msgid": "m"}], skip="1", hdrin=True)
    assert r.out == [
        {"payload": {"name": "x", "n": 1}, "columns": "name,n", "parts": {"id": "m", "index": 0, "count": 2}},
        {"payload": {"name": "y", "n": 2}, "columns": "name,n", "parts": {"id": "m", "index": 1, "count": 2}},
    ]


async def test_rfc_skip_counts_crlf_as_two_lines_like_node_red():
    # Node-RED 4's skip loop counts \r and \n separately, so the header row is read as data here
    r = await run(RFC, [{"payload": "junk\r\nname,n\r\nx,1"}], skip="1", hdrin=True, multi="mult")
    assert r.out == [{"payload": [{"col1": "name", "col2": "n"}, {"col1": "x", "col2": 1}],
                      "columns": "col1,col2"}]


async def test_rfc_only_skipped_lines_sends_nothing():
    r = await run(RFC, [{"payload": "junk\n"}], skip="2")
    assert r.out == [] and r.errors == []


async def test_rfc_malformed_header_row_is_an_error_with_red_status():
    r = await run(RFC, [{"payload": 'a,"b\nx,c\n1,2'}, {"payload": "1"}], hdrin=True)
    assert r.errors == ["Missing quote, unclosed cell"]
    assert {"fill": "red", "shape": "dot", "text": "Malformed columns template."} in r.statuses
    assert r.statuses[-1] == {}  # the next message clears it


async def test_rfc_non_csv_payload_is_a_caught_error():
    r = await run(RFC, [{"payload": True, "topic": "t"}])
    assert r.out == []
    assert r.errors == ["This node only handles CSV strings or js objects."]
    assert r.caught[0]["topic"] == "t"


async def test_rfc_array_rows_follow_the_template():
    r = await run(RFC, [{"payload": [[1, None, "x", "extra"], [2]]}], temp="a,,c", hdrout="all")
    assert r.out == [{"payload": 'a,,c\r\n1,,x\r\n2,,\r\n', "columns": "a,c"}]


async def test_rfc_array_header_without_template_uses_indexes():
    r = await run(RFC, [{"payload": [[1, None, "x"], [2]]}], hdrout="once")
    assert r.out == [{"payload": "0,1,2\r\n1,null,x\r\n2,,\r\n", "columns": "0,1,2"}]


async def test_rfc_msg_columns_and_quoted_column_names():
    r = await run(RFC, [{"payload": {"a,b": 1, "c": 2}, "columns": '"a,b",c'}], hdrout="all")
    assert r.out == [{"payload": '"a,b",c\r\n1,2\r\n', "columns": '"a,b",c'}]


async def test_buffer_payload_is_read_as_csv_text():
    r = await run(RFC, [{"payload": b"1,\xc3\xa9"}], temp="a,b")
    assert r.payloads == [{"a": 1, "b": "é"}]


async def test_rfc_null_payload_without_template_sends_an_empty_row():
    r = await run(RFC, [{"payload": None}])
    assert r.payloads == ["\r\n"]


async def test_rfc_null_row_with_template_is_a_caught_error():
    r = await run(RFC, [{"payload": [None]}], temp="a")
    assert r.out == [] and r.errors == ["Cannot read properties of null (reading 'a')"]


# ------------------------------------------------------------------ config and tokenizer


@pytest.mark.parametrize("props", [{"spec": "rfc", "temp": 'a,"b'}, {"spec": "rfc", "temp": 'a"b'},
                                   {"spec": "xml"}, {"hdrout": "sometimes"}])
async def test_bad_config_is_rejected_at_deploy(props):
    with pytest.raises(FlowValidationError):
        async with FlowHarness([{"id": "n", "type": "csv", **props}]):
            pass


def test_tokenizer_keeps_null_vs_empty_and_positions():
    rows, end = rfc_tokenize('a,,"",b,\r\n\n"x\r\ny"', 0, ",", strict=False)
    assert rows == [["a", None, "", "b"], ["x\r\ny"]]
    assert end == 17
    head, cursor = rfc_tokenize("h1,h2\r\n1,2", 0, ",", strict=True, first_row_only=True)
    assert head == [["h1", "h2"]] and cursor == 7


@pytest.mark.parametrize("text", ['"a"b', 'a"b', '"open'])
def test_tokenizer_strict_mode_rejects_bad_quotes(text):
    with pytest.raises(CsvError):
        rfc_tokenize(text, 0, ",", strict=True)


def test_tokenizer_multi_character_separator_never_splits():
    # Node-RED compares one character at a time with the separator, so "::" never matches
    assert rfc_tokenize("a::b::c\nd", 0, "::", strict=False)[0] == [["a::b::c"], ["d"]]


async def test_old_boolean_hdrout_means_all():
    r = await run(LEGACY, [{"payload": {"a": 1}}, {"payload": {"a": 2}}], hdrout=True, temp="a")
    assert r.payloads == ["a\n1\n", "a\n2\n"]
