// Parsing and validation of a GGUF header: magic, version, metadata, tensor infos, data
// section. Layout (little-endian): "GGUF", u32 version, u64 tensor count, u64 metadata
// count, the metadata entries (string key, u32 type, value), the tensor infos (string name,
// u32 n_dims, u64 ne[n_dims], u32 type, u64 offset relative to the data section), padding
// to the alignment, the data section. Strings are a u64 byte length and UTF-8 bytes.
#include <algorithm>
#include <numeric>

#include "formats/cursor.h"
#include "formats/errors.h"
#include "formats/gguf.h"
#include "formats/utf8_validate.h"

namespace lockstep::gguf {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32

// The fewest bytes an encoded element of each kind can take: enough to reject a count that
// cannot fit in the rest of the file before anything is allocated for it.
constexpr uint64_t kMinStringBytes = 8;            // the length, for an empty string
constexpr uint64_t kMinArrayBytes = 4 + 8;         // element type and count of an empty array
constexpr uint64_t kMinEntryBytes = 8 + 4 + 1;     // empty key (rejected, but sized), type, 1-byte value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // empty name, n_dims 0, type, offset

uint64_t min_element_bytes(ValueType t) {
    if (t == ValueType::STRING) return kMinStringBytes;
    if (t == ValueType::ARRAY) return kMinArrayBytes;
    return value_type_size(t);
}

std::string quoted(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out += '\'';
    out += s;
    out += '\'';
    return out;
}

}  // namespace

class Parser {
public:
    explicit Parser(std::shared_ptr<const MappedFile> map) : map_(std::move(map)), in_(*map_) {}

    File parse() {
        file_.file_ = map_;
        read_header();
        read_metadata();
        read_alignment();
        read_tensor_infos();
        place_data_section();
        return std::move(file_);
    }

private:
    void read_header() {
        const auto magic = in_.read<uint32_t>("the magic");
        if (magic != kMagic) in_.fail_at(0, "not a GGUF file: the magic is " + describe_magic(magic) + ", expected \"GGUF\"");
        const uint64_t at = in_.pos();
        const auto version = in_.read<uint32_t>("the version");
        if (version != 0 && (version & 0xFFFF) == 0)
            in_.fail_at(at, "GGUF version " + std::to_string(version) +
                                " looks byte-swapped: big-endian GGUF files are not supported");
        if (version == 1) in_.fail_at(at, "unsupported GGUF version 1 (GGUFv1 is obsolete; versions 2 and 3 are read)");
        if (version != 2 && version != 3)
            in_.fail_at(at, "unsupported GGUF version " + std::to_string(version) + " (versions 2 and 3 are read)");
        file_.version_ = version;

        const uint64_t tensors_at = in_.pos();
        n_tensors_ = in_.read<uint64_t>("the tensor count");
        const uint64_t entries_at = in_.pos();
        n_entries_ = in_.read<uint64_t>("the metadata count");
        // Upper bounds only (metadata and tensor infos share the bytes left), but they turn
        // an absurd count into an error before the loops below start.
        if (n_entries_ > in_.remaining() / kMinEntryBytes)
            in_.fail_at(entries_at, "metadata count " + std::to_string(n_entries_) + " cannot fit in the " +
                                        std::to_string(in_.remaining()) + " bytes left in the file");
        if (n_tensors_ > in_.remaining() / kMinTensorInfoBytes)
            in_.fail_at(tensors_at, "tensor count " + std::to_string(n_tensors_) + " cannot fit in the " +
                                        std::to_string(in_.remaining()) + " bytes left in the file");
    }

    static std::string describe_magic(uint32_t magic) {
        std::string out = "\"";
        for (int i = 0; i < 4; ++i) {
            const auto c = static_cast<unsigned char>(magic >> (8 * i));
            if (c >= 0x20 && c < 0x7F) {
                out += static_cast<char>(c);
            } else {
                static constexpr char kHex[] = "0123456789abcdef";
                out += "\\x";
                out += kHex[c >> 4];
                out += kHex[c & 15];
            }
        }
        return out + "\"";
    }

    // A length-prefixed UTF-8 string; the view points into the map.
    std::string_view read_string(std::string_view what) {
        const uint64_t at = in_.pos();
        const auto length = in_.read<uint64_t>(what);
        if (length > in_.remaining())
            in_.fail_at(at, std::string(what) + ": string length " + std::to_string(length) + " exceeds the " +
                                std::to_string(in_.remaining()) + " bytes left in the file");
        const uint64_t start = in_.pos();
        const std::string_view s = in_.bytes(length, what);
        const size_t bad = first_invalid_utf8(s);
        if (bad != std::string_view::npos)
            in_.fail_at(start + bad, std::string(what) + ": string is not valid UTF-8 (byte " +
                                         std::to_string(static_cast<unsigned char>(s[bad])) + " at index " +
                                         std::to_string(bad) + ")");
        return s;
    }

    ValueType read_value_type(std::string_view what) {
        const uint64_t at = in_.pos();
        const auto id = in_.read<uint32_t>(what);
        const auto type = value_type_from_id(id);
        if (!type) in_.fail_at(at, std::string(what) + ": unknown GGUF value type " + std::to_string(id));
        return *type;
    }

    void read_metadata() {
        for (uint64_t i = 0; i < n_entries_; ++i) {
            const uint64_t entry_at = in_.pos();
            const std::string key_what = "key of metadata entry " + std::to_string(i);
            const std::string_view key = read_string(key_what);
            if (key.empty()) in_.fail_at(entry_at, key_what + " is empty");
            const bool fresh = file_.metadata_index_.emplace(key, file_.metadata_.size()).second;
            if (!fresh)
                in_.fail_at(entry_at, "duplicate metadata key " + quoted(key));
            const std::string what = "metadata " + quoted(key);
            const ValueType type = read_value_type(what + " type");
            file_.metadata_.emplace_back(std::string(key), read_value(type, what, 0));
        }
    }

    Value read_value(ValueType type, const std::string& what, uint32_t depth) {
        const uint64_t at = in_.pos();
        switch (type) {
            case ValueType::UINT8: return {type, type, at, uint64_t{in_.read<uint8_t>(what)}};
            case ValueType::UINT16: return {type, type, at, uint64_t{in_.read<uint16_t>(what)}};
            case ValueType::UINT32: return {type, type, at, uint64_t{in_.read<uint32_t>(what)}};
            case ValueType::UINT64: return {type, type, at, in_.read<uint64_t>(what)};
            case ValueType::INT8: return {type, type, at, int64_t{in_.read<int8_t>(what)}};
            case ValueType::INT16: return {type, type, at, int64_t{in_.read<int16_t>(what)}};
            case ValueType::INT32: return {type, type, at, int64_t{in_.read<int32_t>(what)}};
            case ValueType::INT64: return {type, type, at, in_.read<int64_t>(what)};
            case ValueType::FLOAT32: return {type, type, at, double{in_.read<float>(what)}};
            case ValueType::FLOAT64: return {type, type, at, in_.read<double>(what)};
            case ValueType::BOOL: {
                const auto b = in_.read<uint8_t>(what);
                if (b > 1) in_.fail_at(at, what + ": BOOL value " + std::to_string(b) + " is neither 0 nor 1");
                return {type, type, at, b == 1};
            }
            case ValueType::STRING: return {type, type, at, read_string(what)};
            case ValueType::ARRAY: return read_array(what, depth);
        }
        in_.fail_at(at, what + ": unhandled value type");  // unreachable: read_value_type validated it
    }

    // The body of an ARRAY value: element type, count, elements.
    Value read_array(const std::string& what, uint32_t depth) {
        const uint64_t at = in_.pos();
        const ValueType element = read_value_type(what + " array element type");
        if (element == ValueType::ARRAY && depth + 1 >= kMaxArrayNesting)
            in_.fail_at(at, what + ": arrays nested more than " + std::to_string(kMaxArrayNesting) + " deep");
        const uint64_t count_at = in_.pos();
        const auto count = in_.read<uint64_t>(what + " array count");
        const uint64_t min_bytes = min_element_bytes(element);
        if (count > in_.remaining() / min_bytes)
            in_.fail_at(count_at, what + ": array of " + std::to_string(count) + " " +
                                      std::string(value_type_name(element)) + " elements cannot fit in the " +
                                      std::to_string(in_.remaining()) + " bytes left in the file");
        if (element == ValueType::STRING) {
            std::vector<std::string_view> items;
            items.reserve(count);  // bounded by the check above: at most remaining / 8
            for (uint64_t i = 0; i < count; ++i) items.push_back(read_string(what));
            return {ValueType::ARRAY, element, at, std::move(items)};
        }
        if (element == ValueType::ARRAY) {
            std::vector<Value> items;  // grown, not reserved: a Value is far larger than 12 bytes
            for (uint64_t i = 0; i < count; ++i) items.push_back(read_array(what, depth + 1));
            return {ValueType::ARRAY, element, at, std::move(items)};
        }
        const uint64_t data_at = in_.pos();
        const auto* data = map_->data() + data_at;
        in_.skip(count * min_bytes, what);
        if (element == ValueType::BOOL)
            for (uint64_t i = 0; i < count; ++i)
                if (data[i] > 1)
                    in_.fail_at(data_at + i, what + ": BOOL element " + std::to_string(i) + " is " +
                                                 std::to_string(data[i]) + ", neither 0 nor 1");
        return {ValueType::ARRAY, element, at, NumberArray{element, count, data}};
    }

    void read_alignment() {
        const Value* v = file_.find("general.alignment");
        if (v == nullptr) return;
        // UINT32 only, as llama.cpp and the gguf package require.
        if (v->type() != ValueType::UINT32)
            in_.fail_at(v->offset(), "general.alignment must be UINT32, not " + v->type_name());
        const uint64_t a = v->unsigned_value();
        if (a == 0 || (a & (a - 1)) != 0)
            in_.fail_at(v->offset(), "general.alignment " + std::to_string(a) + " is not a non-zero power of two");
        file_.alignment_ = a;
    }

    void read_tensor_infos() {
        const auto architecture = file_.find("general.architecture");
        const std::string_view arch =
            architecture != nullptr && architecture->type() == ValueType::STRING ? architecture->string_value() : "";
        for (uint64_t i = 0; i < n_tensors_; ++i) {
            const uint64_t info_at = in_.pos();
            const std::string_view name = read_string("name of tensor " + std::to_string(i));
            const bool fresh = file_.tensor_index_.emplace(name, file_.tensors_.size()).second;
            if (!fresh) in_.fail_at(info_at, "duplicate tensor name " + quoted(name));
            const std::string what = "tensor " + quoted(name);

            const uint64_t dims_at = in_.pos();
            const auto n_dims = in_.read<uint32_t>(what + " n_dims");
            if (n_dims > kMaxDims)
                in_.fail_at(dims_at, what + " has " + std::to_string(n_dims) + " dimensions, more than " +
                                         std::to_string(kMaxDims));
            std::vector<uint64_t> ne;
            uint64_t n_elements = 1;
            for (uint32_t d = 0; d < n_dims; ++d) {
                const uint64_t dim_at = in_.pos();
                const auto dim = in_.read<uint64_t>(what + " dimension");
                if (dim == 0) in_.fail_at(dim_at, what + " dimension " + std::to_string(d) + " is 0");
                // ggml counts elements in int64_t.
                if (dim > static_cast<uint64_t>(INT64_MAX) / n_elements)
                    in_.fail_at(dim_at, what + " has more than INT64_MAX elements");
                n_elements *= dim;
                ne.push_back(dim);
            }

            const uint64_t type_at = in_.pos();
            const auto type_id = in_.read<uint32_t>(what + " type");
            const auto type = resolve_type_id(type_id, arch);
            if (!type) {
                if (type_id == static_cast<uint32_t>(GGMLType::I2_S))
                    in_.fail_at(type_at, what + " has type id 36, retired in ggml; it means I2_S only in BitNet "
                                                "files, and general.architecture is " +
                                             (arch.empty() ? std::string("not set") : quoted(arch)));
                in_.fail_at(type_at, what + " has unknown ggml type id " + std::to_string(type_id));
            }
            const uint64_t row = ne.empty() ? 1 : ne[0];
            const auto nbytes = tensor_bytes(*type, n_elements, row);
            if (!nbytes)
                in_.fail_at(type_at, what + " of type " + std::string(type->name) + " has rows of " +
                                         std::to_string(row) + " elements, not a multiple of its block size " +
                                         std::to_string(type->block_size));

            const uint64_t offset_at = in_.pos();
            const auto offset = in_.read<uint64_t>(what + " offset");
            if (offset % file_.alignment_ != 0)
                in_.fail_at(offset_at, what + " data offset " + std::to_string(offset) +
                                           " is not a multiple of the alignment " + std::to_string(file_.alignment_));
            // Relative until the data section is placed.
            file_.tensors_.push_back(TensorInfo{std::string(name), *type, std::move(ne), offset, *nbytes, n_elements, nullptr});
            offset_fields_.push_back(offset_at);
        }
    }

    void place_data_section() {
        const uint64_t a = file_.alignment_;
        const uint64_t end_of_infos = in_.pos();  // <= file size, so the padding cannot overflow
        file_.data_offset_ = (end_of_infos + a - 1) / a * a;
        if (file_.tensors_.empty()) return;
        const uint64_t size = map_->size();
        if (file_.data_offset_ > size)
            in_.fail_at(end_of_infos, "the data section would start at byte " + std::to_string(file_.data_offset_) +
                                          ", past the end of the file (" + std::to_string(size) + " bytes)");
        const uint64_t data_size = size - file_.data_offset_;
        for (size_t i = 0; i < file_.tensors_.size(); ++i) {
            TensorInfo& t = file_.tensors_[i];
            if (t.offset > data_size || t.nbytes > data_size - t.offset)
                in_.fail_at(offset_fields_[i], "tensor " + quoted(t.name) + " (" + std::to_string(t.nbytes) +
                                                   " bytes at data offset " + std::to_string(t.offset) +
                                                   ") extends past the end of the file: the data section holds " +
                                                   std::to_string(data_size) + " bytes");
            t.offset += file_.data_offset_;
            t.data = map_->data() + t.offset;
        }
        std::vector<size_t> order(file_.tensors_.size());
        std::iota(order.begin(), order.end(), size_t{0});
        std::stable_sort(order.begin(), order.end(),
                         [&](size_t x, size_t y) { return file_.tensors_[x].offset < file_.tensors_[y].offset; });
        for (size_t k = 1; k < order.size(); ++k) {
            const TensorInfo& prev = file_.tensors_[order[k - 1]];
            const TensorInfo& next = file_.tensors_[order[k]];
            if (prev.offset + prev.nbytes > next.offset)
                in_.fail_at(offset_fields_[order[k]], "tensor " + quoted(next.name) + " at byte " +
                                                          std::to_string(next.offset) + " overlaps tensor " +
                                                          quoted(prev.name) + " (bytes " + std::to_string(prev.offset) +
                                                          ".." + std::to_string(prev.offset + prev.nbytes) + ")");
        }
    }

    std::shared_ptr<const MappedFile> map_;
    Cursor in_;
    File file_;
    uint64_t n_tensors_ = 0;
    uint64_t n_entries_ = 0;
    std::vector<uint64_t> offset_fields_;  // file offset of each tensor's offset field, for errors
};

File File::open(const std::string& path) { return Parser(MappedFile::open(path)).parse(); }

}  // namespace lockstep::gguf
