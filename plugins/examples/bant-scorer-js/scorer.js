// bant-scorer in JavaScript: the twin of ../bant-scorer (Rust), built with
// jco into a component of the `scorer` world. It gives the same parts for
// the same lead and config; tests/tests/e2e/languages.rs checks that.

import { log } from "leadhost:plugin/host@0.1.0";

const DEFAULT_BUDGET = [
  ["unknown", 0],
  ["<50k", 5],
  ["50k-200k", 10],
  ["200k-1m", 20],
  [">1m", 25],
];
const DEFAULT_AUTHORITY = [
  ["decision_maker", 20],
  ["influencer", 10],
  ["evaluator", 5],
  ["user", 2],
];
const DEFAULT_TIMELINE = [
  ["this_month", 20],
  ["this_quarter", 15],
  ["this_year", 5],
  ["exploring", 0],
];

/** Score the lead's BANT answers: one part per answer worth points. */
export function score(lead, configText) {
  const config = parseConfig(configText);
  const fields = parseFields(lead.fields);
  const parts = scoreAnswers(fields, config);
  const total = parts.reduce((sum, p) => sum + p.points, 0);
  log("info", `BANT scored lead ${lead.id}: ${parts.length} part(s), ${signed(total)} points`);
  return parts;
}

function scoreAnswers(fields, config) {
  const names = config.fieldNames;
  const parts = [];
  const add = (part) => part && parts.push(part);
  add(choicePart(fields, "Budget", names.budget, DEFAULT_BUDGET, config.budget));
  add(choicePart(fields, "Authority", names.authority, DEFAULT_AUTHORITY, config.authority));
  add(needPart(text(fields, names.need), config.need));
  add(choicePart(fields, "Timeline", names.timeline, DEFAULT_TIMELINE, config.timeline));
  return parts;
}

function choicePart(fields, label, field, defaults, overrides) {
  const answer = text(fields, field);
  if (answer === undefined) {
    log("debug", `${label}: no \`${field}\` answer`);
    return undefined;
  }
  const key = asciiLower(answer);
  const match =
    overrides.find(([k]) => asciiLower(trim(k)) === key) ?? defaults.find(([k]) => asciiLower(k) === key);
  if (match === undefined) {
    log("warn", `${label}: unknown answer ${JSON.stringify(answer)} in \`${field}\``);
    return undefined;
  }
  const points = match[1];
  if (points === 0) return undefined;
  return { points, reason: `${label} ${answer.replaceAll("_", " ")}: ${signed(points)}` };
}

function needPart(need, config) {
  if (need === undefined) return undefined;
  const len = [...need].length; // characters, not UTF-16 units
  const [points, reason] =
    len >= config.minLength
      ? [config.points, `Need described (${len} chars)`]
      : [config.shortPoints, `Need mentioned briefly (${len} chars)`];
  return points === 0 ? undefined : { points, reason: `${reason}: ${signed(points)}` };
}

// --- the config: every key optional, unknown keys refused ---------------

function parseConfig(configText) {
  const raw = trim(configText) === "" ? {} : parseJson(configText, "invalid plugin config");
  const root = object(raw, "the config");
  known(root, ["budget", "authority", "need", "timeline", "field_names"], "the config");
  const need = object(member(root, "need", {}), "need");
  known(need, ["min_length", "points", "short_points"], "need");
  const names = object(member(root, "field_names", {}), "field_names");
  known(names, ["budget", "authority", "need", "timeline"], "field_names");
  return {
    budget: table(member(root, "budget", {}), "budget"),
    authority: table(member(root, "authority", {}), "authority"),
    timeline: table(member(root, "timeline", {}), "timeline"),
    need: {
      minLength: integer(member(need, "min_length", 30), "need.min_length", 0, Number.MAX_SAFE_INTEGER),
      points: integer(member(need, "points", 15), "need.points"),
      shortPoints: integer(member(need, "short_points", 5), "need.short_points"),
    },
    fieldNames: {
      budget: string(member(names, "budget", "budget"), "field_names.budget"),
      authority: string(member(names, "authority", "authority"), "field_names.authority"),
      need: string(member(names, "need", "need"), "field_names.need"),
      timeline: string(member(names, "timeline", "timeline"), "field_names.timeline"),
    },
  };
}

// A member's value, or the fallback when absent (a `null` stays, and is refused).
function member(obj, key, fallback) {
  return Object.hasOwn(obj, key) ? obj[key] : fallback;
}

// Answer tables are searched in key order, as the Rust twin's BTreeMap is.
function table(value, where) {
  const entries = Object.entries(object(value, where)).map(([k, v]) => [k, integer(v, `${where}.${k}`)]);
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function object(value, where) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw `invalid plugin config: ${where} must be an object`;
  }
  return value;
}

function known(obj, keys, where) {
  for (const key of Object.keys(obj)) {
    if (!keys.includes(key)) throw `invalid plugin config: unknown field \`${key}\` in ${where}`;
  }
}

function integer(value, where, min = -(2 ** 31), max = 2 ** 31 - 1) {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw `invalid plugin config: ${where} must be an integer from ${min} to ${max}`;
  }
  return value;
}

function string(value, where) {
  if (typeof value !== "string") throw `invalid plugin config: ${where} must be a string`;
  return value;
}

// --- the lead's fields --------------------------------------------------

function parseFields(fieldsText) {
  if (trim(fieldsText) === "") return {};
  const value = parseJson(fieldsText, "lead fields are not valid JSON");
  if (value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw "lead fields must be a JSON object";
  return value;
}

/** A field's string value, trimmed; blank and non-string values count as missing. */
function text(fields, key) {
  const value = Object.hasOwn(fields, key) ? fields[key] : undefined;
  if (typeof value !== "string") return undefined;
  const trimmed = trim(value);
  return trimmed === "" ? undefined : trimmed;
}

function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw `${what}: ${e.message}`;
  }
}

// Unicode White_Space, the set Rust's str::trim uses (String.prototype.trim
// also strips U+FEFF).
const EDGE_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;
function trim(s) {
  return s.replace(EDGE_SPACE, "");
}

// Case folds ASCII letters only, as Rust's eq_ignore_ascii_case does.
function asciiLower(s) {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function signed(n) {
  return n >= 0 ? `+${n}` : `${n}`;
}
