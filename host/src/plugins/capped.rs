//! Bounds on every string a plugin hands back, applied before it is stored,
//! shown or logged: a plugin that answers with 48 MiB of text must not make
//! a lead's timeline, the plugin's page or the log that large. What is cut
//! is marked as cut.

use std::borrow::Cow;

/// A failure's message (the plugin's own error, a trap, an invalid result).
pub const ERROR_BYTES: usize = 4 << 10;
/// A score part's or a routing decision's reason.
pub const REASON_CHARS: usize = 200;
/// An id a plugin names (a rep, a team).
pub const ID_CHARS: usize = 128;

/// `text` cut to at most `max` characters, marked when cut.
pub fn cut_chars(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((end, _)) => {
            let more = text[end..].chars().count();
            Cow::Owned(format!("{}… [cut: {more} more characters]", &text[..end]))
        }
    }
}

/// `text` cut to at most `max` bytes (at a character boundary), marked
/// when cut.
pub fn cut_bytes(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}… [cut: {} more bytes]", &text[..end], text.len() - end))
}

/// Plugin text as it may reach the server's log: control characters
/// (newlines, escapes) shown escaped, so a plugin cannot forge log lines or
/// drive a terminal; cut like an error.
pub fn for_log(text: &str) -> String {
    let text = cut_bytes(text, ERROR_BYTES);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_and_marked() {
        assert_eq!(cut_chars("短い", 5), "短い");
        assert_eq!(cut_chars("李伟李伟李伟", 2), "李伟… [cut: 4 more characters]");
        let huge = "x".repeat(48 << 20);
        let cut = cut_bytes(&huge, ERROR_BYTES);
        assert!(
            cut.len() < ERROR_BYTES + 64 && cut.ends_with("more bytes]"),
            "{}",
            &cut[cut.len() - 40..]
        );
        // Never inside a character.
        assert_eq!(cut_bytes("ééé", 3), "é… [cut: 4 more bytes]");
    }

    #[test]
    fn control_characters_do_not_reach_the_log_raw() {
        assert_eq!(for_log("ok\nINFO forged\u{1b}[2J"), "ok\\nINFO forged\\u{1b}[2J");
    }
}
