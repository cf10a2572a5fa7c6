#!/usr/bin/env bash
# Set up .venv if needed, then run the whole test suite (slow tests included; deselect them with -m "not slow").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest -q "$@"
