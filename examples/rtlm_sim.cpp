// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// rtlm-sim: replays a real trace through rtlm's scheduler on simulated GPUs, once per policy,
// and compares them (docs/simulator.md). With no arguments it runs the default scenario on the
// bundled data: the Azure 2023 conversation trace at load 0.9 of one simulated H100 serving
// Llama-3.1-8B (steps timed by the estimator fitted to the committed profile, times the
// profile's measured noise), with FCFS, prompt-length shortest-job-first (a baseline proposed for
// vLLM, not merged), EDF, rtlm's policies and oracle SRPT as a bound.

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rtlm/sim/serving_metrics.hpp"
#include "rtlm/sim/simulation.hpp"
#include "rtlm/sim/svg_plot.hpp"
#include "rtlm_sim_flags.hpp"
#include "rtlm_sim_output.hpp"
#include "rtlm_sim_server.hpp"
#include "rtlm_sim_suite.hpp"

#ifndef RTLM_SIM_DATA_DIR
#define RTLM_SIM_DATA_DIR "benchmarks/data"
#endif

namespace {

using rtlm_sim::latency_cdf;
using rtlm_sim::options;
using rtlm_sim::policy_named;
using rtlm_sim::policy_run;
using rtlm_sim::progress_bar;
using rtlm_sim::write_file;
using rtlm_sim::write_records;

// Each policy's attainment of the requests' own objectives, in all and per SLO class.
void print_classes(const options& o, const std::vector<policy_run>& runs,
                   const std::vector<rtlm::sim::objective_summary>& all,
                   const std::vector<std::vector<rtlm::sim::class_attainment>>& classes) {
  fmt::print(
      "\nobjectives by class (each request's own: TTFT, TPOT, deadline; refused requests "
      "miss them)\n{:<18} {:<14} {:>8} {:>9} {:>9} {:>9} {:>9} {:>10}\n",
      "policy", "class", "requests", "TTFT met", "TPOT met", "all met", "goodput", "throughput");
  for (std::size_t i = 0; i < runs.size(); ++i) {
    for (const rtlm::sim::class_attainment& k : classes[i]) {
      fmt::print("{:<18} {:<14} {:>8} {:>9.4f} {:>9.4f} {:>9.4f} {:>9.3f} {:>10.3f}\n",
                 runs[i].name, k.slo_class < o.classes.size() ? o.classes[k.slo_class].name : "-",
                 k.requests, k.ttft_attainment, k.tpot_attainment, k.attainment, k.goodput,
                 k.throughput);
    }
    fmt::print("{:<18} {:<14} {:>8} {:>9} {:>9} {:>9.4f} {:>9.3f}\n", runs[i].name, "(all)",
               all[i].requests, "", "", all[i].attainment, all[i].goodput);
  }
}

// Each policy's service per tenant against its max-min fair share, and Jain's index.
void print_fairness(const options& o, const std::vector<policy_run>& runs,
                    const std::vector<rtlm::sim::fairness_report>& fairness) {
  fmt::print(
      "\ntenants (shares {}): service over max-min fair share, VTC's weights (prompt 1, "
      "output 2), until the last arrival; Jain's index over them{}\n",
      fmt::join(o.tenant_shares, ":"), o.fairness ? "; rtlm's policies share by VTC" : "");
  for (std::size_t i = 0; i < runs.size(); ++i) {
    std::string ratios;
    for (const rtlm::sim::tenant_service& t : fairness[i].tenants) {
      ratios += fmt::format(" {}:{:.3f}", t.tenant, t.share_ratio);
    }
    fmt::print("{:<18} Jain {:.4f};{}\n", runs[i].name, fairness[i].jain, ratios);
  }
}

int run(const options& o) {
  if (o.suite) return rtlm_sim::run_suite(o);
  const auto wall_start = std::chrono::steady_clock::now();
  const rtlm_sim::workload w = rtlm_sim::load_workload(o);
  const rtlm::sim::trace& trace = w.requests;
  const rtlm_sim::server server(o, trace);
  const double capacity = rtlm_sim::saturated_capacity(trace, server, o.seeds.front());
  const auto at_load = [&](double load, std::uint64_t seed, std::string_view flag = "--load") {
    return rtlm_sim::at_load(w, o, capacity, load, seed, flag);
  };
  const auto config_for = [&](const policy_run& p, std::uint64_t seed) {
    return server.config_for(p, seed, trace);
  };
  // Every load's trace is checked before any runs (a load that stretches the arrivals past the
  // simulated clock's bound is an error now, not after an hour of runs).
  static_cast<void>(at_load(o.load, o.seeds.front()));
  for (const double l : o.loads) static_cast<void>(at_load(l, o.seeds.front(), "--loads"));

  std::vector<policy_run> runs;
  for (const std::string& name : o.policies) runs.push_back(policy_named(name));
  std::vector<double> plot_loads;
  for (const double l : o.loads) {
    if (std::abs(l - o.load) > 1e-9) plot_loads.push_back(l);
  }
  progress_bar bar(runs.size() * (o.seeds.size() + plot_loads.size()), !o.quiet);

  std::filesystem::create_directories(o.out);
  std::vector<rtlm::sim::simulation_metrics> main_metrics;
  std::vector<rtlm::sim::serving_metrics> main_serving;
  std::vector<rtlm::sim::slo_attainment> main_slo;
  std::vector<rtlm::tokens> main_cached;  // prompt tokens the prefix cache served
  std::vector<rtlm::sim::objective_summary> main_objectives;  // each request's own objectives
  std::vector<std::vector<rtlm::sim::class_attainment>> main_classes;
  std::vector<rtlm::sim::fairness_report> main_fairness;
  // Each policy's latency CDF at the main load, as plotted (at most about 400 points): the runs'
  // records (128 bytes a request) are not kept.
  std::vector<std::vector<std::pair<double, double>>> main_cdfs;
  std::map<std::string, std::vector<std::pair<double, double>>> miss_by_load;
  double simulated = 0.0;
  const rtlm::sim::trace main_trace = at_load(o.load, o.seeds[0]);
  for (const policy_run& p : runs) {
    const rtlm::sim::simulation_result r =
        rtlm::sim::simulate(main_trace, config_for(p, o.seeds[0]));
    simulated += r.simulated_seconds;
    const rtlm::sim::simulation_metrics m = rtlm::sim::summarize(r);
    miss_by_load[p.name].emplace_back(o.load, m.deadline_miss_rate);
    write_records(fmt::format("{}/requests_{}.csv", o.out, p.name), r);
    main_metrics.push_back(m);
    main_serving.push_back(rtlm::sim::serving_metrics_of(r));
    main_slo.push_back(rtlm::sim::attainment_of(r, o.slo));
    main_cached.push_back(r.cached_prefill_tokens);
    main_objectives.push_back(rtlm::sim::objectives_of(r));
    main_classes.push_back(rtlm::sim::class_attainment_of(r));
    main_fairness.push_back(rtlm::sim::fairness_of(r, 1.0, 2.0, main_trace.span()));
    main_cdfs.push_back(latency_cdf(r));
    bar.step(fmt::format("{} at load {}", p.name, o.load));
  }
  // by_seed[k][i]: policy i's figures at the main load with seed k (k = 0 is the table's).
  std::vector<std::vector<rtlm::sim::simulation_metrics>> by_seed = {main_metrics};
  for (std::size_t k = 1; k < o.seeds.size(); ++k) {
    by_seed.emplace_back();
    const rtlm::sim::trace seed_trace = at_load(o.load, o.seeds[k]);
    for (const policy_run& p : runs) {
      const rtlm::sim::simulation_result r =
          rtlm::sim::simulate(seed_trace, config_for(p, o.seeds[k]));
      simulated += r.simulated_seconds;
      by_seed.back().push_back(rtlm::sim::summarize(r));
      bar.step(fmt::format("{} at load {}, seed {}", p.name, o.load, o.seeds[k]));
    }
  }
  for (const double l : plot_loads) {
    const rtlm::sim::trace t = at_load(l, o.seeds[0]);
    for (const policy_run& p : runs) {
      const rtlm::sim::simulation_result r = rtlm::sim::simulate(t, config_for(p, o.seeds[0]));
      simulated += r.simulated_seconds;
      miss_by_load[p.name].emplace_back(l, rtlm::sim::summarize(r).deadline_miss_rate);
      bar.step(fmt::format("{} at load {}", p.name, l));
    }
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  // The table.
  fmt::print(
      "trace {}: {} requests{}, offered at {} of the server's saturated capacity ({:.2f} "
      "requests/s: the whole trace queued at once under vllm_fcfs, until the queue empties); "
      "arrivals: {}{}\n",
      trace.name, trace.requests.size(),
      w.timed ? fmt::format(" over {:.0f} s", trace.span()) : std::string(), o.load, capacity,
      o.arrivals == "trace"
          ? fmt::format("the trace's own, x {:.3f}", trace.arrival_rate() / (o.load * capacity))
      : o.arrivals == "gamma" ? fmt::format("gamma, CV {}", o.arrival_cv)
                              : o.arrivals,
      o.burst_requests > 0 ? fmt::format(", plus {} at {} s", o.burst_requests, o.burst_at)
                           : std::string());
  fmt::print("{} (seed {})\n", server.describe(), o.seeds[0]);
  const double tau = server.measured_kendall_tau(main_trace, o.seeds[0], trace.requests.size());
  fmt::print("predictions: {}{}\n", server.lengths_description(),
             std::isnan(tau) ? std::string()
                             : fmt::format(" (Kendall tau of predicted mean vs true length, "
                                           "measured on this trace: {:.2f})",
                                           tau));
  fmt::print("deadlines: {}\n\n",
             o.deadlines.rule == rtlm::sim::deadline_rule::kind::none ? std::string("none")
             : o.deadlines.rule == rtlm::sim::deadline_rule::kind::slack
                 ? fmt::format("arrival + {} x isolated service time", o.deadlines.slack)
                 : fmt::format("arrival + {} s + {} s x (output - 1)", o.deadlines.ttft.count(),
                               o.deadlines.tpot.count()));
  fmt::print("{:<18} {:>9} {:>9} {:>9} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9} {:>6} {:>6}\n", "policy",
             "mean (s)", "p50 (s)", "p99 (s)", "TTFT", "TPOT ms", "miss rate", "goodput",
             "max wait", "util", "reject", "alpha");
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const rtlm::sim::simulation_metrics& m = main_metrics[i];
    fmt::print(
        "{:<18} {:>9.3f} {:>9.3f} {:>9.3f} {:>8.3f} {:>8.1f} {:>9.4f} {:>9.3f} {:>9.1f} "
        "{:>9.3f} {:>6} {:>6.3f}\n",
        runs[i].name + (runs[i].oracle ? " *" : ""), m.mean_latency, m.p50_latency, m.p99_latency,
        m.mean_ttft, 1000 * m.mean_tpot, m.deadline_miss_rate, m.goodput, m.max_queue_wait,
        m.utilization, m.rejected, m.mean_eviction);
  }
  fmt::print("\n{:<18} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>11}\n", "policy",
             "norm s/tok", "TTFT p50", "TTFT p99", "TPOT p50", "TPOT p99", "SLO met", "goodput",
             "preempt", "recomputed");
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const rtlm::sim::serving_metrics& m = main_serving[i];
    fmt::print(
        "{:<18} {:>10.4f} {:>9.3f} {:>9.3f} {:>9.4f} {:>9.4f} {:>9.4f} {:>9.3f} {:>8} {:>11}\n",
        runs[i].name + (runs[i].oracle ? " *" : ""), m.normalized_latency, m.ttft.p50, m.ttft.p99,
        m.tpot.p50, m.tpot.p99, main_slo[i].attainment, main_slo[i].goodput, m.preemptions,
        m.recomputed_tokens.count());
  }
  fmt::print(
      "SLO: TTFT <= {} s and TPOT <= {} s; refused and failed requests count as missing it\n",
      o.slo.ttft.count(), o.slo.tpot.count());
  if (!o.classes.empty()) print_classes(o, runs, main_objectives, main_classes);
  if (!o.tenant_shares.empty()) print_fairness(o, runs, main_fairness);
  if (o.prefix_cache) {
    double prompts = 0;
    for (const rtlm::sim::trace_request& q : main_trace.requests)
      prompts += static_cast<double>(q.prompt.count());
    for (std::size_t i = 0; i < runs.size(); ++i) {
      fmt::print("{}: the prefix cache served {} prompt tokens ({:.1f}% of the trace's)\n",
                 runs[i].name, main_cached[i].count(),
                 100.0 * static_cast<double>(main_cached[i].count()) / prompts);
    }
  }
  // Failed requests are left out of every latency figure: say so wherever there are any.
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (main_metrics[i].failed == 0) continue;
    fmt::print(
        "{}: {} request{} failed unfinished (their KV outgrew the simulated GPU, say; the "
        "reason column of requests_{}.csv names why), left out of the latency figures\n",
        runs[i].name, main_metrics[i].failed, main_metrics[i].failed == 1 ? "" : "s", runs[i].name);
  }
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (runs[i].rtlm_policy &&
        (!best || main_metrics[i].mean_latency < main_metrics[*best].mean_latency)) {
      best = i;
    }
  }
  const double speed = simulated / wall;
  fmt::print(
      "\n* the oracles know every true length: bounds, not competitors.\n"
      "vllm_fcfs, vllm_priority (priority = the predicted length), prompt_sjf, edf and the "
      "oracles run under vLLM V1's rules (KV on demand, recompute on overflow, no admission "
      "control); rtlm's policies reserve KV {} with admission control ({}, on the {} "
      "length{}){}{}{}.\n",
      o.rtlm_kv_rule == rtlm::kv_reservation::on_demand ? "on demand" : "by the predicted bound",
      rtlm::to_string(o.admission),
      o.admission_length == rtlm::admission_basis::expected_length ? "expected"
                                                                   : "expected-when-saturated",
      o.admission_at_current_pace ? ", at the GPU's current pace" : "",
      o.evict ? ", KV eviction" : "", o.consolidate ? ", dynamic consolidation" : "",
      o.preempt ? ", preemption for priority (the oracles too)" : "");
  if (o.swap_gbps > 0)
    fmt::print("preemption swaps KV to host memory at {} GB/s (every policy)\n", o.swap_gbps);
  if (best) fmt::print("best rtlm policy (lowest mean latency): {}\n", runs[*best].name);

  // Over the seeds: each figure's mean and range, and mean latency over FCFS's in the same seed.
  const auto figure = [](const rtlm::sim::simulation_metrics& m, std::size_t f) {
    const std::array<double, 4> all = {m.mean_latency, m.p99_latency, m.deadline_miss_rate,
                                       m.goodput};
    return all[f];
  };
  constexpr std::array<std::string_view, 4> figure_names = {"mean_latency", "p99_latency",
                                                            "deadline_miss_rate", "goodput"};
  struct spread {
    double mean = 0.0;
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();
  };
  const auto spread_of = [&](const auto& value_of) {
    spread s;
    for (std::size_t k = 0; k < by_seed.size(); ++k) {
      const double v = value_of(k);
      s.mean += v / static_cast<double>(by_seed.size());
      s.min = std::min(s.min, v);
      s.max = std::max(s.max, v);
    }
    return s;
  };
  std::optional<std::size_t> fcfs;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (runs[i].name == "vllm_fcfs") fcfs = i;
  }
  std::vector<std::array<spread, 4>> spreads(runs.size());
  std::vector<std::optional<spread>> over_fcfs(runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    for (std::size_t f = 0; f < figure_names.size(); ++f)
      spreads[i][f] = spread_of([&](std::size_t k) { return figure(by_seed[k][i], f); });
    if (fcfs) {
      over_fcfs[i] = spread_of([&](std::size_t k) {
        return by_seed[k][i].mean_latency / by_seed[k][*fcfs].mean_latency;
      });
    }
  }
  if (o.seeds.size() > 1) {
    std::string seeds;
    for (const std::uint64_t seed : o.seeds)
      seeds += fmt::format("{}{}", seeds.empty() ? "" : ",", seed);
    fmt::print("\nover {} seeds ({}): mean [min, max]\n", o.seeds.size(), seeds);
    fmt::print("{:<18} {:>22} {:>22} {:>22} {:>22} {:>22}\n", "policy", "mean (s)", "p99 (s)",
               "miss rate", "goodput", "mean / vllm_fcfs's");
    const auto cell = [](const spread& s, int digits) {
      return fmt::format("{:.{}f} [{:.{}f}, {:.{}f}]", s.mean, digits, s.min, digits, s.max,
                         digits);
    };
    for (std::size_t i = 0; i < runs.size(); ++i) {
      fmt::print("{:<18} {:>22} {:>22} {:>22} {:>22} {:>22}\n",
                 runs[i].name + (runs[i].oracle ? " *" : ""), cell(spreads[i][0], 3),
                 cell(spreads[i][1], 2), cell(spreads[i][2], 4), cell(spreads[i][3], 3),
                 over_fcfs[i] ? cell(*over_fcfs[i], 3) : std::string("-"));
    }
  }
  fmt::print("simulated {:.0f} s in {:.2f} s of wall time ({:.0f} simulated s per wall s)\n",
             simulated, wall, speed);

  // Plots.
  {
    rtlm::sim::svg_plot cdf("End-to-end latency (s)", "fraction of requests finished");
    for (std::size_t i = 0; i < runs.size(); ++i) cdf.add_series(runs[i].name, main_cdfs[i]);
    cdf.set_log_x(true);
    write_file(
        "--out", o.out + "/latency_cdf.svg",
        cdf.render(fmt::format("Latency CDF, {} at load {}",
                               std::filesystem::path(trace.name).filename().string(), o.load)));
  }
  if (!plot_loads.empty()) {
    rtlm::sim::svg_plot miss("offered load (fraction of capacity)", "deadline-miss rate");
    for (const policy_run& p : runs) {
      std::vector<std::pair<double, double>> pts = miss_by_load[p.name];
      std::sort(pts.begin(), pts.end());
      miss.add_series(p.name, std::move(pts));
    }
    write_file("--out", o.out + "/miss_rate_vs_load.svg",
               miss.render("Deadline-miss rate against load"));
  }
  if (!o.json.empty()) {
    std::string f = "{\n";
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const rtlm::sim::simulation_metrics& m = main_metrics[i];
      const auto put = [&](std::string_view key, double v) {
        f += fmt::format("  \"{}.{}\": {},\n", runs[i].name, key,
                         std::isfinite(v) ? fmt::format("{:.9g}", v) : std::string("null"));
      };
      put("mean_latency", m.mean_latency);
      put("p50_latency", m.p50_latency);
      put("p99_latency", m.p99_latency);
      put("mean_ttft", m.mean_ttft);
      put("mean_tpot", m.mean_tpot);
      put("deadline_miss_rate", m.deadline_miss_rate);
      put("goodput", m.goodput);
      put("throughput", m.throughput);
      put("max_queue_wait", m.max_queue_wait);
      put("utilization", m.utilization);
      put("rejected", static_cast<double>(m.rejected));
      put("failed", static_cast<double>(m.failed));
      put("mean_eviction", m.mean_eviction);
      put("preemptions", static_cast<double>(m.preemptions));
      const rtlm::sim::serving_metrics& v = main_serving[i];
      put("normalized_latency", v.normalized_latency);
      put("mean_latency_all", v.mean_latency_all);
      put("ttft_p50", v.ttft.p50);
      put("ttft_p90", v.ttft.p90);
      put("ttft_p99", v.ttft.p99);
      put("tpot_p50", v.tpot.p50);
      put("tpot_p90", v.tpot.p90);
      put("tpot_p99", v.tpot.p99);
      put("recomputed_tokens", static_cast<double>(v.recomputed_tokens.count()));
      put("slo_attainment", main_slo[i].attainment);
      put("slo_goodput", main_slo[i].goodput);
      put("cached_prefill_tokens", static_cast<double>(main_cached[i].count()));
      put("objectives_attainment", main_objectives[i].attainment);
      put("objectives_goodput", main_objectives[i].goodput);
      for (const rtlm::sim::class_attainment& k : main_classes[i]) {
        if (k.slo_class >= o.classes.size()) continue;
        const std::string& name = o.classes[k.slo_class].name;
        put(fmt::format("class.{}.attainment", name), k.attainment);
        put(fmt::format("class.{}.ttft_attainment", name), k.ttft_attainment);
        put(fmt::format("class.{}.tpot_attainment", name), k.tpot_attainment);
        put(fmt::format("class.{}.goodput", name), k.goodput);
        put(fmt::format("class.{}.throughput", name), k.throughput);
      }
      if (!o.tenant_shares.empty()) {
        put("jain_index", main_fairness[i].jain);
        for (const rtlm::sim::tenant_service& t : main_fairness[i].tenants) {
          put(fmt::format("tenant.{}.service", t.tenant), t.service);
          put(fmt::format("tenant.{}.share_ratio", t.tenant), t.share_ratio);
        }
      }
      if (o.seeds.size() > 1) {
        for (std::size_t k = 0; k < figure_names.size(); ++k) {
          put(fmt::format("{}_over_seeds", figure_names[k]), spreads[i][k].mean);
          put(fmt::format("{}_min_over_seeds", figure_names[k]), spreads[i][k].min);
          put(fmt::format("{}_max_over_seeds", figure_names[k]), spreads[i][k].max);
        }
        if (over_fcfs[i]) {
          put("mean_latency_over_vllm_fcfs_over_seeds", over_fcfs[i]->mean);
          put("mean_latency_over_vllm_fcfs_min_over_seeds", over_fcfs[i]->min);
          put("mean_latency_over_vllm_fcfs_max_over_seeds", over_fcfs[i]->max);
        }
      }
    }
    f += fmt::format("  \"summary.capacity_requests_per_second\": {:.9g},\n", capacity);
    f += fmt::format("  \"summary.sim_seconds_per_wall_second\": {:.9g},\n", speed);
    f += fmt::format("  \"summary.best_rtlm_policy\": \"{}\"\n}}\n",
                     best ? runs[*best].name : std::string());
    write_file("--json", o.json, f);
  }
  // Said only once every file is whole.
  fmt::print("wrote {}/requests_<policy>.csv, latency_cdf.svg{}\n", o.out,
             plot_loads.empty() ? "" : ", miss_rate_vs_load.svg");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    const options o = rtlm_sim::parse_flags(args, RTLM_SIM_DATA_DIR);
    const int status = o.help ? (fmt::print("{}", rtlm_sim::usage), 0) : run(o);
    // The table on stdout is output too: a full disk or a closed pipe is a failure.
    if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
      throw rtlm::error("stdout", "standard output",
                        fmt::format("cannot be written: {}", std::strerror(errno)));
    }
    return status;
  } catch (const std::exception& e) {
    fmt::print(stderr, "rtlm-sim: {}\n", e.what());
    return 1;
  }
}
