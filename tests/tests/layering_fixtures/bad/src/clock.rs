//! The clock: anyone may read it.
