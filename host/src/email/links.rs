//! The links in a tenant's emails (unsubscribe, the open pixel, tracked
//! clicks), signed with the tenant's key so that nobody can make one for an
//! email they did not receive, and no link redirects anywhere it was not
//! written to go (the target is inside the signed part).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Hex characters of the signature kept in a link: 128 bits.
const SIGNATURE_HEX: usize = 32;

/// `id.signature` for `purpose` (each purpose signs apart: an unsubscribe
/// token is no tracking token).
pub fn token(key: &str, purpose: &str, id: &str) -> String {
    format!("{id}.{}", signature(key, purpose, id))
}

/// The id a token names, if its signature is the tenant's for `purpose`.
pub fn verify<'t>(key: &str, purpose: &str, token: &'t str) -> Option<&'t str> {
    let (id, given) = token.rsplit_once('.')?;
    let expected = signature(key, purpose, id);
    // Compared in constant time: a signature is not guessed byte by byte.
    let same = given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    same.then_some(id)
}

/// The id a token names, unchecked (to find the tenant whose key checks it).
pub fn id_of(token: &str) -> Option<&str> {
    token.rsplit_once('.').map(|(id, _)| id)
}

fn signature(key: &str, purpose: &str, id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(purpose.as_bytes());
    mac.update(b"\0");
    mac.update(id.as_bytes());
    let bytes = mac.finalize().into_bytes();
    bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()[..SIGNATURE_HEX].to_owned()
}

/// The one-click unsubscribe link of an email.
pub fn unsubscribe_url(public_url: &str, key: &str, email_id: &str) -> String {
    format!("{public_url}/email/unsubscribe/{}", token(key, UNSUBSCRIBE, email_id))
}

pub const UNSUBSCRIBE: &str = "unsubscribe";
pub const OPEN: &str = "open";
pub const CLICK: &str = "click";

/// The open pixel of an email.
pub fn open_url(public_url: &str, key: &str, email_id: &str) -> String {
    format!("{public_url}/email/open/{}", token(key, OPEN, email_id))
}

/// A tracked link: the click is recorded, then the browser goes to `target`.
pub fn click_url(public_url: &str, key: &str, email_id: &str, target: &str) -> String {
    let id = format!("{email_id}.{}", URL_SAFE_NO_PAD.encode(target));
    format!("{public_url}/email/click/{}", token(key, CLICK, &id))
}

/// The email id and target of a click token's (already verified) id.
pub fn click_target(id: &str) -> Option<(&str, String)> {
    let (email_id, encoded) = id.split_once('.')?;
    let target = String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).ok()?).ok()?;
    Some((email_id, target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_checks_only_with_its_key_and_purpose() {
        let t = token("k1", UNSUBSCRIBE, "e1");
        assert_eq!(verify("k1", UNSUBSCRIBE, &t), Some("e1"));
        assert_eq!(verify("k2", UNSUBSCRIBE, &t), None);
        assert_eq!(verify("k1", "click", &t), None);
        let forged = t.replacen("e1", "e2", 1);
        assert_eq!(verify("k1", UNSUBSCRIBE, &forged), None);
        assert_eq!(verify("k1", UNSUBSCRIBE, "e1"), None);
        assert_eq!(id_of(&t), Some("e1"));
    }

    #[test]
    fn a_click_token_carries_its_target_under_the_signature() {
        let url = click_url("http://h", "k", "e1", "https://acme.example/a?b=1&c=d");
        let token = url.rsplit('/').next().unwrap();
        let id = verify("k", CLICK, token).unwrap();
        assert_eq!(
            click_target(id),
            Some(("e1", "https://acme.example/a?b=1&c=d".to_owned()))
        );
        // Another target under the same signature is refused.
        let (_, sig) = token.rsplit_once('.').unwrap();
        let other = format!("e1.{}.{sig}", URL_SAFE_NO_PAD.encode("https://evil.example"));
        assert_eq!(verify("k", CLICK, &other), None);
    }
}
