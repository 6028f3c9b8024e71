#!/usr/bin/env bash
# Runs one fuzz target of fuzz/ for SECONDS (docs/fuzzing.md):
#
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]     e.g. scripts/fuzz.sh gguf_file 600
#   scripts/fuzz.sh list                                    the targets
#
# New inputs go to build/fuzz/TARGET/corpus (the committed seeds in fuzz/corpus/TARGET are
# only read); a crash, hang (-timeout) or oversized allocation is written as
# build/fuzz/TARGET/crash-*, timeout-*, oom-* and the run exits non-zero. Under
# scripts/sanitize.sh's environment (LD_PRELOAD of the sanitizer runtimes, PYTHONPATH of the
# sanitized module) the same runs check the C++ core with ASan + UBSan, and -malloc_limit_mb
# catches any single allocation over the limit.
# Environment: PYTHON (default: python), FUZZ_RSS_MB (default 2048), FUZZ_TIMEOUT (seconds per input, default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python}
if [[ "${1:-}" == list || $# -lt 2 ]]; then
    for target in fuzz/*.py; do
        name=$(basename "$target" .py)
        case "$name" in _* | make_corpus) ;; *) echo "$name" ;; esac
    done
    [[ "${1:-}" == list ]] && exit 0
    echo "usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]" >&2
    exit 64
fi
target=$1 seconds=$2
shift 2
[[ -f "fuzz/$target.py" ]] || { echo "no fuzz target fuzz/$target.py (scripts/fuzz.sh list)" >&2; exit 64; }
work="build/fuzz/$target"
mkdir -p "$work/corpus"
export PYTHONPATH="${PYTHONPATH:-$(pwd)/python}"
dictionary=()
[[ -f "fuzz/$target.dict" ]] && dictionary=(-dict="fuzz/$target.dict")
exec "$python" "fuzz/$target.py" -max_total_time="$seconds" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
    -malloc_limit_mb="${FUZZ_RSS_MB:-2048}" -timeout="${FUZZ_TIMEOUT:-10}" -artifact_prefix="$work/" \
    -use_value_profile=1 -print_final_stats=1 "${dictionary[@]}" "$@" "$work/corpus" "fuzz/corpus/$target"
