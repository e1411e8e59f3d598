//! A call's own clocks and random, so that nothing a plugin does can make a
//! call wait, and the same input gives the same answer.
//!
//! - The wall clock reads the time the call started (the step's time), plus
//!   however far the call's monotonic clock has moved.
//! - The monotonic clock starts at zero. A sleep, or a poll on a timer,
//!   moves it forward to the timer and returns at once: no real timer is
//!   ever started (wasmtime-wasi's own `subscribe-duration` starts one, so
//!   `wasi:clocks/monotonic-clock` is linked with [`CallClocks`] in its
//!   place).
//! - Random bytes come from a generator seeded per call.
//!
//! The start time and the seed are kept with the call's record.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock;
use wasmtime_wasi::p2::{DynPollable, Pollable, subscribe};
use wasmtime_wasi::{HostWallClock, WasiCtxBuilder};

use crate::clock::Timestamp;

/// What a call's clocks and random start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallEnv {
    /// What the plugin's wall clock reads when the call starts.
    pub at: Timestamp,
    /// The seed of the plugin's random.
    pub seed: u64,
}

impl CallEnv {
    /// The step's time and a fresh seed.
    pub fn fresh() -> Self {
        Self {
            at: Timestamp::now(),
            seed: rand::random(),
        }
    }

    /// Sets the context's wall clock and random; returns the monotonic
    /// clock the call's store links.
    pub fn apply(self, wasi: &mut WasiCtxBuilder) -> CallClock {
        let elapsed = Arc::new(AtomicU64::new(0));
        let start = Duration::from_micros(self.at.micros().max(0) as u64);
        wasi.wall_clock(WallAtStep {
            start,
            elapsed: elapsed.clone(),
        })
        .secure_random(CallRandom::new(self.seed))
        .insecure_random(CallRandom::new(self.seed ^ 0x5eed))
        .insecure_random_seed(u128::from(self.seed) << 64 | u128::from(!self.seed));
        CallClock { elapsed }
    }
}

/// The call's monotonic clock: nanoseconds since the call started, moved
/// only by the call's own waits.
#[derive(Clone)]
pub struct CallClock {
    elapsed: Arc<AtomicU64>,
}

impl CallClock {
    fn now(&self) -> u64 {
        self.elapsed.load(Ordering::SeqCst)
    }
}

struct WallAtStep {
    start: Duration,
    elapsed: Arc<AtomicU64>,
}

impl HostWallClock for WallAtStep {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        self.start + Duration::from_nanos(self.elapsed.load(Ordering::SeqCst))
    }
}

/// `wasi:clocks/monotonic-clock` over a [`CallClock`].
pub struct CallClocks;

impl HasData for CallClocks {
    type Data<'a> = CallClocksView<'a>;
}

pub struct CallClocksView<'a> {
    pub clock: &'a CallClock,
    pub table: &'a mut ResourceTable,
}

impl CallClocks {
    /// Links the call's monotonic clock in place of wasmtime-wasi's.
    pub fn link<T: 'static>(linker: &mut Linker<T>, get: fn(&mut T) -> CallClocksView<'_>) -> wasmtime::Result<()> {
        linker.allow_shadowing(true);
        let linked = monotonic_clock::add_to_linker::<T, CallClocks>(linker, get);
        linker.allow_shadowing(false);
        linked
    }
}

impl monotonic_clock::Host for CallClocksView<'_> {
    fn now(&mut self) -> wasmtime::Result<monotonic_clock::Instant> {
        Ok(self.clock.now())
    }

    fn resolution(&mut self) -> wasmtime::Result<monotonic_clock::Instant> {
        Ok(1)
    }

    fn subscribe_instant(&mut self, when: monotonic_clock::Instant) -> wasmtime::Result<Resource<DynPollable>> {
        self.timer(when)
    }

    fn subscribe_duration(&mut self, duration: monotonic_clock::Duration) -> wasmtime::Result<Resource<DynPollable>> {
        let at = self.clock.now().saturating_add(duration);
        self.timer(at)
    }
}

impl CallClocksView<'_> {
    fn timer(&mut self, at: u64) -> wasmtime::Result<Resource<DynPollable>> {
        let timer = self.table.push(Timer {
            elapsed: self.clock.elapsed.clone(),
            at,
        })?;
        subscribe(self.table, timer)
    }
}

/// A timer on the call's clock: ready at once, moving the clock to it.
struct Timer {
    elapsed: Arc<AtomicU64>,
    at: u64,
}

#[async_trait::async_trait]
impl Pollable for Timer {
    async fn ready(&mut self) {
        self.elapsed.fetch_max(self.at, Ordering::SeqCst);
    }
}

/// SplitMix64: small, fast, and the same bytes for the same seed.
struct CallRandom(u64);

impl CallRandom {
    fn new(seed: u64) -> Self {
        Self(seed)
    }
}

impl rand_core::TryRng for CallRandom {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.try_next_u64()? >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Ok(z ^ (z >> 31))
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rand_core::TryRng;

    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        let (mut a, mut b, mut c) = (CallRandom::new(7), CallRandom::new(7), CallRandom::new(8));
        let (mut x, mut y, mut z) = ([0u8; 20], [0u8; 20], [0u8; 20]);
        a.try_fill_bytes(&mut x).unwrap();
        b.try_fill_bytes(&mut y).unwrap();
        c.try_fill_bytes(&mut z).unwrap();
        assert_eq!(x, y);
        assert_ne!(x, z);
    }
}
