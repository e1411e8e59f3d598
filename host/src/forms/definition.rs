//! Checking a form definition and compiling it into what intake and the page
//! generator need.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::problems::Problem;
use super::text::LocalText;
use crate::error::FieldError;
use crate::i18n::Lang;

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

/// What the page's script does with a conditional field while none of its
/// conditions holds (`ui:conditional`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConditionalDisplay {
    /// `"hide"`: the field appears only when it is required.
    #[default]
    Hide,
    /// `"show"`: the field is always there, optional until a condition
    /// makes it required (e.g. a phone asked of everyone, needed of some).
    Show,
}

/// One field of a form, everything the page and the urlencoded reader need.
#[derive(Debug, Clone)]
pub struct FieldSpec {
    pub name: String,
    pub label: LocalText,
    pub help: Option<LocalText>,
    pub placeholder: Option<LocalText>,
    pub widget: Widget,
    pub kind: FieldKind,
    /// Allowed values with their labels (`enum` + `ui:enumNames`); for an
    /// array field, its items' values.
    pub options: Vec<(Value, LocalText)>,
    pub required: bool,
    pub required_when: Vec<Condition>,
    pub conditional: ConditionalDisplay,
    pub default: Option<Value>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub max_length: Option<u64>,
}

impl FieldSpec {
    /// The label of one of this field's values, for messages and the page.
    pub fn option_label(&self, value: &Value, lang: Lang) -> String {
        self.options
            .iter()
            .find(|(v, _)| v == value)
            .map(|(_, label)| label.get(lang).to_owned())
            .unwrap_or_else(|| display_value(value))
    }

    /// Whether one of its conditions holds on `values` (the field is then
    /// required).
    pub fn condition_holds(&self, values: &Map<String, Value>) -> bool {
        self.required_when
            .iter()
            .any(|c| values.get(&c.field).is_some_and(|v| v == &c.value))
    }
}

/// How the page behaves, from the UI schema's top level.
#[derive(Debug, Clone, Default)]
pub struct PageSettings {
    /// `ui:thankYou`: shown after a submission, instead of the default words.
    pub thank_you: Option<LocalText>,
    /// `ui:redirect`: an https URL the browser is sent to after a submission.
    pub redirect: Option<String>,
    /// `ui:progressive.max_new_fields`: how many fields not yet known a
    /// returning visitor is asked at most.
    pub max_new_fields: Option<usize>,
    /// `ui:kiosk`: the page always runs as a kiosk (as with `?kiosk=1`).
    pub kiosk: bool,
}

/// A form version ready for intake: its validator, compiled once.
pub struct CompiledForm {
    validator: jsonschema::Validator,
    /// `ui:title`, else the form's title.
    pub title: LocalText,
    pub description: Option<LocalText>,
    /// `ui:submit`; `None`: the page's default word.
    pub submit_label: Option<LocalText>,
    pub page: PageSettings,
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

    /// Every failing field at once, each at its own pointer, with its
    /// message in `lang`.
    pub fn validate(&self, submission: &Value, lang: Lang) -> Vec<FieldError> {
        self.validator
            .iter_errors(submission)
            .flat_map(|e| describe(&e))
            .map(|(pointer, problem)| FieldError::new(pointer, problem.message(lang)))
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

/// Turns one validator error into the problems a person can act on, each
/// at its pointer. A missing required field is reported at its own pointer,
/// not its parent's.
fn describe(error: &jsonschema::ValidationError<'_>) -> Vec<(String, Problem)> {
    use jsonschema::error::ValidationErrorKind as Kind;
    let at = error.instance_path().as_str().to_owned();
    match error.kind() {
        Kind::Required { property } => {
            let name = property
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| property.to_string());
            vec![(format!("{at}/{}", escape_pointer(&name)), Problem::Required)]
        }
        Kind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|name| (format!("{at}/{}", escape_pointer(name)), Problem::NotAField))
            .collect(),
        kind => vec![(at, Problem::of(kind, || error.masked().to_string()))],
    }
}

pub(super) fn escape_pointer(segment: &str) -> String {
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
    let mut text = |key: &str| ui_text(ui.get(key), &format!("/ui_schema/{key}"), &mut errors);
    let title = text("ui:title").unwrap_or_else(|| title.into());
    // The schema's own `description`s document the data for integrators;
    // visitors read the UI schema's words, in their language.
    let description = text("ui:description");
    let submit_label = text("ui:submit");
    let page = page_settings(&ui, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let by_name = fields.iter().enumerate().map(|(i, f)| (f.name.clone(), i)).collect();
    Ok(CompiledForm {
        validator,
        title,
        description,
        submit_label,
        page,
        lead_fields: lead_field_names(properties),
        fields,
        by_name,
    })
}

/// A UI string at `pointer`, if given; a wrong one is added to `errors`.
fn ui_text(value: Option<&Value>, pointer: &str, errors: &mut Vec<FieldError>) -> Option<LocalText> {
    LocalText::parse(value?, pointer).map_err(|e| errors.push(e)).ok()
}

/// The most fields `ui:progressive` may ask of a returning visitor.
const MAX_NEW_FIELDS_LIMIT: u64 = 50;

/// The page's settings from the UI schema's top level; problems are added
/// to `errors`.
fn page_settings(ui: &Map<String, Value>, errors: &mut Vec<FieldError>) -> PageSettings {
    let thank_you = ui_text(ui.get("ui:thankYou"), "/ui_schema/ui:thankYou", errors);
    let redirect = ui.get("ui:redirect").and_then(|url| {
        redirect_url(url)
            .map_err(|why| errors.push(FieldError::new("/ui_schema/ui:redirect", why)))
            .ok()
    });
    let max_new_fields = ui.get("ui:progressive").and_then(|progressive| {
        let count = progressive.get("max_new_fields").and_then(Value::as_u64);
        match count {
            Some(n @ 1..=MAX_NEW_FIELDS_LIMIT) if progressive.as_object().is_some_and(|o| o.len() == 1) => {
                Some(n as usize)
            }
            _ => {
                errors.push(FieldError::new(
                    "/ui_schema/ui:progressive/max_new_fields",
                    format!(
                        "ui:progressive must be {{\"max_new_fields\": N}}, N a whole number from 1 to {MAX_NEW_FIELDS_LIMIT}"
                    ),
                ));
                None
            }
        }
    });
    let kiosk = match ui.get("ui:kiosk") {
        None => false,
        Some(Value::Bool(on)) => *on,
        Some(_) => {
            errors.push(FieldError::new("/ui_schema/ui:kiosk", "must be true or false"));
            false
        }
    };
    PageSettings {
        thank_you,
        redirect,
        max_new_fields,
        kiosk,
    }
}

/// `ui:redirect` must be an absolute https URL: the browser is sent there
/// with a visitor's submission behind it, never over plain http or to a
/// script.
fn redirect_url(value: &Value) -> Result<String, String> {
    let raw = value.as_str().ok_or("must be an https URL, as a string")?;
    let url = url::Url::parse(raw).map_err(|e| format!("is not a URL ({e}): use e.g. https://example.com/thanks"))?;
    if url.scheme() != "https" || url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{raw:?} is not an https URL with a host"));
    }
    Ok(url.to_string())
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
pub(super) fn field_order(
    properties: &Map<String, Value>,
    ui: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> Vec<String> {
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
    let ui_text = |key: &str| ui.get(key).map(|v| LocalText::parse(v, &pointer(key))).transpose();
    let schema_text = |key: &str| schema.get(key).and_then(Value::as_str).map(LocalText::from);
    let kind = field_kind(schema);
    let values: Vec<Value> = match kind {
        FieldKind::Array(_) => schema.pointer("/items/enum").and_then(Value::as_array).cloned(),
        _ => schema.get("enum").and_then(Value::as_array).cloned(),
    }
    .unwrap_or_default();
    let labels: Vec<LocalText> = match ui.get("ui:enumNames") {
        None => values.iter().map(|v| LocalText::Same(display_value(v))).collect(),
        Some(Value::Array(labels)) if labels.len() == values.len() => labels
            .iter()
            .enumerate()
            .map(|(i, label)| match label {
                Value::String(_) | Value::Object(_) => {
                    LocalText::parse(label, &format!("{}/{i}", pointer("ui:enumNames")))
                }
                other => Ok(LocalText::Same(display_value(other))),
            })
            .collect::<Result<_, _>>()?,
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
    let conditional = match ui.get("ui:conditional").map(|v| v.as_str()) {
        None | Some(Some("hide")) => ConditionalDisplay::Hide,
        Some(Some("show")) => ConditionalDisplay::Show,
        Some(_) => {
            return Err(FieldError::new(
                pointer("ui:conditional"),
                "must be \"hide\" (shown only when required) or \"show\" (always shown)",
            ));
        }
    };
    Ok(FieldSpec {
        name: name.to_owned(),
        label: ui_text("ui:title")?
            .or_else(|| schema_text("title"))
            .unwrap_or_else(|| name.into()),
        help: ui_text("ui:help")?,
        placeholder: ui_text("ui:placeholder")?,
        widget,
        kind,
        options: values.into_iter().zip(labels).collect(),
        required: false,
        required_when: Vec::new(),
        conditional,
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
pub(super) fn conditional_requirements(schema: &Value) -> HashMap<String, Vec<Condition>> {
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
        let errors = form().validate(&json!({"email": "not-an-email", "size": "three"}), Lang::En);
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert!(pointers.contains(&"/name"), "{errors:?}");
        assert!(pointers.contains(&"/email"), "{errors:?}");
        assert!(pointers.contains(&"/size"), "{errors:?}");
    }

    #[test]
    fn conditional_requirement_applies_only_when_its_condition_holds() {
        let form = form();
        assert!(
            form.validate(
                &json!({"name": "a", "email": "a@b.cn", "relationship": "new"}),
                Lang::En
            )
            .is_empty()
        );
        let errors = form.validate(
            &json!({"name": "a", "email": "a@b.cn", "relationship": "existing"}),
            Lang::En,
        );
        assert_eq!(errors, vec![FieldError::new("/customer_id", "is required")]);
        let errors = form.validate(
            &json!({"name": "a", "email": "a@b.cn", "relationship": "existing"}),
            Lang::Zh,
        );
        assert_eq!(errors, vec![FieldError::new("/customer_id", "必填")]);
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

    #[test]
    fn page_settings_are_checked_at_their_pointers() {
        let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        let good = check_definition(
            "t",
            &schema,
            &json!({"ui:title": {"zh": "标题", "en": "Title"}, "ui:thankYou": {"zh": "谢谢", "en": "Thanks"},
                    "ui:redirect": "https://example.com/thanks", "ui:progressive": {"max_new_fields": 2},
                    "ui:kiosk": true}),
        )
        .unwrap();
        assert_eq!(good.title.get(Lang::En), "Title");
        assert_eq!(good.page.redirect.as_deref(), Some("https://example.com/thanks"));
        assert_eq!(good.page.max_new_fields, Some(2));
        assert!(good.page.kiosk);
        let errors = check_definition(
            "t",
            &schema,
            &json!({"ui:redirect": "http://example.com/", "ui:progressive": {"max_new_fields": 0},
                    "ui:thankYou": 5, "a": {"ui:conditional": "fade"}}),
        )
        .err()
        .unwrap();
        let mut pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        pointers.sort();
        assert_eq!(
            pointers,
            [
                "/ui_schema/a/ui:conditional",
                "/ui_schema/ui:progressive/max_new_fields",
                "/ui_schema/ui:redirect",
                "/ui_schema/ui:thankYou"
            ]
        );
        for bad in ["javascript:alert(1)", "https://", "/thanks", "ftp://example.com"] {
            let errors = check_definition("t", &schema, &json!({"ui:redirect": bad}))
                .err()
                .unwrap();
            assert_eq!(errors[0].pointer, "/ui_schema/ui:redirect", "{bad}");
        }
    }
}
