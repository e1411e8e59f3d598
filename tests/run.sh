#!/usr/bin/env bash
# The test command: installs what it needs, builds the example and test
# plugins (wasm32-wasip2) and the server (one profile: dev, with optimised
# dependencies), and runs every test on SQLite and PostgreSQL.
# Idempotent; run it from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."

pg_host=127.0.0.1
pg_port=5432
export LEADHOST_TEST_POSTGRES="${LEADHOST_TEST_POSTGRES:-postgres://postgres@$pg_host:$pg_port/postgres}"

pg_up() { (exec 3<>"/dev/tcp/$pg_host/$pg_port") 2>/dev/null; }

skip=()
if ! pg_up && command -v pg_ctlcluster >/dev/null; then
  echo "== PostgreSQL is down; starting it"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
if ! pg_up; then
  if [ "${CI:-}" = "true" ]; then
    echo "error: PostgreSQL is not reachable at $pg_host:$pg_port, and CI must run both backends" >&2
    exit 1
  fi
  echo "== SKIPPING the PostgreSQL half of the tests: nothing listens on $pg_host:$pg_port"
  echo "   (start PostgreSQL, or set LEADHOST_TEST_POSTGRES, to run it)"
  skip=(--skip postgres::)
fi

log=$(mktemp)

# Each phase's duration, printed at the end (also when a phase fails).
timings=()
phase_start=$SECONDS
phase() {
  [ -n "${phase_name:-}" ] && timings+=("$(printf '%5ds  %s' $((SECONDS - phase_start)) "$phase_name")")
  phase_name=$1
  phase_start=$SECONDS
  [ -n "$phase_name" ] && echo "== $phase_name"
  return 0
}
finish() {
  phase ""
  echo "== time by phase (${SECONDS}s in all)"
  printf '%s\n' "${timings[@]}"
  rm -f "$log"
}
trap finish EXIT

phase "building the Rust plugins (wasm32-wasip2)"
rustup target add wasm32-wasip2 >/dev/null
(cd plugins && cargo build --release --target wasm32-wasip2 --locked)

phase "installing test tools and building the JavaScript and Python plugins (aiosmtpd, componentize-py from PyPI; jco from npm)"
for tool in node npm python3; do
  command -v "$tool" >/dev/null || { echo "error: $tool is needed to build the JavaScript and Python plugins and run the SMTP sink" >&2; exit 1; }
done
# The SMTP server the email tests deliver to (tests/smtp/sink.py, started by
# tests/src/smtp.rs): aiosmtpd in a venv of its own. pip runs only when
# aiosmtpd is missing, so a second run costs nothing.
smtp_venv=target/smtp-venv
[ -x "$smtp_venv/bin/python" ] || python3 -m venv "$smtp_venv"
"$smtp_venv/bin/python" -c 'import aiosmtpd' 2>/dev/null || "$smtp_venv/bin/pip" install -q -r tests/smtp/requirements.txt
components=plugins/target/wasm32-wasip2/release
bash plugins/examples/bant-scorer-js/build.sh "$components"
bash plugins/examples/bant-scorer-py/build.sh "$components"

phase "testing the plugin SDK and examples (native)"
(cd plugins && cargo test --locked) 2>&1 | tee -a "$log"

phase "installing headless Chromium for the browser tests (chromium, chromium-driver, fonts-noto-cjk)"
# The browser tests (tests/tests/browser/) drive Debian's Chromium through
# its matching chromedriver; the Noto CJK fonts make Chinese labels render
# in their screenshots. apt runs only when one of them is missing, so a
# second run costs nothing.
noto_cjk=/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || [ ! -e "$noto_cjk" ]; then
  command -v apt-get >/dev/null || { echo "error: the browser tests need chromium, chromium-driver and fonts-noto-cjk, and apt-get is not here to install them" >&2; exit 1; }
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium chromium-driver fonts-noto-cjk
fi

phase "building the server and tests"
cargo build --workspace --bins --tests --locked

phase "testing the server"
cargo test --workspace --locked -- "${skip[@]}" 2>&1 | tee -a "$log"

# One closing line for every test binary above.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
