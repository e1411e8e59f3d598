//! The generated form page: plain HTML from the schema and UI schema. It
//! works with JavaScript off: the browser posts the form, and a bad
//! submission comes back with each error beside its field and the values kept.

use std::collections::BTreeMap;

use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;

use super::{CompiledForm, FieldKind, FieldSpec, Widget};
use crate::error::FieldError;

/// What the page shows besides the form itself.
#[derive(Default)]
pub struct PageState<'a> {
    /// The values as typed, by field (empty on first view).
    pub values: Option<&'a BTreeMap<String, Vec<String>>>,
    pub errors: &'a [FieldError],
    /// Hidden context carried to the submission (UTM parameters, referrer,
    /// the submission token that makes a double click harmless).
    pub hidden: BTreeMap<String, String>,
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1d2433;line-height:1.5}
h1{font-size:1.6rem;margin-bottom:.25rem}
.intro{color:#4a5468;margin-top:0}
.field{margin:1.1rem 0}
label.title,legend{display:block;font-weight:600;margin-bottom:.3rem}
input[type=text],input[type=email],input[type=tel],input[type=number],input[type=date],select,textarea{width:100%;box-sizing:border-box;padding:.5rem;border:1px solid #b8c0cc;border-radius:4px;font:inherit}
textarea{min-height:6rem}
fieldset{border:0;padding:0;margin:0}
.choice{display:block;font-weight:normal;margin:.15rem 0}
.help,.condition{font-size:.875rem;color:#5b6577;margin:.25rem 0 0}
.condition{font-style:italic}
.required{color:#b42318}
.error{color:#b42318;font-size:.875rem;margin:.25rem 0 0;font-weight:600}
.invalid input,.invalid select,.invalid textarea{border-color:#b42318}
.summary{border:1px solid #b42318;background:#fef3f2;padding:.75rem 1rem;border-radius:4px}
button{background:#1f4fd1;color:#fff;border:0;border-radius:4px;padding:.65rem 1.4rem;font:inherit;cursor:pointer}
";

/// The public pages' frame (form pages, the unsubscribe pages).
pub fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    }
}

/// The field an error belongs to (`/products/1` belongs to `products`).
fn field_of(pointer: &str) -> &str {
    pointer.trim_start_matches('/').split('/').next().unwrap_or("")
}

pub fn render(form: &CompiledForm, state: &PageState<'_>) -> Markup {
    let unplaced: Vec<&FieldError> = state
        .errors
        .iter()
        .filter(|e| form.field(field_of(&e.pointer)).is_none())
        .collect();
    let body = html! {
        h1 { (form.title) }
        @if let Some(description) = &form.description { p.intro { (description) } }
        @if !state.errors.is_empty() {
            div.summary role="alert" {
                p { strong { "请检查标出的字段 / Please correct the fields marked below." } }
                @for error in &unplaced { p.error { (error.message) } }
            }
        }
        // `novalidate`: the server's messages, beside each field, are the
        // ones people read; the browser's own bubbles would come first and
        // hide them (and differ from browser to browser).
        form method="post" accept-charset="utf-8" novalidate {
            @for (name, value) in &state.hidden {
                input type="hidden" name=(format!("_{name}")) value=(value);
            }
            @for field in &form.fields {
                (render_field(form, field, state))
            }
            p { button type="submit" { (form.submit_label) } }
        }
    };
    layout(&form.title, body)
}

pub fn thank_you(form: &CompiledForm) -> Markup {
    layout(
        &form.title,
        html! {
            h1 { (form.title) }
            p role="status" { "谢谢！我们已收到您的信息，会尽快与您联系。 / Thank you! We received your details and will be in touch soon." }
        },
    )
}

/// The page for a form that cannot take submissions now.
pub fn closed(title: &str, message: &str) -> Markup {
    layout(title, html! { h1 { (title) } p role="status" { (message) } })
}

fn render_field(form: &CompiledForm, field: &FieldSpec, state: &PageState<'_>) -> Markup {
    let errors: Vec<&FieldError> = state
        .errors
        .iter()
        .filter(|e| field_of(&e.pointer) == field.name)
        .collect();
    let typed: Vec<String> = match state.values {
        Some(values) => values.get(&field.name).cloned().unwrap_or_default(),
        None => field.default.iter().flat_map(default_strings).collect(),
    };
    let id = format!("f-{}", field.name);
    if field.widget == Widget::Hidden {
        let first = typed.first().map(String::as_str).unwrap_or("");
        return html! { input type="hidden" name=(field.name) value=(first); };
    }
    let label = html! {
        (field.label)
        @if field.required { " " span.required aria-hidden="true" { "*" } }
    };
    let control = control(field, &typed, !errors.is_empty());
    let grouped = matches!(field.widget, Widget::Radio | Widget::Checkboxes);
    html! {
        div.field.invalid[!errors.is_empty()] {
            @if grouped {
                fieldset {
                    legend { (label) }
                    (control)
                }
            } @else {
                label.title for=(id) { (label) }
                (control)
            }
            @if let Some(help) = field.help.as_ref().filter(|_| field.widget != Widget::Checkbox) {
                p.help id=(format!("{id}-help")) { (help) }
            }
            @for condition in &field.required_when {
                @let on = form.field(&condition.field);
                p.condition {
                    "当「" (on.map(|f| f.label.as_str()).unwrap_or(&condition.field)) "」为「"
                    (on.map(|f| f.option_label(&condition.value)).unwrap_or_else(|| condition.value.to_string()))
                    "」时必填 / Required when "
                    (on.map(|f| f.label.as_str()).unwrap_or(&condition.field)) " is "
                    (on.map(|f| f.option_label(&condition.value)).unwrap_or_else(|| condition.value.to_string()))
                }
            }
            @for error in &errors {
                p.error id=(format!("{id}-error")) { (error.message) }
            }
        }
    }
}

/// The field's input (or inputs, for choices), with what it was typed as.
fn control(field: &FieldSpec, typed: &[String], invalid: bool) -> Markup {
    let first = typed.first().map(String::as_str).unwrap_or("");
    let id = format!("f-{}", field.name);
    let described = format!("{id}-help {id}-error");
    match field.widget {
        Widget::Textarea => html! {
            textarea id=(id) name=(field.name) placeholder=[&field.placeholder] required[field.required]
                maxlength=[field.max_length] aria-describedby=(described) { (first) }
        },
        Widget::Select => html! {
            select id=(id) name=(field.name) required[field.required] aria-describedby=(described) {
                option value="" { "— 请选择 / Please choose —" }
                @for (value, text) in &field.options {
                    @let value = option_value(value);
                    option value=(value) selected[typed.contains(&value)] { (text) }
                }
            }
        },
        Widget::Radio | Widget::Checkboxes => {
            let input_type = if field.widget == Widget::Radio {
                "radio"
            } else {
                "checkbox"
            };
            html! {
                @for (value, text) in &field.options {
                    @let value = option_value(value);
                    label.choice {
                        input type=(input_type) name=(field.name) value=(value) checked[typed.contains(&value)];
                        " " (text)
                    }
                }
            }
        }
        Widget::Checkbox => html! {
            label.choice {
                input id=(id) type="checkbox" name=(field.name) value="true"
                    checked[typed.iter().any(|v| v == "true" || v == "on")] aria-describedby=(described);
                " " (field.help.as_deref().unwrap_or(&field.label))
            }
        },
        _ => {
            let input_type = match field.widget {
                Widget::Email => "email",
                Widget::Tel => "tel",
                Widget::Number => "number",
                Widget::Date => "date",
                _ => "text",
            };
            let step = match field.kind {
                FieldKind::Number => Some("any"),
                _ => None,
            };
            html! {
                input id=(id) type=(input_type) name=(field.name) value=(first) placeholder=[&field.placeholder]
                    required[field.required] maxlength=[field.max_length] min=[field.minimum] max=[field.maximum]
                    step=[step] aria-invalid=[invalid.then_some("true")] aria-describedby=(described);
            }
        }
    }
}

fn option_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn default_strings(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().map(option_value).collect(),
        Value::Null => Vec::new(),
        other => vec![option_value(other)],
    }
}
