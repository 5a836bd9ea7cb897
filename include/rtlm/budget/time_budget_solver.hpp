// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

#include "rtlm/budget/request_time_table.hpp"
#include "rtlm/core/units.hpp"
#include "rtlm/detail/config.hpp"
#include "rtlm/estimate/timebill_estimator.hpp"
#include "rtlm/predict/length_distribution.hpp"

namespace rtlm {

/// One request's time budget, as the solver reads it. Plain data; validate() checks it.
///
/// The request prefills its `prompt_tokens` (emitting the first output token), its prompt's KV
/// is evicted once at ratio alpha, and it decodes length_bound - 1 more tokens, decode step i
/// (i = 1 .. N - 1) reading (1 - alpha) prompt_tokens + i - 1 cached tokens (TimeBill's model).
/// Evicting anything costs the host `eviction_time` on top (TimeBill takes it as 0).
struct time_budget_problem {
  seconds budget{0};          ///< T: the time the request may take, from its start
  seconds elapsed{0};         ///< already spent out of it (queueing, tokenizing), >= 0
  seconds predictor_time{0};  ///< length-predictor latency not hidden behind the prefill, >= 0
  /// What an eviction itself costs (scoring, selecting and gathering the kept KV), paid only by
  /// plans that keep fewer tokens than the prompt; >= 0. A plan never evicts when the saving
  /// is smaller than this.
  seconds eviction_time{0};
  tokens prompt_tokens{0};  ///< N_x, >= 0
  tokens length_bound{0};   ///< N_W: output tokens to plan for, the first one included, >= 0
  double alpha_max = 0.95;  ///< the largest eviction ratio allowed, in [0, 1]

  /// A problem whose budget runs from `now` to `deadline` (negative once the deadline passed).
  [[nodiscard]] static time_budget_problem until(time_point deadline, time_point now,
                                                 tokens prompt_tokens, tokens length_bound,
                                                 double alpha_max = 0.95) noexcept {
    time_budget_problem p;
    p.budget = std::chrono::duration_cast<seconds>(deadline - now);
    p.prompt_tokens = prompt_tokens;
    p.length_bound = length_bound;
    p.alpha_max = alpha_max;
    return p;
  }

  /// The budget left for predictor, prefill and decode: budget - elapsed. O(1).
  [[nodiscard]] seconds remaining() const noexcept { return budget - elapsed; }

  /// Throws rtlm::error naming the field and the value when a time is NaN or infinite, elapsed,
  /// predictor_time or eviction_time is negative, a length is negative, or alpha_max is outside [0,
  /// 1]. A negative budget is valid: it is a deadline that has passed. O(1).
  void validate() const;
};

/// Why a budget cannot be met.
enum class budget_shortfall : std::uint8_t {
  none,              ///< feasible: the plan meets the budget
  deadline_passed,   ///< no time is left (remaining() <= 0)
  prefill_too_long,  ///< predictor and prefill alone exceed what is left; eviction comes later
  eviction_too_weak  ///< even alpha_max leaves the decode too long for the length bound
};

/// The name of a shortfall ("none", "deadline_passed", ...). O(1).
[[nodiscard]] std::string_view to_string(budget_shortfall s) noexcept;

/// What the solver decided. Plain data.
struct time_budget_plan {
  double alpha = 0.0;     ///< the eviction ratio of the prompt's KV, in [0, alpha_max]
  tokens kept_tokens{0};  ///< prompt KV kept: floor((1 - alpha) N_x), SnapKV's capacity
  seconds worst_case{0};  ///< predicted predictor + prefill (+ eviction) + decode time at N_W
  seconds slack{0};       ///< remaining() - worst_case; < 0 when the budget is not met
  budget_shortfall shortfall = budget_shortfall::none;  ///< why the budget is not met

  /// Whether the plan meets the budget. O(1).
  [[nodiscard]] bool feasible() const noexcept { return shortfall == budget_shortfall::none; }
};

/// TimeBill's solver in closed form for its fitted polynomials (docs/methods.md, 'The
/// eviction-ratio solver', with the paper's Eq. 11 corrected): the smallest alpha in
/// [0, alpha_max] with t_predict + t_prefill(N_x) + t_decode(alpha, N_W) <= remaining, where
/// t_decode = (N - 1)(p (1 - alpha) N_x + q) + p (N - 1)(N - 2) / 2. An infeasible budget gets
/// alpha_max (TimeBill runs it there and lets the overrun policy act). Throws rtlm::error for an
/// invalid problem; otherwise O(1), no allocation.
[[nodiscard]] time_budget_plan solve_time_budget(const timebill_coefficients& coefficients,
                                                 const time_budget_problem& problem);

/// The budget solver for any step-time estimator: the same rule as the closed form, solved
/// numerically over a request_time_table (so the solution holds for the table's upper bounds,
/// which are the estimator's own times or its calibrated bounds). rtlm's best-effort rule for
/// budgets the length bound cannot meet comes on top (solve_best_effort).
///
/// Construction tabulates the estimator (see request_time_table). solve() is
/// O(log prompt_tokens); solve_best_effort() adds O(log(prompt_tokens) buckets). Both are const,
/// allocation-free and safe from many threads; they throw only for an invalid problem.
class time_budget_solver {
 public:
  /// Tabulates `estimator`; options.level > 0 plans with its calibrated upper bounds.
  explicit time_budget_solver(const step_time_estimator& estimator,
                              request_table_options options = {})
      : table_(estimator, options) {}
  /// Plans over an existing table (for instance one built from a batched per-step cost).
  explicit time_budget_solver(request_time_table table) : table_(std::move(table)) {}

  /// The smallest alpha in [0, alpha_max] (to one prompt token) whose worst case fits the
  /// budget; alpha_max with the shortfall when none does.
  [[nodiscard]] time_budget_plan solve(const time_budget_problem& problem) const;

  /// rtlm's rule: solve(); when even alpha_max cannot fit the length bound, the smallest alpha
  /// whose chance of finishing in time under `predicted` is within `min_gain` of alpha_max's
  /// (evicting more would cost quality and buy almost no completion). The plan keeps the
  /// shortfall. Throws rtlm::error for an invalid problem or `min_gain` outside [0, 1].
  [[nodiscard]] time_budget_plan solve_best_effort(const time_budget_problem& problem,
                                                   const length_distribution& predicted,
                                                   double min_gain = 0.01) const;

  /// The most output tokens (the first one included) a request can produce within the budget
  /// at eviction ratio `alpha`; 0 when even the prefill does not fit. O(log cells).
  [[nodiscard]] tokens longest_output(const time_budget_problem& problem,
                                      double alpha) const noexcept;
  /// The worst-case time of the problem at eviction ratio `alpha`. O(1).
  [[nodiscard]] seconds worst_case(const time_budget_problem& problem, double alpha) const noexcept;

  /// Tabulates `estimator` again in place (request_time_table::retabulate()): for a solver
  /// built on an estimator that learns. O(max_tokens); no allocation.
  bool retabulate(const step_time_estimator& estimator) noexcept {
    return table_.retabulate(estimator);
  }

  /// The table behind the solver. O(1).
  [[nodiscard]] const request_time_table& table() const noexcept { return table_; }

 private:
  [[nodiscard]] time_budget_plan plan_at(const time_budget_problem& problem, tokens kept,
                                         double alpha, budget_shortfall shortfall) const noexcept;
  request_time_table table_;
};

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/budget/time_budget_solver-inl.hpp"
#endif
