#include "formats/gguf_value.h"

#include <stdexcept>

namespace lockstep::gguf {

std::optional<ValueType> value_type_from_id(uint32_t id) {
    if (id > static_cast<uint32_t>(ValueType::FLOAT64)) return std::nullopt;
    return static_cast<ValueType>(id);
}

std::string_view value_type_name(ValueType t) {
    switch (t) {
        case ValueType::UINT8: return "UINT8";
        case ValueType::INT8: return "INT8";
        case ValueType::UINT16: return "UINT16";
        case ValueType::INT16: return "INT16";
        case ValueType::UINT32: return "UINT32";
        case ValueType::INT32: return "INT32";
        case ValueType::FLOAT32: return "FLOAT32";
        case ValueType::BOOL: return "BOOL";
        case ValueType::STRING: return "STRING";
        case ValueType::ARRAY: return "ARRAY";
        case ValueType::UINT64: return "UINT64";
        case ValueType::INT64: return "INT64";
        case ValueType::FLOAT64: return "FLOAT64";
    }
    return "UNKNOWN";
}

uint32_t value_type_size(ValueType t) {
    switch (t) {
        case ValueType::UINT8: case ValueType::INT8: case ValueType::BOOL: return 1;
        case ValueType::UINT16: case ValueType::INT16: return 2;
        case ValueType::UINT32: case ValueType::INT32: case ValueType::FLOAT32: return 4;
        case ValueType::UINT64: case ValueType::INT64: case ValueType::FLOAT64: return 8;
        case ValueType::STRING: case ValueType::ARRAY: return 0;
    }
    return 0;
}

bool is_unsigned_integer(ValueType t) {
    return t == ValueType::UINT8 || t == ValueType::UINT16 || t == ValueType::UINT32 || t == ValueType::UINT64;
}

bool is_signed_integer(ValueType t) {
    return t == ValueType::INT8 || t == ValueType::INT16 || t == ValueType::INT32 || t == ValueType::INT64;
}

double NumberArray::as_double(uint64_t i) const {
    switch (element_type) {
        case ValueType::FLOAT32: return at<float>(i);
        case ValueType::FLOAT64: return at<double>(i);
        default: break;
    }
    if (is_signed_integer(element_type)) return static_cast<double>(as_signed(i));
    return static_cast<double>(as_unsigned(i));
}

int64_t NumberArray::as_signed(uint64_t i) const {
    switch (element_type) {
        case ValueType::INT8: return at<int8_t>(i);
        case ValueType::INT16: return at<int16_t>(i);
        case ValueType::INT32: return at<int32_t>(i);
        case ValueType::INT64: return at<int64_t>(i);
        default: throw std::logic_error("NumberArray::as_signed on an array of " + std::string(value_type_name(element_type)));
    }
}

uint64_t NumberArray::as_unsigned(uint64_t i) const {
    switch (element_type) {
        case ValueType::UINT8: return at<uint8_t>(i);
        case ValueType::UINT16: return at<uint16_t>(i);
        case ValueType::UINT32: return at<uint32_t>(i);
        case ValueType::UINT64: return at<uint64_t>(i);
        default: throw std::logic_error("NumberArray::as_unsigned on an array of " + std::string(value_type_name(element_type)));
    }
}

std::string Value::type_name() const {
    std::string name(value_type_name(type_));
    if (type_ != ValueType::ARRAY) return name;
    if (element_type_ != ValueType::ARRAY) return name + "[" + std::string(value_type_name(element_type_)) + "]";
    const auto& inner = arrays();
    if (inner.empty()) return "ARRAY[ARRAY]";
    std::string inner_name = inner.front().type_name();
    for (const auto& v : inner)
        if (v.type_name() != inner_name) return "ARRAY[ARRAY]";
    return name + "[" + inner_name + "]";
}

uint64_t Value::size() const {
    if (type_ != ValueType::ARRAY) return 1;
    if (const auto* n = std::get_if<NumberArray>(&content_)) return n->count;
    if (const auto* s = std::get_if<std::vector<std::string_view>>(&content_)) return s->size();
    return arrays().size();
}

}  // namespace lockstep::gguf
