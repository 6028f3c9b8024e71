// GGUF metadata values. Strings and numeric arrays are views into the memory map of the
// file they came from; the gguf::File that owns the map keeps them valid.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace lockstep::gguf {

// The value type ids of the GGUF format.
enum class ValueType : uint32_t {
    UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6,
    BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};

// nullopt for an id the format does not define.
std::optional<ValueType> value_type_from_id(uint32_t id);
std::string_view value_type_name(ValueType t);  // "UINT32", "STRING", ...
// Bytes of one value of a fixed-size type; 0 for STRING and ARRAY.
uint32_t value_type_size(ValueType t);
bool is_unsigned_integer(ValueType t);
bool is_signed_integer(ValueType t);
inline bool is_integer(ValueType t) { return is_unsigned_integer(t) || is_signed_integer(t); }
inline bool is_float(ValueType t) { return t == ValueType::FLOAT32 || t == ValueType::FLOAT64; }

// An array of a fixed-size type (numbers or BOOL): `count` packed little-endian elements,
// in the map and possibly unaligned, hence read by copying.
struct NumberArray {
    ValueType element_type;
    uint64_t count;
    const uint8_t* data;

    template <typename T>
    T at(uint64_t i) const {
        T value;
        std::memcpy(&value, data + i * sizeof(T), sizeof(T));
        return value;
    }
    // Element i as a double / as an integer of its own signedness. Preconditions:
    // is_float or is_integer(element_type) respectively.
    double as_double(uint64_t i) const;
    int64_t as_signed(uint64_t i) const;    // signed integer types
    uint64_t as_unsigned(uint64_t i) const; // unsigned integer types
};

class Value {
public:
    // One alternative per kind of content. Which one a Value holds follows from its type:
    // unsigned integers -> uint64_t, signed -> int64_t, FLOAT32/64 -> double, BOOL -> bool,
    // STRING -> string_view, ARRAY of numbers or BOOL -> NumberArray, ARRAY[STRING] ->
    // vector<string_view>, ARRAY[ARRAY] -> vector<Value> (each with its own element type).
    using Content = std::variant<uint64_t, int64_t, double, bool, std::string_view, NumberArray,
                                 std::vector<std::string_view>, std::vector<Value>>;

    Value(ValueType type, ValueType element_type, uint64_t offset, Content content)
        : type_(type), element_type_(element_type), offset_(offset), content_(std::move(content)) {}

    ValueType type() const { return type_; }
    // For an ARRAY the type of its elements; otherwise the same as type().
    ValueType element_type() const { return element_type_; }
    // Absolute file offset of the value's bytes (after its type id).
    uint64_t offset() const { return offset_; }
    // "UINT32", "ARRAY[STRING]", "ARRAY[ARRAY[INT32]]"; a nested array whose inner arrays
    // differ in type (or that is empty) is "ARRAY[ARRAY]".
    std::string type_name() const;
    // Number of elements of an ARRAY; 1 for a scalar.
    uint64_t size() const;

    // Accessors; calling one that does not match the type is a programming error and
    // throws std::bad_variant_access. File::get_* check types and name the key instead.
    uint64_t unsigned_value() const { return std::get<uint64_t>(content_); }
    int64_t signed_value() const { return std::get<int64_t>(content_); }
    double float_value() const { return std::get<double>(content_); }
    bool bool_value() const { return std::get<bool>(content_); }
    std::string_view string_value() const { return std::get<std::string_view>(content_); }
    const NumberArray& numbers() const { return std::get<NumberArray>(content_); }
    const std::vector<std::string_view>& strings() const { return std::get<std::vector<std::string_view>>(content_); }
    const std::vector<Value>& arrays() const { return std::get<std::vector<Value>>(content_); }

private:
    ValueType type_;
    ValueType element_type_;
    uint64_t offset_;
    Content content_;
};

}  // namespace lockstep::gguf
