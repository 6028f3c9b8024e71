#include "model/faults.h"

#include <stdexcept>

namespace lockstep::model {

Fault fault_from_name(std::string_view name) {
    if (name.empty()) return Fault::None;
    std::string known;
    for (const FaultInfo& f : kFaults) {
        if (f.name == name) return f.fault;
        known += (known.empty() ? "" : ", ") + std::string(f.name);
    }
    throw std::invalid_argument("unknown fault '" + std::string(name) + "' (known: " + known + ")");
}

std::string_view fault_name(Fault fault) {
    for (const FaultInfo& f : kFaults)
        if (f.fault == fault) return f.name;
    return "";
}

}  // namespace lockstep::model
