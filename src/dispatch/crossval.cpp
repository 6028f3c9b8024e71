#include "dispatch/crossval.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace lockstep::dispatch {
namespace {

std::string fmt(const char* format, double value) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, format, value);
    return buffer;
}

// Logits for `ids`, checked against what the backend promised.
Logits checked_logits(Backend& backend, const std::vector<int32_t>& ids) {
    Logits logits = backend.logits(ids);
    if (logits.data == nullptr || logits.rows != static_cast<int64_t>(ids.size()) || logits.vocab <= 0)
        throw std::runtime_error(backend.name() + " returned logits of shape [" + std::to_string(logits.rows) + ", " +
                                 std::to_string(logits.vocab) + "] for " + std::to_string(ids.size()) + " tokens");
    return logits;
}

int32_t argmax_row(const Logits& logits, int64_t row) {
    const float* x = logits.data + row * logits.vocab;
    return static_cast<int32_t>(std::max_element(x, x + logits.vocab) - x);
}

// Greedy decoding by full recomputation: slow for long runs, exact for every backend, and
// needs nothing beyond logits(). `steps` is small (a few dozen tokens).
std::vector<int32_t> greedy(Backend& backend, std::vector<int32_t> ids, int steps) {
    std::vector<int32_t> produced;
    for (int s = 0; s < steps; ++s) {
        const Logits logits = checked_logits(backend, ids);
        const int32_t next = argmax_row(logits, logits.rows - 1);
        produced.push_back(next);
        ids.push_back(next);
    }
    return produced;
}

std::vector<compare::PositionMetrics> metrics_for(const Logits& ref, const Logits& test, int64_t first_row,
                                                  const std::vector<int32_t>& next_tokens, const CrossvalOptions& o) {
    if (ref.vocab != test.vocab)
        throw std::runtime_error("logits have different vocabulary sizes (" + std::to_string(ref.vocab) + " vs " +
                                 std::to_string(test.vocab) + ")");
    const int64_t rows = ref.rows - first_row;
    return compare::compare_logits(ref.data + first_row * ref.vocab, test.data + first_row * test.vocab, rows,
                                   ref.vocab, next_tokens, {o.top_k, o.n_threads, std::nullopt});
}

PairResult compare_pair(Backend& reference, const Logits& ref_logits, Backend& test, const Logits& test_logits,
                        const std::vector<int32_t>& ids, const CrossvalOptions& options) {
    PairResult pair;
    pair.reference = reference.name();
    pair.test = test.name();
    std::vector<int32_t> next(ids.size(), -1);
    for (size_t i = 0; i + 1 < ids.size(); ++i) next[i] = ids[i + 1];
    pair.positions = metrics_for(ref_logits, test_logits, 0, next, options);
    pair.first_divergence = first_divergence(pair.positions, options.thresholds, &pair.divergence_reason);
    return pair;
}

}  // namespace

int64_t first_divergence(const std::vector<compare::PositionMetrics>& metrics, const Thresholds& t,
                         std::string* reason) {
    for (size_t i = 0; i < metrics.size(); ++i) {
        const auto& m = metrics[i];
        std::string why;
        if (!(m.cosine >= t.min_cosine))
            why = "cosine " + fmt("%.6f", m.cosine) + " < " + fmt("%g", t.min_cosine);
        else if (!(m.nmse <= t.max_nmse))
            why = "NMSE " + fmt("%.3g", m.nmse) + " > " + fmt("%g", t.max_nmse);
        else if (!(m.kl <= t.max_kl))
            why = "KL " + fmt("%.3g", m.kl) + " > " + fmt("%g", t.max_kl);
        else if (m.top1_a != m.top1_b && m.top1_margin > t.top1_margin)
            why = "top-1 differs (" + std::to_string(m.top1_a) + " vs " + std::to_string(m.top1_b) +
                  ") with reference margin " + fmt("%.3f", m.top1_margin) + " > " + fmt("%g", t.top1_margin);
        if (!why.empty()) {
            if (reason) *reason = why;
            return static_cast<int64_t>(i);
        }
    }
    if (reason) reason->clear();
    return -1;
}

CrossvalResult run_crossval(const std::vector<std::shared_ptr<Backend>>& backends, const std::string& text,
                            const CrossvalOptions& options) {
    if (backends.size() < 2) throw std::invalid_argument("crossval needs at least two backends");
    CrossvalResult result;
    for (const auto& b : backends) result.backends.push_back(b->name());

    // 1. Tokenize everywhere, then the parity gate before any logits are computed.
    for (const auto& b : backends) result.tokens.push_back(b->tokenize(text, options.add_special, options.parse_special));
    for (size_t i = 1; i < backends.size(); ++i) {
        result.token_mismatch =
            find_token_mismatch(*backends[0], result.tokens[0], *backends[i], result.tokens[i]);
        if (result.token_mismatch) {
            result.exit_code = 2;
            return result;
        }
    }
    const std::vector<int32_t>& ids = result.tokens[0];
    if (ids.empty()) throw std::invalid_argument("the prompt tokenized to no tokens");

    // 2. Logits everywhere; 3. every backend against the reference (backends[0]).
    std::vector<Logits> logits;
    for (const auto& b : backends) logits.push_back(checked_logits(*b, ids));
    for (size_t i = 1; i < backends.size(); ++i)
        result.pairs.push_back(compare_pair(*backends[0], logits[0], *backends[i], logits[i], ids, options));

    // 4. Triangulation: with three or more backends, compare the non-reference ones too.
    if (backends.size() >= 3) {
        for (size_t i = 1; i < backends.size(); ++i)
            for (size_t j = i + 1; j < backends.size(); ++j)
                result.cross_pairs.push_back(compare_pair(*backends[i], logits[i], *backends[j], logits[j], ids, options));
        // Backend k is the odd one out when every pair involving k diverges and every pair
        // not involving k agrees.
        auto diverged = [&](size_t x, size_t y) {
            if (x > y) std::swap(x, y);
            if (x == 0) return result.pairs[y - 1].first_divergence >= 0;
            size_t index = 0;
            for (size_t i = 1; i < backends.size(); ++i)
                for (size_t j = i + 1; j < backends.size(); ++j, ++index)
                    if (i == x && j == y) return result.cross_pairs[index].first_divergence >= 0;
            return false;
        };
        for (size_t k = 0; k < backends.size() && result.odd_one_out.empty(); ++k) {
            bool odd = true;
            for (size_t x = 0; x < backends.size() && odd; ++x)
                for (size_t y = x + 1; y < backends.size() && odd; ++y)
                    odd = diverged(x, y) == (x == k || y == k);
            if (odd) result.odd_one_out = backends[k]->name();
        }
    }

    // 5. Optional decoding: along the reference's greedy path (teacher-forced), and each
    // backend on its own (free-running). This reuses the backends, so it comes after every use of
    // the prompt logits above (a backend may hand out a view of a buffer it then refills).
    if (options.steps > 0) {
        result.reference_greedy = greedy(*backends[0], ids, options.steps);
        std::vector<int32_t> path = ids;
        path.insert(path.end(), result.reference_greedy.begin(), result.reference_greedy.end());
        // Row len(ids)-1+j predicts continuation token j; the path's last row predicts past it.
        std::vector<int32_t> next = result.reference_greedy;
        next.push_back(-1);
        const Logits ref_path = checked_logits(*backends[0], path);
        for (size_t i = 1; i < backends.size(); ++i) {
            PairResult& pair = result.pairs[i - 1];
            const Logits test_path = checked_logits(*backends[i], path);
            pair.teacher_forced = metrics_for(ref_path, test_path, static_cast<int64_t>(ids.size()) - 1, next, options);
            pair.teacher_forced.pop_back();
            std::string ignored;
            pair.teacher_forced_first_divergence = first_divergence(pair.teacher_forced, options.thresholds, &ignored);
            pair.free_running = greedy(*backends[i], ids, options.steps);
            while (pair.free_running_agreement < options.steps &&
                   pair.free_running[pair.free_running_agreement] == result.reference_greedy[pair.free_running_agreement])
                ++pair.free_running_agreement;
        }
    }

    result.exit_code = 0;
    for (const auto& pair : result.pairs)
        if (pair.first_divergence >= 0) result.exit_code = 1;
    return result;
}

}  // namespace lockstep::dispatch
