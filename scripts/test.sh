#!/usr/bin/env bash
# Set up .venv if needed, then run the whole test suite (slow tests included; deselect them with -m "not slow",
# the Verilator simulations with -m "not hil"), one pytest worker per core, each test file on one worker (its
# module fixtures built once), the files handed out in collection order (tests/conftest.py puts the ones that take
# minutes first); the session fixtures (tiny checkpoints, builds) are built once per worker.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest -q -n auto --dist loadfile --no-loadscope-reorder "$@"
