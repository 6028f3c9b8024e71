#include "model/model.h"

#include <filesystem>
#include <stdexcept>

#include "formats/errors.h"
#include "model/embedding.h"
#include "model/perturb.h"
#include "model/tensor_set.h"

namespace lockstep::model {

std::shared_ptr<Model> Model::load(const std::string& path, const LoadOptions& options) {
    LoadedModel loaded = std::filesystem::is_directory(path) ? load_hf_folder(path) : load_gguf(path);
    ModelWeights weights = bind_weights(loaded.config, loaded.tensors, path);
    if (options.fault == Fault::SiluForRelu2 && loaded.config.ffn_activation != FfnActivation::ReLU2)
        throw std::invalid_argument("fault silu-for-relu2 needs a model with a squared-ReLU feed-forward (bitnet b1.58); " +
                                    path + " uses SiLU already");
    if (options.fault == Fault::LayerWeightsPerturbed) perturb_layer_weights(weights, loaded.config.n_layer / 2);
    if (!can_embed(weights.token_embd.type))
        throw FormatError(path, FormatError::kNoOffset, "token_embd.weight: its type cannot be decoded");
    return std::make_shared<Model>(loaded.path, loaded.format, std::move(loaded.config), std::move(weights), options);
}

Model::Model(std::string path, std::string format, ModelConfig config, ModelWeights weights, const LoadOptions& options)
    : path_(std::move(path)), format_(std::move(format)), config_(std::move(config)), weights_(std::move(weights)),
      kernels_(kernels::kernel_table(options.isa ? *options.isa : kernels::default_isa())), fault_(options.fault),
      activation_rounding_(options.activation_rounding), pool_(options.n_threads) {}

}  // namespace lockstep::model
