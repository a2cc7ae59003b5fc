// A client-side reading of cron expressions for the editor's preview: syntax check, a plain-English
// summary and the next run times in the browser's time zone. It follows the server's rules
// (5 fields, or 6 with seconds first; 0 and 7 are Sunday; day of month AND day of week must
// both match, as APScheduler does), but the server's check on deploy is the one that counts.

export interface CronDescription {
  ok: boolean;
  error?: string;
  summary: string;
  next: Date[];
}

interface FieldDef {
  name: string;
  min: number;
  max: number;
  names?: string[];
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const DAY_LABELS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTH_LABELS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

const FIELDS: Record<string, FieldDef> = {
  second: { name: "second", min: 0, max: 59 },
  minute: { name: "minute", min: 0, max: 59 },
  hour: { name: "hour", min: 0, max: 23 },
  day: { name: "day of month", min: 1, max: 31 },
  month: { name: "month", min: 1, max: 12, names: MONTHS },
  dow: { name: "day of week", min: 0, max: 7, names: DAYS },
};

class CronSyntaxError extends Error {}

function atom(text: string, def: FieldDef): number {
  const t = text.toLowerCase();
  if (def.names) {
    const idx = def.names.indexOf(t.slice(0, 3));
    if (idx >= 0 && /^[a-z]+$/.test(t)) return def.names === MONTHS ? idx + 1 : idx;
  }
  if (!/^\d+$/.test(t)) throw new CronSyntaxError(`bad ${def.name} value "${text}"`);
  const n = Number(t);
  if (n < def.min || n > def.max) throw new CronSyntaxError(`${def.name} ${n} is out of range ${def.min}-${def.max}`);
  return n;
}

/** The set of values a field matches, or null for "any" (* or ?). */
function parseField(text: string, def: FieldDef): Set<number> | null {
  if (text === "*" || text === "?") return null;
  const values = new Set<number>();
  for (const part of text.split(",")) {
    if (part === "") throw new CronSyntaxError(`empty item in ${def.name} "${text}"`);
    const [range, stepText, extra] = part.split("/");
    if (extra !== undefined) throw new CronSyntaxError(`bad step in ${def.name} "${part}"`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) throw new CronSyntaxError(`bad step in ${def.name} "${part}"`);
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === "*" || range === "?") {
      lo = def.min;
      hi = def === FIELDS.dow ? 6 : def.max;
    } else if (range.includes("-")) {
      const [a, b, more] = range.split("-");
      if (more !== undefined) throw new CronSyntaxError(`bad range in ${def.name} "${part}"`);
      lo = atom(a, def);
      hi = atom(b, def);
      if (hi < lo) throw new CronSyntaxError(`${def.name} range "${range}" runs backwards`);
    } else {
      lo = atom(range, def);
      hi = stepText !== undefined ? (def === FIELDS.dow ? 6 : def.max) : lo;
    }
    for (let v = lo; v <= hi; v += step) values.add(def === FIELDS.dow ? v % 7 : v);
  }
  return values;
}

interface Parsed {
  second: Set<number> | null;
  minute: Set<number> | null;
  hour: Set<number> | null;
  day: Set<number> | null;
  month: Set<number> | null;
  dow: Set<number> | null;
  raw: string[];
}

function parse(expr: string): Parsed {
  const parts = expr.trim().split(/\s+/).filter(Boolean);
  if (parts.length !== 5 && parts.length !== 6) {
    throw new CronSyntaxError(`a cron expression has 5 fields (minute hour day month weekday) or 6 (seconds first), this has ${parts.length}`);
  }
  if (/[^\w*/,\-? ]/.test(expr.trim())) throw new CronSyntaxError("unexpected characters (use digits, names, * / , - ?)");
  const [second, minute, hour, day, month, dow] = parts.length === 6 ? parts : ["0", ...parts];
  return {
    second: parseField(second, FIELDS.second) ?? null,
    minute: parseField(minute, FIELDS.minute),
    hour: parseField(hour, FIELDS.hour),
    day: parseField(day, FIELDS.day),
    month: parseField(month, FIELDS.month),
    dow: parseField(dow, FIELDS.dow),
    raw: [second, minute, hour, day, month, dow],
  };
}

const matches = (set: Set<number> | null, v: number): boolean => set === null || set.has(v);

/** The next `count` run times strictly after `from`, searched up to 5 years ahead. */
function nextRuns(p: Parsed, from: Date, count: number): Date[] {
  const out: Date[] = [];
  const t = new Date(from.getTime());
  t.setMilliseconds(0);
  t.setSeconds(t.getSeconds() + 1);
  const limit = from.getTime() + 5 * 366 * 24 * 3600 * 1000;
  let guard = 0;
  while (out.length < count && t.getTime() <= limit && guard++ < 200_000) {
    if (!matches(p.month, t.getMonth() + 1)) {
      t.setMonth(t.getMonth() + 1, 1);
      t.setHours(0, 0, 0);
      continue;
    }
    if (!matches(p.day, t.getDate()) || !matches(p.dow, t.getDay())) {
      t.setDate(t.getDate() + 1);
      t.setHours(0, 0, 0);
      continue;
    }
    if (!matches(p.hour, t.getHours())) {
      t.setHours(t.getHours() + 1, 0, 0);
      continue;
    }
    if (!matches(p.minute, t.getMinutes())) {
      t.setMinutes(t.getMinutes() + 1, 0);
      continue;
    }
    if (!matches(p.second, t.getSeconds())) {
      t.setSeconds(t.getSeconds() + 1);
      continue;
    }
    out.push(new Date(t.getTime()));
    t.setSeconds(t.getSeconds() + 1);
  }
  return out;
}

const pad = (n: number): string => String(n).padStart(2, "0");

function list(values: Set<number>, label: (n: number) => string): string {
  const sorted = [...values].sort((a, b) => a - b);
  // Collapse runs: 1,2,3,4,5 -> 1–5.
  const chunks: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    chunks.push(j - i >= 2 ? `${label(sorted[i])}–${label(sorted[j])}` : sorted.slice(i, j + 1).map(label).join(", "));
    i = j + 1;
  }
  return chunks.join(", ");
}

const stepOf = (text: string): number | null => {
  const m = /^(?:\*|0)\/(\d+)$/.exec(text);
  return m ? Number(m[1]) : null;
};

function summarize(p: Parsed): string {
  const [secText, minText, hourText] = p.raw;
  const single = (s: Set<number> | null): number | null => (s && s.size === 1 ? [...s][0] : null);
  let time: string;
  const sec = single(p.second);
  const min = single(p.minute);
  const hour = single(p.hour);
  const secStep = stepOf(secText);
  const minStep = stepOf(minText);
  const hourStep = stepOf(hourText);
  if (p.second === null) time = "every second";
  else if (secStep && p.minute === null && p.hour === null) time = `every ${secStep} seconds`;
  else if (p.minute === null && p.hour === null) time = sec === 0 ? "every minute" : `every minute at second ${list(p.second, String)}`;
  else if (minStep && p.hour === null && sec === 0) time = `every ${minStep} minutes`;
  else if (min !== null && p.hour === null && sec === 0) time = `every hour at minute ${min}`;
  else if (min !== null && hourStep && sec === 0) time = `every ${hourStep} hours at minute ${min}`;
  else if (min !== null && hour !== null && sec !== null) time = `at ${pad(hour)}:${pad(min)}${sec ? `:${pad(sec)}` : ""}`;
  else if (min !== null && p.hour && sec === 0) time = `at minute ${min} past hours ${list(p.hour, pad)}`;
  else {
    const bits = [
      p.second && !(sec === 0) ? `second ${list(p.second, String)}` : "",
      p.minute ? `minute ${list(p.minute, String)}` : "every minute",
      p.hour ? `hour ${list(p.hour, String)}` : "every hour",
    ].filter(Boolean);
    time = bits.join(", ");
  }
  const days: string[] = [];
  if (p.dow) days.push(p.dow.size === 7 ? "" : `on ${list(p.dow, (d) => DAY_LABELS[d])}`);
  if (p.day) days.push(`on day ${list(p.day, String)} of the month`);
  if (p.month) days.push(`in ${list(p.month, (m) => MONTH_LABELS[m - 1])}`);
  const when = days.filter(Boolean).join(", ");
  return when ? `${time}, ${when}` : p.second === null || p.minute === null || p.hour === null || minStep || hourStep ? time : `${time} every day`;
}

/** Syntax check, summary and next 3 runs of a cron expression. `now` is for tests. */
export function describeCron(expr: string, now: Date = new Date(), count = 3): CronDescription {
  if (expr.trim() === "") return { ok: true, summary: "no schedule", next: [] };
  try {
    const parsed = parse(expr);
    const next = nextRuns(parsed, now, count);
    const summary = summarize(parsed);
    if (next.length === 0) return { ok: false, error: "this schedule never fires (no such date)", summary, next };
    return { ok: true, summary, next };
  } catch (err) {
    if (err instanceof CronSyntaxError) return { ok: false, error: err.message, summary: "", next: [] };
    throw err;
  }
}
