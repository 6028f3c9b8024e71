// Read-only memory map of a whole file. Shared ownership: numpy views handed to Python
// hold a reference, so the mapping outlives the reader that created it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace lockstep {

class MappedFile {
public:
    // Throws FormatError (offset kNoOffset) when the file cannot be opened or mapped.
    static std::shared_ptr<const MappedFile> open(const std::string& path);

    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const std::string& path() const { return path_; }
    const uint8_t* data() const { return data_; }
    uint64_t size() const { return size_; }
    std::span<const uint8_t> bytes() const { return {data_, static_cast<size_t>(size_)}; }

private:
    MappedFile(std::string path, const uint8_t* data, uint64_t size)
        : path_(std::move(path)), data_(data), size_(size) {}
    std::string path_;
    const uint8_t* data_;  // nullptr for an empty file
    uint64_t size_;
};

}  // namespace lockstep
