#!/usr/bin/env bash
# Builds {{name}}.wasm (a component of the {{world}} world) with
# componentize-py, installed in .venv when missing.
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/componentize-py ] || {
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
}
.venv/bin/componentize-py --wit-path wit --world {{world}} componentize app -o {{name}}.wasm
