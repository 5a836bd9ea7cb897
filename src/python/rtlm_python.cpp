// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// rtlm's Python bindings (pybind11): the estimator, the time-budget solver, the length
// predictors, the scheduler with its policies and a backend written in Python, and the
// simulator. docs/python.md shows them in use. Times cross the boundary as float seconds on the
// scheduler's clock (its epoch is 0.0); token counts as ints; enums as their names.

#include <pybind11/eigen.h>
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "rtlm/predict/adaptive_conformal_bound.hpp"
#include "rtlm/rtlm.hpp"
#include "rtlm/sim/simulation.hpp"

namespace py = pybind11;

namespace {

// A time on the scheduler's clock (its epoch is 0.0), checked before it becomes int64
// nanoseconds: finite and in [0, max_time_seconds], else rtlm.Error naming `field` and the value.
rtlm::time_point at(std::string_view field, double s) {
  rtlm::detail::require(std::isfinite(s) && s >= 0.0 && s <= rtlm::max_time_seconds, field, s,
                        "must be a finite time in [0, 4e9] seconds");
  return rtlm::time_point{} + std::chrono::duration_cast<rtlm::duration>(rtlm::seconds(s));
}
// A duration (a time budget): finite and in [0, max_duration_seconds], else rtlm.Error naming
// `field` and the value.
rtlm::seconds duration_of(std::string_view field, double s) {
  rtlm::detail::require(std::isfinite(s) && s >= 0.0 && s <= rtlm::max_duration_seconds, field, s,
                        "must be a finite duration in [0, 1e9] seconds");
  return rtlm::seconds(s);
}
double seconds_since_epoch(rtlm::time_point t) {
  return std::chrono::duration<double>(t - rtlm::time_point{}).count();
}
rtlm::tokens tokens_of(std::int64_t n) { return rtlm::tokens(n); }
std::vector<rtlm::tokens> tokens_of(const std::vector<std::int64_t>& v) {
  std::vector<rtlm::tokens> out;
  out.reserve(v.size());
  for (const std::int64_t n : v) out.push_back(rtlm::tokens(n));
  return out;
}
// Token counts the estimator's noexcept C++ methods take as preconditions: checked here, so that
// Python gets an error naming the argument rather than a time for a negative length.
rtlm::tokens count_of(std::string_view field, std::int64_t n) {
  rtlm::detail::require(n >= 0 && rtlm::tokens(n) <= rtlm::max_request_tokens, field, n,
                        "must be in [0, 2^40]");
  return rtlm::tokens(n);
}
std::vector<rtlm::tokens> counts_of(std::string_view field, const std::vector<std::int64_t>& v) {
  std::vector<rtlm::tokens> out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i)
    out.push_back(count_of(fmt::format("{}[{}]", field, i), v[i]));
  return out;
}
std::uint64_t id_of(rtlm::request_id id) { return rtlm::to_integer(id); }

rtlm::device_kind device_named(const std::string& name) {
  if (name == "gpu") return rtlm::device_kind::gpu;
  if (name == "cpu") return rtlm::device_kind::cpu;
  if (name == "other") return rtlm::device_kind::other;
  throw rtlm::error("Capabilities.device", name, "must be gpu, cpu or other");
}

rtlm::admission_mode admission_named(const std::string& name) {
  const std::optional<rtlm::admission_mode> m = rtlm::admission_mode_from_string(name);
  if (!m) {
    throw rtlm::error("SchedulerConfig.admission", name,
                      "must be accept, reject, downgrade or relax_deadline");
  }
  return *m;
}

rtlm::relegation_mode relegation_named(const std::string& name) {
  const std::optional<rtlm::relegation_mode> m = rtlm::relegation_mode_from_string(name);
  if (!m) {
    throw rtlm::error("SchedulerConfig.relegation", name, "must be off, demote or shed_sheddable");
  }
  return *m;
}

// Seconds from a Python value (a float or an int; None: none), unchecked: the C++ validate()
// that takes them names the field when one is out of range. Else rtlm.Error naming `field`.
std::optional<rtlm::seconds> seconds_of(const std::string& field, const py::handle& value) {
  if (value.is_none()) return std::nullopt;
  try {
    return rtlm::seconds(value.cast<double>());
  } catch (const py::cast_error&) {
    throw rtlm::error(field, py::repr(value), "must be seconds (a float) or None");
  }
}

// An SLO class: an rtlm.SloClass, or a dict of its fields (name, and any of ttft, tpot,
// time_budget, sheddable); else rtlm.Error naming `field` (`SchedulerConfig.slo_classes[1]`).
// Its values are checked by scheduler_config::validate(), which names the class by index.
rtlm::slo_class slo_class_of(const std::string& field, const py::handle& o) {
  if (py::isinstance<rtlm::slo_class>(o)) return o.cast<rtlm::slo_class>();
  if (!py::isinstance<py::dict>(o)) {
    throw rtlm::error(field, py::repr(o), "must be an rtlm.SloClass or a dict of its fields");
  }
  rtlm::slo_class c;
  bool named = false;
  for (const auto& [key, value] : o.cast<py::dict>()) {
    const std::string k = py::str(key);
    const std::string at = field + "." + k;
    if (k == "name") {
      if (!py::isinstance<py::str>(value)) {
        throw rtlm::error(at, py::repr(value), "must be a str");
      }
      c.name = value.cast<std::string>();
      named = true;
    } else if (k == "ttft") {
      c.ttft = seconds_of(at, value);
    } else if (k == "tpot") {
      c.tpot = seconds_of(at, value);
    } else if (k == "time_budget") {
      c.time_budget = seconds_of(at, value);
    } else if (k == "sheddable") {
      if (!py::isinstance<py::bool_>(value)) {
        throw rtlm::error(at, py::repr(value), "must be a bool");
      }
      c.sheddable = value.cast<bool>();
    } else {
      throw rtlm::error(
          field, k, "is not a field of an SLO class (name, ttft, tpot, time_budget, sheddable)");
    }
  }
  if (!named) throw rtlm::error(field + ".name", "None", "must be given");
  return c;
}

std::optional<double> seconds_or_none(const std::optional<rtlm::seconds>& s) {
  return s ? std::optional<double>(s->count()) : std::nullopt;
}

rtlm::policy_kind policy_named(const std::string& name) {
  const std::optional<rtlm::policy_kind> k = rtlm::policy_kind_from_string(name);
  if (!k) {
    throw rtlm::error("SchedulerConfig.policy", name,
                      "is not a policy (first_come_first_served, priority_classes, "
                      "earliest_deadline_first, shortest_prompt_first, shortest_predicted_first, "
                      "shortest_predicted_remaining, least_laxity_first, "
                      "uncertainty_aware_priority, shortest_remaining_work, gittins_index, "
                      "tail_inflated_expectation)");
  }
  return *k;
}

rtlm::priority_class priority_named(const std::string& name) {
  if (name == "realtime") return rtlm::priority_class::realtime;
  if (name == "interactive") return rtlm::priority_class::interactive;
  if (name == "standard") return rtlm::priority_class::standard;
  if (name == "background") return rtlm::priority_class::background;
  throw rtlm::error("priority", name, "must be realtime, interactive, standard or background");
}

// ---- KV selection: numpy arrays in, a [heads, kept] int64 array of positions out
// -----------------
using positions_array =
    Eigen::Matrix<std::int64_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

positions_array positions_of(const rtlm::kv_selection& s) {
  positions_array out(s.head_count(), s.kept_per_head().count());
  const std::span<const std::int64_t> all = s.all_positions();
  std::copy(all.begin(), all.end(), out.data());
  return out;
}

// Exactly one of alpha (an eviction ratio) and kept (a kept-token budget).
rtlm::kv_budget kv_budget_of(std::optional<double> alpha, std::optional<std::int64_t> kept) {
  if (alpha.has_value() == kept.has_value()) {
    throw rtlm::error("alpha", alpha ? fmt::format("{}", *alpha) : "None",
                      "give exactly one of alpha (an eviction ratio) and kept (tokens to keep)");
  }
  return alpha ? rtlm::kv_budget::ratio(*alpha) : rtlm::kv_budget::kept(rtlm::tokens(*kept));
}

rtlm::snapkv_options snapkv_options_of(std::int64_t window, std::int64_t kernel,
                                       const std::string& pooling, const std::string& gqa) {
  rtlm::snapkv_options o{.window = window, .kernel = kernel};
  if (pooling == "max") {
    o.pooling = rtlm::snapkv_pooling::max;
  } else if (pooling == "average") {
    o.pooling = rtlm::snapkv_pooling::average;
  } else {
    throw rtlm::error("pooling", pooling, "must be max or average");
  }
  if (gqa == "kv_group_mean") {
    o.gqa = rtlm::snapkv_gqa::kv_group_mean;
  } else if (gqa == "per_query_head") {
    o.gqa = rtlm::snapkv_gqa::per_query_head;
  } else {
    throw rtlm::error("gqa", gqa, "must be kv_group_mean or per_query_head");
  }
  return o;
}

// The Python function of a SnapKV selection (select_snapkv or select_snapkv_from_window_scores:
// the same arguments after the matrix); the GIL is released while it selects.
using snapkv_selection = void (*)(const Eigen::Ref<const rtlm::attention_matrix>&,
                                  rtlm::attention_heads, rtlm::kv_budget,
                                  const rtlm::snapkv_options&, rtlm::kv_selection&);
auto snapkv_binding(snapkv_selection select) {
  return [select](const Eigen::Ref<const rtlm::attention_matrix>& scores, std::int64_t query_heads,
                  std::int64_t kv_heads, std::optional<double> alpha,
                  std::optional<std::int64_t> kept, std::int64_t window, std::int64_t kernel,
                  const std::string& pooling, const std::string& gqa) {
    const rtlm::kv_budget budget = kv_budget_of(alpha, kept);
    const rtlm::snapkv_options options = snapkv_options_of(window, kernel, pooling, gqa);
    rtlm::kv_selection out;
    {
      const py::gil_scoped_release unlocked;
      select(scores, {.query_heads = query_heads, .kv_heads = kv_heads}, budget, options, out);
    }
    return positions_of(out);
  };
}

// The Python type of rtlm::usage_error (rtlm.UsageError), set when the module is imported.
PyObject* usage_error_type = nullptr;

// A Python exception that must reach the host rather than fail a step: a BaseException that is
// not an Exception (KeyboardInterrupt, SystemExit, GeneratorExit), MemoryError, and
// rtlm.UsageError (a callback that called its scheduler back).
bool must_reach_host(const py::error_already_set& e) {
  return !e.matches(PyExc_Exception) || e.matches(PyExc_MemoryError) ||
         (usage_error_type != nullptr && e.matches(usage_error_type));
}

// One binding call into C++ that may run Python callbacks (an observer, a backend's run_step).
// The C++ code between the call and the callback cannot carry a Python exception (the observer
// is noexcept; a backend's exception fails its step), so a callback hands its exception to the
// innermost call on its thread, which raises it once the C++ call has returned and the
// scheduler's state is consistent. The first exception wins; later ones are reported as
// unraisable. Callbacks run on the thread of the call that invoked them, hence thread_local.
class python_call {
 public:
  python_call() noexcept : outer_(innermost_) { innermost_ = this; }
  ~python_call() {
    innermost_ = outer_;
    // Only when the C++ call itself threw: its exception goes up, this one is reported.
    if (pending_) pending_->discard_as_unraisable("rtlm.Scheduler callback");
  }
  python_call(const python_call&) = delete;
  python_call& operator=(const python_call&) = delete;
  python_call(python_call&&) = delete;
  python_call& operator=(python_call&&) = delete;

  // Runs `f` (the C++ call) and returns its result, then raises the exception a callback kept.
  template <class F>
  static auto run(F&& f) {
    python_call call;
    if constexpr (std::is_void_v<decltype(f())>) {
      f();
      call.raise_kept();
    } else {
      auto result = f();
      call.raise_kept();
      return result;
    }
  }

  // Keeps `e` for the innermost call on this thread to raise; reported as unraisable (`where`)
  // when that call already keeps one, or when no call is in progress. Needs the GIL.
  static void keep(py::error_already_set& e, const char* where) {
    if (innermost_ != nullptr && !innermost_->pending_) {
      innermost_->pending_.emplace(std::move(e));
      return;
    }
    e.discard_as_unraisable(where);
  }

 private:
  void raise_kept() {
    if (!pending_) return;
    py::error_already_set e = std::move(*pending_);
    pending_.reset();
    throw e;
  }

  static thread_local python_call* innermost_;
  python_call* outer_;
  std::optional<py::error_already_set> pending_;
};
thread_local python_call* python_call::innermost_ = nullptr;

// A model_backend whose step runs in Python: subclass rtlm.Backend and define run_step(plan),
// returning a StepResult. An Exception it raises fails the step (step_status backend_failure,
// with its message), as a C++ host's would. KeyboardInterrupt, SystemExit, MemoryError and
// rtlm.UsageError fail the step too, and are raised again from the Scheduler call that ran it.
class python_backend : public rtlm::model_backend {
 public:
  explicit python_backend(rtlm::backend_capabilities caps) : caps_(std::move(caps)) {}
  [[nodiscard]] const rtlm::backend_capabilities& capabilities() const noexcept override {
    return caps_;
  }

 private:
  void run_step(const rtlm::step_plan& plan, rtlm::step_result& result) override {
    py::gil_scoped_acquire gil;
    const py::function f =
        py::get_override(static_cast<const rtlm::model_backend*>(this), "run_step");
    if (!f) throw std::logic_error("rtlm.Backend subclasses must define run_step(plan)");
    try {
      result = f(plan).cast<rtlm::step_result>();
    } catch (py::error_already_set& e) {
      if (!must_reach_host(e)) throw;  // fails the step with its message
      std::string message = fmt::format("{} (raised again from the Scheduler call)", e.what());
      python_call::keep(e, "rtlm.Backend.run_step");
      throw std::runtime_error(message);
    }
  }

  rtlm::backend_capabilities caps_;
};

// Hands every scheduler event to a Python callable: on_event(kind, id, reason, backend, at).
// An exception the callable raises is kept and raised from the Scheduler call once it returns.
class python_observer final : public rtlm::scheduler_observer {
 public:
  explicit python_observer(py::function f) : f_(std::move(f)) {}
  void on_event(const rtlm::request_event& e, const rtlm::request& /*r*/) noexcept override {
    py::gil_scoped_acquire gil;
    try {
      f_(std::string(rtlm::to_string(e.kind)), id_of(e.id), std::string(rtlm::to_string(e.reason)),
         e.backend, seconds_since_epoch(e.at));
    } catch (py::error_already_set& err) {
      python_call::keep(err, "rtlm.Scheduler observer");
    } catch (const std::exception& err) {  // an argument that did not convert
      PyErr_SetString(PyExc_RuntimeError, err.what());
      py::error_already_set converted;
      python_call::keep(converted, "rtlm.Scheduler observer");
    }
  }
  [[nodiscard]] const py::function& function() const noexcept { return f_; }

 private:
  py::function f_;
};

// The scheduler with its observer and the Python objects it points to kept alive. Those objects
// may point back at it (a backend that keeps its scheduler), so rtlm.Scheduler takes part in
// Python's cyclic garbage collection: traverse() visits them and clear() drops them, the C++
// scheduler first.
class python_scheduler {
 public:
  explicit python_scheduler(const rtlm::scheduler_config& config) { s_.emplace(config); }
  python_scheduler(const python_scheduler&) = delete;
  python_scheduler& operator=(const python_scheduler&) = delete;
  python_scheduler(python_scheduler&&) = delete;
  python_scheduler& operator=(python_scheduler&&) = delete;
  ~python_scheduler() { clear(); }

  std::size_t add_backend(py::object backend, py::object estimator) {
    auto& b = backend.cast<rtlm::model_backend&>();
    const auto& e = estimator.cast<const rtlm::step_time_estimator&>();
    const std::size_t index = get().add_backend(b, e);
    kept_.push_back(std::move(backend));
    kept_.push_back(std::move(estimator));
    return index;
  }

  void set_observer(std::optional<py::function> f) {
    // The C++ scheduler lets go of the old observer first (or refuses, when called from inside
    // it), so the old one is destroyed only when nothing runs it.
    std::unique_ptr<python_observer> next =
        f ? std::make_unique<python_observer>(std::move(*f)) : nullptr;
    get().set_observer(next.get());
    std::swap(observer_, next);
  }

  // The C++ scheduler; rtlm.UsageError once the garbage collector has cleared this one.
  rtlm::scheduler& get() {
    if (!s_) throw rtlm::usage_error("rtlm.Scheduler: used after the garbage collector cleared it");
    return *s_;
  }

  // The index of the SLO class named `name` in the config's classes; else rtlm.Error naming
  // request.slo_class and the name.
  std::uint32_t slo_class_index(const std::string& name) {
    const std::vector<rtlm::slo_class>& classes = get().config().slo.classes;
    std::string names;
    for (std::size_t i = 0; i < classes.size(); ++i) {
      if (classes[i].name == name) return static_cast<std::uint32_t>(i);
      names += (i == 0 ? "" : ", ") + classes[i].name;
    }
    throw rtlm::error("request.slo_class", name,
                      classes.empty()
                          ? "names no class: SchedulerConfig has no slo_classes"
                          : "is not one of SchedulerConfig.slo_classes (" + names + ")");
  }

  // `b` when it names a backend; else rtlm.Error (the C++ scheduler takes that as a precondition).
  std::size_t backend(std::size_t b) {
    rtlm::detail::require(b < get().backend_count(), "backend", b, "is not a backend");
    return b;
  }

  // tp_traverse: the Python objects this scheduler keeps alive.
  int traverse(visitproc visit, void* arg) const {
    for (const py::object& o : kept_) Py_VISIT(o.ptr());
    if (observer_) Py_VISIT(observer_->function().ptr());
    return 0;
  }
  // tp_clear: the C++ scheduler goes first (it points at the backends and the observer); the
  // Python objects are released last, so a __del__ they run finds a cleared scheduler.
  void clear() {
    s_.reset();
    std::unique_ptr<python_observer> observer = std::move(observer_);
    std::vector<py::object> kept = std::move(kept_);
    kept_.clear();
  }

 private:
  std::optional<rtlm::scheduler> s_;
  std::unique_ptr<python_observer> observer_;
  std::vector<py::object> kept_;
};

// The python_scheduler inside a Scheduler object, or nullptr before __init__ has built it.
python_scheduler* scheduler_of(PyObject* self) {
  const py::detail::value_and_holder v =
      reinterpret_cast<py::detail::instance*>(self)->get_value_and_holder();
  return v.holder_constructed() ? v.value_ptr<python_scheduler>() : nullptr;
}

// What one step did, with Python types.
struct python_step_report {
  std::size_t backend = 0;
  std::string status;
  std::string error;
  std::size_t computed = 0;
  std::size_t finished = 0;
  std::vector<std::uint64_t> affected;
  double predicted = 0.0;
  double measured = 0.0;
  double base_prefill = 0.0;
  double base_decode = 0.0;
};

python_step_report to_python(const rtlm::step_report& r) {
  python_step_report p;
  p.backend = r.backend;
  p.status = std::string(rtlm::to_string(r.status));
  p.error = std::string(r.error);
  p.computed = r.computed;
  p.finished = r.finished;
  for (const rtlm::request_id id : r.affected) p.affected.push_back(id_of(id));
  p.predicted = r.predicted.count();
  p.measured = r.measured.count();
  p.base_prefill = r.base_prefill.count();
  p.base_decode = r.base_decode.count();
  return p;
}

// A length predictor with its prompt-feature extractor and its calibrated bound: text in,
// length estimate out. The same defaults as C++ (prompt_feature_config{}, the regressor's and
// classifier's default configurations, a 5-fold grouped fit_and_calibrate), so Python and C++
// give the same figures on the same data.
class python_length_predictor {
 public:
  python_length_predictor(const std::string& kind, double coverage, double rate)
      : coverage_(checked_coverage(coverage)),
        rate_(rate),
        predictor_(make(kind)),
        extractor_(predictor_->feature_config()),
        bound_({.coverage = coverage_, .rate = rate_}) {}

  // The mean, and as upper bound the adaptive conformal bound at `coverage` (the predictor's own
  // quantile until enough outcomes are calibrated: see `calibrated`).
  rtlm::length_estimate predict(const std::string& prompt) const {
    const rtlm::length_distribution d = predictor_->predict(extractor_.extract(prompt));
    return d.to_estimate(bound_.bound(d).length, coverage_);
  }
  // "learned" or "clipped" (an outlier whose influence was bounded); rtlm.Error, learning
  // nothing, for a length outside [0, 2^24]. The bound observes the outcome against the
  // prediction made before learning, as a server's would at admission.
  std::string learn(const std::string& prompt, std::int64_t length) {
    rtlm::detail::require(length >= 0 && rtlm::tokens(length) <= rtlm::max_learned_length,
                          "LengthPredictor.learn length", length,
                          "must be in [0, 2^24] (a longer output is a corrupt count)");
    const rtlm::prompt_features f = extractor_.extract(prompt);
    bound_.observe(predictor_->predict(f), rtlm::tokens(length));
    return std::string(rtlm::to_string(predictor_->learn(f, rtlm::tokens(length))));
  }
  [[nodiscard]] std::uint64_t clipped() const noexcept {
    return predictor_->clipped_observations();
  }
  [[nodiscard]] bool calibrated() const noexcept { return !std::isnan(bound_.threshold()); }
  [[nodiscard]] double level() const noexcept { return bound_.level(); }
  [[nodiscard]] std::size_t calibration_scores() const noexcept { return bound_.base().size(); }
  // Trains and calibrates by grouped cross-fitting (rtlm::fit_and_calibrate): `groups` (one per
  // prompt; default: identical prompts share a group) keep every copy of a prompt in one fold.
  void fit(const std::vector<std::string>& prompts, const std::vector<std::int64_t>& lengths,
           const std::optional<std::vector<std::uint64_t>>& groups, std::size_t folds,
           std::uint64_t seed) {
    const std::vector<rtlm::prompt_features> features = extract_all(extractor_, prompts);
    const std::vector<rtlm::tokens> t = tokens_of(lengths);
    const std::vector<std::uint64_t> g = groups ? *groups : rtlm::feature_groups(features);
    rtlm::detail::require(g.size() == features.size(), "LengthPredictor.fit groups", g.size(),
                          fmt::format("must match the prompts ({})", features.size()));
    // A log of fewer distinct prompts than folds takes one fold per prompt; a log of one prompt
    // cannot be cross-fitted, so it is fitted plainly and the bound waits for learn().
    std::vector<std::uint64_t> distinct = g;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    rtlm::conformal_length_bound calibrated;
    if (distinct.size() < 2) {
      predictor_->fit(features, t);
    } else {
      visit(*predictor_, [&](auto& p) {
        rtlm::fit_and_calibrate(p, std::span<const rtlm::prompt_features>(features),
                                std::span<const rtlm::tokens>(t), std::span<const std::uint64_t>(g),
                                calibrated, std::min(folds, distinct.size()), seed);
      });
    }
    bound_ = rtlm::adaptive_conformal_bound({.coverage = coverage_, .rate = rate_}, calibrated);
  }

  static std::vector<rtlm::prompt_features> extract_all(
      const rtlm::prompt_feature_extractor& extractor, const std::vector<std::string>& prompts) {
    std::vector<rtlm::prompt_features> features;
    features.reserve(prompts.size());
    for (const std::string& p : prompts) features.push_back(extractor.extract(p));
    return features;
  }
  static std::unique_ptr<rtlm::length_predictor> make(const std::string& kind) {
    if (kind == "regressor") return std::make_unique<rtlm::online_length_regressor>();
    if (kind == "classifier") return std::make_unique<rtlm::bucketed_length_classifier>();
    throw rtlm::error("LengthPredictor.kind", kind, "must be regressor or classifier");
  }
  // Calls `f` with the predictor as its concrete type (fit_and_calibrate copies it).
  template <class F>
  static void visit(rtlm::length_predictor& p, F&& f) {
    switch (p.kind()) {
      case rtlm::length_predictor_kind::online_regressor:
        f(static_cast<rtlm::online_length_regressor&>(p));
        return;
      case rtlm::length_predictor_kind::bucketed_classifier:
        f(static_cast<rtlm::bucketed_length_classifier&>(p));
        return;
    }
  }

 private:
  static double checked_coverage(double coverage) {
    rtlm::detail::require(coverage > 0.0 && coverage < 1.0, "LengthPredictor.coverage", coverage,
                          "must be in (0, 1)");
    return coverage;
  }

  double coverage_;
  double rate_;
  std::unique_ptr<rtlm::length_predictor> predictor_;
  rtlm::prompt_feature_extractor extractor_;
  rtlm::adaptive_conformal_bound bound_;
};

// Grouped k-fold cross-validation as eval_length_predictor runs it (rtlm::cross_validate): each
// prompt's out-of-fold mean, bound at `coverage` and uncertainty.
py::dict cross_validate_length(const std::vector<std::string>& prompts,
                               const std::vector<std::int64_t>& lengths,
                               const std::optional<std::vector<std::uint64_t>>& groups,
                               const std::string& kind, double coverage, std::size_t folds,
                               std::uint64_t seed) {
  rtlm::detail::require(coverage > 0.0 && coverage < 1.0, "cross_validate_length.coverage",
                        coverage, "must be in (0, 1)");
  std::unique_ptr<rtlm::length_predictor> prototype = python_length_predictor::make(kind);
  const rtlm::prompt_feature_extractor extractor(prototype->feature_config());
  const std::vector<rtlm::prompt_features> features =
      python_length_predictor::extract_all(extractor, prompts);
  const std::vector<rtlm::tokens> t = tokens_of(lengths);
  const std::vector<std::uint64_t> g = groups ? *groups : rtlm::feature_groups(features);
  const std::vector<double> coverages{coverage};
  std::vector<rtlm::out_of_fold_prediction> oof;
  python_length_predictor::visit(*prototype, [&](auto& p) {
    oof = rtlm::cross_validate(p, std::span<const rtlm::prompt_features>(features),
                               std::span<const rtlm::tokens>(t), std::span<const std::uint64_t>(g),
                               std::span<const double>(coverages), folds, seed);
  });
  std::vector<double> mean;
  std::vector<std::int64_t> bound;
  std::vector<double> uncertainty;
  std::vector<std::size_t> fold;
  for (const rtlm::out_of_fold_prediction& o : oof) {
    mean.push_back(o.mean);
    bound.push_back(o.bounds[0].length.count());
    uncertainty.push_back(o.uncertainty);
    fold.push_back(o.fold);
  }
  py::dict out;
  out["mean"] = mean;
  out["upper_bound"] = bound;
  out["uncertainty"] = uncertainty;
  out["fold"] = fold;
  return out;
}

}  // namespace

PYBIND11_MODULE(rtlm, m) {
  m.doc() = "rtlm: deadline- and time-budget-aware scheduling for LLM inference";
  m.attr("__version__") = rtlm::version_string;
  py::register_exception<rtlm::error>(m, "Error", PyExc_ValueError);
  usage_error_type =
      py::register_exception<rtlm::usage_error>(m, "UsageError", PyExc_RuntimeError).ptr();

  // ---- estimation -------------------------------------------------------------------------------
  py::class_<rtlm::step_time_estimator>(m, "StepTimeEstimator",
                                        "Predicted prefill and decode-step times, in seconds.")
      .def(
          "prefill_time",
          [](const rtlm::step_time_estimator& e, std::int64_t new_tokens, std::int64_t cached) {
            return e
                .prefill_time(count_of("new_tokens", new_tokens), count_of("cached_tokens", cached))
                .count();
          },
          py::arg("new_tokens"), py::arg("cached_tokens") = 0,
          "Seconds to prefill new_tokens after cached_tokens already in the KV cache.")
      .def(
          "decode_time",
          [](const rtlm::step_time_estimator& e, const std::vector<std::int64_t>& kv) {
            const std::vector<rtlm::tokens> t = counts_of("kv_lengths", kv);
            return e.decode_time(t).count();
          },
          py::arg("kv_lengths"), "Seconds of one decode step over sequences of these KV lengths.")
      .def(
          "prefill_upper_bound",
          [](const rtlm::step_time_estimator& e, std::int64_t n, std::int64_t cached, double lv) {
            return e
                .prefill_upper_bound(count_of("new_tokens", n), count_of("cached_tokens", cached),
                                     lv)
                .count();
          },
          py::arg("new_tokens"), py::arg("cached_tokens") = 0, py::arg("level") = 0.99,
          "The calibrated upper bound at `level` of prefill_time().")
      .def(
          "decode_upper_bound",
          [](const rtlm::step_time_estimator& e, const std::vector<std::int64_t>& kv, double lv) {
            const std::vector<rtlm::tokens> t = counts_of("kv_lengths", kv);
            return e.decode_upper_bound(t, lv).count();
          },
          py::arg("kv_lengths"), py::arg("level") = 0.99,
          "The calibrated upper bound at `level` of decode_time().");
  py::class_<rtlm::fitted_roofline_estimator, rtlm::step_time_estimator>(
      m, "FittedEstimator", "rtlm's roofline-feature estimator, fitted to a measured profile.");

  py::class_<rtlm::online_step_correction, rtlm::step_time_estimator>(
      m, "OnlineStepCorrection",
      "The scheduler's online update of an estimator (one per backend), to replay logged steps: "
      "observe_step() learns from a step, planned() is what the scheduler would plan next.")
      .def(py::init([](const rtlm::step_time_estimator& base, double weight) {
             return rtlm::online_step_correction(base, {.weight = weight});
           }),
           py::arg("base"), py::arg("weight") = 0.05, py::keep_alive<1, 2>())
      .def(
          "observe_step",
          [](rtlm::online_step_correction& c, double base_prefill, std::size_t prefills,
             double base_decode, double measured, std::optional<double> measured_prefill) {
            rtlm::step_observation o{.base_prefill = rtlm::seconds(base_prefill),
                                     .prefills = prefills,
                                     .base_decode = rtlm::seconds(base_decode),
                                     .measured = rtlm::seconds(measured)};
            if (measured_prefill) o.measured_prefill = rtlm::seconds(*measured_prefill);
            return c.observe_step(o);
          },
          py::arg("base_prefill"), py::arg("prefills"), py::arg("base_decode"), py::arg("measured"),
          py::arg("measured_prefill") = py::none(),
          "Learns from one step (base times of its parts, as the base estimator gives them); "
          "False when the step was ignored.")
      .def(
          "planned",
          [](const rtlm::online_step_correction& c, double base_prefill, std::size_t prefills,
             double base_decode) {
            return c.step_time(rtlm::seconds(base_prefill), prefills, rtlm::seconds(base_decode))
                .count();
          },
          py::arg("base_prefill"), py::arg("prefills"), py::arg("base_decode"),
          "Seconds the scheduler would plan for a step with these base times.")
      .def_property_readonly("prefill_scale", &rtlm::online_step_correction::prefill_scale)
      .def_property_readonly("prefill_offset", &rtlm::online_step_correction::prefill_offset)
      .def_property_readonly("decode_factor", &rtlm::online_step_correction::decode_factor);

  m.def(
      "fit_estimator",
      [](const std::string& profile_path, const std::string& model) {
        const rtlm::profile prof = rtlm::load_profile_csv(profile_path);
        const std::optional<rtlm::model_config> shape = rtlm::models::by_name(model);
        if (!shape) throw rtlm::error("model", model, "is not a known model shape");
        return rtlm::fit_roofline_estimator(
                   rtlm::step_featurizer{rtlm::model_shape(*shape),
                                         rtlm::hardware_spec(rtlm::accelerators::h100_sxm_bf16())},
                   prof)
            .estimator;
      },
      py::arg("profile_path"), py::arg("model") = "llama-3.1-8b",
      "Fits rtlm's estimator to a profile CSV (docs/estimator.md) measured on `model`.");

  // ---- time budgets -----------------------------------------------------------------------------
  py::class_<rtlm::time_budget_plan>(m, "BudgetPlan", "What the time-budget solver decided.")
      .def_readonly("alpha", &rtlm::time_budget_plan::alpha, "evicted share of the prompt's KV")
      .def_property_readonly("kept_tokens",
                             [](const rtlm::time_budget_plan& p) { return p.kept_tokens.count(); })
      .def_property_readonly("worst_case",
                             [](const rtlm::time_budget_plan& p) { return p.worst_case.count(); })
      .def_property_readonly("slack",
                             [](const rtlm::time_budget_plan& p) { return p.slack.count(); })
      .def_property_readonly(
          "shortfall",
          [](const rtlm::time_budget_plan& p) { return std::string(rtlm::to_string(p.shortfall)); })
      .def_property_readonly("feasible", &rtlm::time_budget_plan::feasible);

  py::class_<rtlm::time_budget_solver>(m, "TimeBudgetSolver",
                                       "The least KV eviction ratio that meets a time budget.")
      .def(py::init([](const rtlm::step_time_estimator& e, std::int64_t max_tokens) {
             return rtlm::time_budget_solver(
                 e, rtlm::request_table_options{.max_tokens = tokens_of(max_tokens)});
           }),
           py::arg("estimator"), py::arg("max_tokens") = 32768, py::keep_alive<1, 2>())
      .def(
          "solve",
          [](const rtlm::time_budget_solver& s, std::int64_t prompt_tokens,
             std::int64_t length_bound, double budget, double elapsed, double predictor_time,
             double alpha_max, double eviction_time) {
            rtlm::time_budget_problem p;
            p.budget = rtlm::seconds(budget);
            p.elapsed = rtlm::seconds(elapsed);
            p.predictor_time = rtlm::seconds(predictor_time);
            p.prompt_tokens = tokens_of(prompt_tokens);
            p.length_bound = tokens_of(length_bound);
            p.alpha_max = alpha_max;
            p.eviction_time = rtlm::seconds(eviction_time);
            return s.solve(p);
          },
          py::arg("prompt_tokens"), py::arg("length_bound"), py::arg("budget"),
          py::arg("elapsed") = 0.0, py::arg("predictor_time") = 0.0, py::arg("alpha_max") = 0.95,
          py::arg("eviction_time") = 0.0,
          "The smallest alpha in [0, alpha_max] whose worst case fits `budget` seconds; an "
          "eviction costs `eviction_time` seconds on top.");

  // ---- KV selection -----------------------------------------------------------------------------
  // The GIL is released while selecting, so a host can select several layers on threads.
  m.def("select_snapkv", snapkv_binding(&rtlm::select_snapkv), py::arg("window_probabilities"),
        py::arg("query_heads"), py::arg("kv_heads"), py::kw_only(), py::arg("alpha") = py::none(),
        py::arg("kept") = py::none(), py::arg("window") = 32, py::arg("kernel") = 5,
        py::arg("pooling") = "max", py::arg("gqa") = "kv_group_mean",
        "SnapKV's kept prompt positions for one layer, [heads, kept] int64, each row ascending. "
        "window_probabilities: float32 [query_heads * min(window, length), length], query head "
        "h's last window queries in rows [h w, (h + 1) w). Give alpha or kept "
        "(docs/kv-selection.md).");
  m.def("select_snapkv_from_window_scores", snapkv_binding(&rtlm::select_snapkv_from_window_scores),
        py::arg("window_scores"), py::arg("query_heads"), py::arg("kv_heads"), py::kw_only(),
        py::arg("alpha") = py::none(), py::arg("kept") = py::none(), py::arg("window") = 32,
        py::arg("kernel") = 5, py::arg("pooling") = "max", py::arg("gqa") = "kv_group_mean",
        "As select_snapkv, from the window's attention already summed per query head on the "
        "device: window_scores is float32 [query_heads, length].");

  // ---- length prediction ------------------------------------------------------------------------
  py::class_<rtlm::length_estimate>(m, "LengthEstimate", "A request's predicted output length.")
      .def(py::init([](double mean, std::int64_t upper_bound, double coverage, double uncertainty) {
             return rtlm::length_estimate{.mean_tokens = mean,
                                          .upper_bound = tokens_of(upper_bound),
                                          .bound_coverage = coverage,
                                          .uncertainty = uncertainty};
           }),
           py::arg("mean"), py::arg("upper_bound"), py::arg("coverage") = 0.9,
           py::arg("uncertainty") = 0.0)
      .def_readonly("mean", &rtlm::length_estimate::mean_tokens)
      .def_property_readonly("upper_bound",
                             [](const rtlm::length_estimate& e) { return e.upper_bound.count(); })
      .def_readonly("coverage", &rtlm::length_estimate::bound_coverage)
      .def_readonly("uncertainty", &rtlm::length_estimate::uncertainty);

  py::class_<python_length_predictor>(
      m, "LengthPredictor",
      "An output-length predictor over prompt text: kind 'regressor' (online) or 'classifier' "
      "(TimeBill-style buckets), with C++'s defaults. Its upper bound is an adaptive conformal "
      "bound at `coverage`: calibrated by fit() (grouped cross-fitting), kept at its coverage "
      "online by learn() (`rate`: the step of its tracked offset); before any calibration it is "
      "the predicted distribution's `coverage` quantile (`calibrated` is then False).")
      .def(py::init<const std::string&, double, double>(), py::arg("kind") = "regressor",
           py::arg("coverage") = 0.9, py::arg("rate") = rtlm::adaptive_bound_config{}.rate)
      .def("predict", &python_length_predictor::predict, py::arg("prompt"))
      .def("learn", &python_length_predictor::learn, py::arg("prompt"), py::arg("length"),
           "Learns from one completed request (the bound observes it first): 'learned', or "
           "'clipped' when the length was an outlier whose influence was bounded; rtlm.Error for "
           "a length outside [0, 2^24].")
      .def_property_readonly("clipped_observations", &python_length_predictor::clipped,
                             "learn() calls whose outlier was clipped")
      .def_property_readonly("calibrated", &python_length_predictor::calibrated,
                             "whether upper_bound is the calibrated conformal bound")
      .def_property_readonly("level", &python_length_predictor::level,
                             "the adaptive bound's current level over its calibration scores")
      .def_property_readonly("calibration_scores", &python_length_predictor::calibration_scores)
      .def("fit", &python_length_predictor::fit, py::arg("prompts"), py::arg("lengths"),
           py::arg("groups") = py::none(), py::arg("folds") = 5, py::arg("seed") = 0,
           "Trains and calibrates the bound by grouped cross-fitting (fit_and_calibrate); "
           "`groups`, one int per prompt, keep each group in one fold (default: identical "
           "prompts share a group). With fewer distinct groups than `folds`, one fold per group; "
           "with a single group, no calibration (`calibrated` stays False until learn()).");
  m.def("cross_validate_length", &cross_validate_length, py::arg("prompts"), py::arg("lengths"),
        py::arg("groups") = py::none(), py::arg("kind") = "regressor", py::arg("coverage") = 0.9,
        py::arg("folds") = 5, py::arg("seed") = 0,
        "Grouped k-fold cross-validation as eval_length_predictor runs it: a dict of per-prompt "
        "out-of-fold 'mean', 'upper_bound' (calibrated inside the training folds), "
        "'uncertainty' and 'fold'.");

  // ---- the backend interface --------------------------------------------------------------------
  py::class_<rtlm::backend_capabilities>(m, "Capabilities", "What a backend can do.")
      .def(py::init([](std::int64_t kv_capacity, std::string name, std::string device,
                       int max_batch_size, std::int64_t max_step_tokens, bool can_chunk_prefill,
                       bool can_evict_kv, bool can_preempt_recompute, bool can_preempt_swap,
                       std::int64_t kv_block_size, std::int64_t max_tokens_per_outcome) {
             rtlm::backend_capabilities c;
             c.name = std::move(name);
             c.device = device_named(device);
             c.kv_capacity = tokens_of(kv_capacity);
             c.max_batch_size = max_batch_size;
             c.max_step_tokens = tokens_of(max_step_tokens);
             c.can_chunk_prefill = can_chunk_prefill;
             c.can_evict_kv = can_evict_kv;
             c.can_preempt_recompute = can_preempt_recompute;
             c.can_preempt_swap = can_preempt_swap;
             c.kv_block_size = tokens_of(kv_block_size);
             c.max_tokens_per_outcome = tokens_of(max_tokens_per_outcome);
             c.validate();
             return c;
           }),
           py::arg("kv_capacity"), py::arg("name") = "gpu0", py::arg("device") = "gpu",
           py::arg("max_batch_size") = 0, py::arg("max_step_tokens") = 0,
           py::arg("can_chunk_prefill") = false, py::arg("can_evict_kv") = false,
           py::arg("can_preempt_recompute") = false, py::arg("can_preempt_swap") = false,
           py::arg("kv_block_size") = 1, py::arg("max_tokens_per_outcome") = 1)
      .def_readonly("name", &rtlm::backend_capabilities::name)
      .def_property_readonly("device",
                             [](const rtlm::backend_capabilities& c) {
                               return std::string(rtlm::to_string(c.device));
                             })
      .def_property_readonly(
          "kv_capacity", [](const rtlm::backend_capabilities& c) { return c.kv_capacity.count(); })
      .def_property_readonly(
          "kv_block_size",
          [](const rtlm::backend_capabilities& c) { return c.kv_block_size.count(); })
      .def_property_readonly(
          "max_tokens_per_outcome",
          [](const rtlm::backend_capabilities& c) { return c.max_tokens_per_outcome.count(); })
      .def_readonly("max_batch_size", &rtlm::backend_capabilities::max_batch_size)
      .def_readonly("can_evict_kv", &rtlm::backend_capabilities::can_evict_kv);

  py::class_<rtlm::prefill_assignment>(m, "Prefill")
      .def_property_readonly("id", [](const rtlm::prefill_assignment& p) { return id_of(p.id); })
      .def_property_readonly("new_tokens",
                             [](const rtlm::prefill_assignment& p) { return p.new_tokens.count(); })
      .def_property_readonly(
          "computed_tokens",
          [](const rtlm::prefill_assignment& p) { return p.computed_tokens.count(); })
      .def_readonly("final_chunk", &rtlm::prefill_assignment::final_chunk);
  py::class_<rtlm::decode_assignment>(m, "Decode")
      .def_property_readonly("id", [](const rtlm::decode_assignment& d) { return id_of(d.id); })
      .def_property_readonly("kv_length",
                             [](const rtlm::decode_assignment& d) { return d.kv_length.count(); });
  py::class_<rtlm::kv_eviction>(m, "Eviction")
      .def_property_readonly("id", [](const rtlm::kv_eviction& e) { return id_of(e.id); })
      .def_readonly("eviction_ratio", &rtlm::kv_eviction::eviction_ratio)
      .def_property_readonly("kept_tokens",
                             [](const rtlm::kv_eviction& e) { return e.kept_tokens.count(); });
  py::class_<rtlm::preemption>(m, "Preemption")
      .def_property_readonly("id", [](const rtlm::preemption& p) { return id_of(p.id); })
      .def_property_readonly("mode", [](const rtlm::preemption& p) {
        return std::string(p.mode == rtlm::preemption_mode::swap ? "swap" : "recompute");
      });

  const auto ids = [](const std::vector<rtlm::request_id>& v) {
    std::vector<std::uint64_t> out;
    out.reserve(v.size());
    for (const rtlm::request_id id : v) out.push_back(id_of(id));
    return out;
  };
  py::class_<rtlm::step_plan>(m, "StepPlan",
                              "One step for a backend: release, preempt, swap in and evict, then "
                              "compute the prefills and then the decodes, in this order.")
      .def_property_readonly("releases",
                             [ids](const rtlm::step_plan& p) { return ids(p.releases); })
      .def_readonly("preemptions", &rtlm::step_plan::preemptions)
      .def_property_readonly("swap_ins",
                             [ids](const rtlm::step_plan& p) { return ids(p.swap_ins); })
      .def_readonly("evictions", &rtlm::step_plan::evictions)
      .def_readonly("prefills", &rtlm::step_plan::prefills)
      .def_readonly("decodes", &rtlm::step_plan::decodes)
      .def("computed", &rtlm::step_plan::computed, "prefills plus decodes");

  py::class_<rtlm::step_result>(m, "StepResult",
                                "What a backend's step did: one outcome per computed sequence, "
                                "in plan order, and the measured seconds.")
      .def(py::init([](const std::vector<std::tuple<std::uint64_t, std::int64_t, bool>>& outcomes,
                       double step_time, std::optional<double> prefill_time) {
             rtlm::step_result r;
             for (const auto& [id, generated, finished] : outcomes) {
               r.outcomes.push_back({.id = rtlm::request_id{id},
                                     .generated = tokens_of(generated),
                                     .finished = finished});
             }
             r.step_time = rtlm::seconds(step_time);
             if (prefill_time) r.prefill_time = rtlm::seconds(*prefill_time);
             return r;
           }),
           py::arg("outcomes"), py::arg("step_time"), py::arg("prefill_time") = py::none(),
           "outcomes: (request id, tokens generated this step, finished) per computed sequence; "
           "prefill_time: the seconds of the step's prefills alone, for a host that times them "
           "apart from its decodes (the estimator's online update then learns each part on its "
           "own)");

  py::class_<rtlm::model_backend, python_backend>(
      m, "Backend",
      "A model runtime: subclass it, pass Capabilities to __init__, and define run_step(plan) "
      "returning a StepResult.")
      .def(py::init<rtlm::backend_capabilities>(), py::arg("capabilities"))
      .def_property_readonly("capabilities", &rtlm::model_backend::capabilities,
                             py::return_value_policy::reference_internal);

  // ---- scheduling -------------------------------------------------------------------------------
  py::class_<rtlm::slo_class>(
      m, "SloClass",
      "A class of service: the TTFT and TPOT targets and time budget (seconds) its requests get "
      "where they set none, and whether relegation='shed_sheddable' may refuse them. "
      "SchedulerConfig(slo_classes=...) checks the values.")
      .def(py::init([](std::string name, std::optional<double> ttft, std::optional<double> tpot,
                       std::optional<double> time_budget, bool sheddable) {
             rtlm::slo_class c;
             c.name = std::move(name);
             if (ttft) c.ttft = rtlm::seconds(*ttft);
             if (tpot) c.tpot = rtlm::seconds(*tpot);
             if (time_budget) c.time_budget = rtlm::seconds(*time_budget);
             c.sheddable = sheddable;
             return c;
           }),
           py::arg("name"), py::arg("ttft") = py::none(), py::arg("tpot") = py::none(),
           py::arg("time_budget") = py::none(), py::arg("sheddable") = false)
      .def_readonly("name", &rtlm::slo_class::name)
      .def_property_readonly("ttft",
                             [](const rtlm::slo_class& c) { return seconds_or_none(c.ttft); })
      .def_property_readonly("tpot",
                             [](const rtlm::slo_class& c) { return seconds_or_none(c.tpot); })
      .def_property_readonly(
          "time_budget", [](const rtlm::slo_class& c) { return seconds_or_none(c.time_budget); })
      .def_readonly("sheddable", &rtlm::slo_class::sheddable)
      .def("__repr__", [](const rtlm::slo_class& c) {
        const auto s = [](const std::optional<rtlm::seconds>& v) {
          return v ? fmt::format("{}", v->count()) : std::string("None");
        };
        return fmt::format("SloClass(name={}, ttft={}, tpot={}, time_budget={}, sheddable={})",
                           std::string(py::repr(py::str(c.name))), s(c.ttft), s(c.tpot),
                           s(c.time_budget), c.sheddable ? "True" : "False");
      });

  py::class_<rtlm::scheduler_config>(m, "SchedulerConfig", "How a scheduler is configured.")
      .def(py::init([](const std::string& policy, const std::string& admission, bool consolidate,
                       double alpha_max, double bound_level, std::size_t max_requests,
                       std::int64_t max_step_tokens, std::int64_t default_output_tokens,
                       bool preempt_for_priority, double priority_preemption_margin,
                       bool admission_at_current_pace, const std::string& kv_rule,
                       bool admit_after_preemption, bool aging,
                       const std::vector<py::object>& slo_classes, const std::string& relegation,
                       bool tpot_budget, double tpot_headroom, std::int64_t min_prefill_tokens,
                       std::int64_t tenants, const std::vector<double>& tenant_weights,
                       double prefill_weight, double decode_weight) {
             rtlm::scheduler_config c;
             c.policy = policy_named(policy);
             c.admission = admission_named(admission);
             c.consolidate = consolidate;
             c.alpha_max = alpha_max;
             c.bound_level = bound_level;
             c.max_requests = max_requests;
             c.intake_capacity = std::min<std::size_t>(max_requests, c.intake_capacity);
             c.intake_shards = 1;  // Python's threads submit one at a time (the GIL)
             c.max_step_tokens = tokens_of(max_step_tokens);
             c.default_output_tokens = tokens_of(default_output_tokens);
             c.preempt_for_priority = preempt_for_priority;
             c.priority_preemption_margin = priority_preemption_margin;
             c.admission_at_current_pace = admission_at_current_pace;
             const std::optional<rtlm::kv_reservation> rule =
                 rtlm::kv_reservation_from_string(kv_rule);
             if (!rule) {
               throw rtlm::error("SchedulerConfig.kv_rule", kv_rule,
                                 "must be predicted_bound or on_demand");
             }
             c.kv_rule = *rule;
             c.admit_after_preemption = admit_after_preemption;
             c.policies.predicted_length.age = aging;
             c.policies.remaining_work.age = aging;
             c.policies.length_distribution.age = aging;
             for (std::size_t i = 0; i < slo_classes.size(); ++i) {
               c.slo.classes.push_back(
                   slo_class_of(fmt::format("SchedulerConfig.slo_classes[{}]", i), slo_classes[i]));
             }
             c.slo.relegation = relegation_named(relegation);
             c.slo.tpot_budget = tpot_budget;
             c.slo.tpot_headroom = tpot_headroom;
             c.slo.min_prefill_tokens = tokens_of(min_prefill_tokens);
             // Negative: named as the C++ check names a count out of range.
             rtlm::detail::require(tenants >= 0, "scheduler_config.fairness.tenants", tenants,
                                   "must be in 0..64 (0: fairness off)");
             c.fairness.tenants = static_cast<std::size_t>(tenants);
             c.fairness.tenant_weights = tenant_weights;
             c.fairness.prefill_weight = prefill_weight;
             c.fairness.decode_weight = decode_weight;
             c.validate();
             return c;
           }),
           py::arg("policy") = "uncertainty_aware_priority", py::arg("admission") = "reject",
           py::arg("consolidate") = false, py::arg("alpha_max") = 0.9, py::arg("bound_level") = 0.0,
           py::arg("max_requests") = 16384, py::arg("max_step_tokens") = 2048,
           py::arg("default_output_tokens") = 256, py::arg("preempt_for_priority") = false,
           py::arg("priority_preemption_margin") = 1.0,
           py::arg("admission_at_current_pace") = false, py::arg("kv_rule") = "predicted_bound",
           py::arg("admit_after_preemption") = true, py::arg("aging") = true,
           py::arg("slo_classes") = std::vector<py::object>{}, py::arg("relegation") = "off",
           // The C++ defaults, so that the two never drift apart.
           py::arg("tpot_budget") = false,
           py::arg("tpot_headroom") = rtlm::slo_config{}.tpot_headroom,
           py::arg("min_prefill_tokens") = rtlm::slo_config{}.min_prefill_tokens.count(),
           py::arg("tenants") = 0, py::arg("tenant_weights") = std::vector<double>{},
           py::arg("prefill_weight") = rtlm::fairness_config{}.prefill_weight,
           py::arg("decode_weight") = rtlm::fairness_config{}.decode_weight,
           "slo_classes: SloClass objects or dicts of their fields, named by submit(slo_class=); "
           "relegation: off, demote or shed_sheddable; tpot_budget: size each step to the "
           "running requests' TPOT targets (times tpot_headroom, prefilling at least "
           "min_prefill_tokens); tenants: 0 (fairness off) or how many tenants submit(tenant=) "
           "counts, with tenant_weights (empty: all 1) and the virtual-token costs of a prompt "
           "token (prefill_weight) and an output token (decode_weight).")
      .def_property_readonly("policy",
                             [](const rtlm::scheduler_config& c) {
                               return std::string(rtlm::to_string(c.policy.value_or(
                                   rtlm::policy_kind::uncertainty_aware_priority)));
                             })
      .def_property_readonly(
          "admission",
          [](const rtlm::scheduler_config& c) { return std::string(rtlm::to_string(c.admission)); })
      .def_readonly("consolidate", &rtlm::scheduler_config::consolidate)
      .def_readonly("preempt_for_priority", &rtlm::scheduler_config::preempt_for_priority)
      .def_readonly("admission_at_current_pace", &rtlm::scheduler_config::admission_at_current_pace)
      .def_property_readonly(
          "kv_rule",
          [](const rtlm::scheduler_config& c) { return std::string(rtlm::to_string(c.kv_rule)); })
      .def_readonly("admit_after_preemption", &rtlm::scheduler_config::admit_after_preemption)
      .def_property_readonly(
          "aging",
          [](const rtlm::scheduler_config& c) { return c.policies.length_distribution.age; })
      .def_readonly("alpha_max", &rtlm::scheduler_config::alpha_max)
      .def_property_readonly(
          "slo_classes", [](const rtlm::scheduler_config& c) { return c.slo.classes; },
          "the SLO classes, as SloClass objects (copies)")
      .def_property_readonly("relegation",
                             [](const rtlm::scheduler_config& c) {
                               return std::string(rtlm::to_string(c.slo.relegation));
                             })
      .def_property_readonly("tpot_budget",
                             [](const rtlm::scheduler_config& c) { return c.slo.tpot_budget; })
      .def_property_readonly("tpot_headroom",
                             [](const rtlm::scheduler_config& c) { return c.slo.tpot_headroom; })
      .def_property_readonly(
          "min_prefill_tokens",
          [](const rtlm::scheduler_config& c) { return c.slo.min_prefill_tokens.count(); })
      .def_property_readonly("tenants",
                             [](const rtlm::scheduler_config& c) { return c.fairness.tenants; })
      .def_property_readonly(
          "tenant_weights",
          [](const rtlm::scheduler_config& c) { return c.fairness.tenant_weights; })
      .def_property_readonly(
          "prefill_weight",
          [](const rtlm::scheduler_config& c) { return c.fairness.prefill_weight; })
      .def_property_readonly("decode_weight", [](const rtlm::scheduler_config& c) {
        return c.fairness.decode_weight;
      });

  py::class_<python_step_report>(m, "StepReport", "What one step did.")
      .def_readonly("backend", &python_step_report::backend)
      .def_readonly("status", &python_step_report::status, "ok, unsupported, backend_failure, ...")
      .def_readonly("error", &python_step_report::error, "the backend's message when not ok")
      .def_readonly("computed", &python_step_report::computed)
      .def_readonly("finished", &python_step_report::finished)
      .def_readonly("affected", &python_step_report::affected, "the ids of a failed step")
      .def_readonly("predicted", &python_step_report::predicted, "planned step seconds")
      .def_readonly("measured", &python_step_report::measured, "measured step seconds")
      .def_readonly("base_prefill", &python_step_report::base_prefill,
                    "the base estimator's seconds for the plan's prefills, before the online "
                    "correction")
      .def_readonly("base_decode", &python_step_report::base_decode,
                    "the base estimator's seconds for the plan's decodes, likewise");

  // Cyclic garbage collection (see python_scheduler): a backend that keeps its scheduler.
  const py::custom_type_setup collectable([](PyHeapTypeObject* heap_type) {
    PyTypeObject* type = &heap_type->ht_type;
    type->tp_flags |= Py_TPFLAGS_HAVE_GC;
    type->tp_traverse = [](PyObject* self, visitproc visit, void* arg) {
      Py_VISIT(Py_TYPE(self));  // a heap type's instances keep their type alive
      const python_scheduler* s = scheduler_of(self);
      return s != nullptr ? s->traverse(visit, arg) : 0;
    };
    type->tp_clear = [](PyObject* self) {
      if (python_scheduler* s = scheduler_of(self)) s->clear();
      return 0;
    };
  });
  py::class_<python_scheduler>(
      m, "Scheduler", collectable,
      "RT-LM's scheduler for continuous batching: submit requests, then step each backend. One "
      "call at a time: a call from inside its own observer or backend, or from a second thread "
      "while another is inside, raises rtlm.UsageError.")
      .def(py::init<const rtlm::scheduler_config&>(), py::arg("config") = rtlm::scheduler_config{})
      .def(
          "add_backend",
          [](python_scheduler& s, py::object backend, py::object estimator) {
            return python_call::run(
                [&] { return s.add_backend(std::move(backend), std::move(estimator)); });
          },
          py::arg("backend"), py::arg("estimator"),
          "Adds a backend timed by `estimator`; returns its index.")
      .def(
          "set_observer",
          [](python_scheduler& s, std::optional<py::function> f) {
            python_call::run([&] { s.set_observer(std::move(f)); });
          },
          py::arg("on_event"),
          "on_event(kind, id, reason, backend, at) for every request event; None for none. An "
          "exception it raises is raised from the Scheduler call that emitted the event, once "
          "that call has returned (the first one; later ones are reported as unraisable).")
      .def(
          "submit",
          [](python_scheduler& s, std::uint64_t id, std::int64_t prompt_tokens, double arrival,
             std::optional<double> deadline, std::optional<double> time_budget,
             const std::string& priority, std::optional<std::int64_t> max_new_tokens,
             std::optional<rtlm::length_estimate> predicted, std::optional<double> ttft_target,
             std::optional<double> tpot_target, std::optional<std::string> slo_class,
             std::int64_t tenant) {
            rtlm::request r;
            r.id = rtlm::request_id{id};
            r.prompt_tokens = tokens_of(prompt_tokens);
            r.arrival = at("arrival", arrival);
            if (deadline) r.deadline = at("deadline", *deadline);
            if (time_budget) r.time_budget = duration_of("time_budget", *time_budget);
            r.priority = priority_named(priority);
            if (max_new_tokens) r.max_new_tokens = tokens_of(*max_new_tokens);
            r.predicted_length = predicted;
            // Unchecked here: request::validate() names a target out of range.
            if (ttft_target) r.ttft_target = rtlm::seconds(*ttft_target);
            if (tpot_target) r.tpot_target = rtlm::seconds(*tpot_target);
            if (slo_class) r.slo_class = s.slo_class_index(*slo_class);
            rtlm::detail::require(tenant >= 0 && tenant <= std::int64_t{0xffffffff},
                                  "request.tenant", tenant, "must be in [0, 2^32)");
            r.tenant = static_cast<std::uint32_t>(tenant);
            const rtlm::submit_status status = python_call::run([&] { return s.get().submit(r); });
            if (status == rtlm::submit_status::invalid) {
              // Each throws, naming the field: the request's own, then what the config refuses.
              r.validate();
              s.get().config().validate_request(r);
              throw rtlm::error("request", fmt::format("{}", id), "was refused as invalid");
            }
            return status == rtlm::submit_status::accepted;
          },
          py::arg("id"), py::arg("prompt_tokens"), py::arg("arrival") = 0.0,
          py::arg("deadline") = py::none(), py::arg("time_budget") = py::none(),
          py::arg("priority") = "standard", py::arg("max_new_tokens") = py::none(),
          py::arg("predicted") = py::none(), py::arg("ttft_target") = py::none(),
          py::arg("tpot_target") = py::none(), py::arg("slo_class") = py::none(),
          py::arg("tenant") = 0,
          "Queues a request; False when the intake is full (nothing was queued); raises "
          "rtlm.Error for an invalid request. ttft_target and tpot_target: seconds, in (0, 1e9]; "
          "slo_class: the name of one of the config's slo_classes (its targets and budget fill "
          "those left None); tenant: below the config's tenants when fairness is on.")
      .def(
          "cancel",
          [](python_scheduler& s, std::uint64_t id) {
            return python_call::run([&] { return s.get().cancel(rtlm::request_id{id}); }) ==
                   rtlm::cancel_status::accepted;
          },
          py::arg("id"), "Queues a cancellation; False when the cancellation queue is full.")
      .def(
          "step",
          [](python_scheduler& s, std::size_t b, double now) {
            const rtlm::time_point t = at("now", now);
            return to_python(python_call::run([&] { return s.get().step(s.backend(b), t); }));
          },
          py::arg("backend"), py::arg("now"),
          "Plans backend `backend`'s step at `now`, runs it, and applies what it did.")
      .def(
          "plan_step",
          [](python_scheduler& s, std::size_t b, double now) {
            const rtlm::time_point t = at("now", now);
            // A copy: Python may keep it.
            return python_call::run(
                [&] { return rtlm::step_plan(s.get().plan_step(s.backend(b), t)); });
          },
          py::arg("backend"), py::arg("now"),
          "The plan of backend `backend`'s next step (the same until complete_step()).")
      .def(
          "complete_step",
          [](python_scheduler& s, std::size_t b, const rtlm::step_result& result, double now) {
            const rtlm::time_point t = at("now", now);
            return to_python(python_call::run([&] {
              return s.get().complete_step(s.backend(b), rtlm::step_status::ok, result, t);
            }));
          },
          py::arg("backend"), py::arg("result"), py::arg("now"),
          "Applies a step the host ran itself, finished at `now`.")
      .def("update_prediction",
           [](python_scheduler& s, std::uint64_t id, const rtlm::length_estimate& e) {
             return python_call::run(
                 [&] { return s.get().update_prediction(rtlm::request_id{id}, e); });
           })
      .def("waiting",
           [](python_scheduler& s, std::size_t b) { return s.get().waiting(s.backend(b)); })
      .def("running",
           [](python_scheduler& s, std::size_t b) { return s.get().running(s.backend(b)); })
      .def("swapped_out",
           [](python_scheduler& s, std::size_t b) { return s.get().swapped_out(s.backend(b)); })
      .def("reserved_kv",
           [](python_scheduler& s, std::size_t b) {
             const std::size_t checked = s.backend(b);
             return s.get().reserved_kv(checked).count();
           })
      .def("eviction_ratio",
           [](python_scheduler& s, std::uint64_t id) {
             return s.get().eviction_ratio(rtlm::request_id{id});
           })
      .def_property_readonly("live_requests",
                             [](python_scheduler& s) { return s.get().live_requests(); });

  // ---- simulation -------------------------------------------------------------------------------
  py::class_<rtlm::sim::trace>(m, "Trace", "Arrivals and token counts of a workload.")
      .def("__len__", [](const rtlm::sim::trace& t) { return t.requests.size(); })
      .def_property_readonly("span", &rtlm::sim::trace::span, "seconds from first to last arrival")
      .def("stretched", &rtlm::sim::stretch_arrivals, py::arg("factor"),
           "The trace with every inter-arrival gap multiplied by `factor`.")
      .def("first_seconds", &rtlm::sim::first_seconds, py::arg("seconds"));
  py::class_<rtlm::sim::trace_request>(m, "TraceRequest")
      .def_readonly("arrival", &rtlm::sim::trace_request::arrival, "seconds after the first")
      .def_property_readonly("prompt_tokens",
                             [](const rtlm::sim::trace_request& r) { return r.prompt.count(); })
      .def_property_readonly("output_tokens",
                             [](const rtlm::sim::trace_request& r) { return r.output.count(); });
  m.def(
      "trace_requests", [](const rtlm::sim::trace& t) { return t.requests; }, py::arg("trace"),
      "The trace's requests, in arrival order.");

  py::class_<rtlm::sim::length_noise_model>(
      m, "LengthNoiseModel",
      "Predictions for requests without text (traces), drawn from a real predictor's measured "
      "errors: load_length_errors(path, generator).")
      .def(
          "predict",
          [](const rtlm::sim::length_noise_model& n, std::int64_t true_length, std::uint64_t key) {
            return n.predict(tokens_of(true_length), key);
          },
          py::arg("true_length"), py::arg("key"))
      .def("describe", &rtlm::sim::length_noise_model::describe);
  m.def("load_length_errors", &rtlm::sim::load_length_errors, py::arg("path"), py::arg("generator"),
        "The length-noise model of `generator`'s rows in a length-errors CSV "
        "(benchmarks/data/length_errors/; evaluation use only: CC BY-NC 4.0).");

  m.def("load_trace", &rtlm::sim::load_trace, py::arg("path"),
        "An Azure LLM trace CSV, a Mooncake JSON Lines file, or a "
        "timestamp_ms,input_length,output_length CSV.");

  py::class_<rtlm::sim::simulation_metrics>(
      m, "SimulationMetrics", "One run's figures (docs/methods.md, 'Simulator evaluation').")
      .def_readonly("requests", &rtlm::sim::simulation_metrics::requests)
      .def_readonly("finished", &rtlm::sim::simulation_metrics::finished)
      .def_readonly("rejected", &rtlm::sim::simulation_metrics::rejected)
      .def_readonly("mean_latency", &rtlm::sim::simulation_metrics::mean_latency)
      .def_readonly("p50_latency", &rtlm::sim::simulation_metrics::p50_latency)
      .def_readonly("p99_latency", &rtlm::sim::simulation_metrics::p99_latency)
      .def_readonly("mean_ttft", &rtlm::sim::simulation_metrics::mean_ttft)
      .def_readonly("mean_tpot", &rtlm::sim::simulation_metrics::mean_tpot)
      .def_readonly("deadline_miss_rate", &rtlm::sim::simulation_metrics::deadline_miss_rate)
      .def_readonly("goodput", &rtlm::sim::simulation_metrics::goodput)
      .def_readonly("throughput", &rtlm::sim::simulation_metrics::throughput)
      .def_readonly("max_queue_wait", &rtlm::sim::simulation_metrics::max_queue_wait)
      .def_readonly("utilization", &rtlm::sim::simulation_metrics::utilization)
      .def_readonly("mean_eviction", &rtlm::sim::simulation_metrics::mean_eviction)
      .def_readonly("preemptions", &rtlm::sim::simulation_metrics::preemptions);

  m.def(
      "simulate",
      [](const rtlm::sim::trace& t, const rtlm::step_time_estimator& e,
         const rtlm::backend_capabilities& caps, const rtlm::scheduler_config& config,
         std::optional<double> deadline_slack, std::optional<py::function> predict,
         double swap_seconds_per_token) {
        rtlm::sim::simulation_config c;
        c.scheduler = config;
        c.backends.push_back(
            {.config = {.capabilities = caps, .swap_seconds_per_token = swap_seconds_per_token},
             .estimator = &e});
        c.deadlines.rule = deadline_slack ? rtlm::sim::deadline_rule::kind::slack
                                          : rtlm::sim::deadline_rule::kind::none;
        if (deadline_slack) c.deadlines.slack = *deadline_slack;
        if (predict) {
          // Copies of c.predict share one reference to the Python function, so copying and
          // destroying them while the GIL is released touches no Python object; `c`, destroyed
          // below with the GIL held, drops the last one.
          auto f = std::make_shared<py::function>(std::move(*predict));
          c.predict = [f](std::size_t i, const rtlm::sim::trace_request& q) {
            const py::gil_scoped_acquire gil;
            return (*f)(i, q.prompt.count(), q.output.count())
                .cast<std::optional<rtlm::length_estimate>>();
          };
        }
        // The run touches no Python object (predict takes the GIL back), so other threads run.
        const py::gil_scoped_release unlocked;
        return rtlm::sim::summarize(rtlm::sim::simulate(t, c));
      },
      py::arg("trace"), py::arg("estimator"), py::arg("capabilities"),
      py::arg("config") = rtlm::scheduler_config{}, py::arg("deadline_slack") = py::none(),
      py::arg("predict") = py::none(), py::arg("swap_seconds_per_token") = 0.0,
      "Replays `trace` through the scheduler on one simulated backend timed by `estimator`. "
      "deadline_slack: deadline = arrival + slack x isolated service time (None: no deadlines). "
      "predict(index, prompt_tokens, true_output_tokens) -> LengthEstimate or None. "
      "swap_seconds_per_token: what moving one token's KV to or from host memory costs, where "
      "capabilities.can_preempt_swap.");
}
