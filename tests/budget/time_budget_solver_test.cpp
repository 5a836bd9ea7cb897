// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/budget/time_budget_solver.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "estimate/temp_file.hpp"

namespace {

using rtlm::budget_shortfall;
using rtlm::seconds;
using rtlm::tokens;
using rtlm::test::blamed_field;

// Prefill 0.1 s flat; decode steps of 0.01 s + 1e-4 s per cached token.
constexpr rtlm::timebill_coefficients coefficients{.a = 0, .b = 0, .c = 0.1, .p = 1e-4, .q = 0.01};

rtlm::time_budget_problem problem(double budget, std::int64_t prompt, std::int64_t bound) {
  rtlm::time_budget_problem p;
  p.budget = seconds(budget);
  p.prompt_tokens = tokens(prompt);
  p.length_bound = tokens(bound);
  return p;
}

// TimeBill's worst case, summed step by step rather than in closed form.
double worst_case_by_steps(const rtlm::timebill_coefficients& c, double alpha, std::int64_t nx,
                           std::int64_t n) {
  double t = c.a * static_cast<double>(nx * nx) + c.b * static_cast<double>(nx) + c.c;
  for (std::int64_t i = 1; i <= n - 1; ++i)
    t += c.p * ((1 - alpha) * static_cast<double>(nx) + static_cast<double>(i - 1)) + c.q;
  return t;
}

TEST(time_budget_solver, closed_form_meets_the_budget_exactly) {
  // N_x = 1000, N = 101: t_decode = 100 (0.1 (1 - alpha) + 0.01) + 1e-4 * 100 * 99 / 2
  //                              = 10 (1 - alpha) + 1.495, so T = 6.595 needs alpha = 0.5.
  const rtlm::time_budget_plan plan =
      rtlm::solve_time_budget(coefficients, problem(6.595, 1000, 101));
  ASSERT_TRUE(plan.feasible());
  EXPECT_NEAR(plan.alpha, 0.5, 1e-12);
  EXPECT_EQ(plan.kept_tokens.count(), 500);
  EXPECT_NEAR(plan.worst_case.count(), 6.595, 1e-12);
  EXPECT_NEAR(plan.slack.count(), 0.0, 1e-12);
  EXPECT_NEAR(worst_case_by_steps(coefficients, plan.alpha, 1000, 101), 6.595, 1e-9);
  // The paper's printed Eq. 11 has (N - 2) / (2 p N_x) as its middle term; with it, alpha
  // would be 0.5 - 0.0495 + 495 = 495.45, far outside [0, 1]: the correction matters.
  const double printed =
      1 - 6.495 / (1e-4 * 1000 * 100) + 99 / (2 * 1e-4 * 1000) + 0.01 / (1e-4 * 1000);
  EXPECT_GT(printed, 1.0);
}

TEST(time_budget_solver, closed_form_matches_a_step_by_step_sum_for_random_problems) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int k = 0; k < 200; ++k) {
    const rtlm::timebill_coefficients c{.a = 1e-9 * unit(rng),
                                        .b = 1e-5 * unit(rng),
                                        .c = 0.02 * unit(rng),
                                        .p = 1e-6 + 1e-5 * unit(rng),
                                        .q = 0.005 + 0.01 * unit(rng)};
    const auto nx = static_cast<std::int64_t>(1 + 8000 * unit(rng));
    const auto n = static_cast<std::int64_t>(2 + 2000 * unit(rng));
    const double vanilla = worst_case_by_steps(c, 0.0, nx, n);
    const double budget = vanilla * (0.5 + unit(rng));
    const rtlm::time_budget_plan plan = rtlm::solve_time_budget(c, problem(budget, nx, n));
    if (plan.feasible()) {
      EXPECT_LE(worst_case_by_steps(c, plan.alpha, nx, n), budget * (1 + 1e-9));
      if (plan.alpha > 0) {  // no smaller ratio fits
        EXPECT_GT(worst_case_by_steps(c, plan.alpha - 1e-6, nx, n), budget * (1 - 1e-9));
      }
    } else if (plan.shortfall == budget_shortfall::prefill_too_long) {
      EXPECT_GT(worst_case_by_steps(c, 0.0, nx, 1), budget);
    } else {
      EXPECT_EQ(plan.shortfall, budget_shortfall::eviction_too_weak);
      EXPECT_GT(worst_case_by_steps(c, 0.95, nx, n), budget);
      EXPECT_EQ(plan.alpha, 0.95);
    }
  }
}

TEST(time_budget_solver, closed_form_edge_cases) {
  // Enough time: no eviction.
  rtlm::time_budget_plan plan = rtlm::solve_time_budget(coefficients, problem(100, 1000, 101));
  EXPECT_TRUE(plan.feasible());
  EXPECT_EQ(plan.alpha, 0.0);
  EXPECT_EQ(plan.kept_tokens.count(), 1000);
  // A bound of 0 or 1 token is the prefill alone: eviction cannot help, nor is it needed.
  for (std::int64_t bound : {0, 1}) {
    plan = rtlm::solve_time_budget(coefficients, problem(0.1, 1000, bound));
    EXPECT_TRUE(plan.feasible());
    EXPECT_EQ(plan.alpha, 0.0);
    EXPECT_DOUBLE_EQ(plan.worst_case.count(), 0.1);
  }
  plan = rtlm::solve_time_budget(coefficients, problem(0.09, 1000, 1));
  EXPECT_EQ(plan.shortfall, budget_shortfall::prefill_too_long);
  // An empty prompt has nothing to evict (and no prefill in this model).
  plan = rtlm::solve_time_budget(coefficients, problem(0.5, 0, 11));
  EXPECT_TRUE(plan.feasible());
  EXPECT_EQ(plan.kept_tokens.count(), 0);
  plan = rtlm::solve_time_budget(coefficients, problem(0.05, 0, 11));
  EXPECT_EQ(plan.shortfall, budget_shortfall::eviction_too_weak);
  EXPECT_EQ(plan.alpha, 0.95);
  // A deadline already passed.
  rtlm::time_budget_problem late = problem(1.0, 1000, 101);
  late.elapsed = seconds(1.5);
  plan = rtlm::solve_time_budget(coefficients, late);
  EXPECT_EQ(plan.shortfall, budget_shortfall::deadline_passed);
  EXPECT_LT(plan.slack.count(), 0.0);
  // Predictor time counts unless hidden behind the prefill.
  rtlm::time_budget_problem with_predictor = problem(6.595, 1000, 101);
  with_predictor.predictor_time = seconds(1.0);
  EXPECT_NEAR(rtlm::solve_time_budget(coefficients, with_predictor).alpha, 0.6, 1e-12);
}

TEST(time_budget_solver, invalid_problems_name_the_field) {
  const auto field = [](rtlm::time_budget_problem p) {
    return blamed_field([&] { (void)rtlm::solve_time_budget(coefficients, p); });
  };
  rtlm::time_budget_problem p = problem(1, 10, 10);
  p.budget = seconds(std::nan(""));
  EXPECT_EQ(field(p), "time_budget_problem.budget");
  p.budget = seconds(INFINITY);
  EXPECT_EQ(field(p), "time_budget_problem.budget");
  p = problem(1, 10, 10);
  p.elapsed = seconds(-0.1);
  EXPECT_EQ(field(p), "time_budget_problem.elapsed");
  p = problem(1, 10, 10);
  p.predictor_time = seconds(std::nan(""));
  EXPECT_EQ(field(p), "time_budget_problem.predictor_time");
  EXPECT_EQ(field(problem(1, -1, 10)), "time_budget_problem.prompt_tokens");
  EXPECT_EQ(field(problem(1, 10, -1)), "time_budget_problem.length_bound");
  p = problem(1, 10, 10);
  p.alpha_max = 1.5;
  EXPECT_EQ(field(p), "time_budget_problem.alpha_max");
  p.alpha_max = std::nan("");
  EXPECT_EQ(field(p), "time_budget_problem.alpha_max");
  try {
    (void)rtlm::solve_time_budget(coefficients, problem(std::nan(""), 10, 10));
  } catch (const rtlm::error& e) {
    EXPECT_NE(std::string(e.what()).find("time_budget_problem.budget = nan"), std::string::npos)
        << e.what();
  }
}

TEST(time_budget_solver, a_problem_runs_until_a_deadline) {
  const rtlm::time_point now{std::chrono::seconds(100)};
  const rtlm::time_budget_problem p = rtlm::time_budget_problem::until(
      now + std::chrono::milliseconds(2500), now, tokens(10), tokens(20), 0.5);
  EXPECT_DOUBLE_EQ(p.budget.count(), 2.5);
  EXPECT_DOUBLE_EQ(p.remaining().count(), 2.5);
  EXPECT_EQ(p.alpha_max, 0.5);
  const rtlm::time_budget_problem passed =
      rtlm::time_budget_problem::until(now - std::chrono::seconds(1), now, tokens(10), tokens(20));
  EXPECT_EQ(rtlm::solve_time_budget(coefficients, passed).shortfall,
            budget_shortfall::deadline_passed);
}

// The numeric solver on an exact table (one-token cells) agrees with the closed form to a token.
TEST(time_budget_solver, numeric_solve_agrees_with_the_closed_form) {
  const rtlm::timebill_estimator e(coefficients);
  const rtlm::time_budget_solver solver(e, {.max_tokens = tokens(4096), .cell = tokens(1)});
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int k = 0; k < 200; ++k) {
    const auto nx = static_cast<std::int64_t>(1 + 2000 * unit(rng));
    const auto n = static_cast<std::int64_t>(2 + 1000 * unit(rng));
    const double vanilla = worst_case_by_steps(coefficients, 0.0, nx, n);
    const rtlm::time_budget_problem p = problem(vanilla * (0.6 + 0.6 * unit(rng)), nx, n);
    const rtlm::time_budget_plan closed = rtlm::solve_time_budget(coefficients, p);
    const rtlm::time_budget_plan numeric = solver.solve(p);
    if (closed.shortfall != numeric.shortfall) {
      // Only at the edge: whole tokens let the numeric plan keep a hair less than 5%.
      EXPECT_EQ(closed.shortfall, budget_shortfall::eviction_too_weak) << k;
      EXPECT_EQ(numeric.alpha, 0.95) << k;
      continue;
    }
    if (!closed.feasible()) continue;
    EXPECT_GE(numeric.alpha, closed.alpha - 1e-9) << k;
    EXPECT_LE(numeric.alpha, closed.alpha + 1.0 / static_cast<double>(nx) + 1e-9) << k;
    EXPECT_LE(numeric.worst_case.count(), p.remaining().count() * (1 + 1e-12));
    EXPECT_NEAR(
        numeric.worst_case.count(),
        worst_case_by_steps(
            coefficients,
            1 - static_cast<double>(numeric.kept_tokens.count()) / static_cast<double>(nx), nx, n),
        1e-9);
  }
}

// Properties on the default (64-token cell) table: the plan meets the budget under the
// estimator itself, keeping one more prompt token would not, and alpha falls as the budget grows.
TEST(time_budget_solver, numeric_plans_meet_the_budget_minimally_and_monotonically) {
  const rtlm::timebill_coefficients c{.a = 2e-10, .b = 5e-5, .c = 0.01, .p = 3e-6, .q = 0.006};
  const rtlm::timebill_estimator e(c);
  const rtlm::time_budget_solver solver(e, {.max_tokens = tokens(16384)});
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int k = 0; k < 300; ++k) {
    const auto nx = static_cast<std::int64_t>(1 + 12000 * unit(rng));
    const auto n = static_cast<std::int64_t>(1 + 3000 * unit(rng));
    const double vanilla = worst_case_by_steps(c, 0.0, nx, n);
    const rtlm::time_budget_problem p = problem(vanilla * (0.8 + 0.3 * unit(rng)), nx, n);
    const rtlm::time_budget_plan plan = solver.solve(p);
    if (!plan.feasible()) {
      EXPECT_GT(solver.worst_case(p, 0.95).count(), p.remaining().count());
      continue;
    }
    const double kept_ratio =
        static_cast<double>(plan.kept_tokens.count()) / static_cast<double>(nx);
    EXPECT_LE(worst_case_by_steps(c, 1 - kept_ratio, nx, n), p.budget.count() * (1 + 1e-12)) << k;
    if (plan.alpha > 0) {
      const seconds one_more =
          solver.table().prefill_time(tokens(nx)) +
          solver.table().decode_run_time(plan.kept_tokens + tokens(1), tokens(n - 1));
      EXPECT_GT(one_more.count(), p.remaining().count()) << k;
    }
    double previous = plan.alpha;
    for (double more = 1.01; more < 1.5; more += 0.1) {
      rtlm::time_budget_problem wider = p;
      wider.budget = p.budget * more;
      const double alpha = solver.solve(wider).alpha;
      EXPECT_LE(alpha, previous + 1e-12) << k;
      previous = alpha;
    }
  }
}

TEST(time_budget_solver, numeric_edge_cases) {
  const rtlm::timebill_estimator e(coefficients);
  const rtlm::time_budget_solver solver(e, {.max_tokens = tokens(4096), .cell = tokens(1)});
  EXPECT_EQ(solver.solve(problem(0.1, 1000, 0)).alpha, 0.0);
  EXPECT_EQ(solver.solve(problem(0.1, 1000, 1)).shortfall, budget_shortfall::none);
  EXPECT_EQ(solver.solve(problem(0.09, 1000, 1)).shortfall, budget_shortfall::prefill_too_long);
  EXPECT_EQ(solver.solve(problem(0.5, 0, 11)).kept_tokens.count(), 0);
  EXPECT_EQ(solver.solve(problem(0.05, 0, 11)).shortfall, budget_shortfall::eviction_too_weak);
  EXPECT_EQ(solver.solve(problem(0.0, 10, 11)).shortfall, budget_shortfall::deadline_passed);
  EXPECT_EQ(solver.solve(problem(0.0, 10, 11)).alpha, 0.95);
  EXPECT_EQ(blamed_field([&] { (void)solver.solve(problem(INFINITY, 10, 10)); }),
            "time_budget_problem.budget");
  EXPECT_EQ(solver.longest_output(problem(0.05, 10, 0), 0.0).count(), 0);  // prefill: 0.1 s
  // 0.1 s prefill (1 token) + steps of 0.011 + 1e-4 i s: 3 steps take 0.0333 s, 4 take 0.0446.
  EXPECT_EQ(solver.longest_output(problem(0.14, 10, 0), 0.0).count(), 4);
}

// rtlm's best effort: when no ratio fits the bound, evict only as far as it raises the chance of
// finishing by more than min_gain.
TEST(time_budget_solver, best_effort_evicts_only_when_it_raises_the_chance_to_finish) {
  const rtlm::timebill_estimator e(coefficients);
  const rtlm::time_budget_solver solver(e, {.max_tokens = tokens(8192), .cell = tokens(1)});
  rtlm::length_distribution d;
  const std::vector<double> edges{0, 10, 2000};
  const std::vector<double> probability{0.5, 0.5};
  d.assign(edges, probability);
  // A 2000-token bound cannot fit 3 s; evicting 95% of a 1000-token prompt moves the longest
  // output that fits from 27 to 135 tokens, raising the chance to finish from 0.504 to 0.531.
  rtlm::time_budget_problem p = problem(3.0, 1000, 2000);
  const rtlm::time_budget_plan timebill_like = solver.solve(p);
  EXPECT_EQ(timebill_like.shortfall, budget_shortfall::eviction_too_weak);
  EXPECT_EQ(timebill_like.alpha, 0.95);
  const rtlm::time_budget_plan small_gain = solver.solve_best_effort(p, d, 0.01);
  EXPECT_EQ(small_gain.shortfall, budget_shortfall::eviction_too_weak);
  EXPECT_GT(small_gain.alpha, 0.5);  // a 4-point gain is worth taking
  const rtlm::time_budget_plan big_gain = solver.solve_best_effort(p, d, 0.1);
  EXPECT_EQ(big_gain.alpha, 0.0);  // a 4-point gain is not worth 10 points
  // Whatever it picks keeps the chance within min_gain of alpha_max's.
  const double best = d.cdf(static_cast<double>(solver.longest_output(p, 0.95).count()));
  const double chosen =
      d.cdf(static_cast<double>(solver.longest_output(p, small_gain.alpha).count()));
  EXPECT_GE(chosen, best - 0.01);
  // Feasible problems are solved as solve() does.
  EXPECT_EQ(solver.solve_best_effort(problem(6.595, 1000, 101), d).alpha,
            solver.solve(problem(6.595, 1000, 101)).alpha);
  EXPECT_EQ(blamed_field([&] { (void)solver.solve_best_effort(p, d, -0.1); }),
            "solve_best_effort min_gain");
}

// A host whose eviction itself takes time (scoring, selecting, gathering the kept KV) states
// it as eviction_time: every plan that evicts pays it, the plan that keeps everything does not.
TEST(time_budget_solver, an_eviction_that_costs_time_is_planned_with_its_cost) {
  const rtlm::timebill_estimator e(coefficients);
  const rtlm::time_budget_solver solver(e, {.max_tokens = tokens(4096), .cell = tokens(1)});
  // Without the cost T = 6.595 needs alpha 0.5 (closed_form_meets_the_budget_exactly); a 0.5 s
  // eviction leaves 10 (1 - alpha) + 1.495 = 5.995 for the decode: alpha 0.55, 450 kept. (A
  // budget a hair over 6.595 s keeps the numeric plan's 450 tokens clear of rounding.)
  rtlm::time_budget_problem p = problem(6.595 + 1e-9, 1000, 101);
  p.eviction_time = seconds(0.5);
  const rtlm::time_budget_plan closed = rtlm::solve_time_budget(coefficients, p);
  ASSERT_TRUE(closed.feasible());
  EXPECT_NEAR(closed.alpha, 0.55, 1e-9);
  EXPECT_EQ(closed.kept_tokens.count(), 450);
  EXPECT_NEAR(closed.worst_case.count(), 6.595, 1e-8);
  const rtlm::time_budget_plan numeric = solver.solve(p);
  ASSERT_TRUE(numeric.feasible());
  EXPECT_EQ(numeric.kept_tokens.count(), 450);
  EXPECT_NEAR(numeric.worst_case.count(), 6.595, 1e-8);
  EXPECT_NEAR(solver.worst_case(p, numeric.alpha).count(), 6.595, 1e-8);
  EXPECT_NEAR(solver.worst_case(p, 0.0).count(), 0.1 + 11.495, 1e-9);  // no eviction, no cost
  // A budget the whole prompt meets is met without evicting, whatever eviction would cost.
  p.budget = seconds(11.6);
  EXPECT_EQ(solver.solve(p).alpha, 0.0);
  EXPECT_EQ(rtlm::solve_time_budget(coefficients, p).alpha, 0.0);
  // A cost that eats the whole saving: nothing fits, and best effort keeps the KV, since
  // evicting would lower the chance to finish.
  p.budget = seconds(6.595);
  p.eviction_time = seconds(10);
  EXPECT_EQ(solver.solve(p).shortfall, budget_shortfall::eviction_too_weak);
  EXPECT_EQ(rtlm::solve_time_budget(coefficients, p).shortfall,
            budget_shortfall::eviction_too_weak);
  rtlm::length_distribution d;
  const std::vector<double> edges{0, 10, 2000};
  const std::vector<double> probability{0.5, 0.5};
  d.assign(edges, probability);
  EXPECT_EQ(solver.solve_best_effort(p, d, 0.01).alpha, 0.0);
  EXPECT_EQ(solver.longest_output(p, 0.95).count(), 0);  // 0.1 + 10 s > 6.595 s
  // A bad cost is an error naming it.
  p.eviction_time = seconds(std::nan(""));
  EXPECT_EQ(blamed_field([&] { (void)solver.solve(p); }), "time_budget_problem.eviction_time");
  p.eviction_time = seconds(-1);
  EXPECT_EQ(blamed_field([&] { (void)rtlm::solve_time_budget(coefficients, p); }),
            "time_budget_problem.eviction_time");
}

TEST(time_budget_solver, shortfalls_have_names) {
  EXPECT_EQ(rtlm::to_string(budget_shortfall::none), "none");
  EXPECT_EQ(rtlm::to_string(budget_shortfall::deadline_passed), "deadline_passed");
  EXPECT_EQ(rtlm::to_string(budget_shortfall::prefill_too_long), "prefill_too_long");
  EXPECT_EQ(rtlm::to_string(budget_shortfall::eviction_too_weak), "eviction_too_weak");
}

}  // namespace
