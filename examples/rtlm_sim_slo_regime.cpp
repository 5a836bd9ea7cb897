// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0

#include "rtlm_sim_slo_regime.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "rtlm/sim/serving_metrics.hpp"
#include "rtlm_sim_output.hpp"
#include "rtlm_sim_server.hpp"

namespace rtlm_sim {

namespace {

// A figure's mean and range over the seeds.
struct spread {
  double mean = 0.0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();

  void add(double v, std::size_t n) {
    mean += v / static_cast<double>(n);
    min = std::min(min, v);
    max = std::max(max, v);
  }
  [[nodiscard]] std::string cell(int digits) const {
    return fmt::format("{:.{}f} [{:.{}f}, {:.{}f}]", mean, digits, min, digits, max, digits);
  }
};

// What one policy's runs give R5's tables, over the seeds.
struct slo_figures {
  std::vector<spread> met;         // per class: met its objectives / requests
  std::vector<spread> throughput;  // per class: finished per simulated second
  spread all_met;
  spread goodput;  // requests meeting their objectives per simulated second (DistServe)
  spread jain;
  std::vector<spread> share_ratio;  // per tenant
  double refused = 0;               // over the seeds
};

// The options R5 runs on R0's (max_batch 0) or R1's (48) server: the class mix and tenants of
// `base` or R5's own, rtlm's policies with steps planned to the objectives and relegation.
options r5_options(const options& base, int max_batch, bool tenants) {
  options o = base;
  o.arrivals = "trace";
  o.max_batch = max_batch;
  const options defaults = parse_flags(
      std::vector<std::string>{"--classes", r5_classes, "--tenants", r5_tenants}, base.data_dir);
  if (o.classes.empty()) {
    o.classes = defaults.classes;
    o.class_shares = defaults.class_shares;
  }
  if (!tenants) {
    o.tenant_shares.clear();
  } else if (o.tenant_shares.empty()) {
    o.tenant_shares = defaults.tenant_shares;
  }
  o.slo_steps = true;
  if (o.relegation == rtlm::relegation_mode::off) o.relegation = rtlm::relegation_mode::demote;
  return o;
}

// rtlm's SLO scheduling as rtlm-sim runs it: least laxity (on TTFT slack while a first token
// is due) under rtlm's rules; with true lengths, its oracle.
policy_run rtlm_slo(bool oracle) {
  return {.name = oracle ? "oracle_slo" : "rtlm_slo",
          .kind = rtlm::policy_kind::least_laxity_first,
          .rtlm_policy = true,
          .oracle = oracle};
}

// `runs` (with VTC for those `fair` says) at `load` over every seed, on `s`.
std::vector<slo_figures> run_at(const server& s, const workload& w, double capacity, double load,
                                const std::vector<policy_run>& runs,
                                const std::vector<bool>& fair) {
  const options& o = s.settings();
  const std::size_t n = o.seeds.size();
  std::vector<rtlm::sim::simulation_result> results(runs.size() * n);
  std::vector<std::function<void()>> jobs;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    for (std::size_t k = 0; k < n; ++k) {
      jobs.emplace_back([&, i, k] {
        const rtlm::sim::trace t = at_load(w, o, capacity, load, o.seeds[k]);
        rtlm::sim::simulation_config c = s.config_for(runs[i], o.seeds[k], t);
        c.scheduler.fairness.tenants = fair[i] ? o.tenant_shares.size() : 0;
        results[i * n + k] = rtlm::sim::simulate(t, c);
      });
    }
  }
  run_parallel(jobs, o.quiet);
  std::vector<slo_figures> out(runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    slo_figures& f = out[i];
    f.met.resize(o.classes.size());
    f.throughput.resize(o.classes.size());
    f.share_ratio.resize(o.tenant_shares.size());
    for (std::size_t k = 0; k < n; ++k) {
      const rtlm::sim::simulation_result& r = results[i * n + k];
      for (const rtlm::sim::class_attainment& a : rtlm::sim::class_attainment_of(r)) {
        if (a.slo_class >= o.classes.size()) continue;
        f.met[a.slo_class].add(a.attainment, n);
        f.throughput[a.slo_class].add(a.throughput, n);
      }
      const rtlm::sim::objective_summary all = rtlm::sim::objectives_of(r);
      f.all_met.add(all.attainment, n);
      f.goodput.add(all.goodput, n);
      f.refused += static_cast<double>(rtlm::sim::summarize(r).rejected);
      // Service until the last arrival: while the tenants' demand still arrives.
      const double window = r.records.empty() ? 0.0 : r.records.back().arrival;
      const rtlm::sim::fairness_report fairness = rtlm::sim::fairness_of(r, 1.0, 2.0, window);
      f.jain.add(fairness.jain, n);
      for (const rtlm::sim::tenant_service& t : fairness.tenants) {
        if (t.tenant < f.share_ratio.size()) f.share_ratio[t.tenant].add(t.share_ratio, n);
      }
    }
  }
  return out;
}

// The highest true load (seed 1) at which at most 10% of requests miss their own objectives.
rtlm::sim::sustainable_rate_result sustainable(const server& s, const workload& w, double capacity,
                                               const policy_run& p) {
  const options& o = s.settings();
  return rtlm::sim::sustainable_rate(
      [&](double load) {
        const rtlm::sim::trace t = at_load(w, o, capacity, load, o.seeds.front());
        const rtlm::sim::simulation_result r =
            rtlm::sim::simulate(t, s.config_for(p, o.seeds.front(), t));
        return 1.0 - rtlm::sim::objectives_of(r).attainment;
      },
      {.lo = 0.2, .hi = 2.0, .target = 0.1, .tolerance = 0.05});
}

// The class part of R5 on one server: the table at true load 1.0 and the sustainable rates.
void classes_on(const std::string& id, const options& o,
                const std::function<void(const std::string&, double)>& put) {
  const workload w = load_workload(o);
  const server s(o, w.requests);
  const double capacity = saturated_capacity(w.requests, s, o.seeds.front());
  const std::vector<policy_run> runs = {policy_named("vllm_fcfs"), policy_named("edf"),
                                        rtlm_slo(false), rtlm_slo(true)};
  const std::vector<slo_figures> f =
      run_at(s, w, capacity, 1.0, runs, std::vector<bool>(runs.size(), false));
  fmt::print(
      "\nR5 on {}'s server at true load 1.0 ({:.2f} requests/s), over {} seeds: mean "
      "[min, max]\n{}\n",
      id, capacity, o.seeds.size(), s.describe());
  std::string head = fmt::format("{:<12}", "policy");
  for (const rtlm::slo_class& k : o.classes) {
    head += fmt::format(" {:>24} {:>24}", k.name + " met", k.name + " throughput/s");
  }
  fmt::print("{} {:>24} {:>24} {:>8}\n", head, "all met", "goodput/s", "refused");
  const std::string key = "R5." + id + ".";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    std::string line = fmt::format("{:<12}", runs[i].name + (runs[i].oracle ? " *" : ""));
    const std::string p = key + runs[i].name + ".";
    for (std::size_t c = 0; c < o.classes.size(); ++c) {
      line += fmt::format(" {:>24} {:>24}", f[i].met[c].cell(4), f[i].throughput[c].cell(3));
      put(p + o.classes[c].name + ".attainment", f[i].met[c].mean);
      put(p + o.classes[c].name + ".attainment_min", f[i].met[c].min);
      put(p + o.classes[c].name + ".throughput", f[i].throughput[c].mean);
    }
    const double refused = f[i].refused / static_cast<double>(o.seeds.size());
    fmt::print("{} {:>24} {:>24} {:>8.1f}\n", line, f[i].all_met.cell(4), f[i].goodput.cell(3),
               refused);
    put(p + "attainment", f[i].all_met.mean);
    put(p + "goodput", f[i].goodput.mean);
    put(p + "refused", refused);
  }
  // The targets, against vllm_fcfs (0) and edf (1), for rtlm_slo (2).
  const slo_figures& fcfs = f[0];
  const slo_figures& mine = f[2];
  fmt::print("rtlm_slo: goodput {:.3f}x vllm_fcfs's; each class's throughput",
             mine.goodput.mean / fcfs.goodput.mean);
  put(key + "rtlm_slo.goodput_over_vllm_fcfs", mine.goodput.mean / fcfs.goodput.mean);
  for (std::size_t c = 0; c < o.classes.size(); ++c) {
    const double ratio = mine.throughput[c].mean / fcfs.throughput[c].mean;
    fmt::print(" {} {:.3f}x", o.classes[c].name, ratio);
    put(key + "rtlm_slo." + o.classes[c].name + ".throughput_over_vllm_fcfs", ratio);
  }
  fmt::print(" vllm_fcfs's\n");
  std::vector<double> rates(runs.size());
  std::vector<std::function<void()>> jobs;
  std::vector<rtlm::sim::sustainable_rate_result> found(runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    jobs.emplace_back([&, i] { found[i] = sustainable(s, w, capacity, runs[i]); });
  }
  run_parallel(jobs, o.quiet);
  fmt::print(
      "sustainable rate (seed {}; requests/s at most 10% of requests missing their own "
      "objectives, by bisection over true load 0.2-2.0 to 0.05):",
      o.seeds.front());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    rates[i] = found[i].load ? *found[i].load * capacity : 0.0;
    const char* mark = found[i].outcome == rtlm::sim::rate_search_outcome::hi_meets ? " (>= 2.0)"
                       : found[i].outcome == rtlm::sim::rate_search_outcome::lo_violates
                           ? " (< 0.2)"
                           : "";
    fmt::print(" {} {:.2f}{}", runs[i].name, rates[i], mark);
    put(key + runs[i].name + ".sustainable_rate_10pct", rates[i]);
  }
  const auto over = [](double a, double b) {
    return b > 0 ? a / b : std::numeric_limits<double>::infinity();
  };
  fmt::print("; rtlm_slo {:.2f}x vllm_fcfs's, {:.2f}x edf's\n", over(rates[2], rates[0]),
             over(rates[2], rates[1]));
  put(key + "rtlm_slo.sustainable_rate_over_vllm_fcfs", over(rates[2], rates[0]));
  put(key + "rtlm_slo.sustainable_rate_over_edf", over(rates[2], rates[1]));
}

// The tenant part of R5 on one server: the class mix split among the tenants, at true loads
// 1.0 and 1.5, with and without VTC.
void tenants_on(const std::string& id, const options& o,
                const std::function<void(const std::string&, double)>& put) {
  const workload w = load_workload(o);
  const server s(o, w.requests);
  const double capacity = saturated_capacity(w.requests, s, o.seeds.front());
  policy_run vtc = rtlm_slo(false);
  vtc.name = "rtlm_slo_vtc";
  const std::vector<policy_run> runs = {policy_named("vllm_fcfs"), rtlm_slo(false), vtc};
  const std::vector<bool> fair = {false, false, true};
  fmt::print(
      "\nR5 tenants on {}'s server: shares {} of the requests; each tenant's service "
      "until the last arrival over its max-min fair share (VTC's weights: prompt 1, "
      "output 2), Jain's index over the tenants; over {} seeds\n",
      id, fmt::join(o.tenant_shares, ":"), o.seeds.size());
  for (const double load : {1.0, 1.5}) {
    const std::vector<slo_figures> f = run_at(s, w, capacity, load, runs, fair);
    fmt::print("true load {} ({:.2f} requests/s)\n{:<14} {:>24}", load, load * capacity, "policy",
               "Jain");
    for (std::size_t t = 0; t < o.tenant_shares.size(); ++t) {
      fmt::print(" {:>10}", fmt::format("tenant {}", t));
    }
    for (const rtlm::slo_class& k : o.classes) fmt::print(" {:>16}", k.name + " met");
    fmt::print("\n");
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const std::string p =
          fmt::format("R5.{}_tenants_load{:03.0f}.{}.", id, load * 100, runs[i].name);
      fmt::print("{:<14} {:>24}", runs[i].name, f[i].jain.cell(4));
      put(p + "jain", f[i].jain.mean);
      put(p + "jain_min", f[i].jain.min);
      for (std::size_t t = 0; t < f[i].share_ratio.size(); ++t) {
        fmt::print(" {:>10.3f}", f[i].share_ratio[t].mean);
        put(p + fmt::format("tenant{}.share_ratio", t), f[i].share_ratio[t].mean);
      }
      for (std::size_t c = 0; c < o.classes.size(); ++c) {
        fmt::print(" {:>16.4f}", f[i].met[c].mean);
        put(p + o.classes[c].name + ".attainment", f[i].met[c].mean);
      }
      fmt::print("\n");
    }
  }
}

}  // namespace

void run_slo_regime(const options& base,
                    const std::function<void(const std::string&, double)>& put) {
  const options probe = r5_options(base, 0, false);
  double total = 0;
  for (const double share : probe.class_shares) total += share;
  std::string classes;
  for (std::size_t c = 0; c < probe.classes.size(); ++c) {
    const rtlm::slo_class& k = probe.classes[c];
    classes += fmt::format("{}{} {:.0f}%", c == 0 ? "" : ", ", k.name,
                           100.0 * probe.class_shares[c] / total);
    if (k.ttft) classes += fmt::format(" TTFT {} s", k.ttft->count());
    if (k.tpot) classes += fmt::format(" TPOT {} s", k.tpot->count());
    if (k.time_budget) classes += fmt::format(" within {} s", k.time_budget->count());
  }
  fmt::print(
      "\n== R5: objectives by class and fairness between tenants: the conversation trace, "
      "{}; rtlm_slo is least laxity on TTFT slack with steps planned to the objectives and "
      "relegation ({}), its oracle* the same on true lengths; the baselines run under vLLM V1's "
      "rules\n",
      classes, rtlm::to_string(probe.relegation));
  classes_on("R0", r5_options(base, 0, false), put);
  classes_on("R1", r5_options(base, 48, false), put);
  tenants_on("R0", r5_options(base, 0, true), put);
}

}  // namespace rtlm_sim
