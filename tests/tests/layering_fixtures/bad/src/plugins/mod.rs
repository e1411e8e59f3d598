//! Exists so that `plugins` is a module of this tree.
