-- What a call's clocks and random started from (see plugins/call_env.rs):
-- with them, the same input gives the same answer when the call is run
-- again. `seed` is a 64-bit seed kept as its two's-complement BIGINT.

ALTER TABLE plugin_calls ADD COLUMN started_at BIGINT;
ALTER TABLE plugin_calls ADD COLUMN seed BIGINT;
