// MQTT topic checks (MQTT 3.1.1 §4.7): what the broker would refuse, shown before deploying.

/** An error message for the topic, or null when it is acceptable. Blank is left to the server. */
export function validateTopic(topic: string, kind: "filter" | "name"): string | null {
  if (topic === "") return null;
  if (topic.includes("\u0000")) return "a topic cannot contain the NUL character";
  if (new TextEncoder().encode(topic).length > 65535) return "a topic is at most 65535 bytes";
  if (kind === "name") {
    return /[+#]/.test(topic) ? "wildcards + and # are only allowed when subscribing, not in a publish topic" : null;
  }
  const levels = topic.split("/");
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level.includes("#") && (level !== "#" || i !== levels.length - 1)) {
      return "# must be a whole level and the last one (e.g. sensors/#)";
    }
    if (level.includes("+") && level !== "+") return "+ must be a whole level (e.g. sensors/+/temp)";
  }
  return null;
}
