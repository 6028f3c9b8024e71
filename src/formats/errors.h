// Errors raised while reading model files. Every byte of a model file is untrusted, so
// every failure says which file, where in it, and what was wrong.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace lockstep {

// A file that cannot be read or is malformed. `offset` is the byte offset where the
// problem was found, or kNoOffset when the problem is not tied to one place.
class FormatError : public std::runtime_error {
public:
    static constexpr uint64_t kNoOffset = UINT64_MAX;

    FormatError(std::string path, uint64_t offset, const std::string& what)
        : std::runtime_error(compose(path, offset, what)), path_(std::move(path)), offset_(offset),
          reason_(what) {}

    const std::string& path() const { return path_; }
    uint64_t offset() const { return offset_; }
    const std::string& reason() const { return reason_; }

private:
    static std::string compose(const std::string& path, uint64_t offset, const std::string& what) {
        if (offset == kNoOffset) return path + ": " + what;
        return path + ": at byte " + std::to_string(offset) + ": " + what;
    }
    std::string path_;
    uint64_t offset_;
    std::string reason_;
};

}  // namespace lockstep
