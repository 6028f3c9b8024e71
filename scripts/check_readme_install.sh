#!/usr/bin/env bash
# The README's main command as a new user runs it: a fresh virtual environment holding only
# what that command installs (no test extra), then the command itself, its --format json and
# `lockstep inspect --json` on the default model. The llama-cpp-python wheel may come from
# pip's cache (scripts/test.sh built it). .ci/run runs this after the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# The command is the line after this marker in README.md, so the check cannot drift from it.
command=$(awk '/^# install, then cross-validate the default model/ {getline; print; exit}' README.md)
if [ -z "$command" ]; then
  echo "check_readme_install: the README's main command (after its marker comment) was not found" >&2
  exit 1
fi
venv=$(mktemp -d)/venv
python -m venv "$venv"
# shellcheck disable=SC1091
source "$venv/bin/activate"
python -m pip install --quiet --upgrade pip
echo "+ $command" >&2
bash -c "$command"
model=$(python -c 'import lockstep; print(lockstep.default_model_path())')
lockstep crossval --model "$model" --prompt "What is the capital of France?" --backend all --format json > "$venv/report.json"
python - "$venv/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
assert report["verdict"]["exit_code"] == 0, report["verdict"]
assert len(report["pairs"]) == 2 and all(p["positions"] for p in report["pairs"]), "no per-position rows"
print(f"check_readme_install: --format json: {len(report['pairs'])} pairs, verdict {report['verdict']}", file=sys.stderr)
PY
lockstep inspect "$model" --json > "$venv/inspect.json"
python - "$venv/inspect.json" <<'PY'
import json, sys
info = json.load(open(sys.argv[1]))
assert info["format"] == "gguf" and [r["backend"] for r in info["routes"]] == ["native", "llama.cpp", "hf"], info["routes"]
assert all(r["preflight"]["ok"] for r in info["routes"]), info["routes"]
print("check_readme_install: inspect --json: routes", [r["backend"] for r in info["routes"]], file=sys.stderr)
PY
deactivate
echo "check_readme_install: the README's main command works in a fresh environment" >&2
