"""The palette's schema annotations tell the editor which widget each config field needs."""

from __future__ import annotations

from pydantic import Field

from flowengine.api.palette import annotate_schema, describe_type
from flowengine.node import Node, NodeConfig
from flowengine.registry import default_registry


def test_typed_inputs_are_found_by_their_type_field_and_the_type_field_is_hidden():
    inject = describe_type("inject", default_registry().types["inject"])["schema"]["properties"]
    assert inject["payload"]["x-typed"]["typeField"] == "payloadType"
    assert inject["payloadType"]["x-hidden"] is True
    assert "x-typed" not in inject["payloadType"]
    assert inject["crontab"]["x-widget"] == "cron"


def test_annotations_reach_nested_definitions_and_read_the_allowed_types():
    rule = describe_type("change", default_registry().types["change"])["schema"]["$defs"]["ChangeRule"]["properties"]
    assert rule["to"]["x-typed"]["typeField"] == "tot"
    assert rule["p"]["x-typed"]["types"] == ["msg", "flow", "global"]  # from "msg | flow | global"


def test_a_field_of_a_third_party_pack_keeps_its_own_widget():
    class PumpConfig(NodeConfig):
        pin: str = Field("17", json_schema_extra={"x-widget": "gpio-pin"})
        crontab: str = Field("", json_schema_extra={"x-widget": "textarea"})
        level: str = "50"
        levelType: str = "num"

    class Pump(Node):
        type = "pump"
        category = "storage"
        Config = PumpConfig

    props = annotate_schema(PumpConfig.model_json_schema(), Pump)["properties"]
    assert props["pin"]["x-widget"] == "gpio-pin" and props["crontab"]["x-widget"] == "textarea"
    assert props["level"]["x-typed"]["typeField"] == "levelType"
    described = describe_type("pump", Pump)
    assert described["color"] == "#c7e9c0" and described["icon"] == "node" and described["label"] == "pump"
