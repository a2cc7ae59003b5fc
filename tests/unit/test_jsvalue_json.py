"""JSON text as JavaScript's JSON.stringify writes it, numbers included."""

from __future__ import annotations

import json

from flowengine.jsvalue import js_json_dumps


def test_small_numbers_are_written_as_javascript_writes_them():
    # JSON.stringify({a: 1e-5, b: [1e-7, 2.5e-8, 0.5]}) in Node.js
    assert js_json_dumps({"a": 1e-5, "b": [1e-7, 2.5e-8, 0.5]}) == '{"a":0.00001,"b":[1e-7,2.5e-8,0.5]}'
    assert js_json_dumps(0.000123) == "0.000123"


def test_the_fast_path_is_unchanged_for_everything_else():
    value = {"s": "time-e-5", "n": 0.1, "big": 1e21, "i": 3.0, "u": "é", "nested": [True, None, {"x": 2}]}
    assert js_json_dumps(value) == '{"s":"time-e-5","n":0.1,"big":1e+21,"i":3,"u":"é","nested":[true,null,{"x":2}]}'


def test_indented_output_with_small_numbers_parses_back():
    text = js_json_dumps({"a": 1e-6, "b": ["x"]}, indent=2)
    assert text == '{\n  "a": 0.000001,\n  "b": [\n    "x"\n  ]\n}'
    assert json.loads(text) == {"a": 1e-6, "b": ["x"]}
