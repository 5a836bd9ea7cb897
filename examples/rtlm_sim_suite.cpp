// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0

#include "rtlm_sim_suite.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "rtlm/sim/serving_metrics.hpp"
#include "rtlm/sim/svg_plot.hpp"
#include "rtlm_sim_output.hpp"
#include "rtlm_sim_server.hpp"
#include "rtlm_sim_slo_regime.hpp"

namespace rtlm_sim {

namespace {

// One regime: a server and workload (the options it changes, its SLO among them) and the true
// loads it runs at.
struct regime {
  std::string id;
  std::string title;
  std::function<void(options&)> setup;
  std::vector<double> loads;
};

// An SLO scaled to a regime whose prompts or GPU make the default one unreachable.
void set_slo(options& o, double ttft, double tpot) {
  o.slo = {.ttft = rtlm::seconds(ttft), .tpot = rtlm::seconds(tpot)};
  o.deadlines = {
      .rule = rtlm::sim::deadline_rule::kind::slo, .ttft = o.slo.ttft, .tpot = o.slo.tpot};
}

// Whether --regimes selects regime `id` (every regime without it).
bool selected(const options& base, std::string_view id) {
  return base.regimes.empty() ||
         std::find(base.regimes.begin(), base.regimes.end(), id) != base.regimes.end();
}

std::vector<regime> all_regimes(const options& base) {
  const std::string data = base.data_dir;
  return {
      {"R0",
       "vLLM V1 defaults: one H100, Llama-3.1-8B, the Azure conversation trace",
       [](options&) {},
       {0.8, 0.9, 1.0, 1.1}},
      {"R1",
       "batch-capped: as R0 with max_num_seqs 48",
       [](options& o) { o.max_batch = 48; },
       {1.0, 1.1}},
      {"R2_mooncake",
       "KV-bound: the Mooncake conversation trace (prompts of 12k tokens, prefix cache on) on R0's "
       "server",
       [data](options& o) {
         o.trace = data + "/mooncake/conversation_trace.jsonl";
         o.prefix_cache = true;  // vLLM V1 caches prefixes by default
         set_slo(o, 15.0, 0.2);
       },
       {1.0}},
      {"R2_l4",
       "KV-bound: Llama-3.1-8B on one L4 (24 GB), the conversation trace",
       [](options& o) {
         o.gpu = "l4";
         set_slo(o, 5.0, 0.2);
       },
       {1.0}},
      {"R3",
       "a burst: 2,000 requests at once 600 s into the conversation trace at load 0.8",
       [](options& o) {
         o.burst_requests = 2000;
         o.burst_at = 600;
       },
       {0.8}},
      {"R4",
       "Llama-3.1-70B at TP 4 on H100s, the conversation trace",
       [](options& o) {
         o.model = "llama-3.1-70b";
         o.tp = 4;
       },
       {1.0}},
  };
}

// The regimes --regimes selects (all without it), R5 aside (run_slo_regime).
std::vector<regime> regimes(const options& base) {
  std::vector<regime> out;
  for (regime& r : all_regimes(base)) {
    if (selected(base, r.id)) out.push_back(std::move(r));
  }
  return out;
}

// What one run gives the tables.
struct figures {
  rtlm::sim::simulation_metrics base;
  rtlm::sim::serving_metrics serving;
  rtlm::sim::slo_attainment slo;
  std::vector<std::pair<double, double>> cdf;  // seed-1 runs only
};

std::string load_id(double load) { return fmt::format("load{:03.0f}", load * 100); }

std::string cell(double mean, double min, double max, int digits) {
  return fmt::format("{:.{}f} [{:.{}f}, {:.{}f}]", mean, digits, min, digits, max, digits);
}

// The options of regime `reg` over `base`, on the trace's own arrivals.
options regime_options(const options& base, const regime& reg) {
  options o = base;
  reg.setup(o);
  o.arrivals = "trace";
  return o;
}

// The share of the oracle's reduction of vllm_fcfs's figure `fcfs` that figure `x` takes; NaN
// where the oracle gains less than 0.1%: there is no gain to share.
double gain_share(double fcfs, double x, double oracle) {
  if (!(fcfs - oracle > 1e-3 * fcfs)) return std::numeric_limits<double>::quiet_NaN();
  return (fcfs - x) / (fcfs - oracle);
}

// `share` as a percentage, or "-" for NaN.
std::string percent(double share) {
  return std::isnan(share) ? std::string("-") : fmt::format("{:.0f}%", 100 * share);
}

// One policy's figures in one regime, averaged over the seeds.
struct averaged {
  double mean = 0;        // mean latency, s
  double normalized = 0;  // mean latency per output token, s
  double p99 = 0;         // p99 latency, s
};

// Writes the JSON keys of the suite; non-finite values as null.
class json_keys {
 public:
  void put(const std::string& key, double v) {
    text_ += fmt::format("  \"{}\": {},\n", key,
                         std::isfinite(v) ? fmt::format("{:.9g}", v) : std::string("null"));
  }
  [[nodiscard]] std::string close(double wall) const {
    return "{\n" + text_ + fmt::format("  \"summary.suite_wall_seconds\": {:.9g}\n}}\n", wall);
  }

 private:
  std::string text_;
};

// `runs` of every seed in `o` on `w` at `load` of `capacity`, `configure` adjusting each run's
// configuration; the figures averaged over the seeds, one per run, in order.
std::vector<averaged> run_averaged(
    const workload& w, const options& o, double capacity, double load,
    const std::vector<std::pair<const server*, policy_run>>& runs,
    const std::function<void(std::size_t, rtlm::sim::simulation_config&)>& configure) {
  const std::size_t n = o.seeds.size();
  std::vector<averaged> per(runs.size() * n);
  std::vector<std::function<void()>> jobs;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    for (std::size_t k = 0; k < n; ++k) {
      jobs.emplace_back([&, i, k] {
        const rtlm::sim::trace t = at_load(w, o, capacity, load, o.seeds[k]);
        rtlm::sim::simulation_config c = runs[i].first->config_for(runs[i].second, o.seeds[k], t);
        configure(i, c);
        const rtlm::sim::simulation_result r = rtlm::sim::simulate(t, c);
        per[i * n + k] = {.mean = rtlm::sim::summarize(r).mean_latency,
                          .normalized = rtlm::sim::serving_metrics_of(r).normalized_latency,
                          .p99 = rtlm::sim::summarize(r).p99_latency};
      });
    }
  }
  run_parallel(jobs, o.quiet);
  std::vector<averaged> out(runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    for (std::size_t k = 0; k < n; ++k) {
      const averaged& a = per[i * n + k];
      out[i].mean += a.mean / static_cast<double>(n);
      out[i].normalized += a.normalized / static_cast<double>(n);
      out[i].p99 += a.p99 / static_cast<double>(n);
    }
  }
  return out;
}

// Predictor quality: in `reg` at true load 1.0, rtlm's distribution-aware and strict policies
// under the measured predictor and under controlled ones of Kendall tau 0.2 to 0.9, each as the
// share of oracle_srpt's reduction of vllm_fcfs's mean latency it takes.
void predictor_quality(const options& base, const regime& reg, json_keys& json) {
  const options o = regime_options(base, reg);
  const workload w = load_workload(o);
  std::vector<std::pair<std::string, options>> predictors = {{"measured", o}};
  for (const double tau : {0.2, 0.35, 0.5, 0.7, 0.9}) {
    options c = o;
    c.predictor = "tau";
    c.predictor_tau = tau;
    predictors.emplace_back(fmt::format("tau{:.2f}", tau), c);
  }
  std::vector<std::unique_ptr<server>> servers;
  servers.reserve(predictors.size());
  for (const auto& p : predictors) {
    servers.push_back(std::make_unique<server>(p.second, w.requests));
  }
  const double capacity = saturated_capacity(w.requests, *servers[0], o.seeds.front());
  const std::vector<std::string> studied = {"srpt_strict", "gittins_strict", "tie_strict",
                                            "gittins"};
  std::vector<std::pair<const server*, policy_run>> runs = {
      {servers[0].get(), policy_named("vllm_fcfs")},
      {servers[0].get(), policy_named("oracle_srpt")}};
  for (const auto& s : servers) {
    for (const std::string& name : studied) runs.emplace_back(s.get(), policy_named(name));
  }
  const std::vector<averaged> a =
      run_averaged(w, o, capacity, 1.0, runs, [](std::size_t, rtlm::sim::simulation_config&) {});
  fmt::print(
      "\npredictor quality, {} at true load 1.0 over {} seeds: share of oracle_srpt's reduction "
      "of vllm_fcfs's mean latency (p99 over vllm_fcfs's)\n{:<22}",
      reg.id, o.seeds.size(), "predictor (tau)");
  for (const std::string& name : studied) fmt::print(" {:>20}", name);
  fmt::print("\n");
  rtlm::sim::svg_plot plot("Kendall tau of the predictor (measured)",
                           "share of oracle SRPT's mean-latency gain");
  std::vector<std::vector<std::pair<double, double>>> series(studied.size());
  for (std::size_t p = 0; p < predictors.size(); ++p) {
    const rtlm::sim::trace t = at_load(w, o, capacity, 1.0, o.seeds.front());
    const double tau = servers[p]->measured_kendall_tau(t, o.seeds.front(), t.requests.size());
    const std::string key = fmt::format("quality.{}.{}.", reg.id, predictors[p].first);
    json.put(key + "kendall_tau", tau);
    fmt::print("{:<22}", fmt::format("{} ({:.2f})", predictors[p].first, tau));
    for (std::size_t q = 0; q < studied.size(); ++q) {
      const averaged& x = a[2 + p * studied.size() + q];
      const double share = gain_share(a[0].mean, x.mean, a[1].mean);
      const double p99 = x.p99 / a[0].p99;
      fmt::print(" {:>20}", fmt::format("{} ({:.2f}x)", percent(share), p99));
      json.put(key + studied[q] + ".gain_share_mean", share);
      json.put(key + studied[q] + ".gain_share_normalized",
               gain_share(a[0].normalized, x.normalized, a[1].normalized));
      json.put(key + studied[q] + ".p99_over_vllm_fcfs", p99);
      series[q].emplace_back(tau, share);
    }
    fmt::print("\n");
  }
  for (std::size_t q = 0; q < studied.size(); ++q) {
    std::sort(series[q].begin(), series[q].end());
    plot.add_series(studied[q], series[q]);
  }
  write_file("--out", fmt::format("{}/suite_quality_{}.svg", o.out, reg.id),
             plot.render(fmt::format("{}: predictor quality against the share of the oracle's "
                                     "gain (true load 1.0)",
                                     reg.id)));
}

// The price of a p99 bound: in `reg` at true load 1.0, shortest-first on true lengths (an
// oracle) and gittins on predictions, each at aging weights from 0.01 s per token to none, with
// their mean latency's share of oracle_srpt's gain and their p99 over vllm_fcfs's.
void aging_frontier(const options& base, const regime& reg, json_keys& json) {
  const options o = regime_options(base, reg);
  const workload w = load_workload(o);
  const server s(o, w.requests);
  const double capacity = saturated_capacity(w.requests, s, o.seeds.front());
  // Infinity: no aging, a strict order.
  const std::vector<double> weights = {0.01, 0.03, 0.1,
                                       0.3,  1.0,  std::numeric_limits<double>::infinity()};
  policy_run oracle_sjf = policy_named("oracle_srpt");
  oracle_sjf.kind = rtlm::policy_kind::shortest_predicted_first;
  oracle_sjf.no_aging = false;
  std::vector<std::pair<const server*, policy_run>> runs = {{&s, policy_named("vllm_fcfs")},
                                                            {&s, policy_named("oracle_srpt")}};
  for (std::size_t i = 0; i < weights.size(); ++i) {
    runs.emplace_back(&s, oracle_sjf);
    runs.emplace_back(&s, policy_named("gittins"));
  }
  const std::vector<averaged> a =
      run_averaged(w, o, capacity, 1.0, runs, [&](std::size_t i, rtlm::sim::simulation_config& c) {
        if (i < 2) return;
        const double weight = weights[(i - 2) / 2];
        rtlm::policy_config& p = c.scheduler.policies;
        if (std::isinf(weight)) {
          p.predicted_length.age = false;
          p.length_distribution.age = false;
        } else {
          p.predicted_length.seconds_per_token = weight;
          p.length_distribution.seconds_per_token = weight;
        }
      });
  fmt::print(
      "\naging against p99, {} at true load 1.0 over {} seeds (vllm_fcfs: mean {:.2f} s, p99 "
      "{:.2f} s; oracle_srpt: mean {:.2f} s, p99 {:.2f} s)\n{:<14} {:>34} {:>34}\n",
      reg.id, o.seeds.size(), a[0].mean, a[0].p99, a[1].mean, a[1].p99, "s per token",
      "oracle SJF: gain share (p99 ratio)", "gittins: gain share (p99 ratio)");
  // The best share with p99 <= 1.2x vllm_fcfs's; NaN where no weight keeps p99 there.
  std::array<double, 2> best_within = {std::numeric_limits<double>::quiet_NaN(),
                                       std::numeric_limits<double>::quiet_NaN()};
  for (std::size_t i = 0; i < weights.size(); ++i) {
    std::string line = fmt::format(
        "{:<14}", std::isinf(weights[i]) ? "none (strict)" : fmt::format("{}", weights[i]));
    for (std::size_t j = 0; j < 2; ++j) {
      const averaged& x = a[2 + 2 * i + j];
      const double share = gain_share(a[0].mean, x.mean, a[1].mean);
      const double p99 = x.p99 / a[0].p99;
      line += fmt::format(" {:>34}", fmt::format("{} ({:.2f}x)", percent(share), p99));
      if (p99 <= 1.2 && !(share <= best_within[j])) best_within[j] = share;
      const std::string key = fmt::format(
          "frontier.{}.{}.{}.", reg.id, j == 0 ? "oracle_sjf" : "gittins",
          std::isinf(weights[i]) ? std::string("strict") : fmt::format("weight{}", weights[i]));
      json.put(key + "gain_share_mean", share);
      json.put(key + "p99_over_vllm_fcfs", p99);
    }
    fmt::print("{}\n", line);
  }
  fmt::print(
      "with p99 at most 1.2x vllm_fcfs's, the best share of oracle_srpt's gain: oracle SJF {}, "
      "gittins {} (-: no weight keeps p99 there)\n",
      percent(best_within[0]), percent(best_within[1]));
  json.put(fmt::format("frontier.{}.oracle_sjf.best_gain_share_within_p99_1.2", reg.id),
           best_within[0]);
  json.put(fmt::format("frontier.{}.gittins.best_gain_share_within_p99_1.2", reg.id),
           best_within[1]);
}

}  // namespace

int run_suite(const options& given) {
  const auto wall_start = std::chrono::steady_clock::now();
  options base = given;
  if (!base.seeds_given) base.seeds = {1, 2, 3, 4, 5};
  // Ordering against ordering: rtlm's policies refuse nothing unless --admission says so.
  if (!base.admission_given) base.admission = rtlm::admission_mode::accept;
  // Deadlines (for edf, least_laxity and oracle_edf) from the SLO, unless --deadline says.
  if (!base.deadlines_given) set_slo(base, base.slo.ttft.count(), base.slo.tpot.count());
  std::vector<policy_run> runs;
  for (const std::string& name : base.policies) runs.push_back(policy_named(name));
  std::optional<std::size_t> fcfs;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (runs[i].name == "vllm_fcfs") fcfs = i;
  }
  rtlm::detail::require(fcfs.has_value(), "--policies", "(without vllm_fcfs)",
                        "must include vllm_fcfs for the suite: every ratio is over it");
  std::filesystem::create_directories(base.out);

  json_keys json;
  const auto put = [&](const std::string& key, double v) { json.put(key, v); };
  std::vector<std::string> summary;  // one line per regime and load

  fmt::print(
      "rtlm-sim --suite: {} policies, seeds {}; rtlm's policies with admission control {}; "
      "deadlines {}\n",
      runs.size(), fmt::join(base.seeds, ","),
      base.admission == rtlm::admission_mode::accept ? std::string("off")
                                                     : std::string(rtlm::to_string(base.admission)),
      base.deadlines_given ? "from --deadline" : "arrival + TTFT + TPOT x (output - 1) of the SLO");
  for (const regime& reg : regimes(base)) {
    const options o = regime_options(base, reg);
    const workload w = load_workload(o);
    const server s(o, w.requests);
    const double capacity = saturated_capacity(w.requests, s, o.seeds.front());
    fmt::print(
        "\n== {}: {}\n{}\ntrace {}: {} requests; saturated capacity {:.2f} requests/s; SLO TTFT "
        "<= {} s and TPOT <= {} s\n",
        reg.id, reg.title, s.describe(), w.requests.name, w.requests.requests.size(), capacity,
        o.slo.ttft.count(), o.slo.tpot.count());

    put(reg.id + ".server.capacity_requests_per_second", capacity);
    put(reg.id + ".server.kv_tokens", static_cast<double>(s.kv_capacity().count()));
    put(reg.id + ".server.slo_ttft", o.slo.ttft.count());
    put(reg.id + ".server.slo_tpot", o.slo.tpot.count());
    // Every (load, seed, policy) run, then every policy's sustainable-rate searches.
    const std::size_t n_seeds = o.seeds.size();
    const auto seeds = static_cast<double>(n_seeds);
    std::vector<figures> results(reg.loads.size() * n_seeds * runs.size());
    const auto slot = [&](std::size_t l, std::size_t k, std::size_t i) {
      return (l * n_seeds + k) * runs.size() + i;
    };
    std::vector<std::function<void()>> jobs;
    for (std::size_t l = 0; l < reg.loads.size(); ++l) {
      for (std::size_t k = 0; k < n_seeds; ++k) {
        for (std::size_t i = 0; i < runs.size(); ++i) {
          jobs.emplace_back([&, l, k, i] {
            const rtlm::sim::trace t = at_load(w, o, capacity, reg.loads[l], o.seeds[k]);
            const rtlm::sim::simulation_result r =
                rtlm::sim::simulate(t, s.config_for(runs[i], o.seeds[k], t));
            figures& f = results[slot(l, k, i)];
            f.base = rtlm::sim::summarize(r);
            f.serving = rtlm::sim::serving_metrics_of(r);
            f.slo = rtlm::sim::attainment_of(r, o.slo);
            if (k == 0) f.cdf = latency_cdf(r);
          });
        }
      }
    }
    // Sustainable rates (seed 1): the highest true load at which at most 10% (and 1%) of
    // requests miss the SLO, by bisection; the two searches share their evaluations.
    std::vector<std::array<rtlm::sim::sustainable_rate_result, 2>> rates(runs.size());
    for (std::size_t i = 0; i < runs.size(); ++i) {
      jobs.emplace_back([&, i] {
        std::map<double, double> seen;
        const rtlm::sim::violation_function violations = [&](double load) {
          if (const auto it = seen.find(load); it != seen.end()) return it->second;
          const rtlm::sim::trace t = at_load(w, o, capacity, load, o.seeds.front());
          const double v =
              rtlm::sim::attainment_of(
                  rtlm::sim::simulate(t, s.config_for(runs[i], o.seeds.front(), t)), o.slo)
                  .violation_rate;
          seen.emplace(load, v);
          return v;
        };
        for (const std::size_t target : {0U, 1U}) {
          rates[i][target] = rtlm::sim::sustainable_rate(
              violations,
              {.lo = 0.2, .hi = 1.6, .target = target == 0 ? 0.1 : 0.01, .tolerance = 0.05});
        }
      });
    }
    run_parallel(jobs, o.quiet);

    for (std::size_t l = 0; l < reg.loads.size(); ++l) {
      const std::string key = fmt::format("{}_{}", reg.id, load_id(reg.loads[l]));
      fmt::print("\n{} at true load {} ({:.2f} requests/s), over {} seeds: mean [min, max]\n",
                 reg.id, reg.loads[l], reg.loads[l] * capacity, n_seeds);
      fmt::print("{:<18} {:>24} {:>8} {:>9} {:>8} {:>8} {:>7} {:>8} {:>8} {:>24}\n", "policy",
                 "mean latency (s)", "p99 (s)", "norm s/tok", "TTFT p99", "TPOT p99", "SLO met",
                 "goodput", "preempt", "mean / vllm_fcfs's");
      std::optional<std::size_t> best;
      std::optional<std::size_t> oracle;
      std::vector<double> over(runs.size());
      std::vector<averaged> of(runs.size());
      for (std::size_t i = 0; i < runs.size(); ++i) {
        // Means over the seeds; the latency and its ratio to vllm_fcfs's also their range.
        double mean = 0;
        double lo = std::numeric_limits<double>::infinity();
        double hi = -lo;
        double ratio = 0;
        double rlo = lo;
        double rhi = hi;
        figures avg;
        avg.slo.attainment = 0.0;
        for (std::size_t k = 0; k < n_seeds; ++k) {
          const figures& f = results[slot(l, k, i)];
          const double m = f.base.mean_latency;
          const double q = m / results[slot(l, k, *fcfs)].base.mean_latency;
          mean += m / seeds;
          lo = std::min(lo, m);
          hi = std::max(hi, m);
          ratio += q / seeds;
          rlo = std::min(rlo, q);
          rhi = std::max(rhi, q);
          const double share = 1.0 / static_cast<double>(n_seeds);
          avg.base.p99_latency += share * f.base.p99_latency;
          avg.base.failed += f.base.failed;
          avg.base.rejected += f.base.rejected;
          avg.serving.normalized_latency += share * f.serving.normalized_latency;
          avg.serving.mean_latency_all += share * f.serving.mean_latency_all;
          avg.serving.ttft.p99 += share * f.serving.ttft.p99;
          avg.serving.tpot.p99 += share * f.serving.tpot.p99;
          avg.serving.preemptions += f.serving.preemptions;
          avg.slo.attainment += share * f.slo.attainment;
          avg.slo.goodput += share * f.slo.goodput;
        }
        over[i] = ratio;
        of[i] = {.mean = mean,
                 .normalized = avg.serving.normalized_latency,
                 .p99 = avg.base.p99_latency};
        if (runs[i].name == "oracle_srpt") oracle = i;
        fmt::print(
            "{:<18} {:>24} {:>8.2f} {:>9.4f} {:>8.3f} {:>8.4f} {:>7.4f} {:>8.3f} {:>8} {:>24}\n",
            runs[i].name + (runs[i].oracle ? " *" : ""), cell(mean, lo, hi, 3),
            avg.base.p99_latency, avg.serving.normalized_latency, avg.serving.ttft.p99,
            avg.serving.tpot.p99, avg.slo.attainment, avg.slo.goodput,
            avg.serving.preemptions / n_seeds, cell(ratio, rlo, rhi, 3));
        if (avg.base.rejected + avg.base.failed > 0) {
          fmt::print(
              "{:<18} refused {} and failed {} requests over the seeds (counted as SLO misses); "
              "mean latency over all requests, those at their deadline: {:.3f} s\n",
              "", avg.base.rejected, avg.base.failed, avg.serving.mean_latency_all);
        }
        const std::string p = fmt::format("{}.{}.", key, runs[i].name);
        put(p + "mean_latency", mean);
        put(p + "mean_latency_min", lo);
        put(p + "mean_latency_max", hi);
        put(p + "mean_latency_over_vllm_fcfs", ratio);
        put(p + "mean_latency_over_vllm_fcfs_min", rlo);
        put(p + "mean_latency_over_vllm_fcfs_max", rhi);
        put(p + "p99_latency", avg.base.p99_latency);
        put(p + "normalized_latency", avg.serving.normalized_latency);
        put(p + "mean_latency_all", avg.serving.mean_latency_all);
        put(p + "ttft_p99", avg.serving.ttft.p99);
        put(p + "tpot_p99", avg.serving.tpot.p99);
        put(p + "slo_attainment", avg.slo.attainment);
        put(p + "goodput", avg.slo.goodput);
        put(p + "preemptions", static_cast<double>(avg.serving.preemptions) / seeds);
        put(p + "rejected", static_cast<double>(avg.base.rejected) / seeds);
        put(p + "failed", static_cast<double>(avg.base.failed) / seeds);
        if (runs[i].rtlm_policy && (!best || over[i] < over[*best])) best = i;
      }
      const auto ratio_of = [&](std::string_view name) {
        for (std::size_t i = 0; i < runs.size(); ++i) {
          if (runs[i].name == name) return fmt::format("{:.2f}x", over[i]);
        }
        return std::string("-");
      };
      std::string shares = "- | - | -";
      if (best && oracle) {
        const averaged& f = of[*fcfs];
        const averaged& b = of[*best];
        const double mean_share = gain_share(f.mean, b.mean, of[*oracle].mean);
        const double norm_share = gain_share(f.normalized, b.normalized, of[*oracle].normalized);
        fmt::print(
            "best rtlm policy {}: {} of oracle_srpt's reduction of vllm_fcfs's mean latency, {} of "
            "its reduction of normalised latency; p99 {:.2f}x vllm_fcfs's\n",
            runs[*best].name, percent(mean_share), percent(norm_share), b.p99 / f.p99);
        put(key + ".best.gain_share_mean", mean_share);
        put(key + ".best.gain_share_normalized", norm_share);
        put(key + ".best.p99_over_vllm_fcfs", b.p99 / f.p99);
        shares = fmt::format("{} | {} | {:.2f}x", percent(mean_share), percent(norm_share),
                             b.p99 / f.p99);
      }
      summary.push_back(fmt::format(
          "| {} | {} | {:.2f} | {} | {} | {} | {} | {} |", reg.id, reg.loads[l],
          [&] {
            double m = 0;
            for (std::size_t k = 0; k < n_seeds; ++k)
              m += results[slot(l, k, *fcfs)].base.mean_latency / seeds;
            return m;
          }(),
          ratio_of("vllm_priority"), ratio_of("prompt_sjf"),
          best ? fmt::format("{} {:.2f}x", runs[*best].name, over[*best]) : std::string("-"),
          ratio_of("oracle_srpt"), shares));
    }
    fmt::print(
        "\nsustainable rate (seed {}; requests/s at most 10% / 1% of requests missing the SLO, "
        "by bisection over true load 0.2-1.6 to 0.05):\n",
        o.seeds.front());
    for (std::size_t i = 0; i < runs.size(); ++i) {
      std::string line;
      for (const std::size_t target : {0U, 1U}) {
        const rtlm::sim::sustainable_rate_result& r = rates[i][target];
        const std::string name = target == 0 ? "10pct" : "1pct";
        const double rate = r.load ? *r.load * capacity : 0.0;
        const char* mark = r.outcome == rtlm::sim::rate_search_outcome::hi_meets      ? " (>= 1.6)"
                           : r.outcome == rtlm::sim::rate_search_outcome::lo_violates ? " (< 0.2)"
                                                                                      : "";
        line += fmt::format("  {:>7.2f}{:<9}", rate, mark);
        put(fmt::format("{}.{}.sustainable_rate_{}", reg.id, runs[i].name, name), rate);
      }
      fmt::print("{:<18}{}\n", runs[i].name + (runs[i].oracle ? " *" : ""), line);
    }
    // The latency CDF at the regime's last load, seed 1.
    rtlm::sim::svg_plot plot("End-to-end latency (s)", "fraction of requests finished");
    const std::size_t last = reg.loads.size() - 1;
    for (std::size_t i = 0; i < runs.size(); ++i)
      plot.add_series(runs[i].name, results[slot(last, 0, i)].cdf);
    plot.set_log_x(true);
    write_file(
        "--out", fmt::format("{}/suite_{}_latency_cdf.svg", o.out, reg.id),
        plot.render(fmt::format("{} at true load {}: {}", reg.id, reg.loads[last], reg.title)));
  }

  fmt::print(
      "\nsummary: mean latency over vllm_fcfs's, over the seeds (* the best rtlm policy by this "
      "ratio; its share of oracle_srpt's gain in mean and normalised latency, and its p99 over "
      "vllm_fcfs's)\n| regime | true load | vllm_fcfs mean (s) | vllm_priority | prompt_sjf | "
      "best rtlm policy | oracle_srpt | gain share, mean | gain share, normalised | best's p99 "
      "|\n|---|---|---|---|---|---|---|---|---|---|\n");
  for (const std::string& line : summary) fmt::print("{}\n", line);
  for (const regime& reg : regimes(base)) {
    if (reg.id == "R1" || reg.id == "R2_mooncake") predictor_quality(base, reg, json);
    if (reg.id == "R1") aging_frontier(base, reg, json);
  }
  if (selected(base, "R5")) {
    run_slo_regime(base, [&](const std::string& key, double v) { json.put(key, v); });
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  fmt::print(
      "suite took {:.0f} s of wall time; wrote {}/suite_<regime>_latency_cdf.svg and "
      "suite_quality_<regime>.svg\n",
      wall, base.out);
  if (!base.json.empty()) write_file("--json", base.json, json.close(wall));
  return 0;
}

}  // namespace rtlm_sim
