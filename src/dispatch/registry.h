// Backends by name. The native engine registers itself from C++; the Python reference
// backends register through the bindings, the same way: nothing in the dispatcher names them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dispatch/backend.h"

namespace lockstep::dispatch {

void register_backend(BackendFactory factory);  // replaces a factory of the same name
void unregister_backend(const std::string& name);
std::optional<BackendFactory> find_backend(const std::string& name);
std::vector<std::string> backend_names();

}  // namespace lockstep::dispatch
