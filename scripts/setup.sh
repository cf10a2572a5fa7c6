#!/usr/bin/env bash
# Create .venv/ and install frd_q with its dependencies (finn-plus, brevitas, qonnx, torch, ...).
# Idempotent: a second run only reinstalls when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 - <<'PY' || { echo "setup: frd_q needs Python 3.10-3.12 as python3" >&2; exit 1; }
import sys
sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 12) else 1)
PY

stamp=.venv/.frd_q-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"
echo "$want" > "$stamp"
.venv/bin/python - <<'PY'
from importlib.metadata import version
print("setup: .venv ready (" + ", ".join(f"{p} {version(p)}" for p in ("torch", "brevitas", "qonnx", "finn-plus")) + ")")
PY
