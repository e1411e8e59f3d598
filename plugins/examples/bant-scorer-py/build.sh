#!/usr/bin/env bash
# Builds the scorer into a component, bant_scorer_py.wasm (about 18 MB), in
# $1 (default: this folder). Installs componentize-py (requirements.txt) in
# .venv when missing.
set -euo pipefail
out=$(realpath -m "${1:-$(dirname "$0")}")
cd "$(dirname "$0")"
mkdir -p "$out"
[ .venv/installed -nt requirements.txt ] || {
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
  touch .venv/installed
}
.venv/bin/componentize-py --wit-path ../../../wit/leadhost-plugin@0.1.0 --world scorer \
  componentize app -o "$out/bant_scorer_py.wasm"
