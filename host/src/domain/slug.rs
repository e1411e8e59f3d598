use std::fmt;

use super::ParseError;

/// Lower-case letters, digits and inner dashes, 1 to 63 characters: safe in
/// a URL path without escaping.
fn parse_slug(what: &str, raw: &str) -> Result<String, ParseError> {
    let ok = (1..=63).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !raw.starts_with('-')
        && !raw.ends_with('-');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(ParseError(format!(
            "{raw:?} is not a valid {what} slug: use 1-63 lower-case letters, digits and inner dashes"
        )))
    }
}

macro_rules! slug_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, ParseError> {
                parse_slug($what, raw).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

slug_type!(
    /// A tenant's URL name, as in `/f/{tenant}/{form}`.
    TenantSlug,
    "tenant"
);
slug_type!(
    /// A form's URL name inside its tenant.
    FormSlug,
    "form"
);
slug_type!(
    /// A plugin's name inside its tenant.
    PluginName,
    "plugin name"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_url_safe_names() {
        assert_eq!(TenantSlug::parse("acme-2").unwrap().as_str(), "acme-2");
    }

    #[test]
    fn rejects_others() {
        for raw in ["", "Acme", "-a", "a-", "a b", "a/b", &"x".repeat(64)] {
            assert!(FormSlug::parse(raw).is_err(), "{raw} accepted");
        }
    }
}
