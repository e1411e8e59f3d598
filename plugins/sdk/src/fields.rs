//! Typed access to a lead's form fields.

use serde_json::{Map, Value};

use crate::Lead;

/// A lead's form fields, parsed once from [`Lead::fields`](crate::Lead)
/// (a JSON object in a string, keyed by the form's JSON Schema property
/// names).
///
/// The getters are forgiving in the way web forms need: HTML forms post
/// everything as strings, so [`i64`](Fields::i64), [`f64`](Fields::f64) and
/// [`bool`](Fields::bool) also accept strings like `"250"` or `"yes"`, and
/// blank strings count as missing.
///
/// ```
/// use leadhost_plugin::Fields;
///
/// let f = Fields::parse(r#"{"company":" Acme ","employees":"250","products":["crm","bi"]}"#).unwrap();
/// assert_eq!(f.str("company"), Some("Acme"));
/// assert_eq!(f.i64("employees"), Some(250));
/// assert_eq!(f.strs("products"), Some(vec!["crm", "bi"]));
/// assert_eq!(f.str("phone"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields {
    map: Map<String, Value>,
}

impl Fields {
    /// Parse a JSON object. An empty (or all-whitespace) string gives empty
    /// fields; anything other than an object (or `null`) is an error.
    pub fn parse(json: &str) -> Result<Self, String> {
        if json.trim().is_empty() {
            return Ok(Self::default());
        }
        match serde_json::from_str::<Value>(json) {
            Ok(Value::Object(map)) => Ok(Self { map }),
            Ok(Value::Null) => Ok(Self::default()),
            Ok(other) => Err(format!(
                "lead fields must be a JSON object, got {}",
                json_kind(&other)
            )),
            Err(e) => Err(format!("lead fields are not valid JSON: {e}")),
        }
    }

    /// Parse `lead.fields`.
    pub fn from_lead(lead: &Lead) -> Result<Self, String> {
        Self::parse(&lead.fields)
    }

    /// Wrap an already parsed JSON object.
    pub fn from_map(map: Map<String, Value>) -> Self {
        Self { map }
    }

    /// The raw JSON value of `key`, if present (including `null`).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key)
    }

    /// True when `key` is present and neither `null` nor a blank string nor
    /// an empty array.
    pub fn has(&self, key: &str) -> bool {
        match self.map.get(key) {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(_) => true,
        }
    }

    /// The string value of `key`, trimmed of surrounding whitespace.
    ///
    /// `None` when the key is missing, is not a string, or is blank.
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.map.get(key) {
            Some(Value::String(s)) => non_blank(s),
            _ => None,
        }
    }

    /// The integer value of `key`: a JSON integer, a float with no
    /// fractional part, or a string holding one (`"250"`).
    pub fn i64(&self, key: &str) -> Option<i64> {
        match self.map.get(key)? {
            Value::Number(n) => n.as_i64().or_else(|| float_to_i64(n.as_f64()?)),
            Value::String(s) => {
                let s = s.trim();
                s.parse::<i64>()
                    .ok()
                    .or_else(|| float_to_i64(s.parse::<f64>().ok()?))
            }
            _ => None,
        }
    }

    /// The numeric value of `key`: a JSON number or a string holding one
    /// (`"12.5"`). Non-finite values give `None`.
    pub fn f64(&self, key: &str) -> Option<f64> {
        let v = match self.map.get(key)? {
            Value::Number(n) => n.as_f64()?,
            Value::String(s) => s.trim().parse::<f64>().ok()?,
            _ => return None,
        };
        v.is_finite().then_some(v)
    }

    /// The boolean value of `key`: a JSON boolean, the numbers `1`/`0`, or
    /// (case-insensitively) the strings `true`/`false`, `yes`/`no`,
    /// `on`/`off` (what an HTML checkbox posts) and `1`/`0`.
    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.map.get(key)? {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => match n.as_i64()? {
                1 => Some(true),
                0 => Some(false),
                _ => None,
            },
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Some(true),
                "false" | "no" | "off" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// The strings of an array value (e.g. a multi-select), trimmed; blank
    /// and non-string elements are skipped. A single non-blank string is
    /// returned as a one-element list. `None` when the key is missing or
    /// holds anything else.
    pub fn strs(&self, key: &str) -> Option<Vec<&str>> {
        match self.map.get(key)? {
            Value::Array(items) => Some(
                items
                    .iter()
                    .filter_map(|v| v.as_str().and_then(non_blank))
                    .collect(),
            ),
            Value::String(s) => non_blank(s).map(|s| vec![s]),
            _ => None,
        }
    }

    /// The field names present, in the object's order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    /// The whole parsed object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.map
    }
}

/// `s` trimmed, or `None` when blank.
fn non_blank(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

/// `f` as an integer when it is a whole number within `i64` range.
fn float_to_i64(f: f64) -> Option<i64> {
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e18).then_some(f as i64)
}

/// A short name for a JSON value's kind, for error messages.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(json: &str) -> Fields {
        Fields::parse(json).unwrap()
    }

    #[test]
    fn parse_accepts_objects_and_empty() {
        assert!(f("").as_map().is_empty());
        assert!(f("null").as_map().is_empty());
        assert_eq!(f(r#"{"a":1}"#).keys().collect::<Vec<_>>(), ["a"]);
        assert!(Fields::parse("[1]").unwrap_err().contains("an array"));
        assert!(Fields::parse("{").unwrap_err().contains("not valid JSON"));
    }

    #[test]
    fn str_trims_and_skips_blank() {
        let x = f(r#"{"a":" hi ","b":"  ","c":3}"#);
        assert_eq!(x.str("a"), Some("hi"));
        assert_eq!(x.str("b"), None);
        assert_eq!(x.str("c"), None);
        assert_eq!(x.str("missing"), None);
        assert!(x.has("a") && !x.has("b") && x.has("c") && !x.has("missing"));
    }

    #[test]
    fn numbers_from_numbers_and_strings() {
        let x = f(r#"{"a":7,"b":"42","c":3.0,"d":"2.5","e":"x","f":2.5}"#);
        assert_eq!(x.i64("a"), Some(7));
        assert_eq!(x.i64("b"), Some(42));
        assert_eq!(x.i64("c"), Some(3));
        assert_eq!(x.i64("d"), None);
        assert_eq!(x.i64("e"), None);
        assert_eq!(x.i64("f"), None);
        assert_eq!(x.f64("d"), Some(2.5));
        assert_eq!(x.f64("a"), Some(7.0));
        assert_eq!(x.f64("e"), None);
    }

    #[test]
    fn bools() {
        let x = f(r#"{"a":true,"b":"on","c":"No","d":0,"e":"maybe"}"#);
        assert_eq!(x.bool("a"), Some(true));
        assert_eq!(x.bool("b"), Some(true));
        assert_eq!(x.bool("c"), Some(false));
        assert_eq!(x.bool("d"), Some(false));
        assert_eq!(x.bool("e"), None);
    }

    #[test]
    fn string_lists() {
        let x = f(r#"{"a":["x"," y ","",3],"b":"solo","c":5}"#);
        assert_eq!(x.strs("a"), Some(vec!["x", "y"]));
        assert_eq!(x.strs("b"), Some(vec!["solo"]));
        assert_eq!(x.strs("c"), None);
        assert_eq!(x.strs("missing"), None);
    }
}
