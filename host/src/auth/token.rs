use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A freshly made API token. Its text is shown once; only its hash is stored.
pub struct ApiToken {
    pub text: String,
    pub hash: String,
}

impl ApiToken {
    /// 256 random bits, prefixed so a leaked token is recognisable in logs
    /// and secret scanners.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let text = format!("lh_{}", URL_SAFE_NO_PAD.encode(bytes));
        let hash = hash_token(&text);
        Self { text, hash }
    }
}

/// Tokens carry 256 bits of entropy, so a fast hash is enough (a slow
/// password hash would only slow every request); argon2 is for passwords.
pub fn hash_token(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let a = ApiToken::generate();
        let b = ApiToken::generate();
        assert_ne!(a.text, b.text);
        assert!(a.text.starts_with("lh_"));
        assert_eq!(hash_token(&a.text), a.hash);
        assert_ne!(a.hash, b.hash);
    }
}
