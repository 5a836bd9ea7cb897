// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/config.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/estimate/step_time_estimator.hpp"

namespace rtlm {

/// Settings of a request_time_table. Aggregate: build it with designated initializers.
struct request_table_options {
  tokens max_tokens{131072};  ///< prompt and KV lengths tabulated; longer ones extrapolate
  tokens cell{64};            ///< grid step in tokens, a power of two in [1, max_tokens]
  double level = 0.0;  ///< 0: the estimator's expected times; in (0, 1): its calibrated upper
                       ///< bounds at this level (step_time_estimator::prefill_upper_bound)
};

/// One request's prefill time by prompt length and its decode time summed over any run of
/// decode steps, tabulated once from an estimator so that the budget solver and the in-flight
/// replanner never loop over thousands of steps.
///
/// The table keeps, per grid cell of `cell` tokens, the exact cumulative decode time at the
/// cell's start and the least and greatest step time inside it; a run's time is then bounded
/// from above in O(1) without assuming anything of the estimator's shape, and is exact at cell
/// edges. Lengths past max_tokens extrapolate the last two cells linearly (a projection, not a
/// bound). A single sequence (batch 1) is what TimeBill plans for; build a table from any other
/// per-step cost (say, a request's share of a typical batch) with the callable constructor.
///
/// Construction evaluates the estimator at every length up to max_tokens (about 8 ms for the
/// default 131072 with rtlm's fitted estimator) and allocates O(max_tokens / cell). Queries are
/// O(1) or O(log cells), noexcept, allocation-free and safe from many threads at once.
class request_time_table {
 public:
  /// Tabulates `estimator` for one sequence: prefill_time(n, 0) and decode_time({kv}), or their
  /// upper bounds when options.level is in (0, 1). Throws rtlm::error naming the bad option,
  /// or the length at which the estimator returned a negative or non-finite time.
  explicit request_time_table(const step_time_estimator& estimator,
                              request_table_options options = {});

  /// Tabulates any per-request costs: `prefill(n)` for a prompt of n tokens and `decode_step(kv)`
  /// for one decode step over kv cached tokens, both returning seconds. options.level is
  /// ignored. Throws as the estimator constructor does.
  template <class Prefill, class DecodeStep>
  requires std::invocable<const Prefill&, tokens> && std::invocable<const DecodeStep&, tokens>
  request_time_table(const Prefill& prefill, const DecodeStep& decode_step,
                     request_table_options options = {}) {
    init_grid(options);
    fill(prefill, decode_step,
         [](const char* what, tokens n, double v) { return checked(what, n, v); });
    finish_grid();
  }

  /// Tabulates `estimator`'s expected times again, in place, on the same grid: for an estimator
  /// that learns (online_step_correction), so that the solver follows it. A negative or
  /// non-finite time counts as 0 and makes it return false. O(max_tokens) estimator calls; no
  /// allocation.
  bool retabulate(const step_time_estimator& estimator) noexcept {
    cumulative_.clear();
    decode_lo_.clear();
    decode_hi_.clear();
    prefill_hi_.clear();
    cumulative_.push_back(0.0);
    bool ok = true;
    fill(
        [&](tokens n) {
          return n.count() == 0 ? seconds(0) : estimator.prefill_time(n, tokens(0));
        },
        [&](tokens kv) {
          const std::array<tokens, 1> batch{kv};
          return estimator.decode_time(batch);
        },
        [&](const char* /*what*/, tokens /*n*/, double v) {
          if (std::isfinite(v) && v >= 0.0) return v;
          ok = false;
          return 0.0;
        });
    finish_grid();
    return ok;
  }

  /// An upper bound on the prefill time of a prompt of `prompt` tokens: the greatest time in
  /// its cell (0 for an empty prompt). O(1).
  [[nodiscard]] seconds prefill_time(tokens prompt) const noexcept;
  /// An upper bound on the time of `steps` decode steps whose KV lengths are first_kv,
  /// first_kv + 1, ..., first_kv + steps - 1; exact when both ends fall on cell edges. O(1).
  [[nodiscard]] seconds decode_run_time(tokens first_kv, tokens steps) const noexcept;
  /// The most decode steps from `first_kv` whose decode_run_time fits in `budget` (0 when the
  /// budget is not positive). O(log cells).
  [[nodiscard]] tokens max_decode_steps(tokens first_kv, seconds budget) const noexcept;

  /// The tabulated lengths and the grid step. O(1).
  [[nodiscard]] tokens max_tokens() const noexcept { return tokens(cells_ << shift_); }
  [[nodiscard]] tokens cell() const noexcept { return tokens(std::int64_t{1} << shift_); }

 private:
  // Appends every cell's figures from `prefill` and `decode_step`, each value passed through
  // `check(what, length, value)`.
  template <class Prefill, class DecodeStep, class Check>
  void fill(const Prefill& prefill, const DecodeStep& decode_step, const Check& check) {
    const auto cells = static_cast<std::size_t>(cells_);
    const std::int64_t cell = std::int64_t{1} << shift_;
    for (std::size_t i = 0; i < cells; ++i) {
      double decode_lo = INFINITY;
      double decode_hi = 0.0;
      double prefill_hi = 0.0;
      double sum = 0.0;
      for (std::int64_t j = 0; j < cell; ++j) {
        const tokens n(static_cast<std::int64_t>(i) * cell + j);
        const double d = check("decode_step", n, seconds(decode_step(n)).count());
        const double p = check("prefill", n, seconds(prefill(n)).count());
        decode_lo = std::min(decode_lo, d);
        decode_hi = std::max(decode_hi, d);
        prefill_hi = std::max(prefill_hi, p);
        sum += d;
      }
      decode_lo_.push_back(decode_lo);
      decode_hi_.push_back(decode_hi);
      prefill_hi_.push_back(prefill_hi);
      cumulative_.push_back(cumulative_.back() + sum);
    }
  }
  static request_table_options with_valid_level(const request_table_options& options);
  void init_grid(const request_table_options& options);
  void finish_grid();
  static double checked(const char* what, tokens n, double value) {
    // The field is formatted only on failure: this runs for every tabulated length.
    if (!(std::isfinite(value) && value >= 0.0)) {
      throw error(fmt::format("request_time_table {} time at {} tokens", what, n.count()),
                  fmt::format("{}", value), "must be a finite number of seconds >= 0");
    }
    return value;
  }
  // Bounds on the cumulative decode time of KV lengths 0 .. x - 1.
  [[nodiscard]] double cumulative_upper(std::int64_t x) const noexcept;
  [[nodiscard]] double cumulative_lower(std::int64_t x) const noexcept;

  unsigned shift_ = 0;                // log2(cell)
  std::int64_t cells_ = 0;            // cells tabulated
  std::vector<double> cumulative_;    // cells_ + 1: exact decode time of lengths below cell i
  std::vector<double> decode_lo_;     // cells_: least step time in cell i
  std::vector<double> decode_hi_;     // cells_: greatest step time in cell i
  std::vector<double> prefill_hi_;    // cells_: greatest prefill time in cell i
  double tail_lo_ = 0, tail_hi_ = 0;  // step time bounds at the first length past the table
  double tail_slope_ = 0;             // their growth per token past the table, >= 0
  double prefill_tail_slope_ = 0;     // prefill growth per token past the table, >= 0
};

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/budget/request_time_table-inl.hpp"
#endif
