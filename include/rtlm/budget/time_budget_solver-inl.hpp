// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>

#include "rtlm/budget/eviction_ratio.hpp"
#include "rtlm/budget/time_budget_solver.hpp"
#include "rtlm/detail/enum_names.hpp"
#include "rtlm/detail/validate.hpp"

namespace rtlm {

RTLM_INLINE void time_budget_problem::validate() const {
  detail::require(std::isfinite(budget.count()), "time_budget_problem.budget", budget.count(),
                  "must be a finite number of seconds");
  detail::require_non_negative_finite("time_budget_problem.elapsed", elapsed.count());
  detail::require_non_negative_finite("time_budget_problem.predictor_time", predictor_time.count());
  detail::require_non_negative_finite("time_budget_problem.eviction_time", eviction_time.count());
  detail::require(prompt_tokens.count() >= 0, "time_budget_problem.prompt_tokens",
                  prompt_tokens.count(), "must be >= 0");
  detail::require(length_bound.count() >= 0, "time_budget_problem.length_bound",
                  length_bound.count(), "must be >= 0");
  detail::require(alpha_max >= 0.0 && alpha_max <= 1.0, "time_budget_problem.alpha_max", alpha_max,
                  "must be in [0, 1]");
}

namespace detail {

inline constexpr std::string_view budget_shortfall_names[] = {
    "none", "deadline_passed", "prefill_too_long", "eviction_too_weak"};

}  // namespace detail

RTLM_INLINE std::string_view to_string(budget_shortfall s) noexcept {
  return detail::enum_name(s, detail::budget_shortfall_names);
}

namespace detail {

// Decode steps after the prefill: a bound of 0 or 1 token is the prefill's own token.
inline std::int64_t decode_steps(tokens length_bound) noexcept {
  return std::max<std::int64_t>(0, length_bound.count() - 1);
}

// The eviction's own cost, paid by a plan that keeps less than the whole prompt.
inline seconds eviction_cost(const time_budget_problem& problem, tokens kept) noexcept {
  return kept < problem.prompt_tokens ? problem.eviction_time : seconds(0);
}

}  // namespace detail

RTLM_INLINE time_budget_plan solve_time_budget(const timebill_coefficients& c,
                                               const time_budget_problem& problem) {
  problem.validate();
  const auto nx = static_cast<double>(problem.prompt_tokens.count());
  const auto steps = static_cast<double>(detail::decode_steps(problem.length_bound));
  const double prefill = nx > 0 ? std::max(0.0, c.a * nx * nx + c.b * nx + c.c) : 0.0;
  const double fixed = problem.predictor_time.count() + prefill;
  // (N - 1)(p (1 - alpha) N_x + q) + p (N - 1)(N - 2) / 2, with steps = N - 1.
  const auto decode = [&](double alpha) {
    return std::max(0.0, steps * (c.p * (1 - alpha) * nx + c.q) + c.p * steps * (steps - 1) / 2);
  };
  const double remaining = problem.remaining().count();
  const auto plan = [&](double alpha, budget_shortfall shortfall) {
    const tokens kept = kept_tokens_for_ratio(problem.prompt_tokens, alpha);
    const double worst = fixed + detail::eviction_cost(problem, kept).count() + decode(alpha);
    return time_budget_plan{.alpha = alpha,
                            .kept_tokens = kept,
                            .worst_case = seconds(worst),
                            .slack = seconds(remaining - worst),
                            .shortfall = shortfall};
  };
  if (remaining <= 0) return plan(problem.alpha_max, budget_shortfall::deadline_passed);
  if (fixed > remaining) return plan(problem.alpha_max, budget_shortfall::prefill_too_long);
  if (fixed + decode(0.0) <= remaining) return plan(0.0, budget_shortfall::none);
  // Eviction shortens nothing without decode steps, a prompt, or a KV-dependent step time.
  if (steps <= 0 || nx <= 0 || c.p <= 0)
    return plan(problem.alpha_max, budget_shortfall::eviction_too_weak);
  // TimeBill's Eq. 11 with the middle term's stray p removed: t_decode(alpha*) = delta.
  const double delta = remaining - fixed - problem.eviction_time.count();
  const double alpha = 1 - delta / (c.p * nx * steps) + (steps - 1) / (2 * nx) + c.q / (c.p * nx);
  if (!(alpha <= problem.alpha_max))
    return plan(problem.alpha_max, budget_shortfall::eviction_too_weak);
  // An alpha so small that it keeps the whole prompt evicts nothing; the smallest that evicts
  // one token does, and its cost is already in delta.
  const double least =
      ratio_for_kept_tokens(problem.prompt_tokens, tokens(problem.prompt_tokens.count() - 1));
  if (problem.eviction_time.count() > 0 && least > problem.alpha_max)
    return plan(problem.alpha_max, budget_shortfall::eviction_too_weak);
  return plan(std::max(alpha, problem.eviction_time.count() > 0 ? least : 0.0),
              budget_shortfall::none);
}

RTLM_INLINE time_budget_plan
time_budget_solver::plan_at(const time_budget_problem& problem, tokens kept, double alpha,
                            budget_shortfall shortfall) const noexcept {
  const seconds worst =
      problem.predictor_time + table_.prefill_time(problem.prompt_tokens) +
      detail::eviction_cost(problem, kept) +
      table_.decode_run_time(kept, tokens(detail::decode_steps(problem.length_bound)));
  return time_budget_plan{.alpha = alpha,
                          .kept_tokens = kept,
                          .worst_case = worst,
                          .slack = problem.remaining() - worst,
                          .shortfall = shortfall};
}

RTLM_INLINE seconds time_budget_solver::worst_case(const time_budget_problem& problem,
                                                   double alpha) const noexcept {
  const tokens kept = kept_tokens_for_ratio(problem.prompt_tokens, alpha);
  return problem.predictor_time + table_.prefill_time(problem.prompt_tokens) +
         detail::eviction_cost(problem, kept) +
         table_.decode_run_time(kept, tokens(detail::decode_steps(problem.length_bound)));
}

RTLM_INLINE time_budget_plan time_budget_solver::solve(const time_budget_problem& problem) const {
  problem.validate();
  const tokens prompt = problem.prompt_tokens;
  const tokens steps(detail::decode_steps(problem.length_bound));
  const tokens fewest = kept_tokens_for_ratio(prompt, problem.alpha_max);
  const double remaining = problem.remaining().count();
  const double fixed = (problem.predictor_time + table_.prefill_time(prompt)).count();
  if (remaining <= 0)
    return plan_at(problem, fewest, problem.alpha_max, budget_shortfall::deadline_passed);
  if (fixed > remaining)
    return plan_at(problem, fewest, problem.alpha_max, budget_shortfall::prefill_too_long);
  const double left = remaining - fixed;
  const auto fits = [&](tokens kept) {
    return (detail::eviction_cost(problem, kept) + table_.decode_run_time(kept, steps)).count() <=
           left;
  };
  if (fits(prompt)) return plan_at(problem, prompt, 0.0, budget_shortfall::none);
  if (!fits(fewest))
    return plan_at(problem, fewest, problem.alpha_max, budget_shortfall::eviction_too_weak);
  // The most prompt KV that still fits: `lo` fits, `hi` does not.
  std::int64_t lo = fewest.count();
  std::int64_t hi = prompt.count();
  while (hi - lo > 1) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    (fits(tokens(mid)) ? lo : hi) = mid;
  }
  const double alpha =
      lo == fewest.count() ? problem.alpha_max : ratio_for_kept_tokens(prompt, tokens(lo));
  return plan_at(problem, tokens(lo), alpha, budget_shortfall::none);
}

RTLM_INLINE tokens time_budget_solver::longest_output(const time_budget_problem& problem,
                                                      double alpha) const noexcept {
  const tokens kept = kept_tokens_for_ratio(problem.prompt_tokens, alpha);
  const seconds left = problem.remaining() - problem.predictor_time -
                       table_.prefill_time(problem.prompt_tokens) -
                       detail::eviction_cost(problem, kept);
  if (!(problem.remaining().count() > 0) || left.count() < 0) return tokens(0);
  return tokens(1) + table_.max_decode_steps(kept, left);
}

RTLM_INLINE time_budget_plan
time_budget_solver::solve_best_effort(const time_budget_problem& problem,
                                      const length_distribution& predicted, double min_gain) const {
  detail::require(min_gain >= 0.0 && min_gain <= 1.0, "solve_best_effort min_gain", min_gain,
                  "must be in [0, 1]");
  const time_budget_plan plan = solve(problem);
  if (plan.shortfall != budget_shortfall::eviction_too_weak) return plan;
  const tokens prompt = problem.prompt_tokens;
  const auto chance = [&](std::int64_t kept) {
    const double alpha = ratio_for_kept_tokens(prompt, tokens(kept));
    return predicted.cdf(static_cast<double>(longest_output(problem, alpha).count()));
  };
  // The chance of finishing grows as less KV is kept (past the step of the eviction's own cost
  // between the whole prompt and one token less); keep the most whose chance is within
  // min_gain of the best.
  const std::int64_t fewest = plan.kept_tokens.count();
  const double wanted = std::max(chance(fewest), chance(prompt.count())) - min_gain;
  std::int64_t lo = fewest;  // meets `wanted`
  std::int64_t hi = prompt.count() + 1;
  if (chance(prompt.count()) >= wanted) lo = prompt.count();
  while (hi - lo > 1) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    (chance(mid) >= wanted ? lo : hi) = mid;
  }
  const double alpha = lo == fewest ? problem.alpha_max : ratio_for_kept_tokens(prompt, tokens(lo));
  return plan_at(problem, tokens(lo), alpha, budget_shortfall::eviction_too_weak);
}

}  // namespace rtlm
