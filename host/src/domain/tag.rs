//! A lead's tag: trimmed, 1-64 characters, no control characters. The one
//! rule for tags set by hand, by a workflow step or by a plugin.

use super::ParseError;

pub const MAX_TAG_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag(String);

impl Tag {
    pub fn parse(raw: &str) -> Result<Tag, ParseError> {
        let tag = raw.trim();
        if tag.is_empty() || tag.chars().count() > MAX_TAG_CHARS {
            return Err(ParseError(format!("a tag is 1-{MAX_TAG_CHARS} characters")));
        }
        if tag.chars().any(char::is_control) {
            return Err(ParseError("a tag has no control characters".into()));
        }
        Ok(Tag(tag.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_trimmed_and_bounded() {
        assert_eq!(Tag::parse("  展会2026 ").unwrap().as_str(), "展会2026");
        assert!(Tag::parse("   ").is_err());
        assert!(Tag::parse(&"x".repeat(65)).is_err());
        assert!(Tag::parse("a\nb").is_err());
    }
}
