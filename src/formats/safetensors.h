// safetensors checkpoints, memory-mapped: one file, or the shards named by a
// `model.safetensors.index.json`, or a model folder holding either.
//
// File layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON (may be
// padded with trailing spaces), then the data section. The JSON is an object mapping
// tensor names to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the
// data section), plus an optional "__metadata__" object of strings.
//
// What is accepted is what the reference library (huggingface/safetensors 0.8) accepts,
// checked against it by tests/test_safetensors.py:
// - N at most 100,000,000 bytes, and the header inside the file;
// - the header is one JSON object; an entry's fields beyond the three above are ignored;
// - dtype is one of the reference's names; shape and data_offsets hold non-negative
//   integers (no fractions or exponents), data_offsets exactly two with begin <= end;
// - element count × dtype bits is computed without overflow, fills whole bytes, and equals
//   (end - begin) × 8;
// - sorted by offset, the tensors cover the data section exactly: the first begins at 0,
//   each begins where the previous ends (no overlap, no hole), the last ends at the end of
//   the file. ("The byte buffer needs to be entirely indexed, and cannot contain holes.
//   This prevents the creation of polyglot files." -- the format's README.)
// Stricter than the reference: a key repeated in one JSON object is an error (the format
// forbids it, the reference keeps one of them silently).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "formats/mmap.h"

namespace lockstep::safetensors {

// The reference's header size limit.
inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// Bits per element of a safetensors dtype name ("F32" -> 32, "F4" -> 4), 0 if unknown.
uint32_t dtype_bits(std::string_view dtype);

struct TensorInfo {
    std::string name;
    std::string dtype;            // safetensors name: "F32", "BF16", "F8_E4M3", ...
    std::vector<uint64_t> shape;  // row-major; empty for a scalar
    uint64_t offset;              // absolute, in its file
    uint64_t nbytes;
    const uint8_t* data;          // file->data() + offset; not necessarily aligned to the dtype
    std::shared_ptr<const MappedFile> file;  // keeps `data` mapped
};

using Metadata = std::map<std::string, std::string, std::less<>>;

class File {
public:
    // Maps and validates the file. Throws FormatError(path, byte offset, what).
    static File open(const std::string& path);

    const std::string& path() const { return file_->path(); }
    const std::shared_ptr<const MappedFile>& mapping() const { return file_; }
    const Metadata& metadata() const { return metadata_; }
    // In the order of their data in the file.
    const std::vector<TensorInfo>& tensors() const { return tensors_; }
    // nullptr when the file has no tensor of that name.
    const TensorInfo* find(std::string_view name) const;
    // Throws std::out_of_range when the file has no tensor of that name.
    const TensorInfo& tensor(std::string_view name) const;

private:
    std::shared_ptr<const MappedFile> file_;
    Metadata metadata_;
    std::vector<TensorInfo> tensors_;
    std::map<std::string, size_t, std::less<>> by_name_;
};

// One file, or every shard of an index. The index (`*.safetensors.index.json`) is
// {"metadata": {...}, "weight_map": {tensor: shard file name}}; shard names are plain file
// names in the index's folder. Every tensor the weight map names must be in its shard and
// no tensor may be in two shards; a shard's tensors missing from the weight map are still
// served (as transformers loads whole shards).
class Checkpoint {
public:
    // `path`: a .safetensors file, an index .json, or a folder. In a folder the first found
    // of: model.safetensors.index.json, model.safetensors, the only *.safetensors.index.json,
    // the only *.safetensors. Throws FormatError.
    static Checkpoint open(const std::string& path);

    // For one file its "__metadata__"; for an index its "metadata" (non-string values as
    // their JSON text, e.g. "total_size": "1234").
    const Metadata& metadata() const { return metadata_; }
    // The safetensors files, in the order their tensors are listed.
    const std::vector<std::string>& files() const { return files_; }
    const std::vector<TensorInfo>& tensors() const { return tensors_; }
    const TensorInfo* find(std::string_view name) const;
    const TensorInfo& tensor(std::string_view name) const;

private:
    static Checkpoint from_file(const std::string& path);
    static Checkpoint from_index(const std::string& path);
    void add(const File& file);

    Metadata metadata_;
    std::vector<std::string> files_;
    std::vector<TensorInfo> tensors_;
    std::map<std::string, size_t, std::less<>> by_name_;
};

}  // namespace lockstep::safetensors
