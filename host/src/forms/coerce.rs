//! Reading a form-urlencoded body into the schema's types, so a browser post
//! validates like the equivalent JSON: numbers and booleans converted,
//! repeated keys gathered into arrays, empty values treated as absent.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use super::definition::ScalarKind;
use super::{CompiledForm, FieldKind};

/// A decoded urlencoded body: the raw values by key (to redisplay a page with
/// what was typed) and the hidden `_`-prefixed keys the page carries (UTM
/// parameters, the submission token), which are not form fields.
#[derive(Debug, Default, Clone)]
pub struct UrlEncoded {
    pub raw: BTreeMap<String, Vec<String>>,
    pub hidden: BTreeMap<String, String>,
}

impl UrlEncoded {
    pub fn parse(body: &[u8]) -> Self {
        let mut decoded = UrlEncoded::default();
        for (key, value) in form_urlencoded::parse(body) {
            let key = key.trim_end_matches("[]");
            if let Some(hidden) = key.strip_prefix('_') {
                decoded.hidden.insert(hidden.to_owned(), value.into_owned());
            } else {
                decoded.raw.entry(key.to_owned()).or_default().push(value.into_owned());
            }
        }
        decoded
    }

    /// The fields as JSON typed by `form`. A value that does not convert is
    /// kept as a string, so the validator reports it at its field.
    pub fn to_fields(&self, form: &CompiledForm) -> Map<String, Value> {
        let mut fields = Map::new();
        for (key, values) in &self.raw {
            let present: Vec<&str> = values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()).collect();
            let kind = form.field(key).map(|f| f.kind).unwrap_or(FieldKind::String);
            let value = match kind {
                FieldKind::Array(item) => Value::Array(present.iter().map(|v| scalar(item, v)).collect()),
                _ => match present.first() {
                    Some(v) => scalar(scalar_of(kind), v),
                    None => continue,
                },
            };
            if matches!(&value, Value::Array(items) if items.is_empty()) {
                continue;
            }
            fields.insert(key.clone(), value);
        }
        fields
    }
}

fn scalar_of(kind: FieldKind) -> ScalarKind {
    match kind {
        FieldKind::Integer => ScalarKind::Integer,
        FieldKind::Number => ScalarKind::Number,
        FieldKind::Boolean => ScalarKind::Boolean,
        FieldKind::String | FieldKind::Array(_) => ScalarKind::String,
    }
}

fn scalar(kind: ScalarKind, raw: &str) -> Value {
    let converted = match kind {
        ScalarKind::String => None,
        ScalarKind::Integer => raw.parse::<i64>().ok().map(Value::from),
        ScalarKind::Number => raw.parse::<f64>().ok().and_then(Number::from_f64).map(Value::Number),
        ScalarKind::Boolean => match raw.to_ascii_lowercase().as_str() {
            "true" | "on" | "1" | "yes" => Some(Value::Bool(true)),
            "false" | "off" | "0" | "no" => Some(Value::Bool(false)),
            _ => None,
        },
    };
    converted.unwrap_or_else(|| Value::String(raw.to_owned()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::forms::check_definition;

    #[test]
    fn converts_to_the_schema_types() {
        let schema = json!({"type": "object", "properties": {
            "size": {"type": "integer"},
            "budget": {"type": "number"},
            "consent": {"type": "boolean"},
            "products": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
            "note": {"type": "string"}
        }});
        let form = check_definition("t", &schema, &json!({})).unwrap();
        let body = b"size=12&budget=3.5&consent=on&products=a&products%5B%5D=b&note=&_utm_source=ads&extra=x";
        let decoded = UrlEncoded::parse(body);
        let fields = decoded.to_fields(&form);
        assert_eq!(
            Value::Object(fields),
            json!({"size": 12, "budget": 3.5, "consent": true, "products": ["a", "b"], "extra": "x"})
        );
        assert_eq!(decoded.hidden.get("utm_source").map(String::as_str), Some("ads"));
    }

    #[test]
    fn keeps_unconvertible_values_for_the_validator() {
        let schema = json!({"type": "object", "properties": {"size": {"type": "integer"}}});
        let form = check_definition("t", &schema, &json!({})).unwrap();
        let fields = UrlEncoded::parse(b"size=twelve").to_fields(&form);
        assert_eq!(fields["size"], json!("twelve"));
        assert_eq!(
            form.validate(&Value::Object(fields), crate::i18n::Lang::En)[0].pointer,
            "/size"
        );
    }
}
