//! Delivering webhooks. Each delivery is a row in the delivery log and a
//! durable job; the job POSTs the event, signed, and records the attempt.
//! Failures are retried with growing waits until `MAX_ATTEMPTS`. Delivery
//! is at least once: the delivery id rides in `Leadhost-Delivery`, so a
//! receiver recognises a repeat after a crash.
//!
//! Signature: `Leadhost-Signature: t=UNIX_SECONDS,v1=HEX` where HEX is
//! HMAC-SHA256 with the webhook's secret over `"{t}.{body}"`; receivers
//! check it and reject old `t` to stop replays.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::app::AppState;
use crate::clock::Timestamp;
use crate::domain::{DeliveryStatus, JobRecord};
use crate::storage::StoreResult;

pub const MAX_ATTEMPTS: i64 = 8;
const TIMEOUT: Duration = Duration::from_secs(10);

/// 10 s, 20 s, 40 s, … at most an hour.
pub fn backoff(attempts: i64) -> Duration {
    let seconds = 10u64.saturating_mul(1 << attempts.clamp(1, 12).saturating_sub(1));
    Duration::from_secs(seconds.min(3600))
}

pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// Runs a delivery job: one attempt, recorded with its outcome.
pub async fn deliver(state: &AppState, job: &JobRecord, delivery_id: &str) -> StoreResult<()> {
    let store = state.store.tenant(&job.tenant_id);
    let delivery = store.delivery(delivery_id).await?;
    if delivery.status != DeliveryStatus::Pending {
        return store.record_attempt(&job.id, delivery_id, Ok(0), None).await;
    }
    let hook = store.webhook(&delivery.webhook_id).await?;
    let attempts = delivery.attempts + 1;
    let outcome = if hook.enabled {
        let body = delivery.payload.to_string();
        let now = Timestamp::now();
        let response = state
            .http
            .post(&hook.url)
            .timeout(TIMEOUT)
            .header("content-type", "application/json")
            .header("leadhost-event", delivery.event.as_str())
            .header("leadhost-delivery", &delivery.id)
            .header(
                "leadhost-signature",
                signature(&hook.secret, now.micros() / 1_000_000, &body),
            )
            .body(body)
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => Ok(i64::from(r.status().as_u16())),
            Ok(r) => Err((
                Some(i64::from(r.status().as_u16())),
                format!("the receiver answered {}", r.status()),
            )),
            Err(e) => Err((None, format!("could not reach the receiver: {e}"))),
        }
    } else {
        Err((None, "the webhook was removed".to_owned()))
    };
    let retry_at =
        (outcome.is_err() && hook.enabled && attempts < MAX_ATTEMPTS).then(|| Timestamp::now().plus(backoff(attempts)));
    if let Err((_, error)) = &outcome {
        tracing::info!(delivery = delivery_id, attempts, %error, retry = retry_at.is_some(), "webhook delivery failed");
    }
    store.record_attempt(&job.id, delivery_id, outcome, retry_at).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_and_stop_at_an_hour() {
        let waits: Vec<u64> = (1..=10).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600]);
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_time_and_body() {
        // Known value: HMAC-SHA256("secret", "1700000000.{}").
        let signed = signature("secret", 1_700_000_000, "{}");
        assert!(signed.starts_with("t=1700000000,v1="));
        assert_eq!(signed.len(), "t=1700000000,v1=".len() + 64);
        assert_ne!(signed, signature("other", 1_700_000_000, "{}"));
    }
}
