// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0

// The time-budget solver's numeric inputs: TimeBill's closed form (solve_time_budget) and the
// tabulated solver (time_budget_solver::solve, solve_best_effort), with doubles and lengths
// decoded from the input, NaN, infinities, negative and huge values included, with and without
// a cost of evicting. An invalid problem must be rejected with rtlm::error, a valid one must
// not be, and every plan must keep alpha in [0, alpha_max] and its other documented invariants.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>

#include "fuzz_support.hpp"
#include "rtlm/budget/eviction_ratio.hpp"
#include "rtlm/budget/request_time_table.hpp"
#include "rtlm/budget/time_budget_solver.hpp"
#include "rtlm/core/error.hpp"
#include "rtlm/predict/length_distribution.hpp"

namespace {

using rtlm::budget_shortfall;
using rtlm::seconds;
using rtlm::time_budget_plan;
using rtlm::time_budget_problem;
using rtlm::tokens;
using rtlm::fuzz::byte_source;

double time_in(byte_source& in, double scale) {
  return in.mixed_double([scale](double u) { return scale * u; });
}

tokens length_in(byte_source& in) {
  const std::uint8_t kind = in.u8();
  if (kind < 16) return tokens(in.any_int());
  return tokens(static_cast<std::int64_t>(in.below(kind < 128 ? 200 : 200000)));
}

// time_budget_problem::validate()'s documented rules, restated: the fuzzer's oracle.
bool valid(const time_budget_problem& p) {
  const auto non_negative = [](double x) { return std::isfinite(x) && x >= 0.0; };
  return std::isfinite(p.budget.count()) && non_negative(p.elapsed.count()) &&
         non_negative(p.predictor_time.count()) && non_negative(p.eviction_time.count()) &&
         p.prompt_tokens.count() >= 0 && p.length_bound.count() >= 0 && p.alpha_max >= 0.0 &&
         p.alpha_max <= 1.0;
}

// Solves with `solve` and checks that it throws rtlm::error exactly for an invalid problem.
template <class Solve>
std::optional<time_budget_plan> solve_checked(const time_budget_problem& p, Solve&& solve) {
  try {
    const time_budget_plan plan = solve();
    RTLM_FUZZ_CHECK(valid(p));
    return plan;
  } catch (const rtlm::error&) {
    RTLM_FUZZ_CHECK(!valid(p));
    return std::nullopt;
  }
}

// `rounding`: what the solver's own arithmetic may put over the budget on top (see below).
void check_plan(const time_budget_problem& p, const time_budget_plan& plan, double rounding = 0) {
  RTLM_FUZZ_CHECK(plan.alpha >= 0.0 && plan.alpha <= p.alpha_max);  // false for NaN too
  RTLM_FUZZ_CHECK(plan.kept_tokens.count() >= 0 && plan.kept_tokens <= p.prompt_tokens);
  RTLM_FUZZ_CHECK(!std::isnan(plan.worst_case.count()) && plan.worst_case.count() >= 0.0);
  RTLM_FUZZ_CHECK(plan.feasible() == (plan.shortfall == budget_shortfall::none));
  const double remaining = p.remaining().count();
  RTLM_FUZZ_CHECK((plan.shortfall == budget_shortfall::deadline_passed) == !(remaining > 0));
  // Beyond 2^40 prompt tokens a double alpha (53 bits) no longer resolves single tokens of KV,
  // so the budget can only be met to that resolution: not checked there.
  if (plan.feasible() && p.prompt_tokens.count() < (std::int64_t{1} << 40)) {
    // Met to rounding: the closed form solves t(alpha) = remaining, which may land an ulp over.
    const double tolerance =
        1e-9 * std::max({1.0, std::abs(remaining), plan.worst_case.count()}) + rounding;
    RTLM_FUZZ_CHECK(plan.slack.count() >= -tolerance);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  byte_source in({data, size});

  time_budget_problem p;
  p.budget = seconds(time_in(in, 100.0));
  p.elapsed = seconds(time_in(in, 10.0));
  p.predictor_time = seconds(time_in(in, 0.1));
  p.prompt_tokens = length_in(in);
  p.length_bound = length_in(in);
  p.alpha_max = in.mixed_double([](double u) { return u; });

  // TimeBill's closed form, with any coefficients.
  const rtlm::timebill_coefficients c{.a = time_in(in, 1e-8),
                                      .b = time_in(in, 1e-4),
                                      .c = time_in(in, 0.05),
                                      .p = time_in(in, 1e-5),
                                      .q = time_in(in, 0.02)};
  if (const auto plan = solve_checked(p, [&] { return rtlm::solve_time_budget(c, p); })) {
    // The closed form's alpha carries an absolute rounding error of a few ulps of 1, which its
    // decode time multiplies by p N_x (N - 1): for a huge prompt with alpha near 1 that is more
    // than the relative tolerance
    // (fuzz/regressions/time_budget_solver/alpha_near_one_for_a_huge_prompt.bin).
    const double scale = std::abs(c.p) * static_cast<double>(p.prompt_tokens.count()) *
                         static_cast<double>(std::max<std::int64_t>(0, p.length_bound.count() - 1));
    // (Coefficients may be NaN or infinite: then there is no such bound to add.)
    check_plan(p, *plan,
               std::isfinite(scale) ? 8 * std::numeric_limits<double>::epsilon() * scale : 0.0);
    RTLM_FUZZ_CHECK(plan->kept_tokens == rtlm::kept_tokens_for_ratio(p.prompt_tokens, plan->alpha));
  }

  // The tabulated solver over linear per-request costs; a table the options or the costs make
  // invalid is refused with rtlm::error, and then there is nothing more to solve.
  const double prefill_fixed = time_in(in, 0.05);
  const double prefill_per_token = time_in(in, 1e-4);
  const double step_fixed = time_in(in, 0.02);
  const double step_per_token = time_in(in, 1e-5);
  const rtlm::request_table_options options{
      .max_tokens = tokens(static_cast<std::int64_t>(in.below(1U << 13))),
      .cell = tokens(std::int64_t{1} << in.below(8))};
  std::optional<rtlm::time_budget_solver> solver;
  try {
    solver.emplace(rtlm::request_time_table(
        [&](tokens n) {
          return seconds(prefill_fixed + prefill_per_token * static_cast<double>(n.count()));
        },
        [&](tokens kv) {
          return seconds(step_fixed + step_per_token * static_cast<double>(kv.count()));
        },
        options));
  } catch (const rtlm::error&) {
    return 0;
  }
  const auto plan = solve_checked(p, [&] { return solver->solve(p); });
  if (plan) check_plan(p, *plan);

  // The same problem with a cost of evicting (any double): both solvers refuse it exactly when
  // it is invalid, and a plan that evicts still meets the budget with that cost paid.
  time_budget_problem costly = p;
  costly.eviction_time = seconds(time_in(in, 0.5));
  if (const auto closed = solve_checked(costly, [&] { return rtlm::solve_time_budget(c, costly); }))
    RTLM_FUZZ_CHECK(closed->alpha >= 0.0 && closed->alpha <= costly.alpha_max);
  if (const auto paid = solve_checked(costly, [&] { return solver->solve(costly); })) {
    check_plan(costly, *paid);
    // Evicting can only cost time: never more slack than the same plan without the cost.
    if (plan && paid->kept_tokens == plan->kept_tokens)
      RTLM_FUZZ_CHECK(!(paid->slack.count() > plan->slack.count()));
  }

  // solve_best_effort under a predicted distribution decoded from the input (assign() refuses
  // malformed ones with rtlm::error).
  rtlm::length_distribution predicted;
  try {
    const std::array<double, 3> edges{0.0, time_in(in, 500.0), time_in(in, 5000.0)};
    const std::array<double, 2> probabilities{time_in(in, 1.0), time_in(in, 1.0)};
    predicted.assign(edges, probabilities);
  } catch (const rtlm::error&) {
    return 0;
  }
  const double min_gain = in.mixed_double([](double u) { return u / 10; });
  try {
    const time_budget_plan best = solver->solve_best_effort(p, predicted, min_gain);
    RTLM_FUZZ_CHECK(valid(p) && min_gain >= 0.0 && min_gain <= 1.0);
    check_plan(p, best);
    RTLM_FUZZ_CHECK(plan && best.shortfall == plan->shortfall);
  } catch (const rtlm::error&) {
    RTLM_FUZZ_CHECK(!valid(p) || !(min_gain >= 0.0 && min_gain <= 1.0));
  }
  if (plan) {
    const double alpha = in.mixed_double([&](double u) { return u * p.alpha_max; });
    RTLM_FUZZ_CHECK(solver->longest_output(p, alpha).count() >= 0);
    RTLM_FUZZ_CHECK(!std::isnan(solver->worst_case(p, alpha).count()));
  }
  return 0;
}
