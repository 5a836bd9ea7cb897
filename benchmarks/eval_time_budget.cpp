// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// Time-budgeted inference (docs/time-budget.md; docs/methods.md, 'Time-budget evaluation'):
// every AlpacaEval prompt of one served model run against budgets T on a grid around the median
// vanilla latency, each request at the eviction ratio a policy picks. Timing: rtlm's estimator
// fitted to the committed H100 profile, times the profile's measured run-to-run noise. Lengths: the
// model's real output lengths; predictions from predictors trained by 5-fold cross-validation
// (never on the prompt they predict). Policies: vanilla, fixed ratios, TimeBill (512 x 16 buckets,
// k = 5, its fitted polynomials, closed-form solve) and rtlm (calibrated bound, numeric solve on
// its estimator's calibrated bounds, best effort when the bound cannot be met), and an oracle as a
// bound: the least eviction that finishes each request in its own simulated run.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "alpaca_eval_data.hpp"
#include "flat_json.hpp"
#include "rtlm/budget/eviction_ratio.hpp"
#include "rtlm/budget/in_flight_replanner.hpp"
#include "rtlm/budget/overrun_policy.hpp"
#include "rtlm/budget/predictor_overlap.hpp"
#include "rtlm/budget/time_budget_solver.hpp"
#include "rtlm/estimate/estimator_fitting.hpp"
#include "rtlm/estimate/hardware_spec.hpp"
#include "rtlm/estimate/model_shape.hpp"
#include "rtlm/estimate/profile_csv.hpp"
#include "rtlm/predict/bucketed_length_classifier.hpp"
#include "rtlm/predict/conformal_length_bound.hpp"
#include "rtlm/predict/cross_calibration.hpp"
#include "rtlm/predict/online_length_regressor.hpp"
#include "rtlm/predict/prompt_features.hpp"

#ifndef RTLM_BENCHMARK_DATA_DIR
#define RTLM_BENCHMARK_DATA_DIR "benchmarks/data"
#endif

namespace {

using rtlm::seconds;
using rtlm::tokens;

struct options {
  std::string data = std::string(RTLM_BENCHMARK_DATA_DIR) + "/alpaca_eval";
  std::string profile = std::string(RTLM_BENCHMARK_DATA_DIR) + "/profiles/h100_llama-3.1-8b.csv";
  std::string model = "Meta-Llama-3-8B-Instruct";
  std::string long_context =
      std::string(RTLM_BENCHMARK_DATA_DIR) + "/mooncake/conversation_lengths.csv";
  std::size_t long_context_requests = 1000;  // sampled from the trace; 0 skips the workload
  std::vector<double> budget_factors{0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0};
  std::uint64_t seed = 0;
  std::size_t folds = 5;
  double alpha_max = 0.95;
  double rtlm_coverage = 0.95;  // the calibrated length bound rtlm plans for
  double rtlm_level = 0.99;     // the estimator's calibrated step-time bound rtlm plans with
  double rtlm_min_gain = 0.01;  // best effort: eviction must buy this much chance to finish
  // rtlm_inflight: plans the prefill's eviction for a bound at this coverage, then every
  // `inflight_every` decode steps replans for the rtlm_coverage bound conditioned on the
  // length so far, evicting more when the request outlives its first plan.
  double inflight_start_coverage = 0.5;
  std::int64_t inflight_every = 16;
  std::size_t timebill_k = 5;
  // What an eviction costs the host, a + b * prompt tokens seconds (0 on the simulated GPU by
  // default; benchmarks/gpu measures it). rtlm plans with it; TimeBill, as published, does not.
  double eviction_cost_a = 0;
  double eviction_cost_b = 0;
  std::string json;
  std::string plans;  // where to write every (workload, request, budget, policy) plan, if set
  std::size_t plans_requests = SIZE_MAX;  // ...for the first this many requests of each workload
  // --frontier: TimeBill at every pessimism factor k and rtlm at every length-bound coverage q,
  // on the same requests and budgets, for each AlpacaEval generator in `frontier_models` (empty:
  // every one in the data) and the long-context workload; the two completion-against-mean-alpha
  // frontiers and the oracle's. The operating points also go to --plans.
  bool frontier = false;
  std::vector<std::size_t> frontier_k{1, 2, 3, 4, 5, 6, 8, 10};
  std::vector<double> frontier_q{0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99};
  std::vector<std::string> frontier_models;
  std::vector<double> frontier_min_gain;  // rtlm's best-effort min_gain per point; empty: the one
                                          // rtlm_min_gain
};

// One request: its prompt and real output length, and the noise its steps will see.
struct request_case {
  std::string prompt;
  tokens prompt_tokens;
  tokens length;  // the served model's real output length, the first token included
  double prefill_noise = 1;
  std::vector<double> decode_noise;  // one factor per decode step
};

// What the predictors, trained without this request, said about it.
struct prediction {
  rtlm::length_distribution distribution;  // rtlm's regressor
  tokens rtlm_bound;                       // its calibrated bound at rtlm_coverage
  tokens rtlm_start_bound;                 // ...and at inflight_start_coverage
  tokens timebill_bound;                   // N_W = min(k N_hat, N_max), N_hat a bucket edge
  std::int64_t timebill_n_hat = 0;         // ...the bucket edge N_hat
  std::int64_t timebill_n_max = 0;         // ...and N_max
  std::vector<tokens> frontier_bounds;     // rtlm's bound at each of options::frontier_q
};

// The same fixed-seed permutation on every standard library (std::shuffle is not portable).
std::vector<std::size_t> permutation(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  return order;
}

const rtlm::prompt_feature_config& feature_config() {
  static const rtlm::prompt_feature_config config{.hash_bits = 14};
  return config;
}

// Relative run-to-run deviations (measurement / point median) of the profile's plain prefills
// and batch-1 decodes: the noise the simulated steps draw from.
struct measured_noise {
  std::vector<double> prefill;
  std::vector<double> decode;
};

measured_noise noise_of(const rtlm::profile& prof) {
  measured_noise noise;
  for (const rtlm::profile_point& p : prof.points) {
    if (p.batch() != 1 || p.measurements.size() < 2) continue;
    const bool decode = p.phase == rtlm::step_phase::decode;
    if (!decode && p.kv_lengths.front().count() != 0) continue;  // chunks are not TimeBill's
    const double median = p.median().count();
    for (const seconds m : p.measurements) {
      (decode ? noise.decode : noise.prefill).push_back(m.count() / median);
    }
  }
  if (noise.prefill.empty() || noise.decode.empty())
    throw std::runtime_error(prof.source + ": no repeated batch-1 prefill and decode points");
  return noise;
}

// The simulated truth: rtlm's estimator fitted to the whole profile, per step times a draw of
// the measured noise.
class truth_model {
 public:
  truth_model(const rtlm::step_time_estimator& estimator, std::int64_t longest_kv)
      : estimator_(estimator) {
    decode_.reserve(static_cast<std::size_t>(longest_kv) + 1);
    for (std::int64_t kv = 0; kv <= longest_kv; ++kv) {
      const std::array<tokens, 1> batch{tokens(kv)};
      decode_.push_back(estimator.decode_time(batch).count());
    }
  }
  // The request's end-to-end time when it keeps `kept` prompt tokens after the prefill.
  [[nodiscard]] double time(const request_case& r, tokens kept) const {
    double t = prefill_time(r);
    for (std::size_t i = 0; i < r.decode_noise.size(); ++i)
      t += decode_step(r, kept + tokens(static_cast<std::int64_t>(i)), i);
    return t;
  }
  [[nodiscard]] double prefill_time(const request_case& r) const {
    return estimator_.prefill_time(r.prompt_tokens, tokens(0)).count() * r.prefill_noise;
  }
  // Decode step `i` of the request (0 after the prefill), reading `kv` cached tokens.
  [[nodiscard]] double decode_step(const request_case& r, tokens kv, std::size_t i) const {
    return decode_[static_cast<std::size_t>(kv.count())] * r.decode_noise[i];
  }

 private:
  const rtlm::step_time_estimator& estimator_;
  std::vector<double> decode_;
};

std::vector<prediction> cross_validated_predictions(const std::vector<request_case>& cases,
                                                    const options& opt) {
  const rtlm::prompt_feature_extractor extractor(feature_config());
  std::vector<rtlm::prompt_features> features;
  features.reserve(cases.size());
  for (const request_case& r : cases) features.push_back(extractor.extract(r.prompt));
  const std::size_t n = cases.size();
  // Every request here is a distinct prompt (one response per AlpacaEval prompt and model; the
  // long-context requests carry no text and are each their own), so folds by row are folds by
  // prompt; the calibration inside the training folds is told so.
  const std::vector<std::size_t> order = permutation(n, opt.seed);
  std::vector<std::size_t> fold(n);
  for (std::size_t k = 0; k < n; ++k) fold[order[k]] = k % opt.folds;
  std::vector<std::uint64_t> groups(n);
  std::iota(groups.begin(), groups.end(), std::uint64_t{0});
  std::vector<prediction> out(n);
  rtlm::length_distribution d;
  for (std::size_t f = 0; f < opt.folds; ++f) {
    std::vector<rtlm::prompt_features> train;
    std::vector<tokens> lengths;
    std::vector<std::uint64_t> train_groups;
    for (std::size_t i = 0; i < n; ++i) {
      if (fold[i] == f) continue;
      train.push_back(features[i]);
      lengths.push_back(cases[i].length);
      train_groups.push_back(groups[i]);
    }
    rtlm::online_length_regressor regressor({.features = feature_config()});
    rtlm::conformal_length_bound bound;
    rtlm::fit_and_calibrate(regressor, std::span<const rtlm::prompt_features>(train),
                            std::span<const tokens>(lengths),
                            std::span<const std::uint64_t>(train_groups), bound, 5, opt.seed + 1);
    // TimeBill's predictor: 512 buckets of 16 tokens, trained on the served model's lengths.
    rtlm::bucketed_length_classifier timebill(
        rtlm::bucketed_classifier_config{.features = feature_config()});
    timebill.fit(train, lengths);
    const auto n_max = static_cast<std::int64_t>(timebill.config().bucket_count) *
                       timebill.config().bucket_width.count();
    for (std::size_t i = 0; i < n; ++i) {
      if (fold[i] != f) continue;
      regressor.predict(features[i], out[i].distribution);
      out[i].rtlm_bound = bound.bound(out[i].distribution, opt.rtlm_coverage).length;
      out[i].rtlm_start_bound =
          bound.bound(out[i].distribution, opt.inflight_start_coverage).length;
      timebill.predict(features[i], d);
      const auto p = d.probabilities();
      const auto best = static_cast<std::int64_t>(std::max_element(p.begin(), p.end()) - p.begin());
      const std::int64_t n_hat = (best + 1) * timebill.config().bucket_width.count();
      out[i].timebill_bound =
          tokens(std::min(static_cast<std::int64_t>(opt.timebill_k) * n_hat, n_max));
      out[i].timebill_n_hat = n_hat;
      out[i].timebill_n_max = n_max;
      for (const double q : opt.frontier_q)
        out[i].frontier_bounds.push_back(bound.bound(out[i].distribution, q).length);
    }
  }
  return out;
}

// Per budget and policy, over the requests.
struct policy_figures {
  double completion = 0;            // finished within T (Kill: the late ones are dropped)
  double completion_feasible = 0;   // the same among requests alpha_max can finish in time
  double completion_skip_next = 0;  // Skip-Next, requests released every T in a fixed order
  double mean_alpha_completed = 0;  // NaN when none completed
  double mean_alpha = 0;
  double infeasible_plans = 0;  // plans whose bound could not be met
};

struct policy {
  std::string name;
  std::optional<double> fixed_alpha;
};

double skip_next_completion(const std::vector<double>& times, double budget,
                            const std::vector<std::size_t>& order) {
  std::vector<rtlm::stream_job> jobs;
  jobs.reserve(times.size());
  const rtlm::time_point start{};
  const auto at = [&](double s) {
    return start + std::chrono::duration_cast<rtlm::duration>(seconds(s));
  };
  for (std::size_t k = 0; k < order.size(); ++k) {
    const double release = static_cast<double>(k) * budget;
    jobs.push_back(
        {.release = at(release),
         .deadline = at(release + budget),
         .execution = std::chrono::duration_cast<rtlm::duration>(seconds(times[order[k]]))});
  }
  const rtlm::stream_replay replay =
      rtlm::replay_single_stream(jobs, rtlm::overrun_policy::skip_next);
  return replay.stats.completion_rate();
}

using json_figures = std::vector<std::pair<std::string, double>>;

// The fitted timing models every workload shares.
struct timing {
  rtlm::roofline_fit truth;              // on the whole profile: the simulated GPU
  rtlm::roofline_fit rtlm;               // on 4/5 of the profile: rtlm's planner
  rtlm::timebill_coefficients timebill;  // on the same 4/5: TimeBill's planner
  measured_noise noise;
  std::string model;  // the profile's served model, as its '# model:' header names it
};

timing fit_timing(const options& opt) {
  const rtlm::profile prof = rtlm::load_profile_csv(opt.profile);
  const auto model_name = prof.metadata.find("model");
  if (model_name == prof.metadata.end())
    throw std::runtime_error(opt.profile + " has no '# model:' header");
  const std::optional<rtlm::model_config> config = rtlm::models::by_name(model_name->second);
  if (!config) throw std::runtime_error(opt.profile + ": unknown model " + model_name->second);
  // The datasheet ceilings only scale the features; the fit absorbs the real efficiencies.
  const rtlm::step_featurizer featurizer{rtlm::model_shape(*config),
                                         rtlm::hardware_spec(rtlm::accelerators::h100_sxm_bf16())};
  const rtlm::profile_split split = rtlm::split_every_nth(prof);
  return {.truth = rtlm::fit_roofline_estimator(featurizer, prof),
          .rtlm = rtlm::fit_roofline_estimator(featurizer, split.fit),
          .timebill = rtlm::fit_timebill_estimator(split.fit).coefficients(),
          .noise = noise_of(prof),
          .model = model_name->second};
}

// Draws every request's step noise once, so every policy sees the same (common random numbers).
void draw_noise(std::vector<request_case>& cases, const measured_noise& noise, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (request_case& c : cases) {
    c.prefill_noise = noise.prefill[rng() % noise.prefill.size()];
    c.decode_noise.resize(static_cast<std::size_t>(c.length.count() - 1));
    for (double& r : c.decode_noise) r = noise.decode[rng() % noise.decode.size()];
  }
}

std::int64_t median_prompt(const std::vector<request_case>& cases) {
  std::vector<std::int64_t> p;
  p.reserve(cases.size());
  for (const request_case& c : cases) p.push_back(c.prompt_tokens.count());
  std::sort(p.begin(), p.end());
  return p[p.size() / 2];
}

rtlm::seconds eviction_cost(const options& opt, const request_case& c) {
  return seconds(opt.eviction_cost_a +
                 opt.eviction_cost_b * static_cast<double>(c.prompt_tokens.count()));
}

// The time a request takes at `kept` prompt tokens, the eviction's own cost included.
double request_time(const truth_model& truth, const options& opt, const request_case& c,
                    tokens kept) {
  return truth.time(c, kept) + (kept < c.prompt_tokens ? eviction_cost(opt, c).count() : 0.0);
}

// The budgets' unit: the median of the requests' simulated times without eviction.
double median_vanilla_latency(const truth_model& truth, const std::vector<request_case>& cases) {
  std::vector<double> sorted(cases.size());
  for (std::size_t j = 0; j < cases.size(); ++j)
    sorted[j] = truth.time(cases[j], cases[j].prompt_tokens);
  std::sort(sorted.begin(), sorted.end());
  return sorted[sorted.size() / 2];
}

// The oracle's ratio: the least eviction that finishes the request within `budget` in its own
// simulated run (true length, the very step noise it meets); 0 where it finishes without or
// cannot finish at all.
double oracle_alpha(const truth_model& truth, const options& opt, const request_case& c,
                    double budget) {
  const tokens fewest = rtlm::kept_tokens_for_ratio(c.prompt_tokens, opt.alpha_max);
  if (request_time(truth, opt, c, c.prompt_tokens) <= budget ||
      request_time(truth, opt, c, fewest) > budget)
    return 0;
  tokens lo = fewest;            // fits
  tokens hi = c.prompt_tokens;   // does not
  while (hi - lo > tokens(1)) {  // the time falls as fewer tokens are kept
    const tokens mid = lo + tokens((hi - lo).count() / 2);
    (request_time(truth, opt, c, mid) <= budget ? lo : hi) = mid;
  }
  return rtlm::ratio_for_kept_tokens(c.prompt_tokens, lo);
}

// Budgets T on a grid around the median vanilla latency; every policy on every request.
void budget_sweep(const std::vector<request_case>& cases, const std::vector<prediction>& predicted,
                  const timing& fit, const options& opt, const std::string& prefix,
                  json_figures& json, std::ofstream* plans) {
  std::int64_t longest_kv = 0;
  for (const request_case& c : cases)
    longest_kv = std::max(longest_kv, c.prompt_tokens.count() + c.length.count());
  const truth_model truth(fit.truth.estimator, longest_kv);
  const rtlm::timebill_coefficients& timebill_fit = fit.timebill;
  const rtlm::time_budget_solver rtlm_solver(
      fit.rtlm.estimator, {.max_tokens = tokens(1 << 16), .level = opt.rtlm_level});
  const double median = median_vanilla_latency(truth, cases);
  fmt::print("  median vanilla latency {:.3f} s; budgets T = factor x median\n\n", median);

  std::vector<policy> policies{{"vanilla", 0.0},     {"fixed_0.25", 0.25},  {"fixed_0.5", 0.5},
                               {"fixed_0.75", 0.75}, {"fixed_0.95", 0.95},  {"timebill", {}},
                               {"rtlm", {}},         {"rtlm_inflight", {}}, {"oracle", {}}};
  const std::vector<std::size_t> release_order = permutation(cases.size(), opt.seed + 3);
  json.emplace_back(prefix + "median_vanilla_latency_s", median);
  double min_feasible_completion = INFINITY;
  double oracle_min_feasible_completion = INFINITY;
  double inflight_min_feasible_completion = INFINITY;
  std::map<std::string, double> alpha_over_budgets;  // each policy's mean alpha, summed over T
  double min_completion_gap = INFINITY;
  double ratio_sum = 0;
  std::size_t ratio_count = 0;
  fmt::print("  {:>7} {:>6} {:<11} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10}\n", "T (s)", "feas.",
             "policy", "complete", "cmp|feas", "skipnext", "alpha|cmp", "alpha", "infeasible");
  for (const double factor : opt.budget_factors) {
    const double budget = factor * median;
    // The time a request takes at `kept` prompt tokens, the eviction's own cost included.
    const auto run_time = [&](const request_case& c, tokens kept) {
      return request_time(truth, opt, c, kept);
    };
    std::vector<bool> feasible(cases.size());
    std::size_t feasible_count = 0;
    for (std::size_t j = 0; j < cases.size(); ++j) {
      const tokens fewest = rtlm::kept_tokens_for_ratio(cases[j].prompt_tokens, opt.alpha_max);
      feasible[j] = run_time(cases[j], fewest) <= budget;
      feasible_count += feasible[j] ? 1U : 0U;
    }
    // rtlm_inflight's run: evicts to `alpha` after the prefill, then replans every
    // inflight_every decode steps against the time actually left, evicting more of the prompt
    // (each eviction paying its cost) when the length so far makes the bound outgrow it.
    struct inflight_run {
      double time = 0;
      double alpha = 0;
    };
    const auto run_inflight = [&](const request_case& c, const rtlm::length_distribution& dist,
                                  double alpha, double budget_s) {
      const seconds cost = eviction_cost(opt, c);
      const tokens fewest = rtlm::kept_tokens_for_ratio(c.prompt_tokens, opt.alpha_max);
      tokens kept = rtlm::kept_tokens_for_ratio(c.prompt_tokens, alpha);
      double t = truth.prefill_time(c) + (kept < c.prompt_tokens ? cost.count() : 0.0);
      for (std::size_t i = 0; i < c.decode_noise.size(); ++i) {
        const auto step = static_cast<std::int64_t>(i);
        if (step > 0 && step % opt.inflight_every == 0 && kept > fewest) {
          const tokens produced(step + 1);
          const rtlm::decode_checkpoint at{
              .remaining = seconds(budget_s - t),
              .kv_tokens = kept + tokens(step),
              .remaining_bound = rtlm::remaining_length_bound(dist, produced, opt.rtlm_coverage,
                                                              rtlm_solver.table().max_tokens()),
              .min_kv_tokens = fewest + tokens(step),
              .can_evict = true,
              .eviction_time = cost};
          const rtlm::replan_decision d =
              rtlm::replan_best_effort(rtlm_solver.table(), at, dist, produced, opt.rtlm_min_gain);
          if (d.action == rtlm::replan_action::evict) {
            kept = d.keep_kv_tokens - tokens(step);
            t += cost.count();
          }
        }
        t += truth.decode_step(c, kept + tokens(step), i);
      }
      return inflight_run{.time = t, .alpha = rtlm::ratio_for_kept_tokens(c.prompt_tokens, kept)};
    };
    std::map<std::string, policy_figures> figures;
    std::vector<double> oracle_evictions;  // the oracle's ratios, where it evicts
    for (const policy& pol : policies) {
      std::vector<double> times(cases.size());
      double alpha_sum = 0;
      double alpha_completed = 0;
      std::size_t completed = 0;
      std::size_t completed_feasible = 0;
      std::size_t infeasible = 0;
      for (std::size_t j = 0; j < cases.size(); ++j) {
        const request_case& c = cases[j];
        rtlm::time_budget_problem problem;
        problem.budget = seconds(budget);
        problem.prompt_tokens = c.prompt_tokens;
        problem.alpha_max = opt.alpha_max;
        double alpha = 0;
        if (pol.fixed_alpha) {
          alpha = *pol.fixed_alpha;
        } else if (pol.name == "timebill") {
          problem.length_bound = predicted[j].timebill_bound;
          const rtlm::time_budget_plan plan = rtlm::solve_time_budget(timebill_fit, problem);
          alpha = plan.alpha;
          infeasible += plan.feasible() ? 0U : 1U;
        } else if (pol.name == "oracle") {
          // A bound, not a competitor: the least eviction that finishes the request in its
          // simulated run (true length, the very step noise it meets); none where it finishes
          // without or cannot finish at all. No policy finishes more with less eviction.
          alpha = oracle_alpha(truth, opt, c, budget);
          if (alpha > 0) oracle_evictions.push_back(alpha);
        } else if (pol.name == "rtlm_inflight") {
          problem.length_bound = predicted[j].rtlm_start_bound;
          problem.eviction_time = eviction_cost(opt, c);
          const rtlm::time_budget_plan plan =
              rtlm_solver.solve_best_effort(problem, predicted[j].distribution, opt.rtlm_min_gain);
          infeasible += plan.feasible() ? 0U : 1U;
          const inflight_run r = run_inflight(c, predicted[j].distribution, plan.alpha, budget);
          alpha = r.alpha;
          times[j] = r.time;
        } else {
          problem.length_bound = predicted[j].rtlm_bound;
          problem.eviction_time = eviction_cost(opt, c);
          const rtlm::time_budget_plan plan =
              rtlm_solver.solve_best_effort(problem, predicted[j].distribution, opt.rtlm_min_gain);
          alpha = plan.alpha;
          infeasible += plan.feasible() ? 0U : 1U;
        }
        const tokens kept = rtlm::kept_tokens_for_ratio(c.prompt_tokens, alpha);
        if (pol.name != "rtlm_inflight") times[j] = run_time(c, kept);
        if (plans != nullptr && j < opt.plans_requests && pol.name != "oracle" &&
            pol.name != "rtlm_inflight") {
          // What a GPU host replays (benchmarks/gpu/time_budget_gpu.py): the request, the budget
          // and the plan, with the simulated time beside it for comparison. Not the oracle's:
          // it knows this simulation's noise, not the GPU's. Nor rtlm_inflight's: it decides
          // as the request runs, on the time the run has taken.
          *plans << fmt::format("{},{},{},{},{:.6f},{},{:.6f},{},{:.6f}\n",
                                prefix.empty() ? "alpaca_eval" : "long_context", j,
                                c.prompt_tokens.count(), c.length.count(), budget, pol.name, alpha,
                                kept.count(), times[j]);
        }
        const bool done = times[j] <= budget;
        alpha_sum += alpha;
        if (done) {
          ++completed;
          alpha_completed += alpha;
          completed_feasible += feasible[j] ? 1U : 0U;
        }
      }
      const auto n = static_cast<double>(cases.size());
      policy_figures& f = figures[pol.name];
      f.completion = static_cast<double>(completed) / n;
      f.completion_feasible = feasible_count > 0 ? static_cast<double>(completed_feasible) /
                                                       static_cast<double>(feasible_count)
                                                 : NAN;
      f.completion_skip_next = skip_next_completion(times, budget, release_order);
      f.mean_alpha_completed =
          completed > 0 ? alpha_completed / static_cast<double>(completed) : NAN;
      f.mean_alpha = alpha_sum / n;
      f.infeasible_plans = static_cast<double>(infeasible) / n;
      fmt::print(
          "  {:>7.3f} {:>6.3f} {:<11} {:>9.4f} {:>9.4f} {:>9.4f} {:>10.4f} {:>10.4f} {:>10.4f}\n",
          budget, static_cast<double>(feasible_count) / n, pol.name, f.completion,
          f.completion_feasible, f.completion_skip_next, f.mean_alpha_completed, f.mean_alpha,
          f.infeasible_plans);
      const std::string key = fmt::format("{}T={:.3f}.{}.", prefix, budget, pol.name);
      json.emplace_back(key + "completion", f.completion);
      json.emplace_back(key + "completion_feasible", f.completion_feasible);
      json.emplace_back(key + "completion_skip_next", f.completion_skip_next);
      json.emplace_back(key + "mean_alpha_completed", f.mean_alpha_completed);
      json.emplace_back(key + "mean_alpha", f.mean_alpha);
    }
    json.emplace_back(fmt::format("{}T={:.3f}.feasible_fraction", prefix, budget),
                      static_cast<double>(feasible_count) / static_cast<double>(cases.size()));
    const policy_figures& r = figures["rtlm"];
    const policy_figures& t = figures["timebill"];
    const policy_figures& o = figures["oracle"];
    if (feasible_count > 0) {
      min_feasible_completion = std::min(min_feasible_completion, r.completion_feasible);
      oracle_min_feasible_completion =
          std::min(oracle_min_feasible_completion, o.completion_feasible);
      inflight_min_feasible_completion =
          std::min(inflight_min_feasible_completion, figures["rtlm_inflight"].completion_feasible);
    }
    for (const char* name : {"rtlm", "rtlm_inflight", "timebill", "oracle"})
      alpha_over_budgets[name] += figures[name].mean_alpha;
    // The target "99% of the feasible ones" lets a policy give up 1% of them: at best the 1%
    // whose rescue costs the most eviction.
    std::sort(oracle_evictions.begin(), oracle_evictions.end(), std::greater<>());
    const std::size_t give_up = std::min(oracle_evictions.size(), feasible_count / 100);
    alpha_over_budgets["oracle_99"] +=
        std::accumulate(oracle_evictions.begin() + static_cast<std::ptrdiff_t>(give_up),
                        oracle_evictions.end(), 0.0) /
        static_cast<double>(cases.size());
    min_completion_gap = std::min(min_completion_gap, r.completion - t.completion);
    if (t.mean_alpha > 0) {
      ratio_sum += r.mean_alpha / t.mean_alpha;
      ++ratio_count;
    }
    fmt::print("\n");
  }
  const double ratio = ratio_count > 0 ? ratio_sum / static_cast<double>(ratio_count) : NAN;
  fmt::print("summary: rtlm's least completion among alpha_max-feasible requests {:.4f}\n",
             min_feasible_completion);
  fmt::print("         rtlm completion minus TimeBill's, least over budgets {:+.4f}\n",
             min_completion_gap);
  fmt::print("         rtlm's mean alpha over TimeBill's, averaged over {} budgets {:.4f}\n",
             ratio_count, ratio);
  json.emplace_back(prefix + "summary.rtlm_min_completion_feasible", min_feasible_completion);
  json.emplace_back(prefix + "summary.rtlm_minus_timebill_completion_min", min_completion_gap);
  json.emplace_back(prefix + "summary.rtlm_vs_timebill_mean_alpha_ratio", ratio);
  // The oracle bounds what any length predictor could buy: the least eviction that finishes
  // every alpha_max-feasible request (or 99% of them), against what rtlm and TimeBill evict.
  const auto budgets = static_cast<double>(opt.budget_factors.size());
  fmt::print("         rtlm_inflight's least completion among alpha_max-feasible requests {:.4f}\n",
             inflight_min_feasible_completion);
  fmt::print(
      "         mean alpha over the {} budgets: rtlm {:.4f}, rtlm_inflight {:.4f}, TimeBill "
      "{:.4f}; "
      "the oracle {:.4f} finishing every feasible request, {:.4f} finishing 99% of them\n",
      opt.budget_factors.size(), alpha_over_budgets["rtlm"] / budgets,
      alpha_over_budgets["rtlm_inflight"] / budgets, alpha_over_budgets["timebill"] / budgets,
      alpha_over_budgets["oracle"] / budgets, alpha_over_budgets["oracle_99"] / budgets);
  fmt::print(
      "         the oracle (the least eviction that finishes each request in its own run): least "
      "completion among alpha_max-feasible requests {:.4f}\n",
      oracle_min_feasible_completion);
  json.emplace_back(prefix + "summary.rtlm_inflight_min_completion_feasible",
                    inflight_min_feasible_completion);
  for (const char* name : {"rtlm", "rtlm_inflight", "timebill", "oracle", "oracle_99"})
    json.emplace_back(fmt::format("{}summary.{}_mean_alpha_over_budgets", prefix, name),
                      alpha_over_budgets[name] / budgets);
  json.emplace_back(prefix + "summary.oracle_min_completion_feasible",
                    oracle_min_feasible_completion);
}

// One operating point of the frontier section: TimeBill at one pessimism factor k, or rtlm at
// one length-bound coverage q, counted over every (request, budget) pair.
struct operating_point {
  std::string policy;         // "timebill" or "rtlm"
  std::string label;          // "k3", "q0.70": its JSON key; policy + '_' + label names its plans
  std::size_t k = 0;          // TimeBill's pessimism factor
  std::size_t q_index = 0;    // rtlm's: its coverage, an index into options::frontier_q
  double min_gain = 0;        // ...and its best-effort min_gain
  std::size_t completed = 0;  // pairs finished within T (Kill)
  std::size_t completed_feasible = 0;  // ...among those alpha_max can finish
  std::size_t infeasible = 0;          // plans whose bound could not be met
  double alpha_sum = 0;
  std::vector<std::size_t> completed_at;  // per budget
  std::vector<double> alpha_at;           // per budget, summed over the requests
};

// A point of a completion-against-mean-alpha plane.
struct frontier_point {
  double completion = 0;
  double mean_alpha = 0;
};

// The upper-left Pareto frontier: the points that no other point matches or beats on both
// completion (higher) and mean alpha (lower); by completion, ascending (then alpha ascends too).
std::vector<frontier_point> pareto_frontier(std::vector<frontier_point> points) {
  std::sort(points.begin(), points.end(), [](const frontier_point& a, const frontier_point& b) {
    return a.completion != b.completion ? a.completion > b.completion : a.mean_alpha < b.mean_alpha;
  });
  std::vector<frontier_point> out;
  for (const frontier_point& p : points)
    if (out.empty() || p.mean_alpha < out.back().mean_alpha) out.push_back(p);
  std::reverse(out.begin(), out.end());
  return out;
}

// The least mean alpha at which a frontier's points reach `completion`; infinity when none does.
double least_alpha_reaching(const std::vector<frontier_point>& f, double completion) {
  double best = INFINITY;
  for (const frontier_point& p : f)
    if (p.completion >= completion) best = std::min(best, p.mean_alpha);
  return best;
}

// The most completion a frontier's points reach at mean alpha <= `alpha`; 0 when none does.
double most_completion_within(const std::vector<frontier_point>& f, double alpha) {
  double best = 0;
  for (const frontier_point& p : f)
    if (p.mean_alpha <= alpha) best = std::max(best, p.completion);
  return best;
}

// rtlm's frontier against TimeBill's: rtlm's is at or above TimeBill's at every completion level
// TimeBill reaches when, for every point of TimeBill's frontier, some rtlm operating point
// completes at least as much at no more mean alpha (no interpolation between points).
struct frontier_comparison {
  bool dominates = true;
  double worst_alpha_excess =
      -std::numeric_limits<double>::infinity();  // max over TimeBill's points: rtlm's least alpha
                                                 // at that completion minus TimeBill's alpha
  double least_completion_margin =
      std::numeric_limits<double>::infinity();  // min over TimeBill's points: rtlm's most
                                                // completion at that alpha minus TimeBill's
  frontier_point worst;                         // TimeBill's point where the excess is largest
};

frontier_comparison compare_frontiers(const std::vector<frontier_point>& rtlm_frontier,
                                      const std::vector<frontier_point>& timebill_frontier) {
  frontier_comparison c;
  for (const frontier_point& t : timebill_frontier) {
    const double excess = least_alpha_reaching(rtlm_frontier, t.completion) - t.mean_alpha;
    if (excess > c.worst_alpha_excess) {
      c.worst_alpha_excess = excess;
      c.worst = t;
    }
    c.least_completion_margin =
        std::min(c.least_completion_margin,
                 most_completion_within(rtlm_frontier, t.mean_alpha) - t.completion);
  }
  c.dominates = c.worst_alpha_excess <= 0;
  return c;
}

std::string frontier_text(const std::vector<frontier_point>& f) {
  std::string out;
  for (const frontier_point& p : f)
    out += fmt::format("{}{:.4f} / {:.4f}", out.empty() ? "" : ", ", p.completion, p.mean_alpha);
  return out;
}

// The frontier section (--frontier): on the budget sweep's requests and budgets, TimeBill at
// every k of options::frontier_k and rtlm at every coverage of options::frontier_q, each
// counted over every (request, budget) pair; the two frontiers, the oracle's (the least mean
// alpha at which perfect knowledge of each run reaches a completion level) and whether rtlm's
// frontier is at or above TimeBill's. Writes the points to `plans` (as `timebill_k3`,
// `rtlm_q0.70`) under `workload` when both are given.
void frontier_sweep(const std::vector<request_case>& cases,
                    const std::vector<prediction>& predicted, const timing& fit, const options& opt,
                    const std::string& prefix, const std::string& title,
                    const std::string& workload, json_figures& json, std::ofstream* plans) {
  std::int64_t longest_kv = 0;
  for (const request_case& c : cases)
    longest_kv = std::max(longest_kv, c.prompt_tokens.count() + c.length.count());
  const truth_model truth(fit.truth.estimator, longest_kv);
  const rtlm::time_budget_solver rtlm_solver(
      fit.rtlm.estimator, {.max_tokens = tokens(1 << 16), .level = opt.rtlm_level});
  const double median = median_vanilla_latency(truth, cases);
  const std::size_t budget_count = opt.budget_factors.size();

  std::vector<operating_point> points;
  const auto add_point = [&](const char* policy, std::string label) -> operating_point& {
    operating_point& p = points.emplace_back();
    p.policy = policy;
    p.label = std::move(label);
    p.completed_at.assign(budget_count, 0);
    p.alpha_at.assign(budget_count, 0.0);
    return p;
  };
  for (const std::size_t k : opt.frontier_k) add_point("timebill", fmt::format("k{}", k)).k = k;
  // One min_gain names its points by coverage alone (rtlm_q0.70); several add it (_g0.05).
  const std::vector<double> gains = opt.frontier_min_gain.empty()
                                        ? std::vector<double>{opt.rtlm_min_gain}
                                        : opt.frontier_min_gain;
  for (std::size_t q = 0; q < opt.frontier_q.size(); ++q) {
    for (const double g : gains) {
      operating_point& p = add_point(
          "rtlm", gains.size() == 1 ? fmt::format("q{:.2f}", opt.frontier_q[q])
                                    : fmt::format("q{:.2f}_g{:.2f}", opt.frontier_q[q], g));
      p.q_index = q;
      p.min_gain = g;
    }
  }
  std::size_t vanilla_completed = 0;  // the oracle's free completions: no eviction needed
  std::size_t vanilla_feasible = 0;   // ...those of them alpha_max also finishes
  std::size_t feasible_pairs = 0;
  std::vector<std::size_t> vanilla_at(budget_count, 0);
  std::vector<double> rescues;  // the oracle's ratio for each pair only eviction finishes
  std::vector<std::vector<double>> rescues_at(budget_count);
  for (std::size_t b = 0; b < budget_count; ++b) {
    const double budget = opt.budget_factors[b] * median;
    for (std::size_t j = 0; j < cases.size(); ++j) {
      const request_case& c = cases[j];
      const bool feasible =
          request_time(truth, opt, c,
                       rtlm::kept_tokens_for_ratio(c.prompt_tokens, opt.alpha_max)) <= budget;
      feasible_pairs += feasible ? 1U : 0U;
      if (request_time(truth, opt, c, c.prompt_tokens) <= budget) {
        ++vanilla_completed;
        vanilla_feasible += feasible ? 1U : 0U;
        ++vanilla_at[b];
      } else if (const double a = oracle_alpha(truth, opt, c, budget); a > 0) {
        rescues.push_back(a);
        rescues_at[b].push_back(a);
      }
      for (operating_point& p : points) {
        rtlm::time_budget_problem problem;
        problem.budget = seconds(budget);
        problem.prompt_tokens = c.prompt_tokens;
        problem.alpha_max = opt.alpha_max;
        rtlm::time_budget_plan plan;
        if (p.policy == "timebill") {
          const auto k = static_cast<std::int64_t>(p.k);
          problem.length_bound =
              tokens(std::min(k * predicted[j].timebill_n_hat, predicted[j].timebill_n_max));
          plan = rtlm::solve_time_budget(fit.timebill, problem);
        } else {
          problem.length_bound = predicted[j].frontier_bounds[p.q_index];
          problem.eviction_time = eviction_cost(opt, c);
          plan = rtlm_solver.solve_best_effort(problem, predicted[j].distribution, p.min_gain);
        }
        const tokens kept = rtlm::kept_tokens_for_ratio(c.prompt_tokens, plan.alpha);
        const double time = request_time(truth, opt, c, kept);
        const bool done = time <= budget;
        p.infeasible += plan.feasible() ? 0U : 1U;
        p.alpha_sum += plan.alpha;
        p.alpha_at[b] += plan.alpha;
        if (done) {
          ++p.completed;
          ++p.completed_at[b];
          p.completed_feasible += feasible ? 1U : 0U;
        }
        if (plans != nullptr && !workload.empty() && j < opt.plans_requests) {
          *plans << fmt::format("{},{},{},{},{:.6f},{}_{},{:.6f},{},{:.6f}\n", workload, j,
                                c.prompt_tokens.count(), c.length.count(), budget, p.policy,
                                p.label, plan.alpha, kept.count(), time);
        }
      }
    }
  }

  const auto pairs = static_cast<double>(cases.size() * budget_count);
  // The oracle's frontier: it finishes the free pairs at alpha 0, then rescues the cheapest
  // first, which is the least mean alpha at which any policy completes that many pairs.
  std::sort(rescues.begin(), rescues.end());
  std::vector<double> rescue_sum(rescues.size() + 1, 0.0);
  for (std::size_t k = 0; k < rescues.size(); ++k) rescue_sum[k + 1] = rescue_sum[k] + rescues[k];
  const auto oracle_alpha_for = [&](std::size_t completed) {
    if (completed <= vanilla_completed) return 0.0;
    const std::size_t k = completed - vanilla_completed;
    return k <= rescues.size() ? rescue_sum[k] / pairs : INFINITY;
  };

  fmt::print(
      "\nFrontier, {}: TimeBill at k = {} and rtlm at bound coverage {} on the {} requests x {} "
      "budgets above (median vanilla latency {:.3f} s); completion: the share of (request, "
      "budget) pairs finished within T; alpha: the mean over all of them\n",
      title, fmt::join(opt.frontier_k, ", "), fmt::join(opt.frontier_q, ", "), cases.size(),
      budget_count, median);
  fmt::print("  {:<16} {:>9} {:>9} {:>9} {:>10} {:>12} {:>8}\n", "point", "complete", "cmp|feas",
             "alpha", "infeasible", "oracle alpha", "frontier");
  std::vector<frontier_point> timebill_points;
  std::vector<frontier_point> rtlm_points;
  for (const operating_point& p : points) {
    const frontier_point xy{.completion = static_cast<double>(p.completed) / pairs,
                            .mean_alpha = p.alpha_sum / pairs};
    (p.policy == "timebill" ? timebill_points : rtlm_points).push_back(xy);
  }
  const std::vector<frontier_point> timebill_frontier = pareto_frontier(timebill_points);
  const std::vector<frontier_point> rtlm_frontier = pareto_frontier(rtlm_points);
  const auto on = [](const std::vector<frontier_point>& f, double completion, double alpha) {
    return std::any_of(f.begin(), f.end(), [&](const frontier_point& x) {
      return x.completion == completion && x.mean_alpha == alpha;
    });
  };
  const std::string base = prefix + "frontier.";
  const double vanilla = static_cast<double>(vanilla_completed) / pairs;
  const double feasible_share = static_cast<double>(feasible_pairs) / pairs;
  fmt::print("  {:<16} {:>9.4f} {:>9.4f} {:>9.4f} {:>10} {:>12} {:>8}\n", "vanilla", vanilla,
             feasible_pairs > 0
                 ? static_cast<double>(vanilla_feasible) / static_cast<double>(feasible_pairs)
                 : NAN,
             0.0, "-", "-", "-");
  json.emplace_back(base + "requests", static_cast<double>(cases.size()));
  json.emplace_back(base + "budgets", static_cast<double>(budget_count));
  json.emplace_back(base + "feasible_fraction", feasible_share);
  json.emplace_back(base + "vanilla.completion", vanilla);
  for (const operating_point& p : points) {
    const double completion = static_cast<double>(p.completed) / pairs;
    const double alpha = p.alpha_sum / pairs;
    const double completion_feasible =
        feasible_pairs > 0
            ? static_cast<double>(p.completed_feasible) / static_cast<double>(feasible_pairs)
            : NAN;
    const double oracle = oracle_alpha_for(p.completed);
    const bool frontier =
        on(p.policy == "timebill" ? timebill_frontier : rtlm_frontier, completion, alpha);
    fmt::print("  {:<16} {:>9.4f} {:>9.4f} {:>9.4f} {:>10.4f} {:>12.4f} {:>8}\n",
               p.policy + "_" + p.label, completion, completion_feasible, alpha,
               static_cast<double>(p.infeasible) / pairs, oracle, frontier ? "*" : "");
    const std::string key = fmt::format("{}{}.{}.", base, p.policy, p.label);
    json.emplace_back(key + "completion", completion);
    json.emplace_back(key + "completion_feasible", completion_feasible);
    json.emplace_back(key + "mean_alpha", alpha);
    json.emplace_back(key + "infeasible_plans", static_cast<double>(p.infeasible) / pairs);
    json.emplace_back(key + "on_frontier", frontier ? 1.0 : 0.0);
    json.emplace_back(key + "oracle_mean_alpha", oracle);
  }
  const std::size_t oracle_completed = vanilla_completed + rescues.size();
  const double oracle_completion = static_cast<double>(oracle_completed) / pairs;
  fmt::print("  {:<16} {:>9.4f} {:>9.4f} {:>9.4f} {:>10} {:>12} {:>8}\n", "oracle",
             oracle_completion,
             feasible_pairs > 0 ? static_cast<double>(vanilla_feasible + rescues.size()) /
                                      static_cast<double>(feasible_pairs)
                                : NAN,
             oracle_alpha_for(oracle_completed), "-", "-", "-");
  json.emplace_back(base + "oracle.completion", oracle_completion);
  json.emplace_back(base + "oracle.mean_alpha", oracle_alpha_for(oracle_completed));

  // The strict comparison, on the operating points alone; and one that gives both frontiers the
  // vanilla point (evicting nothing, which either method can do), so asks only whether rtlm
  // buys every completion beyond vanilla's that TimeBill buys, at no more eviction.
  const frontier_point none{.completion = vanilla, .mean_alpha = 0};
  const auto with_none = [&](std::vector<frontier_point> f) {
    f.push_back(none);
    return pareto_frontier(std::move(f));
  };
  const frontier_comparison all = compare_frontiers(rtlm_frontier, timebill_frontier);
  const frontier_comparison beyond =
      compare_frontiers(with_none(rtlm_points), with_none(timebill_points));
  // The same comparisons within each budget, each point's completion and alpha at that T alone.
  std::array<std::size_t, 2> budgets_dominated{};
  std::array<std::vector<std::string>, 2> not_dominated;
  const auto per_budget = static_cast<double>(cases.size());
  for (std::size_t b = 0; b < budget_count; ++b) {
    std::vector<frontier_point> t;
    std::vector<frontier_point> r;
    for (const operating_point& p : points) {
      const frontier_point xy{.completion = static_cast<double>(p.completed_at[b]) / per_budget,
                              .mean_alpha = p.alpha_at[b] / per_budget};
      (p.policy == "timebill" ? t : r).push_back(xy);
    }
    const frontier_point none_at{.completion = static_cast<double>(vanilla_at[b]) / per_budget,
                                 .mean_alpha = 0};
    const std::string at = fmt::format("{:.3f}", opt.budget_factors[b] * median);
    if (compare_frontiers(pareto_frontier(r), pareto_frontier(t)).dominates) {
      ++budgets_dominated[0];
    } else {
      not_dominated[0].push_back(at);
    }
    r.push_back(none_at);
    t.push_back(none_at);
    if (compare_frontiers(pareto_frontier(r), pareto_frontier(t)).dominates) {
      ++budgets_dominated[1];
    } else {
      not_dominated[1].push_back(at);
    }
  }
  fmt::print("  TimeBill's frontier (completion / mean alpha): {}\n",
             frontier_text(timebill_frontier));
  fmt::print("  rtlm's frontier:                               {}\n", frontier_text(rtlm_frontier));
  const auto verdict = [&](const frontier_comparison& c, const char* what, std::size_t dominated,
                           const std::vector<std::string>& missed) {
    if (c.dominates) {
      fmt::print(
          "  {}: rtlm's frontier is at or above TimeBill's at every completion level TimeBill "
          "reaches (least completion margin {:+.4f}, most alpha excess {:+.4f})",
          what, c.least_completion_margin, c.worst_alpha_excess);
    } else {
      fmt::print(
          "  {}: rtlm's frontier is NOT at or above TimeBill's: TimeBill completes {:.4f} at mean "
          "alpha {:.4f}, {} (least completion margin {:+.4f})",
          what, c.worst.completion, c.worst.mean_alpha,
          std::isfinite(c.worst_alpha_excess)
              ? fmt::format("rtlm needs {:.4f}", c.worst.mean_alpha + c.worst_alpha_excess)
              : std::string("no rtlm point completes as much"),
          c.least_completion_margin);
    }
    fmt::print("; within each budget: at {} of {}{}\n", dominated, budget_count,
               missed.empty() ? std::string()
                              : fmt::format(" (not at T = {} s)", fmt::join(missed, ", ")));
  };
  verdict(all, "points alone", budgets_dominated[0], not_dominated[0]);
  verdict(beyond, "with vanilla", budgets_dominated[1], not_dominated[1]);
  json.emplace_back(base + "dominates", all.dominates ? 1.0 : 0.0);
  json.emplace_back(base + "worst_alpha_excess", all.worst_alpha_excess);
  json.emplace_back(base + "least_completion_margin", all.least_completion_margin);
  json.emplace_back(base + "budgets_dominated", static_cast<double>(budgets_dominated[0]));
  json.emplace_back(base + "dominates_with_vanilla", beyond.dominates ? 1.0 : 0.0);
  json.emplace_back(base + "with_vanilla.worst_alpha_excess", beyond.worst_alpha_excess);
  json.emplace_back(base + "with_vanilla.least_completion_margin", beyond.least_completion_margin);
  json.emplace_back(base + "with_vanilla.budgets_dominated",
                    static_cast<double>(budgets_dominated[1]));
}

int run(const options& opt) {
  const timing fit = fit_timing(opt);
  fmt::print("eval_time_budget: timing from {}\n", opt.profile);
  fmt::print(
      "  the simulated GPU: rtlm's estimator fitted to the whole profile x measured noise ({} "
      "prefill, {} decode repeats)\n  planners fitted on 4/5 of the profile; TimeBill: a {:.3g} "
      "N^2 + {:.3g} N + {:.3g}, p {:.3g} q {:.3g}\n",
      fit.noise.prefill.size(), fit.noise.decode.size(), fit.timebill.a, fit.timebill.b,
      fit.timebill.c, fit.timebill.p, fit.timebill.q);
  fmt::print(
      "  predictors: 5-fold cross-validation (seed {}); rtlm bound at coverage {}, estimator "
      "bound level {}, min_gain {}; TimeBill 512 x 16 buckets, k = {}\n",
      opt.seed, opt.rtlm_coverage, opt.rtlm_level, opt.rtlm_min_gain, opt.timebill_k);
  fmt::print(
      "  eviction cost: {} s + {} s per prompt token (rtlm plans with it; the runs pay it)\n",
      opt.eviction_cost_a, opt.eviction_cost_b);
  json_figures json;
  std::ofstream plans_file;
  if (!opt.plans.empty()) {
    plans_file.open(opt.plans);
    if (!plans_file) throw std::runtime_error("--plans: cannot write " + opt.plans);
    plans_file << "workload,request,prompt_tokens,output_tokens,budget_s,policy,alpha,kept_tokens,"
                  "simulated_s\n";
  }
  std::ofstream* plans = opt.plans.empty() ? nullptr : &plans_file;

  // AlpacaEval: the served model's real outputs to real prompts.
  const std::map<std::string, std::string> prompts =
      rtlm::bench::read_prompts(opt.data + "/instructions.tsv");
  const std::vector<rtlm::bench::length_row> rows =
      rtlm::bench::read_lengths(opt.data + "/token_lengths.csv");
  const auto alpaca_cases = [&](const std::string& generator) {
    std::vector<request_case> cases;
    for (const rtlm::bench::length_row& r : rows) {
      if (r.generator != generator) continue;
      const auto it = prompts.find(r.key);
      if (it == prompts.end())
        throw std::runtime_error(fmt::format("no prompt with instruction_sha1 {}", r.key));
      if (r.prompt_tokens < 0)
        throw std::runtime_error(opt.data + "/token_lengths.csv: no instruction_tokens column");
      request_case c;
      c.prompt = it->second;
      c.prompt_tokens = tokens(r.prompt_tokens);
      c.length = tokens(std::max<std::int64_t>(1, r.output_tokens));
      cases.push_back(std::move(c));
    }
    if (cases.size() < 2 * opt.folds)
      throw std::runtime_error(fmt::format("generator '{}' has {} requests in {}; need {}",
                                           generator, cases.size(), opt.data, 2 * opt.folds));
    draw_noise(cases, fit.noise, opt.seed + 17);
    return cases;
  };
  // The generators the frontier covers: --frontier-models, or every one in the data.
  std::vector<std::string> generators = opt.frontier_models;
  if (generators.empty()) {
    generators.push_back(opt.model);
    for (const rtlm::bench::length_row& r : rows)
      if (std::find(generators.begin(), generators.end(), r.generator) == generators.end())
        generators.push_back(r.generator);
  }
  for (const std::string& g : generators) {
    if (std::none_of(rows.begin(), rows.end(),
                     [&](const rtlm::bench::length_row& r) { return r.generator == g; }))
      throw std::runtime_error(fmt::format("--frontier-models: no generator '{}' in {}", g,
                                           opt.data + "/token_lengths.csv"));
  }
  const std::vector<request_case> cases = alpaca_cases(opt.model);
  const std::vector<prediction> predicted = cross_validated_predictions(cases, opt);

  // The predictor runs beside the prefill (TimeBill's t_predict = 0) when its latency fits
  // inside the predicted prefill; measured here for rtlm's predictor on this machine.
  const rtlm::prompt_feature_extractor extractor(feature_config());
  const rtlm::online_length_regressor timing_predictor({.features = feature_config()});
  std::vector<std::size_t> bytes;
  std::vector<seconds> latency;
  bytes.reserve(cases.size());
  latency.reserve(cases.size());
  rtlm::length_distribution scratch;
  for (const request_case& c : cases) {
    const auto t0 = std::chrono::steady_clock::now();
    timing_predictor.predict(extractor.extract(c.prompt), scratch);
    latency.emplace_back(std::chrono::steady_clock::now() - t0);
    bytes.push_back(c.prompt.size());
  }
  const rtlm::predictor_latency_model latency_model = rtlm::fit_predictor_latency(bytes, latency);
  const rtlm::request_time_table planner_table(fit.rtlm.estimator, {.max_tokens = tokens(1 << 14)});
  std::size_t not_hidden = 0;
  for (const request_case& c : cases) {
    const seconds prefill = planner_table.prefill_time(c.prompt_tokens);
    if (rtlm::max_predictor_input(latency_model, prefill, c.prompt.size()) < c.prompt.size())
      ++not_hidden;
  }
  fmt::print("\nAlpacaEval: {} ({} requests, prompts median {} tokens)\n", opt.model, cases.size(),
             median_prompt(cases));
  fmt::print(
      "  predictor latency measured here: {:.3g} s + {:.3g} s/byte + {:.3g} s/byte^2; prompts "
      "it cannot hide behind the prefill: {} (so t_predict = 0)\n",
      latency_model.c, latency_model.b, latency_model.a, not_hidden);
  json.emplace_back("predictor.prompts_not_hidden_behind_prefill", static_cast<double>(not_hidden));
  budget_sweep(cases, predicted, fit, opt, "", json, plans);
  if (opt.frontier) {
    // Every generator's frontier on its own lengths and budgets, on the same simulated GPU; only
    // --model's goes to --plans, whose alpaca_eval rows are that model's.
    for (const std::string& g : generators) {
      if (g == opt.model) {
        frontier_sweep(cases, predicted, fit, opt, g + ".", "AlpacaEval, " + g, "alpaca_eval", json,
                       plans);
        continue;
      }
      const std::vector<request_case> other = alpaca_cases(g);
      fmt::print("\nAlpacaEval: {} ({} requests, prompts median {} tokens)\n", g, other.size(),
                 median_prompt(other));
      frontier_sweep(other, cross_validated_predictions(other, opt), fit, opt, g + ".",
                     "AlpacaEval, " + g, "", json, nullptr);
    }
  }

  // Long context: a sample of the Mooncake trace's real (input, output) lengths, within the
  // profile's measured KV range. No prompt text: the predictors learn the length distribution.
  if (opt.long_context_requests > 0) {
    const std::vector<std::string> lines = rtlm::bench::read_lines(opt.long_context);
    if (lines.empty() || lines[0] != "timestamp_ms,input_length,output_length")
      rtlm::bench::fail(opt.long_context, 1,
                        "expected the header 'timestamp_ms,input_length,output_length'");
    std::vector<request_case> trace;
    for (std::size_t i = 1; i < lines.size(); ++i) {
      if (lines[i].empty()) continue;
      const std::vector<std::string> f = rtlm::bench::split(lines[i], ',');
      if (f.size() != 3) rtlm::bench::fail(opt.long_context, i + 1, "expected 3 fields");
      std::int64_t input = 0;
      std::int64_t output = 0;
      try {
        input = std::stoll(f[1]);
        output = std::stoll(f[2]);
      } catch (const std::exception&) {
        rtlm::bench::fail(opt.long_context, i + 1, "lengths must be integers");
      }
      if (input < 0 || output < 0)
        rtlm::bench::fail(opt.long_context, i + 1, "lengths must be >= 0");
      if (input + output > 32768) continue;  // beyond the profile's measured KV range
      request_case c;
      c.prompt_tokens = tokens(input);
      c.length = tokens(std::max<std::int64_t>(1, output));
      trace.push_back(std::move(c));
    }
    const std::size_t eligible = trace.size();
    std::vector<request_case> sample;
    const std::vector<std::size_t> order = permutation(trace.size(), opt.seed + 5);
    for (std::size_t k = 0; k < std::min(opt.long_context_requests, trace.size()); ++k)
      sample.push_back(std::move(trace[order[k]]));
    if (sample.size() < 2 * opt.folds)
      throw std::runtime_error(opt.long_context + ": too few requests");
    draw_noise(sample, fit.noise, opt.seed + 19);
    const std::vector<prediction> sample_predicted = cross_validated_predictions(sample, opt);
    fmt::print(
        "\nLong context: {} requests sampled (seed {}) of the {} in {} with input + output <= "
        "32768, prompts median {} tokens\n",
        sample.size(), opt.seed + 5, eligible, opt.long_context, median_prompt(sample));
    budget_sweep(sample, sample_predicted, fit, opt, "long_context.", json, plans);
    if (opt.frontier)
      frontier_sweep(sample, sample_predicted, fit, opt, "long_context." + fit.model + ".",
                     "long context, " + fit.model, "long_context", json, plans);
  }
  if (!opt.json.empty()) rtlm::bench::write_flat_json(opt.json, json);
  if (plans != nullptr && !plans_file.flush())
    throw std::runtime_error("--plans: writing " + opt.plans + " failed");
  return 0;
}

// The comma-separated numbers of `text`, each whole and accepted by `ok`; else an error naming
// `flag`, the number and `what` it must be.
template <class Accept>
std::vector<double> numbers_in(const std::string& text, const std::string& flag, const char* what,
                               Accept ok) {
  std::vector<double> out;
  for (const std::string& f : rtlm::bench::split(text, ',')) {
    std::size_t used = 0;
    double v = NAN;
    try {
      v = std::stod(f, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != f.size() || !ok(v))
      throw std::runtime_error(fmt::format("{}: '{}' is not {}", flag, f, what));
    out.push_back(v);
  }
  return out;
}

void usage() {
  fmt::print(
      "usage: eval_time_budget [--data DIR] [--profile FILE] [--model NAME] [--budgets F,F,...]\n"
      "                        [--long-context FILE] [--long-context-requests N] [--seed N]\n"
      "                        [--rtlm-coverage Q] [--rtlm-min-gain G] [--json PATH]\n"
      "                        [--plans PATH] [--plans-requests N] [--eviction-cost A,B]\n"
      "                        [--frontier] [--frontier-k K,K,...] [--frontier-q Q,Q,...]\n"
      "                        [--frontier-min-gain G,G,...] [--frontier-models NAME,NAME,...]\n"
      "  --data DIR      instructions.tsv and token_lengths.csv (default {}/alpaca_eval)\n"
      "  --profile FILE  rtlm profile CSV of the served model (default: the H100 Llama-3.1-8B "
      "one)\n"
      "  --model NAME    generator in token_lengths.csv (default Meta-Llama-3-8B-Instruct)\n"
      "  --budgets LIST  budget factors of the median vanilla latency (default "
      "0.5,0.75,1,1.25,1.5,2,2.5,3,4)\n"
      "  --long-context FILE  timestamp_ms,input_length,output_length CSV (default: the\n"
      "                  bundled Mooncake lengths)\n"
      "  --long-context-requests N  requests sampled from it (default 1000; 0 skips it)\n"
      "  --seed N        folds, noise draws, samples and release order (default 0)\n"
      "  --rtlm-coverage Q  coverage of the length bound rtlm plans for (default 0.95)\n"
      "  --rtlm-min-gain G  chance to finish that eviction must buy past the bound (default "
      "0.01)\n"
      "  --eviction-cost A,B  an eviction costs A + B x prompt tokens seconds on top (default "
      "0,0);\n"
      "                  rtlm plans with it, TimeBill (as published) does not\n"
      "  --json PATH     also write the figures as a flat JSON object\n"
      "  --plans PATH    also write every plan (workload, request, lengths, budget, policy, "
      "alpha,\n"
      "                  kept tokens, simulated seconds) as CSV, for a GPU host to replay\n"
      "  --plans-requests N  only the first N requests of each workload in --plans (default "
      "all)\n"
      "  --frontier      also sweep TimeBill's k and rtlm's bound coverage on the same requests\n"
      "                  and budgets, per AlpacaEval generator and for the long context; print\n"
      "                  both completion-against-mean-alpha frontiers and the oracle's (and put\n"
      "                  the points in --plans as timebill_kK and rtlm_qQ)\n"
      "  --frontier-k LIST  TimeBill's pessimism factors (default 1,2,3,4,5,6,8,10)\n"
      "  --frontier-q LIST  rtlm's bound coverages (default 0.5,0.6,0.7,0.8,0.9,0.95,0.99)\n"
      "  --frontier-min-gain LIST  rtlm's best-effort min_gains, each with every coverage\n"
      "                  (default: --rtlm-min-gain alone; several name points rtlm_qQ_gG)\n"
      "  --frontier-models LIST  AlpacaEval generators (default: --model, then every other one)\n",
      RTLM_BENCHMARK_DATA_DIR);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    options opt;
    const std::vector<std::string> args(argv + 1, argv + argc);
    for (std::size_t k = 0; k < args.size(); ++k) {
      const auto value = [&]() -> const std::string& {
        if (k + 1 >= args.size()) throw std::runtime_error(args[k] + " needs a value");
        return args[++k];
      };
      if (args[k] == "--data") {
        opt.data = value();
      } else if (args[k] == "--profile") {
        opt.profile = value();
      } else if (args[k] == "--model") {
        opt.model = value();
      } else if (args[k] == "--budgets") {
        opt.budget_factors.clear();
        for (const std::string& f : rtlm::bench::split(value(), ',')) {
          const double v = std::stod(f);
          if (!(v > 0) || !std::isfinite(v))
            throw std::runtime_error("--budgets: '" + f + "' is not a factor > 0");
          opt.budget_factors.push_back(v);
        }
      } else if (args[k] == "--long-context") {
        opt.long_context = value();
      } else if (args[k] == "--long-context-requests") {
        opt.long_context_requests = std::stoull(value());
      } else if (args[k] == "--rtlm-min-gain") {
        opt.rtlm_min_gain = std::stod(value());
      } else if (args[k] == "--rtlm-coverage") {
        opt.rtlm_coverage = std::stod(value());
      } else if (args[k] == "--inflight-start-coverage") {
        opt.inflight_start_coverage = std::stod(value());
        if (!(opt.inflight_start_coverage > 0 && opt.inflight_start_coverage < 1))
          throw std::runtime_error("--inflight-start-coverage: '" +
                                   std::to_string(opt.inflight_start_coverage) +
                                   "' is not in (0, 1)");
      } else if (args[k] == "--inflight-every") {
        opt.inflight_every = std::stoll(value());
        if (opt.inflight_every < 1)
          throw std::runtime_error("--inflight-every: '" + std::to_string(opt.inflight_every) +
                                   "' is not a step count >= 1");
      } else if (args[k] == "--seed") {
        opt.seed = std::stoull(value());
      } else if (args[k] == "--json") {
        opt.json = value();
      } else if (args[k] == "--eviction-cost") {
        const std::vector<std::string> f = rtlm::bench::split(value(), ',');
        if (f.size() != 2) throw std::runtime_error("--eviction-cost: expected A,B");
        opt.eviction_cost_a = std::stod(f[0]);
        opt.eviction_cost_b = std::stod(f[1]);
        if (!(opt.eviction_cost_a >= 0) || !(opt.eviction_cost_b >= 0) ||
            !std::isfinite(opt.eviction_cost_a) || !std::isfinite(opt.eviction_cost_b))
          throw std::runtime_error("--eviction-cost: A and B must be finite and >= 0");
      } else if (args[k] == "--plans") {
        opt.plans = value();
      } else if (args[k] == "--frontier") {
        opt.frontier = true;
      } else if (args[k] == "--frontier-k") {
        opt.frontier_k.clear();
        for (const std::string& f : rtlm::bench::split(value(), ',')) {
          std::size_t used = 0;
          long long v = 0;
          try {
            v = std::stoll(f, &used);
          } catch (const std::exception&) {
            used = 0;
          }
          if (used != f.size() || v < 1)
            throw std::runtime_error("--frontier-k: '" + f + "' is not an integer >= 1");
          opt.frontier_k.push_back(static_cast<std::size_t>(v));
        }
      } else if (args[k] == "--frontier-q") {
        opt.frontier_q = numbers_in(value(), "--frontier-q", "a coverage in (0, 1)",
                                    [](double v) { return v > 0 && v < 1; });
      } else if (args[k] == "--frontier-min-gain") {
        opt.frontier_min_gain = numbers_in(value(), "--frontier-min-gain", "a chance in [0, 1]",
                                           [](double v) { return v >= 0 && v <= 1; });
      } else if (args[k] == "--frontier-models") {
        opt.frontier_models = rtlm::bench::split(value(), ',');
      } else if (args[k] == "--plans-requests") {
        opt.plans_requests = std::stoull(value());
      } else if (args[k] == "--help" || args[k] == "-h") {
        usage();
        return 0;
      } else {
        usage();
        throw std::runtime_error("unknown option " + args[k]);
      }
    }
    // Each point's label names its plans and keys, so no two may print alike.
    for (std::size_t i = 0; i < opt.frontier_k.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (opt.frontier_k[i] == opt.frontier_k[j])
          throw std::runtime_error(
              fmt::format("--frontier-k: {} appears twice", opt.frontier_k[i]));
    for (std::size_t i = 0; i < opt.frontier_q.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (fmt::format("{:.2f}", opt.frontier_q[i]) == fmt::format("{:.2f}", opt.frontier_q[j]))
          throw std::runtime_error(
              fmt::format("--frontier-q: {} and {} both name the point rtlm_q{:.2f} (two decimals)",
                          opt.frontier_q[j], opt.frontier_q[i], opt.frontier_q[i]));
    for (std::size_t i = 0; i < opt.frontier_min_gain.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (fmt::format("{:.2f}", opt.frontier_min_gain[i]) ==
            fmt::format("{:.2f}", opt.frontier_min_gain[j]))
          throw std::runtime_error(fmt::format(
              "--frontier-min-gain: {} and {} both name the points rtlm_q*_g{:.2f} (two decimals)",
              opt.frontier_min_gain[j], opt.frontier_min_gain[i], opt.frontier_min_gain[i]));
    return run(opt);
  } catch (const std::exception& e) {
    fmt::print(stderr, "eval_time_budget: {}\n", e.what());
    return 1;
  }
}
