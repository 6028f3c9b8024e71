#include "dispatch/thresholds.h"

#include <algorithm>

namespace lockstep::dispatch {

PrecisionClass precision_class(const std::string& name_a, const std::vector<std::string>& capabilities_a,
                               const std::string& name_b, const std::vector<std::string>& capabilities_b) {
    auto float32 = [](const std::vector<std::string>& caps) {
        return std::find(caps.begin(), caps.end(), kFloat32Arithmetic) != caps.end();
    };
    return name_a == name_b || (float32(capabilities_a) && float32(capabilities_b)) ? PrecisionClass::same_arithmetic
                                                                                     : PrecisionClass::cross_precision;
}

const char* precision_class_name(PrecisionClass c) {
    return c == PrecisionClass::cross_precision ? "cross-precision" : "same-arithmetic";
}

}  // namespace lockstep::dispatch
