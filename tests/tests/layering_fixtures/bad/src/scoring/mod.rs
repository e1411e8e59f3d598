//! Exists so that `scoring` is a module of this tree.
