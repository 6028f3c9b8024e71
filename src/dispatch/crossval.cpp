#include "dispatch/crossval.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <utility>

#include "dispatch/vocab_bridge.h"

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
    if (logits.data == nullptr || logits.rows != static_cast<int64_t>(ids.size()) ||
        logits.vocab != backend.vocab_size())
        throw std::runtime_error(backend.name() + " returned logits of shape [" + std::to_string(logits.rows) + ", " +
                                 std::to_string(logits.vocab) + "] for " + std::to_string(ids.size()) +
                                 " tokens and a vocabulary of " + std::to_string(backend.vocab_size()));
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

// Everything known about one backend in this run.
struct Participant {
    Backend& backend;
    std::string label;
    std::vector<int32_t> tokens;
    std::vector<std::string> pieces;
    PrecisionClass arithmetic_of(const Participant& other) const {
        return precision_class(backend.name(), backend.capabilities(), other.backend.name(),
                               other.backend.capabilities());
    }
};

// Bridges between participants, built once per pair.
class Bridges {
public:
    explicit Bridges(const std::vector<Participant>& participants) : participants_(participants) {}
    const VocabBridge& get(size_t a, size_t b) {
        auto found = cache_.find({a, b});
        if (found == cache_.end())
            found = cache_.emplace(std::make_pair(a, b),
                                   build_vocab_bridge(participants_[a].pieces, participants_[b].pieces))
                        .first;
        return found->second;
    }

private:
    const std::vector<Participant>& participants_;
    std::map<std::pair<size_t, size_t>, VocabBridge> cache_;
};

VocabAlignment alignment_of(const VocabBridge& bridge) {
    VocabAlignment a;
    a.identical = bridge.identity;
    a.reference_size = bridge.size_a;
    a.test_size = bridge.size_b;
    a.aligned = bridge.aligned();
    a.unaligned_reference = bridge.unaligned_a;
    a.unaligned_test = bridge.unaligned_b;
    a.ambiguous_reference = bridge.ambiguous_a;
    a.ambiguous_test = bridge.ambiguous_b;
    a.examples_reference = bridge.examples_a;
    a.examples_test = bridge.examples_b;
    return a;
}

// Metrics of rows [first_row, first_row + rows) on the aligned columns. `next` holds the
// reference id of each row's next token (-1 unknown); top-1 ids come back in reference ids.
std::vector<compare::PositionMetrics> aligned_metrics(const Logits& ref, const Logits& test, const VocabBridge& bridge,
                                                      int64_t first_row, int64_t rows, const std::vector<int32_t>& next,
                                                      const CrossvalOptions& o) {
    const Logits a = aligned_logits(ref, bridge, 0, first_row, rows);
    const Logits b = aligned_logits(test, bridge, 1, first_row, rows);
    // Reference id -> aligned column.
    std::vector<int32_t> column_of(static_cast<size_t>(bridge.size_a), -1);
    for (size_t k = 0; k < bridge.columns_a.size(); ++k) column_of[bridge.columns_a[k]] = static_cast<int32_t>(k);
    std::vector<int32_t> next_columns(static_cast<size_t>(rows), -1);
    for (int64_t r = 0; r < rows && r < static_cast<int64_t>(next.size()); ++r)
        if (next[r] >= 0 && next[r] < bridge.size_a) next_columns[r] = column_of[next[r]];
    auto metrics =
        compare::compare_logits(a.data, b.data, rows, a.vocab, next_columns, {o.top_k, o.n_threads, std::nullopt});
    if (!bridge.identity)
        for (auto& m : metrics) {
            m.top1_a = bridge.columns_a[m.top1_a];
            m.top1_b = bridge.columns_a[m.top1_b];
        }
    return metrics;
}

PairResult compare_pair(const Participant& ref, const Logits& ref_logits, const Participant& test,
                        const Logits& test_logits, const VocabBridge& bridge, const CrossvalOptions& options) {
    PairResult pair;
    pair.reference = ref.label;
    pair.test = test.label;
    const PrecisionClass arithmetic = ref.arithmetic_of(test);
    pair.precision_class = precision_class_name(arithmetic);
    pair.thresholds = options.thresholds.for_class(arithmetic);
    pair.alignment = alignment_of(bridge);
    pair.alignment.max_unaligned_mass_reference = max_unaligned_mass(ref_logits, bridge, 0);
    pair.alignment.max_unaligned_mass_test = max_unaligned_mass(test_logits, bridge, 1);
    const std::vector<int32_t>& ids = ref.tokens;
    std::vector<int32_t> next(ids.size(), -1);
    for (size_t i = 0; i + 1 < ids.size(); ++i) next[i] = ids[i + 1];
    pair.positions = aligned_metrics(ref_logits, test_logits, bridge, 0, ref_logits.rows, next, options);
    pair.first_divergence = first_divergence(pair.positions, pair.thresholds, &pair.divergence_reason);
    return pair;
}

// --steps: along the reference's greedy path (teacher-forced) and each backend on its own
// (free-running). Continuation tokens are handed to each test backend in its own ids; a token
// its vocabulary lacks ends its teacher-forced path there.
void decode(std::vector<Participant>& participants, Bridges& bridges, CrossvalResult& result,
            const CrossvalOptions& options) {
    Participant& ref = participants[0];
    const int64_t n = static_cast<int64_t>(ref.tokens.size());
    result.reference_greedy = greedy(ref.backend, ref.tokens, options.steps);
    std::vector<int32_t> ref_path = ref.tokens;
    ref_path.insert(ref_path.end(), result.reference_greedy.begin(), result.reference_greedy.end());
    const Logits ref_path_logits = checked_logits(ref.backend, ref_path);
    for (size_t i = 1; i < participants.size(); ++i) {
        Participant& test = participants[i];
        const VocabBridge& bridge = bridges.get(0, i);
        PairResult& pair = result.pairs[i - 1];
        std::vector<int32_t> path = test.tokens;
        for (const int32_t token : result.reference_greedy) {
            const int32_t mapped = bridge.to_b(token);
            if (mapped < 0) break;
            path.push_back(mapped);
        }
        const int64_t fed = static_cast<int64_t>(path.size()) - n;
        // Row n-1+j predicts continuation token j; rows exist up to the path's last.
        const int64_t rows = std::min<int64_t>(fed + 1, options.steps);
        const std::vector<int32_t> next(result.reference_greedy.begin(), result.reference_greedy.begin() + rows);
        const Logits test_path_logits = checked_logits(test.backend, path);
        pair.teacher_forced = aligned_metrics(ref_path_logits, test_path_logits, bridge, n - 1, rows, next, options);
        std::string ignored;
        pair.teacher_forced_first_divergence = first_divergence(pair.teacher_forced, pair.thresholds, &ignored);
        for (size_t step = 0; step < pair.teacher_forced.size(); ++step) {
            const auto& m = pair.teacher_forced[step];
            if (m.top1_a != m.top1_b)
                pair.greedy_splits.push_back({static_cast<int64_t>(step), m.top1_a, m.top1_b, m.top1_margin,
                                              !(failed_checks(m, pair.thresholds) & kTop1)});
        }
        pair.free_running = greedy(test.backend, test.tokens, options.steps);
        while (pair.free_running_agreement < options.steps &&
               bridge.to_a(pair.free_running[pair.free_running_agreement]) ==
                   result.reference_greedy[pair.free_running_agreement])
            ++pair.free_running_agreement;
    }
}

}  // namespace

// Backend k is the odd one out when every pair involving k diverges and every pair not
// involving k agrees.
std::string odd_one_out(const std::vector<std::string>& labels, const std::function<bool(size_t, size_t)>& diverged) {
    for (size_t k = 0; k < labels.size(); ++k) {
        bool odd = true;
        for (size_t x = 0; x < labels.size() && odd; ++x)
            for (size_t y = x + 1; y < labels.size() && odd; ++y)
                odd = diverged(x, y) == (x == k || y == k);
        if (odd) return labels[k];
    }
    return "";
}

unsigned failed_checks(const compare::PositionMetrics& m, const Thresholds& t) {
    unsigned failed = 0;
    if (!(m.cosine >= t.min_cosine)) failed |= kCosine;  // NaN fails every check
    if (!(m.nmse <= t.max_nmse)) failed |= kNmse;
    if (!(m.kl <= t.max_kl)) failed |= kKl;
    if (m.top1_a != m.top1_b && m.top1_margin > t.top1_margin) failed |= kTop1;
    return failed;
}

int64_t first_divergence(const std::vector<compare::PositionMetrics>& metrics, const Thresholds& t,
                         std::string* reason) {
    for (size_t i = 0; i < metrics.size(); ++i) {
        const auto& m = metrics[i];
        const unsigned failed = failed_checks(m, t);
        if (failed == 0) continue;
        if (reason) {
            if (failed & kCosine)
                *reason = "cosine " + fmt("%.6f", m.cosine) + " < " + fmt("%g", t.min_cosine);
            else if (failed & kNmse)
                *reason = "NMSE " + fmt("%.3g", m.nmse) + " > " + fmt("%g", t.max_nmse);
            else if (failed & kKl)
                *reason = "KL " + fmt("%.3g", m.kl) + " > " + fmt("%g", t.max_kl);
            else
                *reason = "top-1 differs (" + std::to_string(m.top1_a) + " vs " + std::to_string(m.top1_b) +
                          ") with reference margin " + fmt("%.3f", m.top1_margin) + " > " + fmt("%g", t.top1_margin);
        }
        return static_cast<int64_t>(i);
    }
    if (reason) reason->clear();
    return -1;
}

CrossvalResult run_crossval(const std::vector<std::shared_ptr<Backend>>& backends,
                            const std::vector<std::string>& texts, const CrossvalOptions& options,
                            const std::vector<std::string>& labels) {
    if (backends.size() < 2) throw std::invalid_argument("crossval needs at least two backends");
    if (texts.size() != 1 && texts.size() != backends.size())
        throw std::invalid_argument("crossval needs one prompt text, or one per backend");
    if (!labels.empty() && labels.size() != backends.size())
        throw std::invalid_argument("crossval needs one label per backend");
    CrossvalResult result;
    std::vector<Participant> participants;
    for (size_t i = 0; i < backends.size(); ++i) {
        Participant p{*backends[i], labels.empty() ? backends[i]->name() : labels[i], {}, {}};
        result.backends.push_back(p.label);
        participants.push_back(std::move(p));
    }

    // 1. Tokenize everywhere, then the parity gate (through the vocabulary bridge) before
    // any logits are computed.
    auto text_of = [&](size_t i) -> const std::string& { return texts[texts.size() == 1 ? 0 : i]; };
    for (size_t i = 0; i < participants.size(); ++i) {
        Participant& p = participants[i];
        p.tokens = p.backend.tokenize(text_of(i), options.add_special, options.parse_special);
        p.pieces = vocabulary_pieces(p.backend);
        result.tokens.push_back(p.tokens);
    }
    Bridges bridges(participants);
    for (size_t i = 1; i < participants.size(); ++i) {
        const Participant &a = participants[0], &b = participants[i];
        result.token_mismatch = find_token_mismatch({a.backend, a.label, a.tokens, text_of(0)},
                                                    {b.backend, b.label, b.tokens, text_of(i)}, bridges.get(0, i));
        if (result.token_mismatch) {
            result.exit_code = 2;
            return result;
        }
    }
    if (participants[0].tokens.empty()) throw std::invalid_argument("the prompt tokenized to no tokens");

    // 2. Logits everywhere, each backend on its own ids; 3. every backend against the reference.
    std::vector<Logits> logits;
    for (auto& p : participants) logits.push_back(checked_logits(p.backend, p.tokens));
    for (size_t i = 1; i < participants.size(); ++i)
        result.pairs.push_back(
            compare_pair(participants[0], logits[0], participants[i], logits[i], bridges.get(0, i), options));

    // 4. Triangulation: with three or more backends, compare the non-reference ones too.
    if (participants.size() >= 3) {
        std::map<std::pair<size_t, size_t>, bool> diverged;
        for (size_t i = 1; i < participants.size(); ++i) diverged[{0, i}] = result.pairs[i - 1].first_divergence >= 0;
        for (size_t i = 1; i < participants.size(); ++i)
            for (size_t j = i + 1; j < participants.size(); ++j) {
                result.cross_pairs.push_back(
                    compare_pair(participants[i], logits[i], participants[j], logits[j], bridges.get(i, j), options));
                diverged[{i, j}] = result.cross_pairs.back().first_divergence >= 0;
            }
        result.odd_one_out = odd_one_out(result.backends, [&](size_t x, size_t y) { return diverged.at({x, y}); });
    }

    // 5. Optional decoding. It reuses the backends, so it comes after every use of the prompt
    // logits above (a backend may hand out a view of a buffer it then refills).
    logits.clear();
    if (options.steps > 0) decode(participants, bridges, result, options);

    result.exit_code = 0;
    // Every stage that ran decides: the prompt's positions and the teacher-forced steps.
    for (const auto& pair : result.pairs)
        if (pair.first_divergence >= 0 || pair.teacher_forced_first_divergence >= 0) result.exit_code = 1;
    return result;
}

}  // namespace lockstep::dispatch
