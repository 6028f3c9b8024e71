#include "tokenizer/piece_cache.h"

#include <atomic>
#include <list>
#include <string>
#include <unordered_map>

#include "tokenizer/token_map.h"

namespace lockstep::tokenizer {

namespace {

constexpr size_t kEntries = 1 << 16;
constexpr size_t kCachesPerThread = 4;

std::atomic<uint64_t> next_key{1};

struct ThreadCache {
    uint64_t key;
    std::unordered_map<std::string, std::vector<TokenId>, StringHash, std::equal_to<>> ids;
};

ThreadCache& cache_for(uint64_t key) {
    thread_local std::list<ThreadCache> caches;
    for (auto it = caches.begin(); it != caches.end(); ++it) {
        if (it->key == key) {
            if (it != caches.begin()) caches.splice(caches.begin(), caches, it);
            return caches.front();
        }
    }
    if (caches.size() >= kCachesPerThread) caches.pop_back();
    caches.push_front(ThreadCache{key, {}});
    return caches.front();
}

}  // namespace

PieceCache::PieceCache() : key_(next_key++) {}

const std::vector<TokenId>* PieceCache::find(std::string_view piece) const {
    auto& ids = cache_for(key_).ids;
    auto it = ids.find(piece);
    return it == ids.end() ? nullptr : &it->second;
}

void PieceCache::store(std::string_view piece, const TokenId* ids, size_t count) const {
    auto& cache = cache_for(key_).ids;
    if (cache.size() >= kEntries) cache.clear();
    cache.emplace(std::string(piece), std::vector<TokenId>(ids, ids + count));
}

}  // namespace lockstep::tokenizer
