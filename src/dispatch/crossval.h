// The crossval pipeline: tokenize on every backend -> token-parity gate -> logits on every
// backend -> per-position metrics against the reference -> first divergence -> verdict.
// Backends arrive already constructed (preflight and template rendering happen before).
// Backends whose vocabularies differ are compared through the vocabulary bridge.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compare/metrics.h"
#include "dispatch/backend.h"
#include "dispatch/thresholds.h"
#include "dispatch/token_gate.h"

namespace lockstep::dispatch {

struct CrossvalOptions {
    bool add_special = true;
    bool parse_special = true;
    ThresholdPolicy thresholds;
    int top_k = 10;
    int steps = 0;  // > 0: also decode this many tokens greedily (teacher-forced and free-running)
    int n_threads = 0;
};

// How the two vocabularies of a pair were aligned (see vocab_bridge.h).
struct VocabAlignment {
    bool identical = true;
    int64_t reference_size = 0, test_size = 0, aligned = 0;
    int64_t unaligned_reference = 0, unaligned_test = 0;  // tokens with no counterpart on the other side
    int64_t ambiguous_reference = 0, ambiguous_test = 0;  // of those, unpaired because their piece is shared
    std::vector<std::string> examples_reference, examples_test;
    // Largest probability mass a backend put on its unaligned tokens at any compared
    // position: what the comparison on aligned columns could not see.
    double max_unaligned_mass_reference = 0, max_unaligned_mass_test = 0;
};

// A step of the reference's greedy path where the two sides' top-1 choices part. The
// teacher-forced path is greedy decoding re-anchored at every step: both sides are fed the
// reference's token and go on, so a near-tie flips once while a real defect keeps splitting.
struct GreedySplit {
    int64_t step = 0;
    int32_t reference_token = 0, test_token = 0;  // in the reference's ids
    double margin = 0;  // p_ref(reference_token) - p_ref(test_token)
    bool tie = false;   // margin within the pair's top1_margin: a tie flip, not a divergence
};

// One backend compared with another (the reference, or for triangulation any two).
// With different vocabularies, metrics are over the aligned columns only and every token id
// in `positions` (top-1 ids) is in the reference's numbering.
struct PairResult {
    std::string reference, test;  // labels
    std::string precision_class;  // "same-arithmetic" | "cross-precision": which thresholds applied
    Thresholds thresholds;
    VocabAlignment alignment;
    std::vector<compare::PositionMetrics> positions;  // one per prompt token
    int64_t first_divergence = -1;                    // -1: all positions within thresholds
    std::string divergence_reason;                    // which threshold, with the values
    // Along the reference's greedy continuation (steps > 0):
    std::vector<compare::PositionMetrics> teacher_forced;
    int64_t teacher_forced_first_divergence = -1;
    std::vector<GreedySplit> greedy_splits;
    std::vector<int32_t> free_running;  // the test backend's own greedy tokens, in its own ids
    int64_t free_running_agreement = 0;  // leading tokens equal to the reference's
};

struct CrossvalResult {
    int exit_code = 0;  // 0 within thresholds, 1 diverged (prompt or steps), 2 token mismatch
    std::vector<std::string> backends;         // labels
    std::vector<std::vector<int32_t>> tokens;  // per backend, in its own ids
    std::optional<TokenMismatch> token_mismatch;
    std::vector<PairResult> pairs;             // each non-reference backend vs the reference
    std::vector<int32_t> reference_greedy;     // the reference's own greedy tokens (steps > 0)
    // With three or more backends: the one that disagrees with all others while the others
    // agree among themselves ("" when none or undecidable), and the pairwise evidence.
    std::string odd_one_out;
    std::vector<PairResult> cross_pairs;       // the non-reference pairs used for triangulation
};

// backends[0] is the reference. `texts`: the prompt, one for every backend or one per backend
// (backends on different model files render their own chat templates; the tokenizer flags are
// the same for all). `labels` name the backends in the result (needed when one backend runs
// twice, e.g. on two model files); empty: their names.
CrossvalResult run_crossval(const std::vector<std::shared_ptr<Backend>>& backends,
                            const std::vector<std::string>& texts, const CrossvalOptions& options,
                            const std::vector<std::string>& labels = {});

// With three or more backends: the label of the backend k for which every pair involving k
// diverged and every other pair agreed; "" when none is (or the evidence is undecidable).
// diverged(x, y) answers for x < y, indices into labels.
std::string odd_one_out(const std::vector<std::string>& labels, const std::function<bool(size_t, size_t)>& diverged);

// The thresholds one position breaks, as a bit set of Check; 0: within all of them.
// The one definition of a diverged position (first_divergence, lockstep.testing).
enum Check : unsigned { kCosine = 1, kNmse = 2, kKl = 4, kTop1 = 8 };
// Their names in reasons and reports, in the order a position's first broken check is named.
struct CheckName {
    Check bit;
    const char* name;
};
inline constexpr std::array<CheckName, 4> kCheckNames{{{kCosine, "cosine"}, {kNmse, "NMSE"}, {kKl, "KL"}, {kTop1, "top-1"}}};
unsigned failed_checks(const compare::PositionMetrics& m, const Thresholds& thresholds);

// The first position where `metrics` break a threshold, with the reason; -1 if none.
int64_t first_divergence(const std::vector<compare::PositionMetrics>& metrics, const Thresholds& thresholds,
                         std::string* reason);

}  // namespace lockstep::dispatch
