//! Exists so that `leads` is a module of this tree.
