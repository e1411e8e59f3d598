//! The key a client sends so that a repeated submission (a double click, a
//! retry after a timeout) lands once.

use std::fmt;

/// At most this many characters are kept: a longer key is cut, not refused,
/// so a client with long keys still gets one lead per key.
const MAX_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// `None` for an empty key (no key at all).
    pub fn parse(raw: &str) -> Option<Self> {
        let key: String = raw.chars().take(MAX_CHARS).collect();
        (!key.is_empty()).then_some(Self(key))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_capped_and_never_empty() {
        assert_eq!(IdempotencyKey::parse(""), None);
        assert_eq!(IdempotencyKey::parse("k1").unwrap().as_str(), "k1");
        assert_eq!(
            IdempotencyKey::parse(&"x".repeat(500)).unwrap().as_str().len(),
            MAX_CHARS
        );
    }
}
