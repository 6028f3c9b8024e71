// Words repeat: a per-thread cache of the ids of short pieces spares their segmentation.
// Each model owns a unique key (never its address, which a later model may reuse); a
// thread keeps the caches of its few most recently used models.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace lockstep::tokenizer {

class PieceCache {
public:
    static constexpr size_t kMaxPieceBytes = 48;

    PieceCache();  // takes a fresh key
    // Appends the ids of `piece`, computed by encode(piece, out) on a miss.
    template <typename Encode>
    void encode(std::string_view piece, std::vector<TokenId>& out, Encode&& encode) const {
        if (piece.size() > kMaxPieceBytes) {
            encode(piece, out);
            return;
        }
        if (const std::vector<TokenId>* hit = find(piece)) {
            out.insert(out.end(), hit->begin(), hit->end());
            return;
        }
        const size_t start = out.size();
        encode(piece, out);
        store(piece, out.data() + start, out.size() - start);
    }

private:
    const std::vector<TokenId>* find(std::string_view piece) const;
    void store(std::string_view piece, const TokenId* ids, size_t count) const;
    uint64_t key_;
};

}  // namespace lockstep::tokenizer
