#!/usr/bin/env bash
# The C++ core under AddressSanitizer + UndefinedBehaviorSanitizer: builds it in build/asan
# (-DLOCKSTEP_SANITIZE=ON, a cold compile of its own), points Python at that module through a
# shadow package in build/asan/python, preloads GCC's sanitizer runtimes into the interpreter
# (Python itself is not instrumented), and runs the parser, quant, tokenizer, engine, limits
# and fuzz-smoke tests. Any sanitizer report aborts the process, so it fails the run.
#
#   scripts/sanitize.sh                  # build, then the default test files
#   scripts/sanitize.sh tests/test_gguf.py -k truncated    # build, then these pytest arguments
#   SANITIZE_BUILD=0 scripts/sanitize.sh ...               # reuse the existing build
#
# Environment: PYTHON (default: python), JOBS (build jobs, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
python=${PYTHON:-python}
build=build/asan

if [[ "${SANITIZE_BUILD:-1}" != 0 ]]; then
    launcher=()
    if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
    # No link-time optimization (pybind11 adds it in Release): an LTO link of the instrumented
    # module took over half an hour on 2 shared cores.
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOCKSTEP_SANITIZE=ON -DCMAKE_INTERPROCEDURAL_OPTIMIZATION=OFF \
        -DPython_EXECUTABLE="$(command -v "$python")" "${launcher[@]}"
    nice cmake --build "$build" -j "${JOBS:-2}"
fi

# The shadow package: every file of python/lockstep but the developer build's module, plus
# the sanitized one.
shadow="$build/python/lockstep"
rm -rf "$build/python"
mkdir -p "$shadow"
for entry in python/lockstep/*; do
    case "$(basename "$entry")" in _core*.so) continue ;; esac
    ln -s "$root/$entry" "$shadow/"
done
module=$(ls "$build"/module/_core*.so)
ln -s "$root/$module" "$shadow/"

libasan=$(g++ -print-file-name=libasan.so)
libubsan=$(g++ -print-file-name=libubsan.so)
# Leaks: CPython and torch keep much alive until exit by design, so leak reports would be noise.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:allocator_may_return_null=0:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LD_PRELOAD="$libasan $libubsan"
export PYTHONPATH="$root/$build/python"
export LOCKSTEP_SANITIZED=1  # tests that fork a child to watch for crashes pass this on

if [[ $# -eq 0 ]]; then
    set -- tests/test_gguf.py tests/test_safetensors.py tests/test_quant.py tests/test_kernels.py \
        tests/test_tokenizer_regex.py tests/test_tokenizer_api.py tests/test_tokenizer_llama_vocabs.py \
        tests/test_native_tokenize.py tests/test_engine.py tests/test_concurrency.py tests/test_limits.py \
        tests/test_fuzz_targets.py -p no:cacheprovider -q
fi
"$python" -c "import lockstep._core as c, sys; sys.exit(0 if '$build' in c.__file__ else 'not the sanitized module: ' + c.__file__)"
exec "$python" -m pytest "$@"
