#include "formats/json_document.h"

#include <optional>
#include <unordered_set>
#include <vector>

#include "formats/errors.h"

namespace lockstep {
namespace {

namespace json = boost::json;
using boost::system::error_code;

// A SAX handler for json::basic_parser that builds the value exactly as json::parser
// does (through a value_stack) and, on top of that, rejects duplicate keys and records
// where the keys of the first two object levels start.
class StrictHandler {
public:
    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();

    struct Duplicate {
        std::string key;
        std::optional<uint64_t> offset;  // within the text
    };

    // What the parse recorded: a key's offset within the text, by its path of keys.
    struct Place {
        std::string key;
        std::optional<uint64_t> offset;
        std::optional<std::string> parent;  // set for keys in the second level
    };

    explicit StrictHandler(std::string_view text) : text_(text) { stack.reset(); }

    json::value_stack stack;
    std::optional<Duplicate> duplicate;
    std::vector<Place> places;

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }

    bool on_object_begin(error_code&) {
        frames_.push_back(Frame{true, {}, {}});
        return true;
    }
    bool on_object_end(std::size_t n, error_code&) {
        frames_.pop_back();
        stack.push_object(n);
        return true;
    }
    bool on_array_begin(error_code&) {
        frames_.push_back(Frame{false, {}, {}});
        return true;
    }
    bool on_array_end(std::size_t n, error_code&) {
        frames_.pop_back();
        stack.push_array(n);
        return true;
    }

    bool on_key_part(json::string_view s, std::size_t, error_code&) {
        if (!key_started_) start_key(s);
        key_.append(s.data(), s.size());
        stack.push_chars(s);
        return true;
    }
    bool on_key(json::string_view s, std::size_t, error_code& ec) {
        if (!key_started_) start_key(s);
        key_started_ = false;
        key_.append(s.data(), s.size());
        Frame& frame = frames_.back();
        if (!frame.keys.insert(key_).second) {
            duplicate = Duplicate{std::move(key_), key_offset_};
            ec = json::error::syntax;  // stops the parse; parse() reports `duplicate`
            return false;
        }
        record_place();
        frame.key = std::move(key_);
        key_.clear();
        stack.push_key(s);
        return true;
    }

    bool on_string_part(json::string_view s, std::size_t, error_code&) {
        stack.push_chars(s);
        return true;
    }
    bool on_string(json::string_view s, std::size_t, error_code&) {
        stack.push_string(s);
        return true;
    }
    bool on_number_part(json::string_view, error_code&) { return true; }
    bool on_int64(std::int64_t i, json::string_view, error_code&) {
        stack.push_int64(i);
        return true;
    }
    bool on_uint64(std::uint64_t u, json::string_view, error_code&) {
        stack.push_uint64(u);
        return true;
    }
    bool on_double(double d, json::string_view, error_code&) {
        stack.push_double(d);
        return true;
    }
    bool on_bool(bool b, error_code&) {
        stack.push_bool(b);
        return true;
    }
    bool on_null(error_code&) {
        stack.push_null();
        return true;
    }
    bool on_comment_part(json::string_view, error_code&) { return true; }
    bool on_comment(json::string_view, error_code&) { return true; }

private:
    struct Frame {
        bool is_object;
        std::unordered_set<std::string> keys;
        std::string key;  // the key whose value is being parsed
    };

    // basic_parser passes the unescaped run of a key as a view into the input; a key that
    // begins with an escape arrives from the parser's own buffer instead.
    void start_key(json::string_view first_run) {
        key_started_ = true;
        const char* p = first_run.data();
        if (p > text_.data() && p <= text_.data() + text_.size())
            key_offset_ = static_cast<uint64_t>(p - text_.data()) - 1;  // the opening quote
        else
            key_offset_.reset();
    }

    void record_place() {
        if (frames_.size() > 2) return;
        for (const Frame& f : frames_)
            if (!f.is_object) return;
        places.push_back(Place{key_, key_offset_,
                               frames_.size() == 2 ? std::optional<std::string>(frames_.front().key) : std::nullopt});
    }

    std::string_view text_;
    std::vector<Frame> frames_;
    std::string key_;
    bool key_started_ = false;
    std::optional<uint64_t> key_offset_;
};

}  // namespace

JsonDocument JsonDocument::parse(std::string_view text, const std::string& path, uint64_t base) {
    json::basic_parser<StrictHandler> parser(json::parse_options{}, text);
    error_code ec;
    const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
    StrictHandler& handler = parser.handler();
    if (handler.duplicate) {
        const auto& dup = *handler.duplicate;
        throw FormatError(path, base + dup.offset.value_or(used),
                          "invalid JSON: duplicate key \"" + dup.key + "\" in one object");
    }
    if (ec) throw FormatError(path, base + used, "invalid JSON: " + ec.message());
    if (used != text.size()) throw FormatError(path, base + used, "invalid JSON: characters after the JSON value");

    JsonDocument doc;
    doc.base_ = base;
    doc.root_ = handler.stack.release();
    for (auto& place : handler.places) {
        const uint64_t offset = base + place.offset.value_or(0);
        if (!place.parent) {
            doc.places_[place.key].offset = offset;
        } else {
            auto parent = doc.places_.find(*place.parent);
            if (parent != doc.places_.end()) parent->second.children[place.key] = offset;
        }
    }
    return doc;
}

uint64_t JsonDocument::key_offset(std::string_view key) const {
    auto it = places_.find(key);
    return it == places_.end() ? base_ : it->second.offset;
}

uint64_t JsonDocument::key_offset(std::string_view key, std::string_view child) const {
    auto it = places_.find(key);
    if (it == places_.end()) return base_;
    auto c = it->second.children.find(child);
    return c == it->second.children.end() ? base_ : c->second;
}

}  // namespace lockstep
