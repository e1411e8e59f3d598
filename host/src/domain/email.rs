use super::ParseError;

/// An email address trimmed and lower-cased: the form dedup compares.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NormalizedEmail(String);

impl NormalizedEmail {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let value = raw.trim().to_lowercase();
        let valid = match value.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !value.chars().any(char::is_whitespace)
            }
            None => false,
        };
        if valid {
            Ok(Self(value))
        } else {
            Err(ParseError(format!("{raw:?} is not an email address")))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_lowercases() {
        let email = NormalizedEmail::parse("  Li.Wei@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "li.wei@example.com");
    }

    #[test]
    fn rejects_non_addresses() {
        for raw in ["", "nobody", "@example.com", "a@", "a b@c.d", "a@b@c"] {
            assert!(NormalizedEmail::parse(raw).is_err(), "{raw} accepted");
        }
    }
}
