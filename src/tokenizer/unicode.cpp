#include "tokenizer/unicode.h"

#include <algorithm>
#include <map>

#include "tokenizer/unicode_tables.h"

namespace lockstep::tokenizer {

namespace {

// Expands the generated runs into the two-level table once, at load time.
struct FlagTable {
    std::vector<uint16_t> index;   // (kMaxCodepoint >> 8) + 1 entries
    std::vector<uint16_t> blocks;  // 256 flags per distinct block

    FlagTable() {
        std::vector<uint16_t> block(256);
        std::map<std::vector<uint16_t>, uint16_t> seen;
        size_t run = 0;
        for (uint32_t base = 0; base <= kMaxCodepoint; base += 256) {
            for (uint32_t i = 0; i < 256; ++i) {
                const uint32_t c = base + i;
                while (run + 1 < tables::kFlagRunCount && tables::kFlagRuns[run + 1].first <= c) ++run;
                block[i] = tables::kFlagRuns[run].flags;
            }
            auto [it, inserted] = seen.try_emplace(block, static_cast<uint16_t>(seen.size()));
            if (inserted) blocks.insert(blocks.end(), block.begin(), block.end());
            index.push_back(it->second);
        }
    }
};

const FlagTable& flag_table() {
    static const FlagTable table;
    return table;
}

const tables::MappingEntry* find_entry(const tables::MappingEntry* entries, size_t count, uint32_t c) {
    const auto* end = entries + count;
    const auto* it = std::lower_bound(entries, end, c,
                                      [](const tables::MappingEntry& e, uint32_t v) { return e.codepoint < v; });
    return (it != end && it->codepoint == c) ? it : nullptr;
}

constexpr uint32_t kHangulFirst = 0xAC00, kHangulCount = 11172;
constexpr uint32_t kJamoL = 0x1100, kJamoV = 0x1161, kJamoT = 0x11A7, kJamoVCount = 21, kJamoTCount = 28;

}  // namespace

namespace detail {
const uint16_t* flag_blocks_index = flag_table().index.data();
const uint16_t* flag_blocks = flag_table().blocks.data();
}  // namespace detail

const char* unicode_version() { return tables::kUnicodeVersion; }

void append_lowercase(uint32_t c, std::u32string& out) {
    if (c < 128) {
        out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
        return;
    }
    const auto* e = find_entry(tables::kLowercase_entries, tables::kLowercaseCount, c);
    if (!e) {
        out.push_back(c);
        return;
    }
    out.append(reinterpret_cast<const char32_t*>(tables::kLowercase_pool + e->offset), e->length);
}

void append_decomposition(uint32_t c, std::u32string& out) {
    if (c >= kHangulFirst && c < kHangulFirst + kHangulCount) {
        const uint32_t s = c - kHangulFirst;
        out.push_back(kJamoL + s / (kJamoVCount * kJamoTCount));
        out.push_back(kJamoV + (s % (kJamoVCount * kJamoTCount)) / kJamoTCount);
        if (s % kJamoTCount != 0) out.push_back(kJamoT + s % kJamoTCount);
        return;
    }
    const auto* e = c < 0xC0 ? nullptr : find_entry(tables::kDecomposition_entries, tables::kDecompositionCount, c);
    if (!e) {
        out.push_back(c);
        return;
    }
    out.append(reinterpret_cast<const char32_t*>(tables::kDecomposition_pool + e->offset), e->length);
}

size_t utf8_length_from_lead(uint8_t lead) {
    if (lead < 0x80) return 1;
    if ((lead & 0xE0) == 0xC0) return 2;
    if ((lead & 0xF0) == 0xE0) return 3;
    return 4;
}

uint32_t decode_utf8_at(std::string_view s, size_t& pos) {
    const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + pos;
    const uint8_t b0 = p[0];
    if (b0 < 0x80) {
        pos += 1;
        return b0;
    }
    if ((b0 & 0xE0) == 0xC0) {
        pos += 2;
        return (uint32_t(b0 & 0x1F) << 6) | (p[1] & 0x3F);
    }
    if ((b0 & 0xF0) == 0xE0) {
        pos += 3;
        return (uint32_t(b0 & 0x0F) << 12) | (uint32_t(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    }
    pos += 4;
    return (uint32_t(b0 & 0x07) << 18) | (uint32_t(p[1] & 0x3F) << 12) | (uint32_t(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
}

void append_utf8(uint32_t c, std::string& out) {
    if (c < 0x80) {
        out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (c >> 6)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (c >> 12)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (c >> 18)));
        out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
}

std::u32string decode_utf8(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    size_t pos = 0;
    while (pos < s.size()) out.push_back(decode_utf8_at(s, pos));
    return out;
}

std::string encode_utf8(std::u32string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char32_t c : s) append_utf8(c, out);
    return out;
}

}  // namespace lockstep::tokenizer
