//! Exists so that `followup` is a module of this tree.
