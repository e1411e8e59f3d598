"""bant-scorer in Python: the twin of ../bant-scorer (Rust), built with
componentize-py into a component of the `scorer` world. It gives the same
parts for the same lead and config; tests/tests/e2e/languages.rs checks that.
"""

import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import host
from wit_world.imports.types import Lead, ScorePart
from wit_world.imports.host import LogLevel

DEFAULT_BUDGET = [("unknown", 0), ("<50k", 5), ("50k-200k", 10), ("200k-1m", 20), (">1m", 25)]
DEFAULT_AUTHORITY = [("decision_maker", 20), ("influencer", 10), ("evaluator", 5), ("user", 2)]
DEFAULT_TIMELINE = [("this_month", 20), ("this_quarter", 15), ("this_year", 5), ("exploring", 0)]

I32 = (-(2**31), 2**31 - 1)


class WitWorld(wit_world.WitWorld):
    def score(self, lead: Lead, config: str) -> list[ScorePart]:
        try:
            settings = parse_config(config)
            fields = parse_fields(lead.fields)
        except ValueError as e:
            raise Err(str(e))
        parts = score_answers(fields, settings)
        total = sum(p.points for p in parts)
        host.log(LogLevel.INFO, f"BANT scored lead {lead.id}: {len(parts)} part(s), {total:+} points")
        return parts


def score_answers(fields: dict, config: dict) -> list[ScorePart]:
    names = config["field_names"]
    parts = [
        choice_part(fields, "Budget", names["budget"], DEFAULT_BUDGET, config["budget"]),
        choice_part(fields, "Authority", names["authority"], DEFAULT_AUTHORITY, config["authority"]),
        need_part(text(fields, names["need"]), config["need"]),
        choice_part(fields, "Timeline", names["timeline"], DEFAULT_TIMELINE, config["timeline"]),
    ]
    return [p for p in parts if p is not None]


def choice_part(fields, label, field, defaults, overrides):
    answer = text(fields, field)
    if answer is None:
        host.log(LogLevel.DEBUG, f"{label}: no `{field}` answer")
        return None
    key = ascii_lower(answer)
    points = next((p for k, p in overrides if ascii_lower(trim(k)) == key), None)
    if points is None:
        points = next((p for k, p in defaults if ascii_lower(k) == key), None)
    if points is None:
        host.log(LogLevel.WARN, f"{label}: unknown answer {json.dumps(answer, ensure_ascii=False)} in `{field}`")
        return None
    if points == 0:
        return None
    return ScorePart(points, f"{label} {answer.replace('_', ' ')}: {points:+}")


def need_part(need, config):
    if need is None:
        return None
    n = len(need)  # characters (code points), as the Rust twin counts them
    if n >= config["min_length"]:
        points, reason = config["points"], f"Need described ({n} chars)"
    else:
        points, reason = config["short_points"], f"Need mentioned briefly ({n} chars)"
    return None if points == 0 else ScorePart(points, f"{reason}: {points:+}")


# --- the config: every key optional, unknown keys refused -----------------


def parse_config(config: str) -> dict:
    raw = {} if trim(config) == "" else load_json(config, "invalid plugin config")
    root = obj(raw, "the config")
    known(root, {"budget", "authority", "need", "timeline", "field_names"}, "the config")
    need = obj(root.get("need", {}), "need")
    known(need, {"min_length", "points", "short_points"}, "need")
    names = obj(root.get("field_names", {}), "field_names")
    known(names, {"budget", "authority", "need", "timeline"}, "field_names")
    return {
        "budget": table(root.get("budget", {}), "budget"),
        "authority": table(root.get("authority", {}), "authority"),
        "timeline": table(root.get("timeline", {}), "timeline"),
        "need": {
            "min_length": integer(need.get("min_length", 30), "need.min_length", (0, 2**53 - 1)),
            "points": integer(need.get("points", 15), "need.points"),
            "short_points": integer(need.get("short_points", 5), "need.short_points"),
        },
        "field_names": {
            key: string(names.get(key, key), f"field_names.{key}")
            for key in ("budget", "authority", "need", "timeline")
        },
    }


def table(value, where):
    """An answer table, searched in key order as the Rust twin's BTreeMap is."""
    entries = [(k, integer(v, f"{where}.{k}")) for k, v in obj(value, where).items()]
    return sorted(entries, key=lambda entry: entry[0].encode())


def obj(value, where):
    if not isinstance(value, dict):
        raise ValueError(f"invalid plugin config: {where} must be an object")
    return value


def known(value, keys, where):
    for key in value:
        if key not in keys:
            raise ValueError(f"invalid plugin config: unknown field `{key}` in {where}")


def integer(value, where, bounds=I32):
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"invalid plugin config: {where} must be an integer from {low} to {high}")
    return value


def string(value, where):
    if not isinstance(value, str):
        raise ValueError(f"invalid plugin config: {where} must be a string")
    return value


# --- the lead's fields -----------------------------------------------------


def parse_fields(fields: str) -> dict:
    if trim(fields) == "":
        return {}
    value = load_json(fields, "lead fields are not valid JSON")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("lead fields must be a JSON object")
    return value


def text(fields: dict, key: str):
    """A field's string value, trimmed; blank and non-string values count as missing."""
    value = fields.get(key)
    if not isinstance(value, str):
        return None
    return trim(value) or None


def load_json(text_: str, what: str):
    def refuse_constant(name):
        raise ValueError(f"{what}: {name} is not JSON")

    try:
        return json.loads(text_, parse_constant=refuse_constant)
    except json.JSONDecodeError as e:
        raise ValueError(f"{what}: {e}") from None


# Unicode White_Space, the set Rust's str::trim uses (str.strip also strips
# the ASCII separators U+001C to U+001F).
_SPACE = "\t\n\v\f\r \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def trim(s: str) -> str:
    return s.strip(_SPACE)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(s: str) -> str:
    """Folds ASCII letters only, as Rust's eq_ignore_ascii_case does."""
    return s.translate(_ASCII_LOWER)
