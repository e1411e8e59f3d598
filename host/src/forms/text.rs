//! A form's own words (title, labels, help, options, submit, thank-you):
//! one text for every language, or one per language.

use serde_json::Value;

use crate::error::FieldError;
use crate::i18n::Lang;

/// A UI string as written in a UI schema: `"text"` or `{"zh": …, "en": …}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalText {
    Same(String),
    PerLang { zh: String, en: String },
}

impl LocalText {
    pub fn get(&self, lang: Lang) -> &str {
        match (self, lang) {
            (LocalText::Same(text), _) => text,
            (LocalText::PerLang { zh, .. }, Lang::Zh) => zh,
            (LocalText::PerLang { en, .. }, Lang::En) => en,
        }
    }

    /// Reads a UI string; `pointer` locates a wrong one in the upload. An
    /// object may give one language only: the other shows the same text.
    pub fn parse(value: &Value, pointer: &str) -> Result<LocalText, FieldError> {
        let wrong = || {
            FieldError::new(
                pointer,
                "must be a string or an object of strings by language, e.g. {\"zh\": \"姓名\", \"en\": \"Name\"}",
            )
        };
        match value {
            Value::String(text) => Ok(LocalText::Same(text.clone())),
            Value::Object(by_lang) => {
                let mut zh = None;
                let mut en = None;
                for (code, text) in by_lang {
                    let text = text.as_str().ok_or_else(wrong)?.to_owned();
                    match code.as_str() {
                        "zh" => zh = Some(text),
                        "en" => en = Some(text),
                        other => {
                            return Err(FieldError::new(
                                format!("{pointer}/{other}"),
                                "is not a language of the page: use \"zh\" or \"en\"",
                            ));
                        }
                    }
                }
                match (zh, en) {
                    (Some(zh), Some(en)) => Ok(LocalText::PerLang { zh, en }),
                    (Some(one), None) | (None, Some(one)) => Ok(LocalText::Same(one)),
                    (None, None) => Err(wrong()),
                }
            }
            _ => Err(wrong()),
        }
    }
}

impl From<&str> for LocalText {
    fn from(text: &str) -> Self {
        LocalText::Same(text.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_text_is_one_string_or_one_per_language() {
        let same = LocalText::parse(&json!("姓名 / Name"), "/x").unwrap();
        assert_eq!(same.get(Lang::En), "姓名 / Name");
        let both = LocalText::parse(&json!({"zh": "姓名", "en": "Name"}), "/x").unwrap();
        assert_eq!((both.get(Lang::Zh), both.get(Lang::En)), ("姓名", "Name"));
        let one = LocalText::parse(&json!({"en": "Name"}), "/x").unwrap();
        assert_eq!(one.get(Lang::Zh), "Name");
        assert_eq!(
            LocalText::parse(&json!({"fr": "Nom"}), "/x").unwrap_err().pointer,
            "/x/fr"
        );
        assert_eq!(LocalText::parse(&json!(3), "/x").unwrap_err().pointer, "/x");
    }
}
