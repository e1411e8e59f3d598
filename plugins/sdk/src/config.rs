//! Parsing the tenant's JSON plugin configuration.

use serde::de::DeserializeOwned;

/// Parses the JSON configuration a tenant uploaded with a plugin.
///
/// The host passes the configuration as a string (`{}` when none was
/// uploaded). Describe it with your own `serde::Deserialize` type; give it
/// `#[serde(default)]` so a partial (or empty) configuration falls back to
/// your defaults, and `#[serde(deny_unknown_fields)]` so a typo in a key is
/// reported instead of silently ignored.
///
/// ```
/// use leadhost_plugin::Config;
///
/// #[derive(serde::Deserialize)]
/// #[serde(default, deny_unknown_fields)]
/// struct MyConfig {
///     points: i32,
/// }
///
/// impl Default for MyConfig {
///     fn default() -> Self {
///         Self { points: 10 }
///     }
/// }
///
/// let c: MyConfig = Config::parse("{}").unwrap();
/// assert_eq!(c.points, 10);
/// let c: MyConfig = Config::parse(r#"{"points": 3}"#).unwrap();
/// assert_eq!(c.points, 3);
/// let err = Config::parse::<MyConfig>(r#"{"pionts": 3}"#).err().unwrap();
/// assert!(err.starts_with("invalid plugin config: unknown field `pionts`"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Config;

impl Config {
    /// Parse `config` into `T`.
    ///
    /// An empty or all-whitespace string is treated as `{}`. The error is a
    /// sentence the host can show the tenant as is, e.g. ``invalid plugin
    /// config: invalid type: string "3", expected i32 at line 1 column 14``.
    pub fn parse<T: DeserializeOwned>(config: &str) -> Result<T, String> {
        let text = if config.trim().is_empty() {
            "{}"
        } else {
            config
        };
        serde_json::from_str(text).map_err(|e| format!("invalid plugin config: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq, serde::Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct C {
        a: u32,
        b: Vec<String>,
    }

    #[test]
    fn empty_is_defaults() {
        assert_eq!(Config::parse::<C>("").unwrap(), C::default());
        assert_eq!(Config::parse::<C>("  {} ").unwrap(), C::default());
    }

    #[test]
    fn values_and_errors() {
        let c: C = Config::parse(r#"{"a": 2, "b": ["x"]}"#).unwrap();
        assert_eq!(
            c,
            C {
                a: 2,
                b: vec!["x".into()]
            }
        );
        let e = Config::parse::<C>(r#"{"a": "2"}"#).unwrap_err();
        assert!(e.starts_with("invalid plugin config: invalid type"), "{e}");
        let e = Config::parse::<C>("{").unwrap_err();
        assert!(e.starts_with("invalid plugin config: EOF"), "{e}");
    }
}
