//! How a person is recognised across submissions: each normalised email and
//! phone belongs to one lead.

use super::words::word_enum;

word_enum!(
    IdentityKind, "identity kind" {
        Email = "email",
        Phone = "phone",
    }
);
