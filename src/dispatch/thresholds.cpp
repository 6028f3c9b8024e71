#include "dispatch/thresholds.h"

#include <algorithm>
#include <stdexcept>

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

void set_threshold(ThresholdPolicy& policy, const std::string& key, double value) {
    const auto dot = key.rfind('.');
    const std::string band = dot == std::string::npos ? "" : key.substr(0, dot);
    const std::string name = dot == std::string::npos ? key : key.substr(dot + 1);
    const auto field = std::find_if(kThresholdFields.begin(), kThresholdFields.end(),
                                    [&](const ThresholdField& f) { return name == f.name; });
    const auto band_match = [&](const ThresholdBand& b) { return band.empty() || band == b.name; };
    if (field == kThresholdFields.end() || std::none_of(kThresholdBands.begin(), kThresholdBands.end(), band_match)) {
        std::string names, bands;
        for (const auto& f : kThresholdFields) names += (names.empty() ? "" : ", ") + std::string(f.name);
        for (const auto& b : kThresholdBands) bands += (bands.empty() ? "" : ", ") + std::string(b.name);
        throw std::invalid_argument("unknown threshold '" + key + "': use NAME or BAND.NAME with NAME one of " + names +
                                    " and BAND one of " + bands);
    }
    for (const auto& b : kThresholdBands)
        if (band_match(b)) (policy.*b.member).*field->member = value;
}

}  // namespace lockstep::dispatch
