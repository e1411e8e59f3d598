#!/usr/bin/env bash
# Builds the scorer into components, in $1 (default: this folder):
#   bant_scorer_js.wasm     jco with the QuickJS engine (about 1.6 MB)
#   bant_scorer_js_sm.wasm  componentize-js with StarlingMonkey (about 12 MB),
#                           with every WASI feature left out
# Installs jco and componentize-js from npm (package-lock.json) when missing.
set -euo pipefail
out=$(realpath -m "${1:-$(dirname "$0")}")
cd "$(dirname "$0")"
mkdir -p "$out"
[ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund
wit=../../../wit/leadhost-plugin@0.1.0
npx jco componentize scorer.js --wit "$wit" --world-name scorer --backend quickjs --backend-qjs-disable-async \
  -o "$out/bant_scorer_js.wasm"
# jco 1.35's own StarlingMonkey path fails before building (its WIT check
# runs in a WASI shim with no directory opened); componentize-js is the
# engine jco calls for it.
npx componentize-js scorer.js --wit "$wit" --world-name scorer \
  --disable stdio random clocks http fetch-event -o "$out/bant_scorer_js_sm.wasm"
