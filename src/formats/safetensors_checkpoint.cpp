// A safetensors checkpoint: which files make it up (a file, an index's shards, or what a
// folder holds) and the tensors of all of them under one name space.
#include <algorithm>
#include <filesystem>
#include <optional>
#include <stdexcept>

#include "formats/errors.h"
#include "formats/json_document.h"
#include "formats/safetensors.h"

namespace lockstep::safetensors {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string in_quotes(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out.append(1, '\'').append(s).append(1, '\'');
    return out;
}

// The checkpoint file inside a model folder (the search order of safetensors.h).
std::string resolve_folder(const fs::path& dir) {
    std::error_code ec;
    for (const char* name : {"model.safetensors.index.json", "model.safetensors"})
        if (fs::is_regular_file(dir / name, ec)) return (dir / name).string();

    std::vector<std::string> indexes, files;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (!it->is_regular_file(ec)) continue;
        if (ends_with(name, ".safetensors.index.json")) indexes.push_back(name);
        if (ends_with(name, ".safetensors")) files.push_back(name);
    }
    if (ec) throw FormatError(dir.string(), FormatError::kNoOffset, "cannot list the folder: " + ec.message());
    for (const auto* candidates : {&indexes, &files}) {
        if (candidates->size() == 1) return (dir / candidates->front()).string();
        if (candidates->size() > 1) {
            std::string names;
            for (const auto& n : *candidates) names += (names.empty() ? "" : ", ") + n;
            throw FormatError(dir.string(), FormatError::kNoOffset,
                              "several safetensors checkpoints in the folder (" + names + "); open one of them");
        }
    }
    throw FormatError(dir.string(), FormatError::kNoOffset,
                      "no safetensors checkpoint in the folder (no *.safetensors or *.safetensors.index.json file)");
}

// Why `name` cannot be a shard of an index, if it cannot: shards are plain file names in
// the index's folder, so that an index can never reach a file elsewhere.
std::optional<std::string> shard_name_problem(std::string_view name) {
    if (name.empty()) return "is empty";
    if (name == "." || name == "..") return "is not a file name";
    if (name.find_first_of("/\\") != std::string_view::npos)
        return "contains a path separator (shards must be plain file names in the index's folder)";
    if (name.find('\0') != std::string_view::npos) return "contains a NUL character";
    return std::nullopt;
}

}  // namespace

Checkpoint Checkpoint::open(const std::string& path) {
    std::error_code ec;
    const std::string file = fs::is_directory(path, ec) ? resolve_folder(path) : path;
    return ends_with(file, ".json") ? from_index(file) : from_file(file);
}

Checkpoint Checkpoint::from_file(const std::string& path) {
    const File file = File::open(path);
    Checkpoint out;
    out.metadata_ = file.metadata();
    out.add(file);
    return out;
}

Checkpoint Checkpoint::from_index(const std::string& path) {
    const auto mapping = MappedFile::open(path);
    const std::string_view text(reinterpret_cast<const char*>(mapping->data()), mapping->size());
    const JsonDocument doc = JsonDocument::parse(text, path, 0);
    auto fail = [&](uint64_t offset, const std::string& what) { throw FormatError(path, offset, what); };

    const json::object* root = doc.root().if_object();
    if (!root) fail(0, "the index is not a JSON object");
    const json::value* weight_map_value = root->if_contains("weight_map");
    if (!weight_map_value) fail(0, "field 'weight_map' is missing");
    const json::object* weight_map = weight_map_value->if_object();
    if (!weight_map) fail(doc.key_offset("weight_map"), "field 'weight_map': not a JSON object");

    Checkpoint out;
    if (const json::value* metadata = root->if_contains("metadata"); metadata && !metadata->is_null()) {
        if (!metadata->is_object()) fail(doc.key_offset("metadata"), "field 'metadata': not a JSON object");
        for (const auto& [key, value] : metadata->get_object())
            out.metadata_.emplace(std::string(key),
                                  value.is_string() ? std::string(value.get_string()) : json::serialize(value));
    }

    // Shards in the order the weight map first names them, each with its tensors.
    std::vector<std::pair<std::string, std::vector<std::string>>> shards;
    for (const auto& [tensor, shard_value] : *weight_map) {
        const uint64_t at = doc.key_offset("weight_map", tensor);
        if (!shard_value.is_string()) fail(at, "weight_map: the shard of tensor " + in_quotes(tensor) + " is not a string");
        const std::string_view shard = shard_value.get_string();
        if (auto problem = shard_name_problem(shard))
            fail(at, "weight_map: the shard name " + in_quotes(shard) + " of tensor " + in_quotes(tensor) + " " + *problem);
        auto it = std::find_if(shards.begin(), shards.end(), [&](const auto& s) { return s.first == shard; });
        if (it == shards.end()) it = shards.insert(shards.end(), {std::string(shard), {}});
        it->second.emplace_back(tensor);
    }

    const fs::path dir = fs::path(path).parent_path();
    for (const auto& [shard, tensors] : shards) {
        const fs::path shard_path = dir / shard;
        std::error_code ec;
        if (!fs::is_regular_file(shard_path, ec))
            fail(doc.key_offset("weight_map", tensors.front()),
                 "weight_map: tensor " + in_quotes(tensors.front()) + " is mapped to shard " + in_quotes(shard) +
                     ", which is not a file in " + (dir.empty() ? std::string(".") : dir.string()));
        const File file = File::open(shard_path.string());
        for (const std::string& tensor : tensors)
            if (!file.find(tensor))
                fail(doc.key_offset("weight_map", tensor),
                     "weight_map: tensor " + in_quotes(tensor) + " is mapped to shard " + in_quotes(shard) +
                         ", which does not contain it");
        for (const TensorInfo& t : file.tensors())
            if (const TensorInfo* other = out.find(t.name))
                fail(doc.key_offset("weight_map", t.name), "tensor " + in_quotes(t.name) + " is in two shards: " +
                                                               other->file->path() + " and " + file.path());
        out.add(file);
    }
    return out;
}

void Checkpoint::add(const File& file) {
    files_.push_back(file.path());
    for (const TensorInfo& t : file.tensors()) {
        by_name_.emplace(t.name, tensors_.size());
        tensors_.push_back(t);
    }
}

const TensorInfo* Checkpoint::find(std::string_view name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& Checkpoint::tensor(std::string_view name) const {
    if (const TensorInfo* t = find(name)) return *t;
    throw std::out_of_range("no tensor named '" + std::string(name) + "' in the checkpoint");
}

}  // namespace lockstep::safetensors
