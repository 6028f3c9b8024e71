// A JSON document read from a model file, parsed strictly: duplicate keys are an error
// (Boost.JSON would silently keep the last one, which lets one file mean two things to two
// readers), and every error names its byte offset in the file. The offsets of the keys in
// the first two levels of objects are kept, so that later checks of the content (a
// safetensors header entry, an index's weight_map entry) can say where in the file the
// offending entry is.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "formats/json.h"

namespace lockstep {

class JsonDocument {
public:
    // Parses `text`, which starts at byte `base` of the file `path`. The whole text must be
    // one JSON value (whitespace around it is allowed). Throws FormatError.
    static JsonDocument parse(std::string_view text, const std::string& path, uint64_t base);

    const boost::json::value& root() const { return root_; }

    // File offset of the opening quote of key `key` in the root object, or of key `child`
    // in the object that is the value of `key`. Falls back to the document's start for a
    // key that begins with an escape sequence (Boost.JSON hands those over unescaped, so
    // their place in the input is not known) or that is not in the document.
    uint64_t key_offset(std::string_view key) const;
    uint64_t key_offset(std::string_view key, std::string_view child) const;

    uint64_t base() const { return base_; }

private:
    struct KeyPlace {
        uint64_t offset;
        std::map<std::string, uint64_t, std::less<>> children;
    };

    boost::json::value root_;
    std::map<std::string, KeyPlace, std::less<>> places_;
    uint64_t base_ = 0;
};

}  // namespace lockstep
