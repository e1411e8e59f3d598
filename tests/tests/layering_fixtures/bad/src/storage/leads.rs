//! Reaches the leads module through super::super (crate root, then leads).
use super::Store;
use super::super::leads::Lead;
