//! The form designer's draft: a form's schema and UI schema changed one
//! field at a time (its type, labels, help, options, bounds, whether it is
//! required, when it shows), as the designer page edits them.
//!
//! The draft is the JSON itself, not a model of it: the designer sets only
//! the keys it shows, so whatever else an admin wrote in the JSON view
//! (descriptions, `x-lead-field`, patterns, page settings) is kept.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::definition::{conditional_requirements, escape_pointer, field_order};
use super::{CompiledForm, LocalText, check_definition};
use crate::error::FieldError;

/// What a field is to the admin: its value type and widget in one choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    Textarea,
    Email,
    Tel,
    Date,
    Integer,
    Number,
    Select,
    Radio,
    Checkbox,
    Checkboxes,
    Hidden,
}

impl FieldType {
    pub const ALL: [FieldType; 12] = [
        FieldType::Text,
        FieldType::Textarea,
        FieldType::Email,
        FieldType::Tel,
        FieldType::Date,
        FieldType::Integer,
        FieldType::Number,
        FieldType::Select,
        FieldType::Radio,
        FieldType::Checkbox,
        FieldType::Checkboxes,
        FieldType::Hidden,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Textarea => "textarea",
            FieldType::Email => "email",
            FieldType::Tel => "tel",
            FieldType::Date => "date",
            FieldType::Integer => "integer",
            FieldType::Number => "number",
            FieldType::Select => "select",
            FieldType::Radio => "radio",
            FieldType::Checkbox => "checkbox",
            FieldType::Checkboxes => "checkboxes",
            FieldType::Hidden => "hidden",
        }
    }

    pub fn parse(name: &str) -> Option<FieldType> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Whether the field offers a list of options.
    pub fn has_options(self) -> bool {
        matches!(self, FieldType::Select | FieldType::Radio | FieldType::Checkboxes)
    }

    pub fn has_bounds(self) -> bool {
        matches!(self, FieldType::Integer | FieldType::Number)
    }

    pub fn has_length(self) -> bool {
        matches!(
            self,
            FieldType::Text | FieldType::Textarea | FieldType::Email | FieldType::Tel | FieldType::Hidden
        )
    }

    /// The type of a field as written: from its schema's `type`, `format`
    /// and `enum`, and its `ui:widget`.
    fn of(schema: &Value, ui: &Value) -> FieldType {
        let widget = ui.get("ui:widget").and_then(Value::as_str);
        let is = |t: &str| match schema.get("type") {
            Some(Value::String(s)) => s == t,
            Some(Value::Array(ts)) => ts.iter().any(|x| x == t),
            _ => false,
        };
        if is("array") {
            return FieldType::Checkboxes;
        }
        if is("boolean") {
            return FieldType::Checkbox;
        }
        if schema.get("enum").is_some() {
            return if widget == Some("radio") {
                FieldType::Radio
            } else {
                FieldType::Select
            };
        }
        if is("integer") {
            return FieldType::Integer;
        }
        if is("number") {
            return FieldType::Number;
        }
        match (schema.get("format").and_then(Value::as_str), widget) {
            (Some("email"), _) => FieldType::Email,
            (Some("date"), _) => FieldType::Date,
            (_, Some("textarea")) => FieldType::Textarea,
            (_, Some("tel")) => FieldType::Tel,
            (_, Some("hidden")) => FieldType::Hidden,
            _ => FieldType::Text,
        }
    }

    /// A fresh schema and widget for a field of this type.
    fn blank(self) -> (Value, Option<&'static str>) {
        let string = json!({"type": "string"});
        match self {
            FieldType::Text => (string, None),
            FieldType::Textarea => (string, Some("textarea")),
            FieldType::Email => (json!({"type": "string", "format": "email"}), None),
            FieldType::Tel => (string, Some("tel")),
            FieldType::Date => (json!({"type": "string", "format": "date"}), None),
            FieldType::Integer => (json!({"type": "integer"}), None),
            FieldType::Number => (json!({"type": "number"}), None),
            FieldType::Select => (json!({"type": "string", "enum": []}), None),
            FieldType::Radio => (json!({"type": "string", "enum": []}), Some("radio")),
            FieldType::Checkbox => (json!({"type": "boolean"}), None),
            FieldType::Checkboxes => (
                json!({"type": "array", "items": {"type": "string", "enum": []}, "uniqueItems": true}),
                None,
            ),
            FieldType::Hidden => (string, Some("hidden")),
        }
    }
}

/// The schema keywords that make up a field's type; a new type drops them.
const TYPE_KEYWORDS: [&str; 11] = [
    "type",
    "format",
    "enum",
    "const",
    "items",
    "uniqueItems",
    "minimum",
    "maximum",
    "maxLength",
    "minLength",
    "default",
];

/// A text in both languages as the designer edits it (either may be blank).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BothLanguages {
    pub zh: String,
    pub en: String,
}

impl BothLanguages {
    fn read(value: Option<&Value>) -> BothLanguages {
        match value.and_then(|v| LocalText::parse(v, "").ok()) {
            Some(LocalText::PerLang { zh, en }) => BothLanguages { zh, en },
            Some(LocalText::Same(text)) => BothLanguages {
                zh: text.clone(),
                en: text,
            },
            None => BothLanguages::default(),
        }
    }

    /// As a UI schema writes it: one string when both are the same, else
    /// one per language; `None` when both are blank.
    fn written(&self) -> Option<Value> {
        match (self.zh.trim(), self.en.trim()) {
            ("", "") => None,
            (one, "") | ("", one) => Some(json!(one)),
            (zh, en) if zh == en => Some(json!(zh)),
            (zh, en) => Some(json!({"zh": zh, "en": en})),
        }
    }
}

/// One option of a choice field: its stored value and its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub value: String,
    pub label: BothLanguages,
}

/// One field as the designer shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DesignField {
    pub name: String,
    pub field_type: FieldType,
    pub label: BothLanguages,
    pub help: BothLanguages,
    pub required: bool,
    pub options: Vec<Choice>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub max_length: Option<u64>,
    /// Shown only when this other field has this value (as typed).
    pub shown_when: Option<(String, String)>,
}

/// What the designer sends for one field: the same shape as it shows.
pub type FieldEdit = DesignField;

/// A form being designed: what `PUT /api/v1/forms/{slug}` would take.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FormDraft {
    pub title: String,
    pub schema: Value,
    #[serde(default)]
    pub ui_schema: Value,
}

/// Field names are the keys leads' data is stored under: short, lower case.
fn check_field_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    if starts_well && name.len() <= 40 && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        Ok(())
    } else {
        Err(format!(
            "{name:?} cannot name a field: use up to 40 lower-case letters, digits and _, starting with a letter (e.g. annual_budget)"
        ))
    }
}

/// Reads a typed option value as the field's schema stores its values.
fn typed_value(schema: &Value, raw: &str) -> Option<Value> {
    let item_type = schema
        .pointer("/items/type")
        .or_else(|| schema.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("string");
    match item_type {
        "integer" => raw.trim().parse::<i64>().ok().map(Value::from),
        "number" => raw.trim().parse::<f64>().ok().map(Value::from),
        "boolean" => match raw.trim() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        _ => Some(Value::String(raw.to_owned())),
    }
}

fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl FormDraft {
    /// A new form's first draft: a name and an email, both required.
    pub fn starter(title: &str) -> FormDraft {
        FormDraft {
            title: title.to_owned(),
            schema: json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 100},
                    "email": {"type": "string", "format": "email", "maxLength": 254}
                },
                "required": ["name", "email"]
            }),
            ui_schema: json!({
                "ui:order": ["name", "email"],
                "name": {"ui:title": {"zh": "姓名", "en": "Name"}},
                "email": {"ui:title": {"zh": "邮箱", "en": "Email"}}
            }),
        }
    }

    fn properties(&self) -> Option<&Map<String, Value>> {
        self.schema.get("properties").and_then(Value::as_object)
    }

    fn ui(&self) -> Map<String, Value> {
        self.ui_schema.as_object().cloned().unwrap_or_default()
    }

    /// The field names in display order (`ui:order`, then the rest).
    pub fn field_names(&self) -> Vec<String> {
        let Some(properties) = self.properties() else {
            return Vec::new();
        };
        field_order(properties, &self.ui(), &mut Vec::new())
    }

    /// Every field as the designer shows it, in display order. Works on a
    /// draft with problems too: what cannot be read shows as blank.
    pub fn fields(&self) -> Vec<DesignField> {
        let Some(properties) = self.properties() else {
            return Vec::new();
        };
        let ui = self.ui();
        let required: Vec<&str> = self
            .schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let conditions = conditional_requirements(&self.schema);
        self.field_names()
            .into_iter()
            .map(|name| {
                let schema = &properties[&name];
                let field_ui = ui.get(&name).cloned().unwrap_or(Value::Null);
                let field_type = FieldType::of(schema, &field_ui);
                let values = schema
                    .get("enum")
                    .or_else(|| schema.pointer("/items/enum"))
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let labels = field_ui.get("ui:enumNames").and_then(Value::as_array);
                let options = values
                    .iter()
                    .enumerate()
                    .map(|(i, value)| Choice {
                        value: shown(value),
                        label: BothLanguages::read(labels.and_then(|l| l.get(i))),
                    })
                    .collect();
                let mut label = BothLanguages::read(field_ui.get("ui:title"));
                if label == BothLanguages::default()
                    && let Some(title) = schema.get("title")
                {
                    label = BothLanguages::read(Some(title));
                }
                DesignField {
                    field_type,
                    label,
                    help: BothLanguages::read(field_ui.get("ui:help")),
                    required: required.contains(&name.as_str()),
                    options,
                    minimum: schema.get("minimum").and_then(Value::as_f64),
                    maximum: schema.get("maximum").and_then(Value::as_f64),
                    max_length: schema.get("maxLength").and_then(Value::as_u64),
                    shown_when: conditions
                        .get(&name)
                        .and_then(|c| c.first())
                        .map(|c| (c.field.clone(), shown(&c.value))),
                    name,
                }
            })
            .collect()
    }

    /// Sets each field's designer keys from `edits` (matched by name; a
    /// field not in `edits` is left as it is). A field whose type changes
    /// starts from that type's blank schema. Problems point at the field's
    /// place in the schema.
    pub fn apply(&mut self, edits: &[FieldEdit]) -> Vec<FieldError> {
        let mut problems = Vec::new();
        let current: Vec<DesignField> = self.fields();
        for edit in edits {
            let Some(before) = current.iter().find(|f| f.name == edit.name) else {
                continue;
            };
            self.apply_one(before, edit, &mut problems);
        }
        problems
    }

    fn apply_one(&mut self, before: &DesignField, edit: &FieldEdit, problems: &mut Vec<FieldError>) {
        let name = edit.name.as_str();
        let at = format!("/schema/properties/{}", escape_pointer(name));
        // The condition's value is read as the controlling field's values are.
        let condition = edit
            .shown_when
            .as_ref()
            .filter(|(field, _)| !field.is_empty())
            .and_then(
                |(field, raw)| match self.schema.pointer(&format!("/properties/{}", escape_pointer(field))) {
                    Some(controller) if field != name => match typed_value(controller, raw) {
                        Some(value) => Some((field.clone(), value)),
                        None => {
                            problems.push(FieldError::new(
                                format!("{at}/x-shown-when"),
                                format!("{raw:?} is not a value the field {field} can have"),
                            ));
                            None
                        }
                    },
                    _ => {
                        problems.push(FieldError::new(
                            format!("{at}/x-shown-when"),
                            format!("a field shows only when another field ({field:?} is not one) has a value"),
                        ));
                        None
                    }
                },
            );

        let mut ui = self.ui();
        let mut field_ui = ui.get(name).and_then(Value::as_object).cloned().unwrap_or_default();
        let Some(schema) = self
            .schema
            .pointer_mut(&format!("/properties/{}", escape_pointer(name)))
            .and_then(Value::as_object_mut)
        else {
            return;
        };
        if edit.field_type != before.field_type {
            for key in TYPE_KEYWORDS {
                schema.remove(key);
            }
            field_ui.remove("ui:widget");
            field_ui.remove("ui:enumNames");
            let (blank, widget) = edit.field_type.blank();
            if let Value::Object(blank) = blank {
                schema.extend(blank);
            }
            if let Some(widget) = widget {
                field_ui.insert("ui:widget".into(), json!(widget));
            }
        }
        let mut set = |key: &str, value: Option<Value>| match value {
            Some(value) => schema.insert(key.to_owned(), value),
            None => schema.remove(key),
        };
        if edit.field_type.has_bounds() {
            let whole = edit.field_type == FieldType::Integer;
            let bound = |b: Option<f64>| b.map(|b| if whole { json!(b as i64) } else { json!(b) });
            set("minimum", bound(edit.minimum));
            set("maximum", bound(edit.maximum));
        }
        if edit.field_type.has_length() {
            set("maxLength", edit.max_length.map(Value::from));
        }
        if edit.field_type.has_options() {
            let target = Value::Object(schema.clone());
            let mut values = Vec::new();
            for (i, choice) in edit.options.iter().enumerate() {
                match typed_value(&target, &choice.value) {
                    Some(value) if !values.contains(&value) => values.push(value),
                    _ => problems.push(FieldError::new(
                        format!("{at}/enum/{i}"),
                        format!(
                            "{:?} is not a value this field can have, or is listed twice",
                            choice.value
                        ),
                    )),
                }
            }
            if values.is_empty() {
                problems.push(FieldError::new(
                    format!("{at}/enum"),
                    "a choice needs at least one option",
                ));
            }
            let enum_at = if edit.field_type == FieldType::Checkboxes {
                schema
                    .entry("items")
                    .or_insert_with(|| json!({"type": "string"}))
                    .as_object_mut()
            } else {
                Some(&mut *schema)
            };
            if let Some(enum_at) = enum_at {
                enum_at.insert("enum".into(), Value::Array(values));
            }
            let labelled = edit.options.iter().any(|c| c.label != BothLanguages::default());
            if labelled {
                let labels = edit
                    .options
                    .iter()
                    .map(|c| c.label.written().unwrap_or_else(|| json!(c.value)))
                    .collect();
                field_ui.insert("ui:enumNames".into(), Value::Array(labels));
            } else {
                field_ui.remove("ui:enumNames");
            }
        }
        for (key, text) in [("ui:title", &edit.label), ("ui:help", &edit.help)] {
            match text.written() {
                Some(value) => field_ui.insert(key.into(), value),
                None => field_ui.remove(key),
            };
        }
        if field_ui.is_empty() {
            ui.remove(name);
        } else {
            ui.insert(name.to_owned(), Value::Object(field_ui));
        }
        self.ui_schema = Value::Object(ui);

        // A field shown under a condition is required when shown (that is
        // what shows it); otherwise `required` is the checkbox.
        self.set_required(name, edit.required && condition.is_none());
        self.drop_conditions_on(name);
        if let Some((field, value)) = condition {
            let rule = json!({
                "if": {"properties": {field.clone(): {"const": value}}, "required": [field]},
                "then": {"required": [name]}
            });
            match self.schema.get_mut("allOf").and_then(Value::as_array_mut) {
                Some(rules) => rules.push(rule),
                None => {
                    if let Some(schema) = self.schema.as_object_mut() {
                        schema.insert("allOf".into(), json!([rule]));
                    }
                }
            }
        }
    }

    fn set_required(&mut self, name: &str, required: bool) {
        let Some(schema) = self.schema.as_object_mut() else {
            return;
        };
        let list = schema.entry("required").or_insert_with(|| json!([]));
        if let Some(list) = list.as_array_mut() {
            list.retain(|n| n != name);
            if required {
                list.push(json!(name));
            }
        }
        if schema
            .get("required")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
        {
            schema.remove("required");
        }
    }

    /// Removes `name` from every conditional requirement, and drops the
    /// rules left requiring nothing.
    fn drop_conditions_on(&mut self, name: &str) {
        let Some(schema) = self.schema.as_object_mut() else {
            return;
        };
        let unrequire = |rule: &mut Value| {
            if let Some(list) = rule.pointer_mut("/then/required").and_then(Value::as_array_mut) {
                list.retain(|n| n != name);
            }
        };
        let emptied = |rule: &Value| {
            rule.get("if").is_some()
                && rule
                    .pointer("/then/required")
                    .and_then(Value::as_array)
                    .is_some_and(Vec::is_empty)
                && rule
                    .get("then")
                    .and_then(Value::as_object)
                    .is_some_and(|t| t.len() == 1)
        };
        if let Some(rules) = schema.get_mut("allOf").and_then(Value::as_array_mut) {
            rules.iter_mut().for_each(unrequire);
            rules.retain(|rule| !emptied(rule));
            if rules.is_empty() {
                schema.remove("allOf");
            }
        }
        let mut top = Value::Object(schema.clone());
        unrequire(&mut top);
        if emptied(&top) {
            schema.remove("if");
            schema.remove("then");
        } else if let Some(then) = top.get("then") {
            schema.insert("then".into(), then.clone());
        }
    }

    /// Drops the rules that show a field depending on `name`.
    fn drop_conditions_by(&mut self, name: &str) {
        let depends = |rule: &Value| {
            rule.pointer(&format!("/if/properties/{}", escape_pointer(name)))
                .is_some()
        };
        if let Some(schema) = self.schema.as_object_mut() {
            if let Some(rules) = schema.get_mut("allOf").and_then(Value::as_array_mut) {
                rules.retain(|rule| !depends(rule));
                if rules.is_empty() {
                    schema.remove("allOf");
                }
            }
            if depends(&Value::Object(schema.clone())) {
                schema.remove("if");
                schema.remove("then");
            }
        }
    }

    fn set_order(&mut self, order: Vec<String>) {
        let mut ui = self.ui();
        ui.insert("ui:order".into(), json!(order));
        self.ui_schema = Value::Object(ui);
    }

    /// Adds a field at the end. Problems point at `/new_field`.
    pub fn add_field(&mut self, name: &str, field_type: FieldType, label: BothLanguages) -> Result<(), FieldError> {
        let name = name.trim();
        check_field_name(name).map_err(|why| FieldError::new("/new_field", why))?;
        let Some(properties) = self.schema.get_mut("properties").and_then(Value::as_object_mut) else {
            return Err(FieldError::new("/schema/properties", "the schema has no fields object"));
        };
        if properties.contains_key(name) {
            return Err(FieldError::new(
                "/new_field",
                format!("the form already has a field named {name:?}"),
            ));
        }
        let (schema, widget) = field_type.blank();
        properties.insert(name.to_owned(), schema);
        let mut order = self.field_names();
        order.retain(|n| n != name);
        order.push(name.to_owned());
        self.set_order(order);
        let mut ui = self.ui();
        let mut field_ui = Map::new();
        if let Some(widget) = widget {
            field_ui.insert("ui:widget".into(), json!(widget));
        }
        if let Some(label) = label.written() {
            field_ui.insert("ui:title".into(), label);
        }
        if !field_ui.is_empty() {
            ui.insert(name.to_owned(), Value::Object(field_ui));
        }
        self.ui_schema = Value::Object(ui);
        if field_type.has_options() {
            // Something to choose from, for the admin to rename.
            let first = DesignField {
                options: vec![Choice {
                    value: "option_1".into(),
                    label: BothLanguages::default(),
                }],
                ..self.fields().into_iter().find(|f| f.name == name).expect("just added")
            };
            self.apply(&[first]);
        }
        Ok(())
    }

    /// Removes a field, with its place in the order, its UI settings and
    /// the conditions that name it.
    pub fn remove_field(&mut self, name: &str) {
        if let Some(properties) = self.schema.get_mut("properties").and_then(Value::as_object_mut) {
            properties.remove(name);
        }
        self.set_required(name, false);
        self.drop_conditions_on(name);
        self.drop_conditions_by(name);
        let mut order = self.field_names();
        order.retain(|n| n != name);
        let mut ui = self.ui();
        ui.remove(name);
        self.ui_schema = Value::Object(ui);
        self.set_order(order);
    }

    /// Moves a field one place up (`-1`) or down (`1`).
    pub fn move_field(&mut self, name: &str, step: isize) {
        let mut order = self.field_names();
        let Some(at) = order.iter().position(|n| n == name) else {
            return;
        };
        let to = at as isize + step;
        if (0..order.len() as isize).contains(&to) {
            order.swap(at, to as usize);
            self.set_order(order);
        }
    }

    /// The draft checked and compiled as publishing would: problems point
    /// into `{title, schema, ui_schema}`.
    pub fn compile(&self) -> Result<CompiledForm, Vec<FieldError>> {
        if self.title.trim().is_empty() {
            return Err(vec![FieldError::new("/title", "must not be empty")]);
        }
        let ui = if self.ui_schema.is_null() {
            json!({})
        } else {
            self.ui_schema.clone()
        };
        check_definition(&self.title, &self.schema, &ui)
    }

    /// The page's own title (`ui:title`), if it has one.
    pub fn page_title(&self) -> BothLanguages {
        BothLanguages::read(self.ui_schema.get("ui:title"))
    }

    /// Sets the page's title; both blank: the form's title shows.
    pub fn set_page_title(&mut self, title: &BothLanguages) {
        let mut ui = self.ui();
        match title.written() {
            Some(value) => ui.insert("ui:title".into(), value),
            None => ui.remove("ui:title"),
        };
        self.ui_schema = Value::Object(ui);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    fn both(zh: &str, en: &str) -> BothLanguages {
        BothLanguages {
            zh: zh.into(),
            en: en.into(),
        }
    }

    fn field(draft: &FormDraft, name: &str) -> DesignField {
        draft.fields().into_iter().find(|f| f.name == name).unwrap()
    }

    #[test]
    fn a_field_is_added_edited_and_published_as_json_schema() {
        let mut draft = FormDraft::starter("Demo");
        draft
            .add_field("budget", FieldType::Select, both("预算", "Budget"))
            .unwrap();
        let mut budget = field(&draft, "budget");
        assert_eq!(budget.options.len(), 1, "a choice starts with one option");
        budget.options = vec![
            Choice {
                value: "small".into(),
                label: both("小", "Small"),
            },
            Choice {
                value: "large".into(),
                label: both("大", "Large"),
            },
        ];
        budget.required = true;
        budget.help = both("年度预算", "Annual budget");
        assert!(draft.apply(&[budget]).is_empty());
        assert_eq!(draft.schema["properties"]["budget"]["enum"], json!(["small", "large"]));
        assert_eq!(draft.schema["required"], json!(["name", "email", "budget"]));
        assert_eq!(
            draft.ui_schema["budget"]["ui:enumNames"],
            json!([{"zh": "小", "en": "Small"}, {"zh": "大", "en": "Large"}])
        );
        assert_eq!(draft.ui_schema["ui:order"], json!(["name", "email", "budget"]));
        let compiled = draft.compile().unwrap();
        let spec = compiled.field("budget").unwrap();
        assert_eq!(spec.label.get(Lang::En), "Budget");
        assert_eq!(spec.option_label(&json!("large"), Lang::Zh), "大");
        assert!(spec.required);
    }

    #[test]
    fn a_field_shown_when_another_has_a_value_is_required_then_only() {
        let mut draft = FormDraft::starter("Demo");
        draft
            .add_field("customer", FieldType::Checkbox, both("老客户", "Existing customer"))
            .unwrap();
        draft
            .add_field("customer_id", FieldType::Text, BothLanguages::default())
            .unwrap();
        let mut id = field(&draft, "customer_id");
        id.shown_when = Some(("customer".into(), "true".into()));
        assert!(draft.apply(&[id.clone()]).is_empty());
        assert_eq!(
            field(&draft, "customer_id").shown_when,
            Some(("customer".into(), "true".into()))
        );
        let compiled = draft.compile().unwrap();
        let base = json!({"name": "a", "email": "a@b.cn"});
        assert!(compiled.validate(&base, Lang::En).is_empty());
        let errors = compiled.validate(&json!({"name": "a", "email": "a@b.cn", "customer": true}), Lang::En);
        assert_eq!(errors, vec![FieldError::new("/customer_id", "is required")]);

        // Removing the controlling field removes the rule that named it.
        draft.remove_field("customer");
        assert_eq!(field(&draft, "customer_id").shown_when, None);
        assert!(draft.schema.get("allOf").is_none(), "{}", draft.schema);
        draft.compile().unwrap();
    }

    #[test]
    fn changing_a_type_starts_from_that_type_and_keeps_the_rest() {
        let mut draft = FormDraft::starter("Demo");
        draft.schema["properties"]["name"]["description"] = json!("Full name");
        let mut name = field(&draft, "name");
        name.field_type = FieldType::Integer;
        name.minimum = Some(1.0);
        name.maximum = Some(9.0);
        assert!(draft.apply(&[name]).is_empty());
        let schema = &draft.schema["properties"]["name"];
        assert_eq!(schema["type"], "integer");
        assert_eq!(
            (schema["minimum"].clone(), schema["maximum"].clone()),
            (json!(1), json!(9))
        );
        assert!(schema.get("maxLength").is_none(), "{schema}");
        assert_eq!(
            schema["description"], "Full name",
            "what the designer does not show is kept"
        );
    }

    #[test]
    fn bad_edits_point_at_their_field() {
        let mut draft = FormDraft::starter("Demo");
        assert_eq!(
            draft
                .add_field("Budget!", FieldType::Text, BothLanguages::default())
                .unwrap_err()
                .pointer,
            "/new_field"
        );
        assert_eq!(
            draft
                .add_field("email", FieldType::Text, BothLanguages::default())
                .unwrap_err()
                .pointer,
            "/new_field"
        );
        draft
            .add_field("size", FieldType::Integer, BothLanguages::default())
            .unwrap();
        draft
            .add_field("plan", FieldType::Select, BothLanguages::default())
            .unwrap();
        let mut plan = field(&draft, "plan");
        plan.options.clear();
        plan.shown_when = Some(("size".into(), "many".into()));
        let problems = draft.apply(&[plan]);
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            ["/schema/properties/plan/x-shown-when", "/schema/properties/plan/enum"]
        );
    }

    #[test]
    fn fields_move_and_leave() {
        let mut draft = FormDraft::starter("Demo");
        draft
            .add_field("company", FieldType::Text, BothLanguages::default())
            .unwrap();
        draft.move_field("company", -1);
        assert_eq!(draft.field_names(), ["name", "company", "email"]);
        draft.move_field("name", -1);
        assert_eq!(
            draft.field_names(),
            ["name", "company", "email"],
            "the first stays first"
        );
        draft.remove_field("email");
        assert_eq!(draft.field_names(), ["name", "company"]);
        assert_eq!(draft.schema["required"], json!(["name"]));
        draft.compile().unwrap();
    }
}
