#include "dispatch/thresholds.h"

#include <algorithm>

namespace lockstep::dispatch {

PrecisionClass precision_class(const std::vector<std::string>& capabilities_a,
                               const std::vector<std::string>& capabilities_b) {
    auto dequantized = [](const std::vector<std::string>& caps) {
        return std::find(caps.begin(), caps.end(), kDequantizedFloat32) != caps.end();
    };
    return dequantized(capabilities_a) != dequantized(capabilities_b) ? PrecisionClass::cross_precision
                                                                      : PrecisionClass::same_arithmetic;
}

const char* precision_class_name(PrecisionClass c) {
    return c == PrecisionClass::cross_precision ? "cross-precision" : "same-arithmetic";
}

}  // namespace lockstep::dispatch
