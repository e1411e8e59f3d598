//! The one source of time. Everything that stamps or compares times reads it
//! here, so a later manual clock for tests changes one place.

use std::fmt;

use serde::{Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A UTC instant with microsecond precision, stored as microseconds since the
/// Unix epoch and written on the wire as RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    pub fn from_datetime(dt: OffsetDateTime) -> Self {
        Self((dt.unix_timestamp_nanos() / 1_000) as i64)
    }

    pub fn micros(self) -> i64 {
        self.0
    }

    /// Parses RFC 3339 (`2026-11-25T09:00:00Z`), as the API takes it.
    pub fn parse_rfc3339(raw: &str) -> Option<Self> {
        OffsetDateTime::parse(raw, &Rfc3339).ok().map(Self::from_datetime)
    }

    pub fn to_rfc3339(self) -> String {
        OffsetDateTime::from_unix_timestamp_nanos(self.0 as i128 * 1_000)
            .ok()
            .and_then(|dt| dt.format(&Rfc3339).ok())
            .unwrap_or_else(|| self.0.to_string())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_rfc3339() {
        let t = Timestamp::parse_rfc3339("2026-11-25T09:00:00.123456Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-25T09:00:00.123456Z");
        let offset = Timestamp::parse_rfc3339("2026-11-25T17:00:00+08:00").unwrap();
        assert_eq!(offset.to_rfc3339(), "2026-11-25T09:00:00Z");
    }
}
