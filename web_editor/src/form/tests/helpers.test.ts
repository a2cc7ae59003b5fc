// Unit tests of the form's pure helpers. No test runner is installed in web_editor, so this is a
// plain script, run by `npm run test:unit` (and by tests/e2e/test_editor_unit.py):
//   rolldown bundles it for node, then node runs it; a failed check exits non-zero.
import assert from "node:assert/strict";
import type { FlowNode, NodeTypeDef, Palette } from "../../types";
import { deepEqual, formDataToNode, nodeToFormData, fillDefaults, specFor } from "../convert";
import { describeCron } from "../cron";
import { placeProblems, problemsToErrorSchema, parseProblemPath } from "../problems";
import { buildFormSpec, parsePipeEnum } from "../spec";
import { validateTopic } from "../topic";
import { validateFormData } from "../validate";
import { applyRawProps, editableProps } from "../raw";
import annotatedJson from "./palette.annotated.json";
import plainJson from "./palette.fixture.json";

// Two palettes from a real engine: before the server annotated its schemas (name-based
// fallbacks must do the work) and after (x-typed, x-widget, credentials).
const palettes: Record<string, Palette> = {
  plain: plainJson as unknown as Palette,
  annotated: annotatedJson as unknown as Palette,
};
let palette = palettes.plain;
const def = (type: string): NodeTypeDef => {
  const found = palette.types.find((t) => t.type === type);
  if (!found) throw new Error(`no ${type} in fixture`);
  return found;
};

let failures = 0;
function test(name: string, fn: () => void): void {
  try {
    fn();
    console.log(`ok   ${name}`);
  } catch (err) {
    failures++;
    console.log(`FAIL ${name}\n${err instanceof Error ? err.stack : String(err)}`);
  }
}

const inject: FlowNode = {
  id: "i1", type: "inject", z: "t1", name: "tick", props: [{ p: "payload" }, { p: "topic", vt: "str" }],
  repeat: "5", crontab: "", once: false, onceDelay: 0.1, topic: "", payload: "42", payloadType: "num",
  x: 100, y: 80, wires: [["c1"]], custom: { keep: true },
};

const change: FlowNode = {
  id: "c1", type: "change", z: "t1", name: "", rules: [
    { t: "set", p: "payload", pt: "msg", to: "5", tot: "num" },
    { t: "change", p: "topic", pt: "msg", from: "a", fromt: "str", to: "b", tot: "str", extra: 1 },
  ], x: 300, y: 80, wires: [[]],
};

for (const [which, pal] of Object.entries(palettes)) {
  palette = pal;
  test(`${which}: spec: typed pairs found by convention, type fields hidden, name first`, () => {
    const spec = buildFormSpec(def("inject"));
    const keys = spec.root.props.map((p) => p.key);
    assert.equal(keys[0], "name");
    assert.ok(!keys.includes("payloadType"));
    const payload = spec.root.props.find((p) => p.key === "payload");
    assert.equal(payload?.kind, "typed");
    assert.equal(payload?.typed?.typeField, "payloadType");
    assert.equal(spec.root.props.find((p) => p.key === "crontab")?.kind, "cron");
    const props = spec.root.props.find((p) => p.key === "props");
    assert.equal(props?.kind, "rows");
    assert.equal(props?.item?.group?.props.find((p) => p.key === "v")?.typed?.typeField, "vt");
  });

  test(`${which}: spec: change rules from $defs, enums from descriptions, node_ref, credentials fallback`, () => {
    const rules = buildFormSpec(def("change")).root.props.find((p) => p.key === "rules");
    const rule = rules?.item?.group;
    assert.ok(rule);
    assert.deepEqual(rule.props.find((p) => p.key === "t")?.options?.map((o) => o.value), ["set", "change", "delete", "move"]);
    assert.deepEqual(rule.props.find((p) => p.key === "p")?.typed?.types, ["msg", "flow", "global"]);
    assert.equal(rule.props.find((p) => p.key === "to")?.typed?.typeField, "tot");
    const mqttIn = buildFormSpec(def("mqtt in"));
    const broker = mqttIn.root.props.find((p) => p.key === "broker");
    assert.deepEqual(broker?.nodeRef, { type: "mqtt-broker", required: true });
    assert.equal(mqttIn.root.props.find((p) => p.key === "topic")?.topic, "filter");
    assert.deepEqual(buildFormSpec(def("mqtt-broker")).credentials.map((c) => [c.key, c.kind]), [["user", "text"], ["password", "password"]]);
    const trig = buildFormSpec(def("trigger")).root.props.find((p) => p.key === "op2");
    assert.ok(trig?.typed?.types.includes("payl") && trig.typed.types.includes("num"));
  });

  test(`${which}: round trip: untouched node comes back identical`, () => {
    for (const node of [inject, change]) {
      const typeDef = def(node.type);
      const view = fillDefaults(specFor(node, typeDef)!.root, nodeToFormData(node, typeDef));
      const back = formDataToNode(node, view, typeDef);
      assert.deepEqual(back, node);
      assert.equal(JSON.stringify(back), JSON.stringify(node));
    }
  });

  test(`${which}: round trip: editing one typed value changes only that`, () => {
    const typeDef = def("inject");
    const view = fillDefaults(specFor(inject, typeDef)!.root, nodeToFormData(inject, typeDef));
    assert.deepEqual(view.payload, { value: "42", type: "num" });
    const edited = { ...view, payload: { value: "hello", type: "str" } };
    const back = formDataToNode(inject, edited, typeDef);
    assert.deepEqual(back, { ...inject, payload: "hello", payloadType: "str" });
  });

  test(`${which}: round trip: editing a rule keeps the other rule and unknown keys exactly`, () => {
    const typeDef = def("change");
    const view = fillDefaults(specFor(change, typeDef)!.root, nodeToFormData(change, typeDef));
    const rules = view.rules as Record<string, unknown>[];
    assert.deepEqual(rules[0].to, { value: "5", type: "num" });
    const next = { ...view, rules: [{ ...rules[0], to: { value: "6", type: "num" } }, rules[1]] };
    const back = formDataToNode(change, next, typeDef);
    const origRules = change.rules as Record<string, unknown>[];
    assert.deepEqual(back.rules, [{ ...origRules[0], to: "6" }, origRules[1]]);
    assert.ok(!("dc" in (back.rules as Record<string, unknown>[])[0]), "defaults the user did not touch are not written");
    // Reorder: rows come back as they were, just moved.
    const swapped = formDataToNode(change, { ...view, rules: [rules[1], rules[0]] }, typeDef);
    assert.deepEqual(swapped.rules, [origRules[1], origRules[0]]);
    // Delete the first row.
    assert.deepEqual(formDataToNode(change, { ...view, rules: [rules[1]] }, typeDef).rules, [origRules[1]]);
  });

  test(`${which}: client validation`, () => {
    const typeDef = def("inject");
    const spec = specFor(inject, typeDef)!;
    const view = fillDefaults(spec.root, nodeToFormData(inject, typeDef));
    assert.deepEqual(validateFormData(spec.root, view, []), {});
    const bad = { ...view, crontab: "99 * * * *", payload: { value: "{", type: "json" }, repeat: "x" };
    const errors = validateFormData(spec.root, bad, []);
    assert.ok(errors.crontab && errors.payload && errors.repeat);
    const mqttIn = def("mqtt in");
    const m: FlowNode = { id: "m", type: "mqtt in", broker: "nope", topic: "a/#/b" };
    const mspec = specFor(m, mqttIn)!;
    const merrs = validateFormData(mspec.root, fillDefaults(mspec.root, nodeToFormData(m, mqttIn)), [{ id: "b1", type: "mqtt-broker" }]);
    assert.ok(merrs.broker && merrs.topic);
  });

}
palette = palettes.annotated;

test("spec: x-typed / x-hidden / x-widget / node_ref extensions win over conventions", () => {
  const t: NodeTypeDef = {
    ...def("inject"), type: "x", schema: {
      type: "object", properties: {
        value: { type: "string", "x-typed": { typeField: "kind", types: ["str", "num"] } },
        kind: { type: "string", default: "str", "x-hidden": true },
        secret: { type: "string", "x-widget": "secret" },
        schedule: { type: "string", "x-widget": "cron" },
        notes: { type: "string", "x-widget": "textarea" },
        pin: { type: "string", "x-widget": "gpio-pin" },
        hiddenThing: { type: "string", "x-hidden": true },
      },
    },
  };
  const spec = buildFormSpec(t);
  assert.deepEqual(spec.root.props.map((p) => [p.key, p.kind]), [["value", "typed"], ["schedule", "cron"], ["notes", "textarea"], ["pin", "gpio"]]);
  assert.deepEqual(spec.root.props[0].typed?.types, ["str", "num"]);
  assert.equal(spec.root.props[0].typed?.typeDefault, "str");
  assert.ok(spec.credentials.some((c) => c.key === "secret" && c.kind === "password"));
});

test("parsePipeEnum", () => {
  assert.deepEqual(parsePipeEnum("operator: eq | neq")?.map((o) => o.value), ["eq", "neq"]);
  assert.equal(parsePipeEnum("seconds between messages"), null);
  assert.equal(parsePipeEnum("0, 1 or 2"), null);
});

test("round trip: subflow instance env", () => {
  const node: FlowNode = { id: "s1", type: "subflow:abc", z: "t", env: [{ name: "LIMIT", type: "num", value: "3" }], x: 1, y: 2, wires: [] };
  const view = fillDefaults(specFor(node, undefined)!.root, nodeToFormData(node, undefined));
  assert.deepEqual(view.env, [{ name: "LIMIT", value: { value: "3", type: "num" } }]);
  assert.deepEqual(formDataToNode(node, view, undefined), node);
  const back = formDataToNode(node, { ...view, env: [{ name: "LIMIT", value: { value: "4", type: "num" } }] }, undefined);
  assert.deepEqual(back.env, [{ name: "LIMIT", type: "num", value: "4" }]);
});

test("problems: paths land under fields; type fields map to the typed input", () => {
  const spec = buildFormSpec(def("change"));
  assert.deepEqual(parseProblemPath("rules[0].to"), ["rules", 0, "to"]);
  const placed = placeProblems([
    { node_id: "c1", type: "change", path: "rules[1].tot", message: "bad type" },
    { node_id: "c1", type: "change", path: "", message: "node-level" },
    { node_id: "c1", type: "change", path: "wires", message: "dangling" },
    { node_id: "other", type: "change", path: "rules", message: "not mine" },
  ], spec, "c1");
  assert.deepEqual(placed.fields, { rules: { 1: { to: { __errors: ["bad type"] } } } });
  assert.deepEqual(placed.top, ["node-level", "wires: dangling"]);
  const es = problemsToErrorSchema([{ node_id: "x", type: "inject", path: "payload", message: "m", severity: "warning" }]);
  assert.deepEqual(es, { payload: { __errors: ["warning: m"] } });
  const broker = placeProblems([{ node_id: "b", type: "mqtt-broker", path: "credentials.password", message: "bad" }], buildFormSpec(def("mqtt-broker")));
  assert.deepEqual(broker.credentials, { password: ["bad"] });
});

test("cron: summaries, next runs, errors", () => {
  const now = new Date(2025, 0, 6, 10, 2, 30); // Monday 10:02:30 local
  const every5 = describeCron("*/5 * * * *", now);
  assert.equal(every5.summary, "every 5 minutes");
  assert.deepEqual(every5.next.map((d) => [d.getHours(), d.getMinutes(), d.getSeconds()]), [[10, 5, 0], [10, 10, 0], [10, 15, 0]]);
  const weekdays = describeCron("30 7 * * 1-5", now);
  assert.equal(weekdays.summary, "at 07:30, on Mon–Fri");
  assert.deepEqual(weekdays.next.map((d) => d.getDate()), [7, 8, 9]);
  const sunday = describeCron("0 8 * * 7", now);
  assert.equal(sunday.next[0].getDay(), 0);
  assert.equal(describeCron("0 8 * * *", now).summary, "at 08:00 every day");
  const six = describeCron("*/10 * * * * *", now);
  assert.equal(six.summary, "every 10 seconds");
  assert.equal(six.next[0].getSeconds(), 40);
  assert.equal(describeCron("61 * * * *").ok, false);
  assert.match(describeCron("* * *").error ?? "", /5 fields/);
  assert.equal(describeCron("0 0 30 2 *").ok, false);
  assert.equal(describeCron("").ok, true);
});

test("topic validation", () => {
  assert.equal(validateTopic("a/+/b/#", "filter"), null);
  assert.match(validateTopic("a/#/b", "filter") ?? "", /last/);
  assert.match(validateTopic("a/b+", "filter") ?? "", /whole level/);
  assert.match(validateTopic("a/+", "name") ?? "", /publish/);
  assert.equal(validateTopic("farm/valve", "name"), null);
});

test("deepEqual ignores undefined members", () => {
  assert.ok(deepEqual({ a: 1, b: undefined }, { a: 1 }));
  assert.ok(!deepEqual({ a: "1" }, { a: 1 }));
});


// The editor core's synthetic types (src/panel/syntheticTypes.ts) for what the palette lacks.
const ENV_SCHEMA = {
  type: "array", title: "Environment variables",
  items: {
    type: "object", required: ["name"],
    properties: {
      name: { type: "string", title: "Name" },
      type: { type: "string", title: "Type", default: "str", enum: ["str", "num", "bool", "json", "env", "cred"] },
      value: { type: "string", title: "Value" },
    },
  },
};
const synthetic = (type: string, properties: Record<string, unknown>): NodeTypeDef => ({
  type, category: "", inputs: 0, outputs: 0, config: false, help: "", module: "editor", color: "", icon: "", label: type,
  credentials: {}, schema: { type: "object", additionalProperties: true, properties },
});

test("synthetic types: env rows pair value with type; groups nest", () => {
  const inst = synthetic("subflow:s", { name: { type: "string", title: "Name" }, env: ENV_SCHEMA });
  const node: FlowNode = { id: "n", type: "subflow:s", z: "t", env: [{ name: "A", type: "num", value: "1" }], wires: [[]] };
  const spec = specFor(node, inst)!;
  const env = spec.root.props.find((p) => p.key === "env");
  const value = env?.item?.group?.props.find((p) => p.key === "value");
  assert.equal(value?.kind, "typed");
  assert.deepEqual(value?.typed?.types, ["str", "num", "bool", "json", "env", "cred"]);
  const view = fillDefaults(spec.root, nodeToFormData(node, inst));
  assert.deepEqual(formDataToNode(node, view, inst), node);
  const group = synthetic("group", {
    name: { type: "string" },
    style: { type: "object", properties: { label: { type: "boolean", default: true }, stroke: { type: "string" } } },
  });
  const g: FlowNode = { id: "g", type: "group", z: "t", style: { stroke: "#999", "label-position": "nw" }, nodes: ["a"] };
  const gspec = specFor(g, group)!;
  assert.equal(gspec.root.props.find((p) => p.key === "style")?.kind, "group");
  const gview = fillDefaults(gspec.root, nodeToFormData(g, group));
  assert.deepEqual(formDataToNode(g, gview, group), g);
  const edited = { ...gview, style: { ...(gview.style as Record<string, unknown>), stroke: "#f00" } };
  assert.deepEqual(formDataToNode(g, edited, group).style, { stroke: "#f00", "label-position": "nw" });
});

test("raw editor keeps identity, position and wiring", () => {
  const n: FlowNode = { id: "u", type: "mystery", z: "t", x: 1, y: 2, wires: [["a"]], foo: 1, bar: "x", credentials: { k: "v" } };
  assert.deepEqual(editableProps(n), { foo: 1, bar: "x" });
  assert.deepEqual(applyRawProps(n, { foo: 2, baz: true }), { id: "u", type: "mystery", z: "t", x: 1, y: 2, wires: [["a"]], foo: 2, credentials: { k: "v" }, baz: true });
  assert.deepEqual(applyRawProps(n, { id: "evil", wires: [] , foo: 1, bar: "x" }), n);
});

if (failures) {
  console.log(`${failures} failed`);
  process.exit(1);
}
console.log("all passed");
