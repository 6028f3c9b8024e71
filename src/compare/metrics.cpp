#include "compare/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>

namespace lockstep::compare {
namespace {

// Indices of the k largest values, largest first (ties: lower index first). One pass with a
// small sorted buffer: k is tiny next to the vocabulary.
std::vector<int32_t> top_k_indices(const float* x, int64_t n, int k) {
    k = static_cast<int>(std::min<int64_t>(k, n));
    std::vector<int32_t> best;
    best.reserve(k + 1);
    auto better = [x](int32_t i, int32_t j) { return x[i] > x[j] || (x[i] == x[j] && i < j); };
    for (int64_t i = 0; i < n; ++i) {
        const auto id = static_cast<int32_t>(i);
        if (static_cast<int>(best.size()) == k && !better(id, best.back())) continue;
        best.insert(std::upper_bound(best.begin(), best.end(), id, better), id);
        if (static_cast<int>(best.size()) > k) best.pop_back();
    }
    return best;
}

// Kendall tau-b between a and b restricted to `ids` (O(m^2), m <= 2k).
double kendall_tau_b(const float* a, const float* b, const std::vector<int32_t>& ids) {
    int64_t concordant = 0, discordant = 0, ties_a = 0, ties_b = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
        for (size_t j = i + 1; j < ids.size(); ++j) {
            const float da = a[ids[i]] - a[ids[j]];
            const float db = b[ids[i]] - b[ids[j]];
            if (da == 0 && db == 0) continue;  // tied in both: counts in neither denominator term
            if (da == 0) { ++ties_a; continue; }
            if (db == 0) { ++ties_b; continue; }
            ((da > 0) == (db > 0) ? concordant : discordant) += 1;
        }
    }
    const double n_a = static_cast<double>(concordant + discordant + ties_b);  // pairs not tied in a
    const double n_b = static_cast<double>(concordant + discordant + ties_a);  // pairs not tied in b
    if (n_a == 0 || n_b == 0) return 1.0;  // no orderable pairs: identical by convention
    return static_cast<double>(concordant - discordant) / std::sqrt(n_a * n_b);
}

}  // namespace

PositionMetrics compare_row(const kernels::KernelTable& kernels, const float* a, const float* b, int64_t n_vocab,
                            int32_t next_token, int top_k) {
    PositionMetrics m;
    // Pass 1: maxima and the sums for cosine / NMSE / max |Δ|.
    const kernels::LogitPairMoments moments = kernels.logit_pair_moments(a, b, n_vocab);
    const float max_a = moments.max_a, max_b = moments.max_b;
    const double dot = moments.dot, sq_a = moments.sq_a, sq_b = moments.sq_b, sq_d = moments.sq_d;
    // Pass 2: partition functions and E_p[a - b]. With S = sum e^(x - max):
    // KL(p||q) = E_p[a - b] - (max_a - max_b) - log S_a + log S_b, all in float64.
    const kernels::LogitPairPartition partition = kernels.logit_pair_partition(a, b, n_vocab, max_a, max_b);
    const double sum_a = partition.sum_a, sum_b = partition.sum_b, weighted_diff = partition.weighted_diff;
    const double log_z_a = max_a + std::log(sum_a), log_z_b = max_b + std::log(sum_b);
    m.kl = std::max(0.0, weighted_diff / sum_a - (log_z_a - log_z_b));
    m.cosine = (sq_a > 0 && sq_b > 0) ? dot / std::sqrt(sq_a * sq_b) : (sq_a == sq_b ? 1.0 : 0.0);
    m.nmse = sq_a > 0 ? sq_d / sq_a : (sq_d == 0 ? 0.0 : std::numeric_limits<double>::infinity());
    m.max_abs_diff = moments.max_abs_diff;

    // The top-k lists start with the argmax (lowest index among equals).
    const auto top_a = top_k_indices(a, n_vocab, top_k), top_b = top_k_indices(b, n_vocab, top_k);
    m.top1_a = top_a.front();
    m.top1_b = top_b.front();
    m.top1_margin = std::exp(a[m.top1_a] - log_z_a) - std::exp(a[m.top1_b] - log_z_a);
    std::vector<int32_t> both = top_a, only_b;
    for (int32_t id : top_b)
        if (std::find(top_a.begin(), top_a.end(), id) == top_a.end()) only_b.push_back(id);
    m.topk_overlap = top_a.empty() ? 1.0 : static_cast<double>(top_a.size() - only_b.size()) / top_a.size();
    both.insert(both.end(), only_b.begin(), only_b.end());
    m.kendall_tau = kendall_tau_b(a, b, both);

    if (next_token >= 0 && next_token < n_vocab) {
        const double lp_a = a[next_token] - log_z_a, lp_b = b[next_token] - log_z_b;
        m.p_next_a = std::exp(lp_a);
        m.p_next_b = std::exp(lp_b);
        m.nll_a = -lp_a;
        m.nll_b = -lp_b;
    } else {
        m.p_next_a = m.p_next_b = m.nll_a = m.nll_b = std::numeric_limits<double>::quiet_NaN();
    }
    return m;
}

std::vector<PositionMetrics> compare_logits(const float* a, const float* b, int64_t n_rows, int64_t n_vocab,
                                            std::span<const int32_t> next_tokens, const Options& options) {
    if (!next_tokens.empty() && static_cast<int64_t>(next_tokens.size()) != n_rows)
        throw std::invalid_argument("next_tokens must be empty or have one id per row");
    if (options.top_k < 1) throw std::invalid_argument("top_k must be at least 1");
    std::vector<PositionMetrics> out(static_cast<size_t>(n_rows));
    int n_threads = options.n_threads > 0 ? options.n_threads : static_cast<int>(std::thread::hardware_concurrency());
    n_threads = static_cast<int>(std::clamp<int64_t>(n_threads, 1, std::max<int64_t>(n_rows, 1)));
    const kernels::KernelTable& table = options.isa ? kernels::kernel_table(*options.isa) : kernels::active_kernels();
    auto work = [&](int t) {
        for (int64_t r = t; r < n_rows; r += n_threads)
            out[r] = compare_row(table, a + r * n_vocab, b + r * n_vocab, n_vocab,
                                 next_tokens.empty() ? -1 : next_tokens[r], options.top_k);
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < n_threads; ++t) pool.emplace_back(work, t);
    work(0);
    for (auto& th : pool) th.join();
    return out;
}

}  // namespace lockstep::compare
