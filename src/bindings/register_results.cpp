// The crossval's result structs (src/dispatch/crossval.h, token_gate.h, thresholds.h) bound
// read-only: Python reads the C++ result itself, with no dict built in between. Each class
// lists its fields in `_fields`, in declaration order, so the report's one JSON writer walks
// every struct the same way (lockstep.dispatch.report).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/metrics_columns.h"
#include "bindings/register.h"
#include "dispatch/crossval.h"
#include "dispatch/thresholds.h"
#include "dispatch/token_gate.h"

namespace py = pybind11;

namespace lockstep::bindings {
namespace {

template <class T>
class ResultClass {
public:
    ResultClass(py::module_& m, const char* name, const char* doc) : cls_(m, name, doc) {}
    ResultClass(const ResultClass&) = delete;
    ResultClass& operator=(const ResultClass&) = delete;
    ~ResultClass() { cls_.attr("_fields") = py::tuple(fields_); }

    template <class V>
    ResultClass& field(const char* name, V T::*member, const char* doc) {
        cls_.def_readonly(name, member, doc);
        return named(name);
    }
    // Token pieces are bytes: a piece may be a partial UTF-8 sequence.
    ResultClass& bytes(const char* name, std::string T::*member, const char* doc) {
        cls_.def_property_readonly(name, [member](const T& t) { return py::bytes(t.*member); }, doc);
        return named(name);
    }
    ResultClass& bytes_list(const char* name, std::vector<std::string> T::*member, const char* doc) {
        cls_.def_property_readonly(
            name,
            [member](const T& t) {
                py::list out;
                for (const auto& piece : t.*member) out.append(py::bytes(piece));
                return out;
            },
            doc);
        return named(name);
    }
    // {column: read-only np.ndarray[positions]}, views into the rows of this result.
    ResultClass& metrics(const char* name, std::vector<compare::PositionMetrics> T::*member, const char* doc) {
        cls_.def_property_readonly(
            name, [member](const py::object& self) { return metrics_columns(self.cast<const T&>().*member, self); },
            doc);
        return named(name);
    }
    // A list of bound structs that refer into this result (which they keep alive).
    template <class V>
    ResultClass& structs(const char* name, std::vector<V> T::*member, const char* doc) {
        cls_.def_property_readonly(
            name,
            [member](const py::object& self) {
                py::list out;
                for (const V& value : self.cast<const T&>().*member)
                    out.append(py::cast(&value, py::return_value_policy::reference_internal, self));
                return out;
            },
            doc);
        return named(name);
    }
    template <class V>
    ResultClass& optional(const char* name, std::optional<V> T::*member, const char* doc) {
        cls_.def_property_readonly(
            name,
            [member](const py::object& self) -> py::object {
                const auto& value = self.cast<const T&>().*member;
                if (!value) return py::none();
                return py::cast(&*value, py::return_value_policy::reference_internal, self);
            },
            doc);
        return named(name);
    }

private:
    ResultClass& named(const char* name) {
        fields_.append(name);
        return *this;
    }
    py::class_<T> cls_;
    py::list fields_;
};

}  // namespace

void register_results(py::module_& m) {
    using namespace dispatch;
    {
        ResultClass<Thresholds> c(m, "Thresholds", "The limits one position is judged by (src/dispatch/thresholds.h).");
        for (const auto& f : kThresholdFields) c.field(f.name, f.member, "");
    }
    ResultClass<VocabAlignment>(m, "VocabAlignment", "How the two vocabularies of a pair were aligned.")
        .field("identical", &VocabAlignment::identical, "same pieces under the same ids")
        .field("reference_size", &VocabAlignment::reference_size, "")
        .field("test_size", &VocabAlignment::test_size, "")
        .field("aligned", &VocabAlignment::aligned, "ids with a counterpart")
        .field("unaligned_reference", &VocabAlignment::unaligned_reference, "")
        .field("unaligned_test", &VocabAlignment::unaligned_test, "")
        .field("ambiguous_reference", &VocabAlignment::ambiguous_reference, "unpaired because the piece is shared")
        .field("ambiguous_test", &VocabAlignment::ambiguous_test, "")
        .bytes_list("examples_reference", &VocabAlignment::examples_reference, "pieces without a counterpart")
        .bytes_list("examples_test", &VocabAlignment::examples_test, "")
        .field("max_unaligned_mass_reference", &VocabAlignment::max_unaligned_mass_reference,
               "largest probability on unaligned tokens at any position")
        .field("max_unaligned_mass_test", &VocabAlignment::max_unaligned_mass_test, "");
    ResultClass<TokenSide>(m, "TokenSide", "One side of a token mismatch.")
        .field("backend", &TokenSide::backend, "label")
        .field("id", &TokenSide::id, "-1: the sequence ended first")
        .field("counterpart", &TokenSide::counterpart, "the bridged id in the other vocabulary (-1: none)")
        .bytes("piece", &TokenSide::piece, "")
        .field("window_ids", &TokenSide::window_ids, "context around the index")
        .bytes_list("window_pieces", &TokenSide::window_pieces, "");
    ResultClass<TokenMismatch>(m, "TokenMismatch", "Where two tokenizations of one text part, and the likely cause.")
        .field("index", &TokenMismatch::index, "first differing position")
        .field("window_start", &TokenMismatch::window_start, "position of window_ids[0]")
        .field("a", &TokenMismatch::a, "")
        .field("b", &TokenMismatch::b, "")
        .field("cause", &TokenMismatch::cause, "")
        .field("explanation", &TokenMismatch::explanation, "");
    ResultClass<GreedySplit>(m, "GreedySplit", "A teacher-forced step where the two top-1 choices part.")
        .field("step", &GreedySplit::step, "")
        .field("reference_token", &GreedySplit::reference_token, "in the reference's ids")
        .field("test_token", &GreedySplit::test_token, "in the reference's ids")
        .field("margin", &GreedySplit::margin, "p_ref(reference_token) - p_ref(test_token)")
        .field("tie", &GreedySplit::tie, "margin within top1_margin: a tie flip, not a divergence");
    ResultClass<PairResult>(m, "PairResult", "One backend compared with another.")
        .field("reference", &PairResult::reference, "label")
        .field("test", &PairResult::test, "label")
        .field("precision_class", &PairResult::precision_class, "which band applied")
        .field("thresholds", &PairResult::thresholds, "")
        .field("alignment", &PairResult::alignment, "")
        .metrics("positions", &PairResult::positions, "per prompt position")
        .field("first_divergence", &PairResult::first_divergence, "-1: none")
        .field("divergence_reason", &PairResult::divergence_reason, "")
        .metrics("teacher_forced", &PairResult::teacher_forced, "per step of the reference's greedy path")
        .field("teacher_forced_first_divergence", &PairResult::teacher_forced_first_divergence, "-1: none")
        .structs("greedy_splits", &PairResult::greedy_splits, "")
        .field("free_running", &PairResult::free_running, "the test's own greedy tokens, its ids")
        .field("free_running_agreement", &PairResult::free_running_agreement, "leading tokens equal to the reference's");
    ResultClass<CrossvalResult>(m, "CrossvalResult", "What run_crossval found (src/dispatch/crossval.h).")
        .field("exit_code", &CrossvalResult::exit_code, "0 within thresholds, 1 diverged, 2 token mismatch")
        .field("backends", &CrossvalResult::backends, "labels")
        .field("tokens", &CrossvalResult::tokens, "per backend, its own ids")
        .optional("token_mismatch", &CrossvalResult::token_mismatch, "")
        .structs("pairs", &CrossvalResult::pairs, "each backend against the reference")
        .field("reference_greedy", &CrossvalResult::reference_greedy, "")
        .field("odd_one_out", &CrossvalResult::odd_one_out, "'' when none")
        .structs("cross_pairs", &CrossvalResult::cross_pairs, "the non-reference pairs");

    py::list fields, bands;
    for (const auto& f : kThresholdFields) fields.append(f.name);
    for (const auto& b : kThresholdBands) bands.append(b.name);
    m.attr("THRESHOLD_NAMES") = py::tuple(fields);
    m.attr("THRESHOLD_BANDS") = py::tuple(bands);
    m.attr("METRIC_COLUMNS") = metric_column_names();
    py::dict checks;
    for (const auto& c : kCheckNames) checks[py::int_(static_cast<unsigned>(c.bit))] = c.name;
    m.attr("CHECKS") = checks;
}

}  // namespace lockstep::bindings
