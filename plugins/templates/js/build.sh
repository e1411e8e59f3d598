#!/usr/bin/env bash
# Builds {{name}}.wasm (a component of the {{world}} world) with jco and its
# QuickJS engine (about 1.6 MB; StarlingMonkey, jco's default, is 12 MB).
set -euo pipefail
cd "$(dirname "$0")"
[ -x node_modules/.bin/jco ] || npm install --no-audit --no-fund
npm run --silent build
