// The interface every inference backend implements — the native engine in C++, llama.cpp
// and transformers in Python (through a pybind11 trampoline). The dispatcher sees only this.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lockstep::dispatch {

// A [rows, vocab] float32 block of logits. `owner` keeps the memory alive (a C++ buffer or
// a Python array); the dispatcher never copies it.
struct Logits {
    const float* data = nullptr;
    int64_t rows = 0;
    int64_t vocab = 0;
    std::shared_ptr<const void> owner;
};

// Whether a backend can run here, decided before any model is loaded.
struct Preflight {
    bool available = false;
    std::string version;          // of the engine behind it (e.g. llama-cpp-python 0.3.36)
    std::string install_command;  // what to run when it is not available
    std::string detail;           // why not, or what was found
};

class Backend {
public:
    virtual ~Backend() = default;

    virtual std::string name() const = 0;
    virtual std::string version() const = 0;
    // Optional abilities beyond the required methods, e.g. "eval" (incremental decoding
    // with a KV cache), "capture" (per-layer hidden states).
    virtual std::vector<std::string> capabilities() const = 0;

    virtual std::vector<int32_t> tokenize(const std::string& text, bool add_special, bool parse_special) = 0;
    // The bytes a token stands for (may be an incomplete UTF-8 sequence).
    virtual std::string token_piece(int32_t id) = 0;
    virtual int64_t vocab_size() = 0;
    virtual int32_t bos_id() = 0;  // -1 when the vocabulary has none

    // Logits for every position of `ids` from an empty context; row i predicts token i+1.
    virtual Logits logits(const std::vector<int32_t>& ids) = 0;
};

// What every backend may be asked for when it is made.
struct BackendOptions {
    int n_threads = 0;         // 0: all cores
    std::string inject_fault;  // a named fault, for testing the comparison (native only)
};

// How the registry makes a backend: preflight first, then construction from a model path.
struct BackendFactory {
    std::string name;
    std::function<Preflight()> preflight;
    std::function<std::shared_ptr<Backend>(const std::string& model_path, const BackendOptions& options)> create;
};

}  // namespace lockstep::dispatch
