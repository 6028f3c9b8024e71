// A loaded model: configuration, weights (views into memory maps), the kernel table and
// the thread pool. Immutable once loaded except for the pool, which one session at a time
// uses (the mutex). Sessions (session.h) hold the per-conversation state.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "kernels/kernel_table.h"
#include "kernels/matmul.h"
#include "kernels/thread_pool.h"
#include "model/config.h"
#include "model/faults.h"
#include "model/weights.h"

namespace lockstep::model {

struct LoadOptions {
    int n_threads = 0;                      // <= 0: all hardware threads
    std::optional<kernels::Isa> isa;        // default: kernels::default_isa()
    Fault fault = Fault::None;              // a deliberate mistake, for testing comparisons
    // Int8 (llama.cpp's arithmetic) unless a noise-floor control asks for unrounded activations.
    kernels::ActivationRounding activation_rounding = kernels::ActivationRounding::Int8;
};

class Model {
public:
    // A GGUF file or a Hugging Face folder (config.json + safetensors). Throws FormatError
    // for unreadable, malformed or unsupported models.
    static std::shared_ptr<Model> load(const std::string& path, const LoadOptions& options = {});
    Model(std::string path, std::string format, ModelConfig config, ModelWeights weights, const LoadOptions& options);

    const std::string& path() const { return path_; }
    const std::string& format() const { return format_; }
    const ModelConfig& config() const { return config_; }
    const ModelWeights& weights() const { return weights_; }
    const kernels::KernelTable& kernels() const { return kernels_; }
    kernels::ThreadPool& pool() const { return pool_; }
    std::mutex& compute_mutex() const { return compute_mutex_; }
    Fault fault() const { return fault_; }
    kernels::ActivationRounding activation_rounding() const { return activation_rounding_; }

private:
    std::string path_, format_;
    ModelConfig config_;
    ModelWeights weights_;
    const kernels::KernelTable& kernels_;
    Fault fault_;
    kernels::ActivationRounding activation_rounding_;
    mutable kernels::ThreadPool pool_;
    mutable std::mutex compute_mutex_;
};

}  // namespace lockstep::model
