//! Exists so that `cli` is a module of this tree.
