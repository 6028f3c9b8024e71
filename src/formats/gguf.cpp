// Lookups on a parsed GGUF file: typed metadata getters and tensor type resolution.
#include "formats/gguf.h"

#include <cmath>
#include <limits>

#include "formats/errors.h"

namespace lockstep::gguf {

namespace {

// A double beyond float's range narrows to float with undefined behaviour in C++; give the
// IEEE round-to-nearest answer explicitly (numpy's too): FLT_MAX up to half an ulp above
// it, infinity from there on.
float narrow_to_float(double d) {
    constexpr double kMax = std::numeric_limits<float>::max();
    constexpr double kOverflow = 0x1.ffffffp127;  // FLT_MAX + half an ulp
    if (std::isnan(d) || std::fabs(d) <= kMax) return static_cast<float>(d);
    const float inf = std::numeric_limits<float>::infinity();
    if (d > 0) return d >= kOverflow ? inf : static_cast<float>(kMax);
    return d <= -kOverflow ? -inf : -static_cast<float>(kMax);
}

}  // namespace

bool is_bitnet_architecture(std::string_view architecture) { return architecture.starts_with("bitnet"); }

std::optional<TypeTraits> resolve_type_id(uint32_t id, std::string_view architecture) {
    if (id == static_cast<uint32_t>(GGMLType::I2_S) && !is_bitnet_architecture(architecture)) return std::nullopt;
    return type_traits(id);
}

const Value* File::find(std::string_view key) const {
    const auto it = metadata_index_.find(key);
    return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

const TensorInfo* File::tensor(std::string_view name) const {
    const auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

void File::wrong_type(std::string_view key, const Value& v, std::string_view expected) const {
    throw FormatError(path(), v.offset(),
                      "metadata '" + std::string(key) + "' is " + v.type_name() + ", expected " + std::string(expected));
}

std::optional<std::string_view> File::get_string(std::string_view key) const {
    const Value* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (v->type() != ValueType::STRING) wrong_type(key, *v, "STRING");
    return v->string_value();
}

std::optional<uint64_t> File::get_uint(std::string_view key) const {
    const Value* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (is_unsigned_integer(v->type())) return v->unsigned_value();
    if (!is_signed_integer(v->type())) wrong_type(key, *v, "an integer");
    const int64_t s = v->signed_value();
    if (s < 0)
        throw FormatError(path(), v->offset(),
                          "metadata '" + std::string(key) + "' is " + std::to_string(s) + ", expected a non-negative integer");
    return static_cast<uint64_t>(s);
}

std::optional<double> File::get_float(std::string_view key) const {
    const Value* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (is_float(v->type())) return v->float_value();
    if (is_unsigned_integer(v->type())) return static_cast<double>(v->unsigned_value());
    if (is_signed_integer(v->type())) return static_cast<double>(v->signed_value());
    wrong_type(key, *v, "a number");
}

std::optional<bool> File::get_bool(std::string_view key) const {
    const Value* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (v->type() != ValueType::BOOL) wrong_type(key, *v, "BOOL");
    return v->bool_value();
}

std::vector<std::string_view> File::get_strings(std::string_view key) const {
    const Value* v = find(key);
    if (v == nullptr) return {};
    if (v->type() != ValueType::ARRAY || v->element_type() != ValueType::STRING) wrong_type(key, *v, "ARRAY[STRING]");
    return v->strings();
}

std::vector<float> File::get_floats(std::string_view key) const {
    const Value* v = find(key);
    if (v == nullptr) return {};
    const ValueType e = v->element_type();
    if (v->type() != ValueType::ARRAY || !(is_float(e) || is_integer(e))) wrong_type(key, *v, "an array of numbers");
    const NumberArray& a = v->numbers();
    std::vector<float> out(a.count);
    for (uint64_t i = 0; i < a.count; ++i) out[i] = narrow_to_float(a.as_double(i));
    return out;
}

std::vector<int64_t> File::get_ints(std::string_view key) const {
    const Value* v = find(key);
    if (v == nullptr) return {};
    const ValueType e = v->element_type();
    if (v->type() != ValueType::ARRAY || !is_integer(e)) wrong_type(key, *v, "an array of integers");
    const NumberArray& a = v->numbers();
    std::vector<int64_t> out(a.count);
    for (uint64_t i = 0; i < a.count; ++i) {
        if (is_signed_integer(e)) {
            out[i] = a.as_signed(i);
            continue;
        }
        const uint64_t u = a.as_unsigned(i);
        if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            throw FormatError(path(), v->offset(),
                              "metadata '" + std::string(key) + "' element " + std::to_string(i) + " is " +
                                  std::to_string(u) + ", beyond the int64 range");
        out[i] = static_cast<int64_t>(u);
    }
    return out;
}

}  // namespace lockstep::gguf
