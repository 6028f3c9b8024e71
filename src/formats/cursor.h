// Bounds-checked little-endian reads from a mapped file. Every read checks the remaining
// length first and names the offset and the field in its error.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "formats/errors.h"
#include "formats/mmap.h"

namespace lockstep {

class Cursor {
public:
    Cursor(const MappedFile& file, uint64_t pos = 0) : file_(file), pos_(pos) {}

    uint64_t pos() const { return pos_; }
    uint64_t remaining() const { return pos_ <= file_.size() ? file_.size() - pos_ : 0; }
    const MappedFile& file() const { return file_; }

    // Throws unless `n` more bytes are available; `what` names the field being read.
    void require(uint64_t n, std::string_view what) const {
        if (n > remaining())
            fail(std::string("truncated while reading ") + std::string(what) + ": needs " + std::to_string(n) +
                 " bytes, " + std::to_string(remaining()) + " left in the file");
    }

    template <typename T>
    T read(std::string_view what) {
        static_assert(std::is_trivially_copyable_v<T>);
        require(sizeof(T), what);
        T value;
        std::memcpy(&value, file_.data() + pos_, sizeof(T));  // files are little-endian, as is every host we build for
        pos_ += sizeof(T);
        return value;
    }

    std::string_view bytes(uint64_t n, std::string_view what) {
        require(n, what);
        std::string_view view(reinterpret_cast<const char*>(file_.data() + pos_), static_cast<size_t>(n));
        pos_ += n;
        return view;
    }

    void skip(uint64_t n, std::string_view what) {
        require(n, what);
        pos_ += n;
    }

    [[noreturn]] void fail(const std::string& what) const { throw FormatError(file_.path(), pos_, what); }
    [[noreturn]] void fail_at(uint64_t offset, const std::string& what) const {
        throw FormatError(file_.path(), offset, what);
    }

private:
    const MappedFile& file_;
    uint64_t pos_;
};

}  // namespace lockstep
