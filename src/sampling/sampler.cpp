#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace lockstep::sampling {
namespace {

bool better(const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

void require(bool ok, const std::string& message) {
    if (!ok) throw std::invalid_argument("sampling: " + message);
}

// Seen tokens of the penalty window, each with its count: the window sorted, runs counted.
std::vector<std::pair<int32_t, int32_t>> token_counts(std::span<const int32_t> history, int32_t last_n) {
    const size_t n = last_n < 0 ? history.size() : std::min(history.size(), static_cast<size_t>(last_n));
    std::vector<int32_t> window(history.end() - static_cast<std::ptrdiff_t>(n), history.end());
    std::sort(window.begin(), window.end());
    std::vector<std::pair<int32_t, int32_t>> counts;
    for (int32_t id : window) {
        if (!counts.empty() && counts.back().first == id) ++counts.back().second;
        else counts.emplace_back(id, 1);
    }
    return counts;
}

// llama.cpp's penalties sampler: the repetition penalty scales, then frequency and presence subtract.
void apply_penalties(std::vector<Candidate>& all, std::span<const int32_t> history, const Settings& s) {
    if (s.penalty_last_n == 0) return;
    if (s.repeat_penalty == 1.0 && s.presence_penalty == 0.0 && s.frequency_penalty == 0.0) return;
    for (const auto& [id, count] : token_counts(history, s.penalty_last_n)) {
        float& logit = all[static_cast<size_t>(id)].logit;
        logit = logit <= 0 ? static_cast<float>(logit * s.repeat_penalty) : static_cast<float>(logit / s.repeat_penalty);
        logit -= static_cast<float>(count * s.frequency_penalty + (count > 0 ? s.presence_penalty : 0.0));
    }
}

// Nucleus: the smallest best-first prefix whose probability reaches top_p (at least one token).
void keep_top_p(std::vector<Candidate>& sorted, double top_p) {
    if (top_p >= 1.0) return;
    const std::vector<double> p = probabilities(sorted);
    double cumulative = 0;
    for (size_t i = 0; i < p.size(); ++i) {
        cumulative += p[i];
        if (cumulative >= top_p) {
            sorted.resize(i + 1);
            return;
        }
    }
}

// p_i >= min_p * p_max, written on logits as llama.cpp does: l_i >= l_max + log(min_p).
void keep_min_p(std::vector<Candidate>& sorted, double min_p) {
    if (min_p <= 0.0 || sorted.empty()) return;
    const float threshold = sorted.front().logit + static_cast<float>(std::log(min_p));
    const auto end = std::find_if(sorted.begin() + 1, sorted.end(), [&](const Candidate& c) { return c.logit < threshold; });
    sorted.erase(end, sorted.end());
}

}  // namespace

void validate(const Settings& s) {
    require(std::isfinite(s.temperature) && s.temperature >= 0, "temperature must be a finite number >= 0, got " + std::to_string(s.temperature));
    require(s.top_k >= 0, "top_k must be >= 0 (0 is off), got " + std::to_string(s.top_k));
    require(s.top_p > 0 && s.top_p <= 1, "top_p must be in (0, 1], got " + std::to_string(s.top_p));
    require(s.min_p >= 0 && s.min_p <= 1, "min_p must be in [0, 1], got " + std::to_string(s.min_p));
    require(std::isfinite(s.repeat_penalty) && s.repeat_penalty > 0, "repeat_penalty must be a finite number > 0, got " + std::to_string(s.repeat_penalty));
    require(std::isfinite(s.presence_penalty), "presence_penalty must be finite");
    require(std::isfinite(s.frequency_penalty), "frequency_penalty must be finite");
    require(s.penalty_last_n >= -1, "penalty_last_n must be >= -1 (-1: the whole history), got " + std::to_string(s.penalty_last_n));
}

Sampler::Sampler(const Settings& settings) : settings_(settings), rng_(settings.seed) { validate(settings); }

std::vector<Candidate> Sampler::candidates(std::span<const float> logits, std::span<const int32_t> history) const {
    require(!logits.empty(), "no logits");
    const auto n_vocab = static_cast<int64_t>(logits.size());
    for (int32_t id : history)
        require(id >= 0 && id < n_vocab, "history token " + std::to_string(id) + " is outside the vocabulary [0, " + std::to_string(n_vocab) + ")");

    // all: [n_vocab] in id order until sorted
    std::vector<Candidate> all(logits.size());
    for (size_t i = 0; i < logits.size(); ++i) all[i] = {static_cast<int32_t>(i), logits[i]};
    apply_penalties(all, history, settings_);

    if (settings_.temperature <= 0.0) return {*std::min_element(all.begin(), all.end(), better)};

    const auto k = static_cast<size_t>(settings_.top_k);
    if (k > 0 && k < all.size()) {
        std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end(), better);
        all.resize(k);
    } else {
        std::sort(all.begin(), all.end(), better);
    }
    keep_top_p(all, settings_.top_p);
    keep_min_p(all, settings_.min_p);
    for (Candidate& c : all) c.logit = static_cast<float>(c.logit / settings_.temperature);
    return all;
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
    const std::vector<Candidate> kept = candidates(logits, history);
    if (kept.size() == 1) return kept.front().id;
    const std::vector<double> p = probabilities(kept);
    // u in [0, 1) from the top 53 bits: the same stream on every platform (unlike std::uniform_real_distribution).
    const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
    double cumulative = 0;
    for (size_t i = 0; i < p.size(); ++i) {
        cumulative += p[i];
        if (u < cumulative) return kept[i].id;
    }
    return kept.back().id;  // u beyond a cumulative sum that rounded below 1
}

std::vector<double> probabilities(std::span<const Candidate> candidates) {
    std::vector<double> p(candidates.size());
    if (candidates.empty()) return p;
    double max = candidates[0].logit;
    for (const Candidate& c : candidates) max = std::max(max, static_cast<double>(c.logit));
    double sum = 0;
    for (size_t i = 0; i < p.size(); ++i) sum += p[i] = std::exp(static_cast<double>(candidates[i].logit) - max);
    for (double& v : p) v /= sum;
    return p;
}

}  // namespace lockstep::sampling
