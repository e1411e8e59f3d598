//! Checking a form definition and compiling it into what intake and the page
//! generator need.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::error::FieldError;

/// The value shape of a field, as read from its schema `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    String,
    Integer,
    Number,
    Boolean,
    /// An array of the given item kind (e.g. checkboxes).
    Array(ScalarKind),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    String,
    Integer,
    Number,
    Boolean,
}

/// How a field is shown on the generated page (`ui:widget`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Widget {
    Text,
    Textarea,
    Email,
    Tel,
    Number,
    Date,
    Select,
    Radio,
    Checkbox,
    Checkboxes,
    Hidden,
}

impl Widget {
    const NAMES: [(&'static str, Widget); 11] = [
        ("text", Widget::Text),
        ("textarea", Widget::Textarea),
        ("email", Widget::Email),
        ("tel", Widget::Tel),
        ("number", Widget::Number),
        ("date", Widget::Date),
        ("select", Widget::Select),
        ("radio", Widget::Radio),
        ("checkbox", Widget::Checkbox),
        ("checkboxes", Widget::Checkboxes),
        ("hidden", Widget::Hidden),
    ];

    fn parse(name: &str) -> Option<Widget> {
        Self::NAMES.iter().find(|(n, _)| *n == name).map(|(_, w)| *w)
    }
}

/// When a field is required only under a condition (`if`/`then`).
#[derive(Debug, Clone)]
pub struct Condition {
    pub field: String,
    pub value: Value,
}

/// One field of a form, everything the page and the urlencoded reader need.
#[derive(Debug, Clone)]
pub struct FieldSpec {
    pub name: String,
    pub label: String,
    pub help: Option<String>,
    pub placeholder: Option<String>,
    pub widget: Widget,
    pub kind: FieldKind,
    /// Allowed values with their labels (`enum` + `ui:enumNames`); for an
    /// array field, its items' values.
    pub options: Vec<(Value, String)>,
    pub required: bool,
    pub required_when: Vec<Condition>,
    pub default: Option<Value>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub max_length: Option<u64>,
}

impl FieldSpec {
    /// The label of one of this field's values, for messages and the page.
    pub fn option_label(&self, value: &Value) -> String {
        self.options
            .iter()
            .find(|(v, _)| v == value)
            .map(|(_, label)| label.clone())
            .unwrap_or_else(|| display_value(value))
    }
}

/// A form version ready for intake: its validator, compiled once.
pub struct CompiledForm {
    validator: jsonschema::Validator,
    pub title: String,
    pub description: Option<String>,
    pub submit_label: String,
    /// In display order.
    pub fields: Vec<FieldSpec>,
    by_name: HashMap<String, usize>,
    lead_fields: LeadFieldNames,
}

/// Which properties hold the lead's identity and headline fields. By name
/// (`email`, `phone`, `name`, `company`), or marked with `"x-lead-field"`.
#[derive(Debug, Clone, Default)]
struct LeadFieldNames {
    email: Option<String>,
    phone: Option<String>,
    name: Option<String>,
    company: Option<String>,
}

/// The lead's headline values pulled out of a valid submission.
#[derive(Debug, Default)]
pub struct LeadFields<'a> {
    pub email: Option<(&'a str, &'a str)>,
    pub phone: Option<(&'a str, &'a str)>,
    pub name: Option<&'a str>,
    pub company: Option<&'a str>,
}

impl CompiledForm {
    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.by_name.get(name).map(|&i| &self.fields[i])
    }

    /// Every failing field at once, each at its own pointer.
    pub fn validate(&self, submission: &Value) -> Vec<FieldError> {
        self.validator
            .iter_errors(submission)
            .flat_map(|e| describe(&e))
            .collect()
    }

    /// `(property, value)` of email and phone, and the name and company.
    pub fn lead_fields<'a>(&'a self, fields: &'a Map<String, Value>) -> LeadFields<'a> {
        fn get<'a>(fields: &'a Map<String, Value>, name: &'a Option<String>) -> Option<(&'a str, &'a str)> {
            let name = name.as_deref()?;
            let value = fields.get(name)?.as_str()?.trim();
            (!value.is_empty()).then_some((name, value))
        }
        let names = &self.lead_fields;
        LeadFields {
            email: get(fields, &names.email),
            phone: get(fields, &names.phone),
            name: get(fields, &names.name).map(|(_, v)| v),
            company: get(fields, &names.company).map(|(_, v)| v),
        }
    }
}

/// Turns one validator error into field errors a person can act on. A missing
/// required field is reported at its own pointer, not its parent's.
fn describe(error: &jsonschema::ValidationError<'_>) -> Vec<FieldError> {
    use jsonschema::error::ValidationErrorKind as Kind;
    let at = error.instance_path().as_str().to_owned();
    match error.kind() {
        Kind::Required { property } => {
            let name = property
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| property.to_string());
            vec![FieldError::new(
                format!("{at}/{}", escape_pointer(&name)),
                "is required",
            )]
        }
        Kind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|name| FieldError::new(format!("{at}/{}", escape_pointer(name)), "is not a field of this form"))
            .collect(),
        Kind::Format { format } => vec![FieldError::new(at, format!("is not a valid {format}"))],
        _ => vec![FieldError::new(at, error.masked().to_string())],
    }
}

fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn display_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Checks an uploaded definition and compiles it. Errors point into the
/// request body: `/schema/...` at the bad keyword, `/ui_schema/...`.
pub fn check_definition(title: &str, schema: &Value, ui_schema: &Value) -> Result<CompiledForm, Vec<FieldError>> {
    let meta_errors: Vec<FieldError> = jsonschema::draft202012::meta::validator()
        .iter_errors(schema)
        .map(|e| FieldError::new(format!("/schema{}", e.instance_path().as_str()), e.to_string()))
        .collect();
    if !meta_errors.is_empty() {
        return Err(meta_errors);
    }
    if let Some(declared) = schema.get("$schema").and_then(Value::as_str)
        && !declared.contains("2020-12")
    {
        return Err(vec![FieldError::new(
            "/schema/$schema",
            format!("forms use JSON Schema draft 2020-12, not {declared:?}"),
        )]);
    }
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(schema)
        .map_err(|e| {
            vec![FieldError::new(
                format!("/schema{}", e.instance_path().as_str()),
                e.to_string(),
            )]
        })?;

    let properties = match (schema.get("type").and_then(Value::as_str), schema.get("properties")) {
        (Some("object"), Some(Value::Object(p))) if !p.is_empty() => p,
        _ => {
            return Err(vec![FieldError::new(
                "/schema",
                "a form schema must have \"type\": \"object\" and at least one field in \"properties\"",
            )]);
        }
    };
    let ui = match ui_schema {
        Value::Object(ui) => ui.clone(),
        Value::Null => Map::new(),
        _ => return Err(vec![FieldError::new("/ui_schema", "must be a JSON object")]),
    };
    let mut errors = Vec::new();
    let fields = field_specs(schema, properties, &ui, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let by_name = fields.iter().enumerate().map(|(i, f)| (f.name.clone(), i)).collect();
    let text = |key: &str| ui.get(key).and_then(Value::as_str).map(str::to_owned);
    Ok(CompiledForm {
        validator,
        title: title.to_owned(),
        description: text("ui:description")
            .or_else(|| schema.get("description").and_then(Value::as_str).map(str::to_owned)),
        submit_label: text("ui:submit").unwrap_or_else(|| "Submit / 提交".to_owned()),
        lead_fields: lead_field_names(properties),
        fields,
        by_name,
    })
}

/// Each field's spec, in display order; problems are added to `errors`.
fn field_specs(
    schema: &Value,
    properties: &Map<String, Value>,
    ui: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> Vec<FieldSpec> {
    let order = field_order(properties, ui, errors);
    for key in ui.keys() {
        if !key.starts_with("ui:") && !properties.contains_key(key) {
            errors.push(FieldError::new(
                format!("/ui_schema/{}", escape_pointer(key)),
                "names no field of the schema",
            ));
        }
    }
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let conditions = conditional_requirements(schema);

    let mut fields = Vec::with_capacity(order.len());
    for name in order {
        let field_schema = &properties[&name];
        let field_ui = ui.get(&name).cloned().unwrap_or(Value::Null);
        match field_spec(&name, field_schema, &field_ui) {
            Ok(mut spec) => {
                spec.required = required.contains(&name.as_str());
                spec.required_when = conditions.get(&name).cloned().unwrap_or_default();
                fields.push(spec);
            }
            Err(e) => errors.push(e),
        }
    }
    fields
}

/// `ui:order` first (it must name known fields), then any field it left out,
/// in schema order.
fn field_order(properties: &Map<String, Value>, ui: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    match ui.get("ui:order") {
        None => {}
        Some(Value::Array(names)) => {
            for (i, name) in names.iter().enumerate() {
                match name.as_str() {
                    Some(n) if properties.contains_key(n) && !order.iter().any(|o| o == n) => order.push(n.to_owned()),
                    _ => errors.push(FieldError::new(
                        format!("/ui_schema/ui:order/{i}"),
                        format!("{name} is not a field of the schema (or is listed twice)"),
                    )),
                }
            }
        }
        Some(_) => errors.push(FieldError::new(
            "/ui_schema/ui:order",
            "must be an array of field names",
        )),
    }
    for name in properties.keys() {
        if !order.contains(name) {
            order.push(name.clone());
        }
    }
    order
}

fn field_spec(name: &str, schema: &Value, ui: &Value) -> Result<FieldSpec, FieldError> {
    let pointer = |key: &str| format!("/ui_schema/{}/{key}", escape_pointer(name));
    let ui_text = |key: &str| ui.get(key).and_then(Value::as_str).map(str::to_owned);
    let kind = field_kind(schema);
    let values: Vec<Value> = match kind {
        FieldKind::Array(_) => schema.pointer("/items/enum").and_then(Value::as_array).cloned(),
        _ => schema.get("enum").and_then(Value::as_array).cloned(),
    }
    .unwrap_or_default();
    let labels: Vec<String> = match ui.get("ui:enumNames") {
        None => values.iter().map(display_value).collect(),
        Some(Value::Array(labels)) if labels.len() == values.len() => labels.iter().map(display_value).collect(),
        Some(_) => {
            return Err(FieldError::new(
                pointer("ui:enumNames"),
                format!("must be an array of {} labels, one per enum value", values.len()),
            ));
        }
    };
    let default_widget = match kind {
        FieldKind::Boolean => Widget::Checkbox,
        FieldKind::Array(_) => Widget::Checkboxes,
        _ if !values.is_empty() => Widget::Select,
        FieldKind::Integer | FieldKind::Number => Widget::Number,
        FieldKind::String => match schema.get("format").and_then(Value::as_str) {
            Some("email") => Widget::Email,
            Some("date") => Widget::Date,
            _ if name == "phone" => Widget::Tel,
            _ if schema.get("maxLength").and_then(Value::as_u64).is_some_and(|n| n > 500) => Widget::Textarea,
            _ => Widget::Text,
        },
    };
    let widget = match ui.get("ui:widget") {
        None => default_widget,
        Some(w) => w.as_str().and_then(Widget::parse).ok_or_else(|| {
            let names: Vec<&str> = Widget::NAMES.iter().map(|(n, _)| *n).collect();
            FieldError::new(pointer("ui:widget"), format!("must be one of {}", names.join(", ")))
        })?,
    };
    Ok(FieldSpec {
        name: name.to_owned(),
        label: ui_text("ui:title")
            .or_else(|| schema.get("title").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| name.to_owned()),
        help: ui_text("ui:help").or_else(|| schema.get("description").and_then(Value::as_str).map(str::to_owned)),
        placeholder: ui_text("ui:placeholder"),
        widget,
        kind,
        options: values.into_iter().zip(labels).collect(),
        required: false,
        required_when: Vec::new(),
        default: schema.get("default").cloned(),
        minimum: schema.get("minimum").and_then(Value::as_f64),
        maximum: schema.get("maximum").and_then(Value::as_f64),
        max_length: schema.get("maxLength").and_then(Value::as_u64),
    })
}

fn scalar_kind(schema: &Value) -> ScalarKind {
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if types.contains(&"boolean") {
        ScalarKind::Boolean
    } else if types.contains(&"integer") {
        ScalarKind::Integer
    } else if types.contains(&"number") {
        ScalarKind::Number
    } else {
        ScalarKind::String
    }
}

fn field_kind(schema: &Value) -> FieldKind {
    let is_array = match schema.get("type") {
        Some(Value::String(t)) => t == "array",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "array"),
        _ => false,
    };
    if is_array {
        return FieldKind::Array(schema.get("items").map(scalar_kind).unwrap_or(ScalarKind::String));
    }
    match scalar_kind(schema) {
        ScalarKind::Boolean => FieldKind::Boolean,
        ScalarKind::Integer => FieldKind::Integer,
        ScalarKind::Number => FieldKind::Number,
        ScalarKind::String => FieldKind::String,
    }
}

/// Reads `if: {properties: {f: {const: v}}}, then: {required: [...]}` at the
/// top level and inside `allOf`: the fields each makes required, and when.
fn conditional_requirements(schema: &Value) -> HashMap<String, Vec<Condition>> {
    let mut found: HashMap<String, Vec<Condition>> = HashMap::new();
    let branches = std::iter::once(schema).chain(schema.get("allOf").and_then(Value::as_array).into_iter().flatten());
    for branch in branches {
        let (Some(Value::Object(props)), Some(then)) = (branch.pointer("/if/properties"), branch.get("then")) else {
            continue;
        };
        let Some((field, value)) = props
            .iter()
            .find_map(|(f, s)| s.get("const").map(|v| (f.clone(), v.clone())))
        else {
            continue;
        };
        for name in then
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            found.entry(name.to_owned()).or_default().push(Condition {
                field: field.clone(),
                value: value.clone(),
            });
        }
    }
    found
}

fn lead_field_names(properties: &Map<String, Value>) -> LeadFieldNames {
    let pick = |role: &str| {
        properties
            .iter()
            .find(|(_, s)| s.get("x-lead-field").and_then(Value::as_str) == Some(role))
            .map(|(n, _)| n.clone())
            .or_else(|| properties.contains_key(role).then(|| role.to_owned()))
    };
    LeadFieldNames {
        email: pick("email"),
        phone: pick("phone"),
        name: pick("name"),
        company: pick("company"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn form() -> CompiledForm {
        let schema = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "email": {"type": "string", "format": "email"},
                "size": {"type": "integer", "minimum": 1},
                "relationship": {"type": "string", "enum": ["new", "existing"]},
                "customer_id": {"type": "string"}
            },
            "required": ["name", "email"],
            "allOf": [{"if": {"properties": {"relationship": {"const": "existing"}}, "required": ["relationship"]},
                       "then": {"required": ["customer_id"]}}]
        });
        check_definition("t", &schema, &json!({"ui:order": ["email", "name"]})).unwrap()
    }

    #[test]
    fn reports_every_failing_field_at_its_own_pointer() {
        let errors = form().validate(&json!({"email": "not-an-email", "size": "three"}));
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert!(pointers.contains(&"/name"), "{errors:?}");
        assert!(pointers.contains(&"/email"), "{errors:?}");
        assert!(pointers.contains(&"/size"), "{errors:?}");
    }

    #[test]
    fn conditional_requirement_applies_only_when_its_condition_holds() {
        let form = form();
        assert!(
            form.validate(&json!({"name": "a", "email": "a@b.cn", "relationship": "new"}))
                .is_empty()
        );
        let errors = form.validate(&json!({"name": "a", "email": "a@b.cn", "relationship": "existing"}));
        assert_eq!(errors, vec![FieldError::new("/customer_id", "is required")]);
        assert_eq!(form.field("customer_id").unwrap().required_when.len(), 1);
    }

    #[test]
    fn ui_order_comes_first_then_the_rest() {
        let form = form();
        let names: Vec<&str> = form.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names[..2], ["email", "name"]);
        assert_eq!(names.len(), 5);
    }

    #[test]
    fn a_bad_keyword_is_pointed_at() {
        let schema = json!({"type": "object", "properties": {"age": {"type": "strin"}}});
        let errors = check_definition("t", &schema, &json!({})).err().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e.pointer.starts_with("/schema/properties/age/type")),
            "{errors:?}"
        );
    }

    #[test]
    fn ui_schema_must_name_real_fields() {
        let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        let errors = check_definition("t", &schema, &json!({"ui:order": ["a", "b"], "c": {}}))
            .err()
            .unwrap();
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/ui_schema/ui:order/1", "/ui_schema/c"]);
    }
}
