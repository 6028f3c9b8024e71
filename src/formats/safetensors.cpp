// One safetensors file: the header read and every rule of safetensors.h checked before
// any tensor is handed out.
#include "formats/safetensors.h"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <tuple>

#include "formats/cursor.h"
#include "formats/errors.h"
#include "formats/json_document.h"

namespace lockstep::safetensors {
namespace {

namespace json = boost::json;

struct DtypeBits {
    std::string_view name;
    uint32_t bits;
};

// The reference library's dtypes (its `Dtype` enum, 0.8).
constexpr std::array<DtypeBits, 22> kDtypes{{
    {"BOOL", 8},     {"F4", 4},           {"F6_E2M3", 6},      {"F6_E3M2", 6}, {"U8", 8},   {"I8", 8},
    {"F8_E5M2", 8},  {"F8_E4M3", 8},      {"F8_E8M0", 8},      {"F8_E4M3FNUZ", 8},          {"F8_E5M2FNUZ", 8},
    {"I16", 16},     {"U16", 16},         {"F16", 16},         {"BF16", 16},  {"I32", 32},  {"U32", 32},
    {"F32", 32},     {"C64", 64},         {"F64", 64},         {"I64", 64},   {"U64", 64},
}};

std::string known_dtypes() {
    std::string out;
    for (const auto& d : kDtypes) out += (out.empty() ? "" : ", ") + std::string(d.name);
    return out;
}

std::string in_quotes(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out.append(1, '\'').append(s).append(1, '\'');
    return out;
}

std::string shape_text(const std::vector<uint64_t>& shape) {
    std::string out = "[";
    for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
    return out + "]";
}

// A header entry as written, before the layout of the data section is checked.
struct Entry {
    std::string name;
    std::string dtype;
    std::vector<uint64_t> shape;
    uint64_t begin;
    uint64_t end;
    uint64_t header_offset;  // where the entry's key is, for errors
};

class HeaderReader {
public:
    HeaderReader(const MappedFile& file, const JsonDocument& doc, uint64_t data_size)
        : file_(file), doc_(doc), data_size_(data_size) {}

    Metadata read_metadata(const json::value& value) const {
        Metadata out;
        if (value.is_null()) return out;  // the reference accepts an explicit null
        const uint64_t at = doc_.key_offset("__metadata__");
        const json::object* object = value.if_object();
        if (!object) fail(at, "field '__metadata__': not a JSON object");
        for (const auto& [key, v] : *object) {
            if (!v.is_string())
                fail(doc_.key_offset("__metadata__", key),
                     "field '__metadata__': value of " + in_quotes(key) + " is not a string");
            out.emplace(std::string(key), std::string(v.get_string()));
        }
        return out;
    }

    Entry read_entry(std::string_view name, const json::value& value) const {
        Entry e{std::string(name), {}, {}, 0, 0, doc_.key_offset(name)};
        const json::object* object = value.if_object();
        if (!object) fail_entry(e, "entry is not a JSON object");

        const json::value& dtype = field(e, *object, "dtype");
        if (!dtype.is_string()) fail_entry(e, "field 'dtype': not a string");
        e.dtype = std::string(dtype.get_string());
        const uint32_t bits = dtype_bits(e.dtype);
        if (bits == 0) fail_entry(e, "field 'dtype': unknown dtype " + in_quotes(e.dtype) + " (known: " + known_dtypes() + ")");

        const json::array& shape = array_field(e, *object, "shape");
        e.shape.reserve(shape.size());
        for (size_t i = 0; i < shape.size(); ++i) e.shape.push_back(non_negative(e, shape[i], "shape", i));

        const json::array& offsets = array_field(e, *object, "data_offsets");
        if (offsets.size() != 2)
            fail_entry(e, "field 'data_offsets': has " + std::to_string(offsets.size()) + " values, not 2 (begin, end)");
        e.begin = non_negative(e, offsets[0], "data_offsets", 0);
        e.end = non_negative(e, offsets[1], "data_offsets", 1);

        uint64_t elements = 1;
        for (uint64_t dim : e.shape)
            if (__builtin_mul_overflow(elements, dim, &elements))
                fail_entry(e, "field 'shape': " + shape_text(e.shape) + " has more elements than 64 bits can count");
        uint64_t total_bits = 0;
        if (__builtin_mul_overflow(elements, uint64_t{bits}, &total_bits))
            fail_entry(e, "field 'shape': " + shape_text(e.shape) + " of " + e.dtype + " is too large to address");
        if (total_bits % 8 != 0)
            fail_entry(e, "field 'shape': " + std::to_string(elements) + " elements of " + std::to_string(bits) +
                              "-bit " + e.dtype + " do not fill whole bytes");
        if (e.begin > e.end)
            fail_entry(e, "field 'data_offsets': begin " + std::to_string(e.begin) + " is after end " + std::to_string(e.end));
        if (e.end - e.begin != total_bits / 8)
            fail_entry(e, "field 'data_offsets': [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "] holds " +
                              std::to_string(e.end - e.begin) + " bytes, but shape " + shape_text(e.shape) + " of " +
                              e.dtype + " needs " + std::to_string(total_bits / 8));
        if (e.end > data_size_)
            fail_entry(e, "field 'data_offsets': end " + std::to_string(e.end) + " is past the end of the data section (" +
                              std::to_string(data_size_) + " bytes)");
        return e;
    }

    [[noreturn]] void fail(uint64_t offset, const std::string& what) const { throw FormatError(file_.path(), offset, what); }

private:
    [[noreturn]] void fail_entry(const Entry& e, const std::string& what) const {
        fail(e.header_offset, "tensor " + in_quotes(e.name) + ": " + what);
    }

    const json::value& field(const Entry& e, const json::object& object, std::string_view key) const {
        const json::value* v = object.if_contains(key);
        if (!v) fail_entry(e, "field " + in_quotes(key) + " is missing");
        return *v;
    }

    const json::array& array_field(const Entry& e, const json::object& object, std::string_view key) const {
        const json::array* a = field(e, object, key).if_array();
        if (!a) fail_entry(e, "field " + in_quotes(key) + ": not a JSON array");
        return *a;
    }

    uint64_t non_negative(const Entry& e, const json::value& v, std::string_view key, size_t index) const {
        if (v.is_uint64()) return v.get_uint64();
        if (v.is_int64() && v.get_int64() >= 0) return static_cast<uint64_t>(v.get_int64());
        fail_entry(e, "field " + in_quotes(key) + ": value " + std::to_string(index) + " is " + json::serialize(v) +
                          ", not a non-negative integer");
    }

    const MappedFile& file_;
    const JsonDocument& doc_;
    uint64_t data_size_;
};

}  // namespace

uint32_t dtype_bits(std::string_view dtype) {
    for (const auto& d : kDtypes)
        if (d.name == dtype) return d.bits;
    return 0;
}

File File::open(const std::string& path) {
    File out;
    out.file_ = MappedFile::open(path);
    const MappedFile& file = *out.file_;
    Cursor cursor(file);

    const auto header_size = cursor.read<uint64_t>("the header length (the first 8 bytes)");
    if (header_size > kMaxHeaderBytes)
        cursor.fail_at(0, "header length " + std::to_string(header_size) + " exceeds the format's limit of " +
                              std::to_string(kMaxHeaderBytes) + " bytes");
    if (header_size > cursor.remaining())
        cursor.fail_at(0, "header length " + std::to_string(header_size) + " runs past the end of the file (" +
                              std::to_string(cursor.remaining()) + " bytes follow the length)");
    const uint64_t header_begin = cursor.pos();
    const std::string_view text = cursor.bytes(header_size, "the header");
    const uint64_t data_begin = cursor.pos();
    const uint64_t data_size = cursor.remaining();

    const JsonDocument doc = JsonDocument::parse(text, path, header_begin);
    const json::object* root = doc.root().if_object();
    if (!root) cursor.fail_at(header_begin, "the header is not a JSON object");

    HeaderReader reader(file, doc, data_size);
    std::vector<Entry> entries;
    entries.reserve(root->size());
    for (const auto& [key, value] : *root) {
        if (key == "__metadata__")
            out.metadata_ = reader.read_metadata(value);
        else
            entries.push_back(reader.read_entry(key, value));
    }

    // The data section must be covered exactly, tensor after tensor (safetensors.h).
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
    uint64_t covered = 0;
    const Entry* previous = nullptr;
    for (const Entry& e : entries) {
        const std::string after = previous ? "tensor " + in_quotes(previous->name) + " (ends at " +
                                                 std::to_string(previous->end) + ")"
                                           : "the start of the data section";
        if (e.begin < covered)
            reader.fail(e.header_offset, "tensor " + in_quotes(e.name) + ": field 'data_offsets': begins at " +
                                             std::to_string(e.begin) + ", overlapping " + after);
        if (e.begin > covered)
            reader.fail(e.header_offset, "tensor " + in_quotes(e.name) + ": field 'data_offsets': begins at " +
                                             std::to_string(e.begin) + ", leaving a hole of " +
                                             std::to_string(e.begin - covered) + " bytes after " + after +
                                             "; tensors must cover the data section without holes");
        covered = e.end;
        previous = &e;
    }
    if (covered != data_size)
        cursor.fail_at(data_begin + covered, std::to_string(data_size - covered) +
                                                 " bytes at the end of the data section belong to no tensor");

    out.tensors_.reserve(entries.size());
    for (Entry& e : entries) {
        const uint64_t offset = data_begin + e.begin;
        out.by_name_.emplace(e.name, out.tensors_.size());
        out.tensors_.push_back(TensorInfo{std::move(e.name), std::move(e.dtype), std::move(e.shape), offset,
                                          e.end - e.begin, file.data() + offset, out.file_});
    }
    return out;
}

const TensorInfo* File::find(std::string_view name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& File::tensor(std::string_view name) const {
    if (const TensorInfo* t = find(name)) return *t;
    throw std::out_of_range(path() + ": no tensor named '" + std::string(name) + "'");
}

}  // namespace lockstep::safetensors
