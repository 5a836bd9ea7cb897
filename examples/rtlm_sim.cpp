// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// rtlm-sim: replays a real trace through rtlm's scheduler on simulated GPUs, once per policy,
// and compares them (docs/simulator.md). With no arguments it runs the default scenario on the
// bundled data: the Azure 2023 conversation trace at load 0.9 of one simulated H100 serving
// Llama-3.1-8B (steps timed by the estimator fitted to the committed profile, times the
// profile's measured noise), with FCFS, prompt-length shortest-job-first (a baseline proposed for
// vLLM, not merged), EDF, rtlm's policies and oracle SRPT as a bound.

#include <fmt/format.h>
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

#include "rtlm/estimate/estimator_fitting.hpp"
#include "rtlm/estimate/profile_csv.hpp"
#include "rtlm/sim/length_noise.hpp"
#include "rtlm/sim/simulation.hpp"
#include "rtlm/sim/svg_plot.hpp"
#include "rtlm_sim_flags.hpp"

#ifndef RTLM_SIM_DATA_DIR
#define RTLM_SIM_DATA_DIR "benchmarks/data"
#endif

namespace {

using rtlm_sim::options;
using rtlm_sim::policy_named;
using rtlm_sim::policy_run;

// An output file whose every write and whose close are checked: a full disk or a failing device
// is an rtlm::error naming the flag, the file and the system's reason (`--json = out.json:
// cannot be written: No space left on device`), never a file cut short behind an exit status 0.
class output_file {
 public:
  output_file(std::string flag, std::string path)
      : flag_(std::move(flag)), path_(std::move(path)), file_(std::fopen(path_.c_str(), "w")) {
    if (file_ == nullptr) fail(errno);
  }
  ~output_file() {
    if (file_ != nullptr) static_cast<void>(std::fclose(file_));
  }
  output_file(const output_file&) = delete;
  output_file& operator=(const output_file&) = delete;
  output_file(output_file&&) = delete;
  output_file& operator=(output_file&&) = delete;

  void write(std::string_view text) {
    if (std::fwrite(text.data(), 1, text.size(), file_) != text.size()) fail(errno);
  }
  // Flushes and closes; the file is complete only when this returns.
  void close() {
    std::FILE* f = std::exchange(file_, nullptr);
    const bool flushed = std::fflush(f) == 0 && std::ferror(f) == 0;
    const int flush_error = errno;
    const bool closed = std::fclose(f) == 0;
    if (!flushed) fail(flush_error);
    if (!closed) fail(errno);
  }

 private:
  [[noreturn]] void fail(int error_number) const {
    throw rtlm::error(flag_, path_,
                      fmt::format("cannot be written: {}", std::strerror(error_number)));
  }

  std::string flag_;
  std::string path_;
  std::FILE* file_ = nullptr;
};

// Writes `text` to `path` whole, or throws naming `flag`.
void write_file(const std::string& flag, const std::string& path, std::string_view text) {
  output_file f(flag, path);
  f.write(text);
  f.close();
}

// One simulated H100 (or whatever the profile measured) running the model.
rtlm::sim::backend_spec gpu(const rtlm::step_time_estimator& e, const rtlm::sim::step_noise& noise,
                            const rtlm::model_shape& shape, std::uint64_t seed, int index) {
  rtlm::sim::backend_spec b;
  b.config.capabilities.name = fmt::format("gpu{}", index);
  // 80 GB less the weights and 10% for activations, in KV tokens.
  const double kv_bytes = 0.9 * 80e9 - shape.parameter_count() * shape.config().bytes_per_weight;
  b.config.capabilities.kv_capacity =
      rtlm::tokens(static_cast<std::int64_t>(kv_bytes / shape.kv_bytes_per_token()));
  b.config.capabilities.max_batch_size = 256;
  b.config.capabilities.max_step_tokens = rtlm::tokens(8192);
  b.config.capabilities.can_chunk_prefill = true;
  b.config.capabilities.can_preempt_recompute = true;
  b.config.noise = noise;
  b.config.seed = seed;
  b.estimator = &e;
  return b;
}

// A terminal progress bar on stderr; silent when stderr is not a terminal or --quiet.
class progress_bar {
 public:
  progress_bar(std::size_t total, bool enabled)
      : total_(total), enabled_(enabled && isatty(fileno(stderr)) != 0) {}
  void step(std::string_view what) {
    ++done_;
    if (!enabled_) return;
    const std::size_t width = 30;
    const std::size_t filled = width * done_ / std::max<std::size_t>(total_, 1);
    fmt::print(stderr, "\r[{}{}] {}/{} {:<40}", std::string(filled, '#'),
               std::string(width - filled, ' '), done_, total_, what);
    if (done_ == total_) fmt::print(stderr, "\n");
    std::fflush(stderr);
  }

 private:
  std::size_t total_;
  std::size_t done_ = 0;
  bool enabled_;
};

void write_records(const std::string& path, const rtlm::sim::simulation_result& r) {
  output_file f("--out", path);
  f.write(
      "index,arrival,deadline,admitted,first_token,finish,prompt_tokens,output_tokens,outcome,"
      "reason,backend,preemptions\n");
  const auto num = [](double v) {
    return std::isnan(v) ? std::string() : fmt::format("{:.6f}", v);
  };
  fmt::memory_buffer rows;
  for (const rtlm::sim::request_record& x : r.records) {
    fmt::format_to(std::back_inserter(rows), "{},{},{},{},{},{},{},{},{},{},{},{}\n", x.index,
                   num(x.arrival), num(x.deadline), num(x.admitted), num(x.first_token),
                   num(x.finish), x.prompt.count(), x.output.count(), rtlm::to_string(x.outcome),
                   rtlm::to_string(x.reason), x.backend, x.preemptions);
    if (rows.size() >= 1U << 16U) {
      f.write({rows.data(), rows.size()});
      rows.clear();
    }
  }
  f.write({rows.data(), rows.size()});
  f.close();
}

// The latency CDF of the finished requests of `r`, as plotted: about 400 points.
std::vector<std::pair<double, double>> latency_cdf(const rtlm::sim::simulation_result& r) {
  std::vector<double> l;
  for (const rtlm::sim::request_record& x : r.records) {
    if (x.finished()) l.push_back(x.latency());
  }
  std::sort(l.begin(), l.end());
  std::vector<std::pair<double, double>> points;
  const std::size_t stride = std::max<std::size_t>(1, l.size() / 400);
  for (std::size_t k = 0; k < l.size(); k += stride) {
    points.emplace_back(l[k], static_cast<double>(k + 1) / static_cast<double>(l.size()));
  }
  if (!l.empty()) points.emplace_back(l.back(), 1.0);
  return points;
}

int run(const options& o) {
  const auto wall_start = std::chrono::steady_clock::now();
  rtlm::sim::trace trace = rtlm::sim::load_trace(o.trace);
  if (o.duration > 0) trace = rtlm::sim::first_seconds(trace, o.duration);
  trace.requests.shrink_to_fit();  // the loader's growth slack
  rtlm::detail::require(trace.requests.size() >= 2, "--trace", o.trace,
                        "must hold at least 2 requests");
  rtlm::detail::require(trace.span() > 0, "--trace", o.trace,
                        "must have arrivals at more than one time (load scaling needs a span)");
  const rtlm::profile prof = rtlm::load_profile_csv(o.profile);
  const std::optional<rtlm::model_config> model = rtlm::models::by_name(o.model);
  if (!model) throw rtlm::error("--model", o.model, "is not a known model shape");
  // A profile times one model: fitting it to another's shape gives wrong step times silently.
  if (const auto named = prof.metadata.find("model");
      named != prof.metadata.end() && named->second != o.model) {
    throw rtlm::error("--model", o.model,
                      fmt::format("differs from the model of --profile {} ('{}'); pass --model {} "
                                  "or a profile measured on {}",
                                  o.profile, named->second, named->second, o.model));
  }
  const rtlm::model_shape shape(*model);
  const rtlm::roofline_fit fit = rtlm::fit_roofline_estimator(
      rtlm::step_featurizer{shape, rtlm::hardware_spec(rtlm::accelerators::h100_sxm_bf16())}, prof);
  const rtlm::sim::step_noise noise = rtlm::sim::noise_of(prof);
  std::optional<rtlm::sim::length_noise_model> lengths;
  if (o.predictor == "noise") lengths = rtlm::sim::load_length_errors(o.errors, o.errors_model);

  // Seed `seed` times the steps with its own noise stream and draws request i's prediction error
  // with key i + (seed - 1) x (the trace's size): seed 1 keys by the index alone.
  const auto config_for = [&](const policy_run& p, std::uint64_t seed) {
    rtlm::sim::simulation_config c;
    c.scheduler.policy = p.kind;
    c.scheduler.admission = p.rtlm_policy ? o.admission : rtlm::admission_mode::accept;
    c.scheduler.consolidate = p.rtlm_policy && o.consolidate;
    c.scheduler.preempt_for_priority = (p.rtlm_policy || p.oracle) && o.preempt;
    c.scheduler.admission_length = o.admission_length;
    c.scheduler.admission_at_current_pace = o.admission_at_current_pace;
    c.scheduler.policies.predicted_length.seconds_per_token = o.size_weight;
    c.scheduler.policies.uncertainty_aware.seconds_per_token = o.size_weight;
    for (int i = 0; i < o.replicas; ++i) {
      c.backends.push_back(gpu(fit.estimator, noise, shape, seed, i));
      c.backends.back().config.capabilities.can_evict_kv = o.evict && p.rtlm_policy;
      c.backends.back().config.capabilities.max_step_tokens = rtlm::tokens(o.step_tokens);
      if (o.kv_tokens > 0)
        c.backends.back().config.capabilities.kv_capacity = rtlm::tokens(o.kv_tokens);
      c.backends.back().config.capabilities.max_batch_size = o.max_batch;
      if (o.swap_gbps > 0) {
        c.backends.back().config.capabilities.can_preempt_swap = true;
        c.backends.back().config.swap_seconds_per_token =
            shape.kv_bytes_per_token() / (o.swap_gbps * 1e9);
      }
    }
    c.deadlines = o.deadlines;
    if (p.oracle || o.predictor == "oracle") {
      c.predict = rtlm::sim::true_length;
    } else if (lengths) {
      const std::uint64_t offset = (seed - 1) * trace.requests.size();
      c.predict = [&lengths, offset](std::size_t i, const rtlm::sim::trace_request& q) {
        return std::optional<rtlm::length_estimate>(lengths->predict(q.output, i + offset));
      };
    }
    return c;
  };

  // The server's capacity: requests per second it sustains when saturated (every request of a
  // 2,000-request sample queued at once, FCFS).
  rtlm::sim::trace sample{.name = trace.name, .requests = {}};
  sample.requests.assign(trace.requests.begin(),
                         trace.requests.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(
                                                      trace.requests.size(), 2000)));
  for (rtlm::sim::trace_request& r : sample.requests) r.arrival = 0.0;
  const rtlm::sim::simulation_result saturated =
      rtlm::sim::simulate(sample, config_for(policy_named("fcfs"), o.seeds.front()));
  const double capacity = static_cast<double>(sample.requests.size()) / saturated.simulated_seconds;
  rtlm::detail::require(
      saturated.simulated_seconds > 0 && std::isfinite(capacity), "capacity",
      fmt::format("{} requests/s", capacity),
      "must be finite and > 0: the simulated server finished no work of a 2,000-request sample");
  const auto at_load = [&](double load) {
    return rtlm::sim::stretch_arrivals(trace, trace.arrival_rate() / (load * capacity));
  };
  // Every load's stretched trace must stay within the simulated clock's bound, checked for all
  // of them before any runs.
  const auto check_load = [&](std::string_view flag, double load) {
    const double last = trace.requests.back().arrival * trace.arrival_rate() / (load * capacity);
    rtlm::detail::require(
        std::isfinite(last) && last <= rtlm_sim::max_seconds, flag, load,
        fmt::format("stretches the trace's {:.0f} s of arrivals to {:.3g} s; simulated times must "
                    "stay within 4e9 s (a higher load, or a shorter trace or --duration)",
                    trace.span(), last));
  };
  check_load("--load", o.load);
  for (const double l : o.loads) check_load("--loads", l);

  std::vector<policy_run> runs;
  for (const std::string& name : o.policies) runs.push_back(policy_named(name));
  std::vector<double> plot_loads;
  for (const double l : o.loads) {
    if (std::abs(l - o.load) > 1e-9) plot_loads.push_back(l);
  }
  progress_bar bar(runs.size() * (o.seeds.size() + plot_loads.size()), !o.quiet);

  std::filesystem::create_directories(o.out);
  std::vector<rtlm::sim::simulation_metrics> main_metrics;
  // Each policy's latency CDF at the main load, as plotted (at most about 400 points): the runs'
  // records (96 bytes a request) are not kept.
  std::vector<std::vector<std::pair<double, double>>> main_cdfs;
  std::map<std::string, std::vector<std::pair<double, double>>> miss_by_load;
  double simulated = 0.0;
  const rtlm::sim::trace main_trace = at_load(o.load);
  for (const policy_run& p : runs) {
    const rtlm::sim::simulation_result r =
        rtlm::sim::simulate(main_trace, config_for(p, o.seeds[0]));
    simulated += r.simulated_seconds;
    const rtlm::sim::simulation_metrics m = rtlm::sim::summarize(r);
    miss_by_load[p.name].emplace_back(o.load, m.deadline_miss_rate);
    write_records(fmt::format("{}/requests_{}.csv", o.out, p.name), r);
    main_metrics.push_back(m);
    main_cdfs.push_back(latency_cdf(r));
    bar.step(fmt::format("{} at load {}", p.name, o.load));
  }
  // by_seed[k][i]: policy i's figures at the main load with seed k (k = 0 is the table's).
  std::vector<std::vector<rtlm::sim::simulation_metrics>> by_seed = {main_metrics};
  for (std::size_t k = 1; k < o.seeds.size(); ++k) {
    by_seed.emplace_back();
    for (const policy_run& p : runs) {
      const rtlm::sim::simulation_result r =
          rtlm::sim::simulate(main_trace, config_for(p, o.seeds[k]));
      simulated += r.simulated_seconds;
      by_seed.back().push_back(rtlm::sim::summarize(r));
      bar.step(fmt::format("{} at load {}, seed {}", p.name, o.load, o.seeds[k]));
    }
  }
  for (const double l : plot_loads) {
    const rtlm::sim::trace t = at_load(l);
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
      "trace {}: {} requests over {:.0f} s, replayed at load {} of the server's capacity "
      "({:.2f} requests/s on {} simulated GPU(s); arrivals x {:.3f})\n",
      trace.name, trace.requests.size(), trace.span(), o.load, capacity * o.replicas, o.replicas,
      trace.arrival_rate() / (o.load * capacity));
  fmt::print("steps: estimator fitted to {}, times its measured run-to-run noise (seed {})\n",
             o.profile, o.seeds[0]);
  fmt::print("predictions: {}\n", o.predictor == "noise"    ? lengths->describe()
                                  : o.predictor == "oracle" ? std::string("oracle (true lengths)")
                                                            : std::string("none"));
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
      "\n* oracle SRPT knows every true length: a bound, not a competitor.\n"
      "fcfs, prompt_sjf, edf and oracle_srpt run as vLLM does (no admission control, no "
      "consolidation); rtlm's policies with admission control ({}, on the {} length{}){}{}{}.\n",
      rtlm::to_string(o.admission),
      o.admission_length == rtlm::admission_basis::expected_length ? "expected"
                                                                   : "expected-when-saturated",
      o.admission_at_current_pace ? ", at the GPU's current pace" : "",
      o.evict ? ", KV eviction" : "", o.consolidate ? ", dynamic consolidation" : "",
      o.preempt ? ", preemption for priority (oracle_srpt too)" : "");
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
    if (runs[i].name == "fcfs") fcfs = i;
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
               "miss rate", "goodput", "mean / fcfs's");
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
      if (o.seeds.size() > 1) {
        for (std::size_t k = 0; k < figure_names.size(); ++k) {
          put(fmt::format("{}_over_seeds", figure_names[k]), spreads[i][k].mean);
          put(fmt::format("{}_min_over_seeds", figure_names[k]), spreads[i][k].min);
          put(fmt::format("{}_max_over_seeds", figure_names[k]), spreads[i][k].max);
        }
        if (over_fcfs[i]) {
          put("mean_latency_over_fcfs_over_seeds", over_fcfs[i]->mean);
          put("mean_latency_over_fcfs_min_over_seeds", over_fcfs[i]->min);
          put("mean_latency_over_fcfs_max_over_seeds", over_fcfs[i]->max);
        }
      }
    }
    f +=
        fmt::format("  \"summary.capacity_requests_per_second\": {:.9g},\n", capacity * o.replicas);
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
