#include "dispatch/registry.h"

#include <algorithm>
#include <mutex>

namespace lockstep::dispatch {
namespace {

std::mutex& registry_mutex() {
    static std::mutex mutex;
    return mutex;
}

std::vector<BackendFactory>& factories() {
    static std::vector<BackendFactory> all;
    return all;
}

}  // namespace

void register_backend(BackendFactory factory) {
    std::lock_guard lock(registry_mutex());
    auto& all = factories();
    auto same = std::find_if(all.begin(), all.end(), [&](const BackendFactory& f) { return f.name == factory.name; });
    if (same != all.end())
        *same = std::move(factory);
    else
        all.push_back(std::move(factory));
}

void unregister_backend(const std::string& name) {
    std::lock_guard lock(registry_mutex());
    auto& all = factories();
    std::erase_if(all, [&](const BackendFactory& f) { return f.name == name; });
}

std::optional<BackendFactory> find_backend(const std::string& name) {
    std::lock_guard lock(registry_mutex());
    for (const auto& f : factories())
        if (f.name == name) return f;
    return std::nullopt;
}

std::vector<std::string> backend_names() {
    std::lock_guard lock(registry_mutex());
    std::vector<std::string> names;
    for (const auto& f : factories()) names.push_back(f.name);
    return names;
}

}  // namespace lockstep::dispatch
