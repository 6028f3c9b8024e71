// GGUF files (versions 2 and 3), memory-mapped. Opening a file validates the whole header
// against the file size: every count, length, offset and dimension is checked before it is
// used, so a File that exists is consistent and its tensor data pointers are in bounds.
// Tensor data itself is never read here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "formats/gguf_value.h"
#include "formats/mmap.h"
#include "quant/types.h"

namespace lockstep::gguf {

constexpr uint64_t kDefaultAlignment = 32;  // when general.alignment is absent
constexpr uint32_t kMaxDims = 4;            // GGML_MAX_DIMS
constexpr uint32_t kMaxArrayNesting = 8;    // arrays of arrays deeper than this are rejected

struct TensorInfo {
    std::string name;
    TypeTraits type;
    std::vector<uint64_t> ne;  // ggml order: ne[0] is the innermost (fastest) dimension
    uint64_t offset;           // absolute in the file
    uint64_t nbytes;           // tensor_bytes(): for I2_S including its trailing scale
    uint64_t n_elements;
    const uint8_t* data;       // into the map; valid while the File (or its file()) lives
};

// Resolves a tensor type id as the file means it. Id 36 is I2_S in bitnet.cpp's files and
// retired in upstream ggml, so it is accepted only when `architecture` is a BitNet one.
// nullopt when the id is unknown or not valid for that architecture.
std::optional<TypeTraits> resolve_type_id(uint32_t id, std::string_view architecture);
// "bitnet", "bitnet-b1.58", "bitnet-25", ...: the architectures bitnet.cpp writes.
bool is_bitnet_architecture(std::string_view architecture);

class File {
public:
    // Maps and validates `path`; throws FormatError naming the file, the byte offset and
    // what was wrong.
    static File open(const std::string& path);

    uint32_t version() const { return version_; }
    uint64_t alignment() const { return alignment_; }
    // Absolute offset of the (aligned) data section that tensor offsets are relative to.
    uint64_t data_offset() const { return data_offset_; }
    const std::shared_ptr<const MappedFile>& file() const { return file_; }
    const std::string& path() const { return file_->path(); }

    // Metadata in file order. String views inside the values point into the map.
    const std::vector<std::pair<std::string, Value>>& metadata() const { return metadata_; }
    const Value* find(std::string_view key) const;  // nullptr if absent

    // Typed lookups: nullopt (or empty) when the key is absent; FormatError naming the key,
    // the expected and the actual type when it is present with another type.
    std::optional<std::string_view> get_string(std::string_view key) const;
    std::optional<uint64_t> get_uint(std::string_view key) const;  // any integer type, must be >= 0
    std::optional<double> get_float(std::string_view key) const;   // any float or integer type
    std::optional<bool> get_bool(std::string_view key) const;
    std::vector<std::string_view> get_strings(std::string_view key) const;  // ARRAY[STRING]
    std::vector<float> get_floats(std::string_view key) const;  // array of any float or integer type
    std::vector<int64_t> get_ints(std::string_view key) const;  // array of any integer type, in int64 range

    const std::vector<TensorInfo>& tensors() const { return tensors_; }
    const TensorInfo* tensor(std::string_view name) const;  // nullptr if absent

private:
    friend class Parser;
    File() = default;
    [[noreturn]] void wrong_type(std::string_view key, const Value& v, std::string_view expected) const;

    std::shared_ptr<const MappedFile> file_;
    uint32_t version_ = 0;
    uint64_t alignment_ = kDefaultAlignment;
    uint64_t data_offset_ = 0;
    std::vector<std::pair<std::string, Value>> metadata_;
    std::vector<TensorInfo> tensors_;
    // Keyed by views into the map, which stay put when the vectors above reallocate.
    std::unordered_map<std::string_view, size_t> metadata_index_;
    std::unordered_map<std::string_view, size_t> tensor_index_;
};

}  // namespace lockstep::gguf
