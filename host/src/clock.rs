//! The one source of time. Everything that stamps or compares times reads it
//! here. A server started with `--manual-clock` reads a clock that only moves
//! when an operator advances it, so tests drive decay and deadlines without
//! sleeping. It is process-wide on purpose: one process has one "now".

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};

use serde::{Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A UTC instant with microsecond precision, stored as microseconds since the
/// Unix epoch and written on the wire as RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

/// `SYSTEM`, or the manual clock's reading in microseconds.
static MANUAL_NOW: AtomicI64 = AtomicI64::new(SYSTEM);
const SYSTEM: i64 = i64::MIN;

/// Switches this process to a manual clock reading `at`.
pub fn set_manual(at: Timestamp) {
    MANUAL_NOW.store(at.0, Ordering::SeqCst);
}

/// Back to the system clock (after the demo's history was made on a
/// clock moved back).
pub fn use_system() {
    MANUAL_NOW.store(SYSTEM, Ordering::SeqCst);
}

/// The manual clock's reading, or `None` on the system clock.
pub fn manual() -> Option<Timestamp> {
    let now = MANUAL_NOW.load(Ordering::SeqCst);
    (now != SYSTEM).then_some(Timestamp(now))
}

impl Timestamp {
    pub fn now() -> Self {
        manual().unwrap_or_else(|| Self::from_datetime(OffsetDateTime::now_utc()))
    }

    pub fn plus(self, duration: std::time::Duration) -> Self {
        Self(self.0.saturating_add(duration.as_micros() as i64))
    }

    /// Seconds from `earlier` to `self` (negative when `self` is earlier).
    pub fn seconds_since(self, earlier: Timestamp) -> f64 {
        (self.0 - earlier.0) as f64 / 1e6
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
