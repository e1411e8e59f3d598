//! The generated form page: plain HTML from the schema and UI schema, in
//! the visitor's language. It works with JavaScript off: the browser posts
//! the form, and a bad submission comes back with each error beside its
//! field and the values kept. With JavaScript on, the page's script
//! (host/assets/form.js) shows conditional fields only when they apply and
//! runs the kiosk mode.

use std::collections::{BTreeMap, BTreeSet};

use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::{Value, json};

use super::assets::{FORM_CSS, FORM_JS};
use super::screening::HONEYPOT;
use super::{CompiledForm, ConditionalDisplay, FieldKind, FieldSpec, Widget};
use crate::error::FieldError;
use crate::i18n::{FormWords, Lang};

/// What the page shows besides the form itself.
pub struct PageState<'a> {
    pub lang: Lang,
    /// The values as typed, by field (empty on first view).
    pub values: Option<&'a BTreeMap<String, Vec<String>>>,
    pub errors: &'a [FieldError],
    /// Hidden context carried to the submission (UTM parameters, referrer,
    /// the submission token that makes a double click harmless, the signed
    /// render time).
    pub hidden: BTreeMap<String, String>,
    /// A returning visitor's: the only fields asked (the rest are known),
    /// and the page's URL for someone else (`Not you?`).
    pub returning: Option<Returning<'a>>,
    pub kiosk: bool,
}

pub struct Returning<'a> {
    pub asked: &'a BTreeSet<String>,
    pub start_over_url: String,
}

impl<'a> PageState<'a> {
    pub fn new(lang: Lang) -> Self {
        Self {
            lang,
            values: None,
            errors: &[],
            hidden: BTreeMap::new(),
            returning: None,
            kiosk: false,
        }
    }
}

/// The public pages' frame (form pages, the unsubscribe pages).
pub fn layout(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.html_lang()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href=(FORM_CSS.url());
                script src=(FORM_JS.url()) defer {}
            }
            body { main { (body) } }
        }
    }
}

/// The field an error belongs to (`/products/1` belongs to `products`).
fn field_of(pointer: &str) -> &str {
    pointer.trim_start_matches('/').split('/').next().unwrap_or("")
}

pub fn render(form: &CompiledForm, state: &PageState<'_>) -> Markup {
    let lang = state.lang;
    let words = FormWords::of(lang);
    let unplaced: Vec<&FieldError> = state
        .errors
        .iter()
        .filter(|e| form.field(field_of(&e.pointer)).is_none())
        .collect();
    // A returning visitor sees what is asked, and any field with an error.
    let shown = |field: &FieldSpec| match &state.returning {
        None => true,
        Some(returning) => {
            field.widget == Widget::Hidden
                || returning.asked.contains(&field.name)
                || state.errors.iter().any(|e| field_of(&e.pointer) == field.name)
        }
    };
    let title = form.title.get(lang);
    let body = html! {
        h1 { (title) }
        @if let Some(description) = &form.description { p.intro { (description.get(lang)) } }
        @if let Some(returning) = &state.returning {
            p.welcome { (words.welcome_back) " " a href=(returning.start_over_url) { (words.not_you) } }
        }
        @if !state.errors.is_empty() {
            div.summary role="alert" {
                p { strong { (words.fix_fields) } }
                @for error in &unplaced {
                    p.error {
                        @if !error.pointer.is_empty() { (field_of(&error.pointer)) ": " }
                        (error.message)
                    }
                }
            }
        }
        // `novalidate`: the server's messages, beside each field, are the
        // ones people read; the browser's own bubbles would come first and
        // hide them (and differ from browser to browser).
        form method="post" accept-charset="utf-8" novalidate data-form
            data-kiosk[state.kiosk] autocomplete=[state.kiosk.then_some("off")] {
            @if state.kiosk {
                // At the top: the next visitor's first field is there too.
                p.kiosk-status role="status" aria-live="polite" {}
                script type="application/json" id="kiosk-words" { (PreEscaped(kiosk_words(words))) }
            }
            @for (name, value) in &state.hidden {
                input type="hidden" name=(format!("_{name}")) value=(value);
            }
            (honeypot(words))
            @for field in form.fields.iter().filter(|f| shown(f)) {
                (render_field(form, field, state))
            }
            p { button type="submit" { (form.submit_label.as_ref().map_or(words.submit, |s| s.get(lang))) } }
        }
    };
    layout(lang, title, body)
}

/// A text field people never see and scripts fill. Off screen rather than
/// `display:none` (which some scripts skip); out of the tab order; its
/// label tells anyone who reaches it by a screen reader to leave it.
fn honeypot(words: &FormWords) -> Markup {
    let id = format!("f-_{HONEYPOT}");
    html! {
        div.trap {
            label for=(id) { (words.honeypot) }
            input id=(id) type="text" name=(format!("_{HONEYPOT}")) value="" tabindex="-1" autocomplete="off";
        }
    }
}

/// The kiosk script's words, as JSON safe inside a `<script>` element.
fn kiosk_words(words: &FormWords) -> String {
    json!({
        "saved": words.kiosk_saved,
        "queued": words.kiosk_queued,
        "all_sent": words.kiosk_all_sent,
        "not_accepted": words.kiosk_not_accepted,
    })
    .to_string()
    .replace('<', "\\u003c")
}

/// After a submission: the form's thank-you words (or the default ones);
/// in a kiosk, a link back to an empty form for the next visitor.
pub fn thank_you(form: &CompiledForm, lang: Lang, next_visitor_url: Option<&str>) -> Markup {
    let words = FormWords::of(lang);
    let title = form.title.get(lang);
    layout(
        lang,
        title,
        html! {
            h1 { (title) }
            p role="status" { (form.page.thank_you.as_ref().map_or(words.thank_you, |t| t.get(lang))) }
            @if let Some(url) = next_visitor_url {
                p { a.button href=(url) { (words.kiosk_next_visitor) } }
            }
        },
    )
}

/// The page for a form that cannot take submissions now.
pub fn closed(lang: Lang, title: &str, message: &str) -> Markup {
    layout(lang, title, html! { h1 { (title) } p role="status" { (message) } })
}

/// The ids of a field's parts; `aria-describedby` names only those on the
/// page.
struct FieldIds {
    control: String,
    help: String,
    condition: String,
    error: String,
}

impl FieldIds {
    fn of(field: &FieldSpec) -> Self {
        let control = format!("f-{}", field.name);
        Self {
            help: format!("{control}-help"),
            condition: format!("{control}-condition"),
            error: format!("{control}-error"),
            control,
        }
    }
}

fn render_field(form: &CompiledForm, field: &FieldSpec, state: &PageState<'_>) -> Markup {
    let lang = state.lang;
    let words = FormWords::of(lang);
    let messages: Vec<&str> = state
        .errors
        .iter()
        .filter(|e| field_of(&e.pointer) == field.name)
        .map(|e| e.message.as_str())
        .collect();
    let invalid = !messages.is_empty();
    let typed: Vec<String> = match state.values {
        Some(values) => values.get(&field.name).cloned().unwrap_or_default(),
        None => field.default.iter().flat_map(default_strings).collect(),
    };
    if field.widget == Widget::Hidden {
        let first = typed.first().map(String::as_str).unwrap_or("");
        return html! { input type="hidden" name=(field.name) value=(first); };
    }
    let ids = FieldIds::of(field);
    let help = field.help.as_ref().map(|h| h.get(lang));
    let conditional = !field.required_when.is_empty();
    let described: Vec<&str> = [
        help.map(|_| ids.help.as_str()),
        conditional.then_some(ids.condition.as_str()),
        invalid.then_some(ids.error.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let control = Control {
        field,
        ids: &ids,
        typed: &typed,
        invalid,
        described: (!described.is_empty()).then(|| described.join(" ")),
        lang,
    };
    let label = html! {
        (field.label.get(lang))
        @if field.required {
            " " span.required aria-hidden="true" { "*" }
        } @else if conditional {
            // Shown by the script while a condition holds.
            " " span.required.when aria-hidden="true" { "*" }
        }
    };
    // The script shows a hiding field only while one of these holds.
    let when = conditional.then(|| {
        let conditions: Vec<Value> = field
            .required_when
            .iter()
            .map(|c| json!({"field": c.field, "value": option_value(&c.value)}))
            .collect();
        Value::Array(conditions).to_string()
    });
    let display = conditional.then_some(match field.conditional {
        ConditionalDisplay::Hide => "hide",
        ConditionalDisplay::Show => "show",
    });
    html! {
        div.field.invalid[invalid] data-when=[when] data-conditional=[display] {
            @match field.widget {
                Widget::Radio | Widget::Checkboxes => {
                    fieldset role=[(field.widget == Widget::Radio).then_some("radiogroup")]
                        aria-describedby=[&control.described] aria-invalid=[invalid.then_some("true")]
                        aria-required=[(field.required && field.widget == Widget::Radio).then_some("true")] {
                        legend { (label) }
                        (control.choices())
                    }
                }
                Widget::Checkbox => {
                    label.choice.single for=(ids.control) { (control.checkbox()) " " (label) }
                }
                _ => {
                    label.title for=(ids.control) { (label) }
                    (control.input())
                }
            }
            @if let Some(help) = help {
                p.help id=(ids.help) { (help) }
            }
            @if conditional {
                p.condition id=(ids.condition) {
                    @for (i, condition) in field.required_when.iter().enumerate() {
                        @if i > 0 { "; " }
                        @let on = form.field(&condition.field);
                        @let on_label = on.map_or(condition.field.as_str(), |f| f.label.get(lang));
                        @let value = on.map_or_else(|| condition.value.to_string(), |f| f.option_label(&condition.value, lang));
                        (words.required_when.replace("{field}", on_label).replace("{value}", &value))
                    }
                }
            }
            @if invalid {
                p.error id=(ids.error) { (messages.join("; ")) }
            }
        }
    }
}

/// A field's input (or inputs, for choices), with what it was typed as.
struct Control<'a> {
    field: &'a FieldSpec,
    ids: &'a FieldIds,
    typed: &'a [String],
    invalid: bool,
    /// The ids of the help, condition and error on the page, if any.
    described: Option<String>,
    lang: Lang,
}

impl Control<'_> {
    fn aria_invalid(&self) -> Option<&'static str> {
        self.invalid.then_some("true")
    }

    fn first(&self) -> &str {
        self.typed.first().map(String::as_str).unwrap_or("")
    }

    fn placeholder(&self) -> Option<&str> {
        self.field.placeholder.as_ref().map(|p| p.get(self.lang))
    }

    fn input(&self) -> Markup {
        let field = self.field;
        let id = &self.ids.control;
        match field.widget {
            Widget::Textarea => html! {
                textarea id=(id) name=(field.name) placeholder=[self.placeholder()] required[field.required]
                    maxlength=[field.max_length] aria-invalid=[self.aria_invalid()]
                    aria-describedby=[&self.described] { (self.first()) }
            },
            Widget::Select => html! {
                select id=(id) name=(field.name) required[field.required] aria-invalid=[self.aria_invalid()]
                    aria-describedby=[&self.described] {
                    option value="" { (FormWords::of(self.lang).please_choose) }
                    @for (value, text) in &field.options {
                        @let value = option_value(value);
                        option value=(value) selected[self.typed.contains(&value)] { (text.get(self.lang)) }
                    }
                }
            },
            _ => {
                let (input_type, input_mode) = match field.widget {
                    Widget::Email => ("email", Some("email")),
                    Widget::Tel => ("tel", Some("tel")),
                    Widget::Number => ("number", None),
                    Widget::Date => ("date", None),
                    _ => ("text", None),
                };
                let step = match field.kind {
                    FieldKind::Number => Some("any"),
                    _ => None,
                };
                html! {
                    input id=(id) type=(input_type) name=(field.name) value=(self.first())
                        placeholder=[self.placeholder()] required[field.required] maxlength=[field.max_length]
                        min=[field.minimum] max=[field.maximum] step=[step] inputmode=[input_mode]
                        aria-invalid=[self.aria_invalid()] aria-describedby=[&self.described];
                }
            }
        }
    }

    /// A single yes/no box; its label wraps it.
    fn checkbox(&self) -> Markup {
        let checked = self.typed.iter().any(|v| v == "true" || v == "on");
        html! {
            input id=(self.ids.control) type="checkbox" name=(self.field.name) value="true" checked[checked]
                required[self.field.required] aria-invalid=[self.aria_invalid()]
                aria-describedby=[&self.described];
        }
    }

    /// Radio buttons or checkboxes, one per option; their group is
    /// described and marked invalid, and so is each of them.
    fn choices(&self) -> Markup {
        let field = self.field;
        let input_type = if field.widget == Widget::Radio {
            "radio"
        } else {
            "checkbox"
        };
        html! {
            @for (i, (value, text)) in field.options.iter().enumerate() {
                @let value = option_value(value);
                label.choice {
                    input id=(format!("{}-{i}", self.ids.control)) type=(input_type) name=(field.name) value=(value)
                        checked[self.typed.contains(&value)] aria-invalid=[self.aria_invalid()];
                    " " (text.get(self.lang))
                }
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
