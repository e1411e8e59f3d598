//! Page sessions: logging in with an email and password, the session a
//! cookie names, and the throttle that slows guessing.
//!
//! The cookie holds 256 random bits; the database holds only their SHA-256
//! (as for API tokens), so a leaked table opens no session. Each session has
//! its own CSRF token, which every state-changing page form carries.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use super::password::verify_password;
use super::token::hash_token;
use crate::clock::Timestamp;
use crate::storage::{NewSession, SessionRecord, Store, StoreError, StoreResult};

/// A session ends after this long without a request...
pub const IDLE: Duration = Duration::from_secs(12 * 3600);
/// ...and in any case this long after the login.
pub const LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
/// A request moves the idle expiry on only when the last move is this old,
/// so browsing writes at most one row every few minutes.
const TOUCH_EVERY: Duration = Duration::from_secs(300);

/// Failures older than this no longer count.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Past this many recent failures an account is refused without checking
/// the password until the window has moved on.
const ACCOUNT_LOCK_AFTER: i64 = 10;
/// An address may fail more (several people behind one office NAT).
const ADDRESS_LOCK_AFTER: i64 = 50;

/// 256 random bits, URL-safe.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A login's outcome.
#[derive(Debug)]
pub enum LoginOutcome {
    /// The cookie's text (shown once, to the browser) and the session.
    Started { cookie: String, session_id: String },
    /// Wrong email or password (the page does not say which).
    Wrong,
    /// Too many recent failures: try again after this long.
    Locked { retry_after: Duration },
}

/// What the throttle decides before a password is checked.
#[derive(Debug, PartialEq)]
pub enum Throttle {
    /// Check it, answering no sooner than this (a wrong guess costs time).
    Check {
        delay: Duration,
    },
    Refuse {
        retry_after: Duration,
    },
}

impl Throttle {
    /// From the recent failures of the account and of the address: half a
    /// second, doubling with each failure up to 8 s, then a refusal.
    pub fn decide(account_failures: i64, address_failures: i64, since_latest: Duration) -> Self {
        if account_failures >= ACCOUNT_LOCK_AFTER || address_failures >= ADDRESS_LOCK_AFTER {
            return Throttle::Refuse {
                retry_after: FAILURE_WINDOW.saturating_sub(since_latest).max(Duration::from_secs(1)),
            };
        }
        let failures = account_failures.max(address_failures).clamp(0, 4) as u32;
        Throttle::Check {
            delay: Duration::from_millis(500) * 2u32.pow(failures),
        }
    }
}

/// A login attempt for one tenant's user.
pub struct Login<'a> {
    pub tenant_id: &'a str,
    pub email: &'a str,
    pub password: &'a str,
    /// The client's address, for the per-address throttle.
    pub address: &'a str,
}

impl Login<'_> {
    fn account_key(&self) -> String {
        format!("account:{}:{}", self.tenant_id, self.email.to_lowercase())
    }

    fn address_key(&self) -> String {
        format!("address:{}", self.address)
    }

    /// Checks the password (after the throttle's delay when it is wrong) and
    /// starts a session when it is right.
    pub async fn attempt(self, store: &Store) -> StoreResult<LoginOutcome> {
        let now = Timestamp::now();
        let since = Timestamp(now.micros() - FAILURE_WINDOW.as_micros() as i64);
        let (account_key, address_key) = (self.account_key(), self.address_key());
        let (account_failures, account_latest) = store.login_failures(&account_key, since).await?;
        let (address_failures, address_latest) = store.login_failures(&address_key, since).await?;
        let latest = account_latest.max(address_latest).unwrap_or(now);
        let since_latest = Duration::from_micros((now.micros() - latest.micros()).max(0) as u64);
        let delay = match Throttle::decide(account_failures, address_failures, since_latest) {
            Throttle::Refuse { retry_after } => return Ok(LoginOutcome::Locked { retry_after }),
            Throttle::Check { delay } => delay,
        };
        let candidate = match store
            .tenant(self.tenant_id)
            .login_candidate(&self.email.to_lowercase())
            .await
        {
            Ok(candidate) => Some(candidate),
            Err(StoreError::NotFound) => None,
            Err(other) => return Err(other),
        };
        // An unknown email costs a hash too, so timing does not tell which
        // emails have accounts.
        let hash = candidate.as_ref().and_then(|c| c.password_hash.clone());
        let password = self.password.to_owned();
        let verified = tokio::task::spawn_blocking(move || match hash {
            Some(hash) => verify_password(&password, &hash),
            None => {
                let _ = super::password::hash_password(&password);
                false
            }
        })
        .await
        .unwrap_or(false);
        let user = candidate.filter(|c| verified && !c.deactivated);
        let Some(user) = user else {
            store.record_login_failure(&[&account_key, &address_key], now).await?;
            tokio::time::sleep(delay).await;
            return Ok(LoginOutcome::Wrong);
        };
        store.clear_login_failures(&account_key, since).await?;
        let cookie = random_secret();
        let session_id = hash_token(&cookie);
        store
            .insert_session(NewSession {
                id: &session_id,
                tenant_id: &user.tenant_id,
                user_id: &user.user_id,
                csrf_token: &random_secret(),
                now,
                expires_at: now.plus(IDLE),
            })
            .await?;
        Ok(LoginOutcome::Started { cookie, session_id })
    }
}

/// The live session a cookie names, its idle expiry moved on.
pub async fn resume(store: &Store, cookie: &str) -> StoreResult<Option<SessionRecord>> {
    let id = hash_token(cookie);
    let now = Timestamp::now();
    let session = match store.session(&id, now).await {
        Ok(session) => session,
        Err(StoreError::NotFound) => return Ok(None),
        Err(other) => return Err(other),
    };
    if now.micros() - session.last_seen_at.micros() >= TOUCH_EVERY.as_micros() as i64 {
        let next = now.plus(IDLE).min(session.created_at.plus(LIFETIME));
        store.touch_session(&id, now, next).await?;
    }
    Ok(Some(session))
}

pub async fn log_out(store: &Store, cookie: &str) -> StoreResult<()> {
    store.delete_session(&hash_token(cookie)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_slows_the_next_attempt_then_locks() {
        let ms = |n| Duration::from_millis(n);
        assert_eq!(Throttle::decide(0, 0, ms(0)), Throttle::Check { delay: ms(500) });
        assert_eq!(Throttle::decide(1, 0, ms(0)), Throttle::Check { delay: ms(1000) });
        assert_eq!(Throttle::decide(0, 3, ms(0)), Throttle::Check { delay: ms(4000) });
        assert_eq!(Throttle::decide(9, 0, ms(0)), Throttle::Check { delay: ms(8000) });
        assert_eq!(
            Throttle::decide(10, 0, Duration::from_secs(60)),
            Throttle::Refuse {
                retry_after: Duration::from_secs(14 * 60)
            }
        );
        assert!(matches!(Throttle::decide(0, 50, ms(0)), Throttle::Refuse { .. }));
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert_ne!(random_secret(), random_secret());
    }
}
