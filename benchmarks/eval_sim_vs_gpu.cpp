// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// eval_sim_vs_gpu: the simulator checked against the GPU (issue 25, item 8). For every
// served-stream run that examples/gpu_host.py made on an H200 or an H100 (benchmarks/gpu/results/),
// it rebuilds that run's workload exactly as the host did (the first 500 Azure conversation
// requests that fit a 4,096-row KV slot, their gaps stretched to the run's load, deadlines at 5x
// each request's isolated time on the estimator the host planned with, predictions from the
// AlpacaEval-calibrated noise model keyed by the request's index), and
//   1. replays the run through rtlm's scheduler with the GPU's own logged step times (steps.csv),
//      step by step, checking that every replayed plan has the logged shape and every request's
//      latency equals the logged one: this recovers the GPU run's time to first token and time
//      per output token, which the host did not log;
//   2. simulates the same arrivals with rtlm::sim::simulate on the profile of the engine that ran
//      them (the host's own timing of its engine, gpu_host.py --profile-out: --engine-profile, or
//      the call's own profile.csv for a call that planned with it on its own GPU), times that
//      profile's measured run-to-run noise;
// and prints measured against simulated mean latency, TTFT and TPOT per run and policy, with the
// relative differences. --json PATH writes them as flat JSON (`<run>.<policy>.<figure>`).

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "flat_json.hpp"
#include "rtlm/estimate/estimator_fitting.hpp"
#include "rtlm/estimate/profile_csv.hpp"
#include "rtlm/schedule/scheduler.hpp"
#include "rtlm/sim/length_noise.hpp"
#include "rtlm/sim/simulation.hpp"

#ifndef RTLM_BENCHMARK_DATA_DIR
#define RTLM_BENCHMARK_DATA_DIR "benchmarks/data"
#endif
#ifndef RTLM_GPU_RESULTS_DIR
#define RTLM_GPU_RESULTS_DIR "benchmarks/gpu/results"
#endif

namespace {

// ---- the result files ---------------------------------------------------------------------------

// A CSV with a header row, read whole; every error names the file and line.
class csv_table {
 public:
  explicit csv_table(std::string path) : path_(std::move(path)) {
    std::ifstream in(path_);
    if (!in) throw std::runtime_error(fmt::format("{}: cannot be read", path_));
    std::string line;
    std::size_t number = 0;
    while (std::getline(in, line)) {
      ++number;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      std::vector<std::string> cells;
      std::stringstream s(line);
      for (std::string cell; std::getline(s, cell, ',');) cells.push_back(cell);
      if (line.back() == ',') cells.emplace_back();
      if (header_.empty()) {
        header_ = cells;
        continue;
      }
      if (cells.size() != header_.size()) {
        throw std::runtime_error(fmt::format("{}:{}: {} fields, the header has {}", path_, number,
                                             cells.size(), header_.size()));
      }
      rows_.push_back(std::move(cells));
      lines_.push_back(number);
    }
    if (header_.empty()) throw std::runtime_error(fmt::format("{}: no header row", path_));
  }

  [[nodiscard]] std::size_t size() const noexcept { return rows_.size(); }
  [[nodiscard]] bool has(const std::string& column) const {
    return std::find(header_.begin(), header_.end(), column) != header_.end();
  }
  [[nodiscard]] const std::string& text(std::size_t row, const std::string& column) const {
    const auto it = std::find(header_.begin(), header_.end(), column);
    if (it == header_.end()) {
      throw std::runtime_error(fmt::format("{}: no column '{}'", path_, column));
    }
    return rows_[row][static_cast<std::size_t>(it - header_.begin())];
  }
  // A number; "nan" reads as NaN only where `nan_ok`.
  [[nodiscard]] double number(std::size_t row, const std::string& column,
                              bool nan_ok = false) const {
    const std::string& t = text(row, column);
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(t, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != t.size() || t.empty() || (!nan_ok && !std::isfinite(v))) {
      throw std::runtime_error(fmt::format("{}:{}: column '{}' = '{}': not a finite number", path_,
                                           lines_[row], column, t));
    }
    return v;
  }
  [[nodiscard]] std::int64_t whole(std::size_t row, const std::string& column) const {
    const double v = number(row, column);
    if (v != std::floor(v) || v < 0) {
      throw std::runtime_error(fmt::format("{}:{}: column '{}' = '{}': not a whole number >= 0",
                                           path_, lines_[row], column, text(row, column)));
    }
    return static_cast<std::int64_t>(v);
  }
  [[nodiscard]] std::string where(std::size_t row) const {
    return fmt::format("{}:{}", path_, lines_[row]);
  }

 private:
  std::string path_;
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<std::size_t> lines_;
};

// One step as steps.csv logged it. The oldest runs logged only `computed`; -1 marks a field
// the file lacks.
struct logged_step {
  std::int64_t computed = 0;
  std::int64_t prefills = -1;
  std::int64_t prefill_tokens = -1;
  std::int64_t decodes = -1;
  std::int64_t decode_kv_tokens = -1;
  double measured = 0.0;
  double measured_prefill = std::nan("");
};

// One measured run of a policy: its label as the host wrote it, its requests' latencies (by
// request id) and its steps in order.
struct gpu_run {
  std::string label;   // policy, policy:whole_step_timing or policy:strict (no aging)
  std::string policy;  // the scheduler's policy
  int number = -1;     // the run's number in its call (-1: the call ran each policy once)
  bool split_timing = true;
  std::vector<double> latency;
  std::vector<logged_step> steps;
};

// What one call of gpu_host.py wrote into its folder.
struct gpu_call {
  std::string name;          // folder under the results directory
  std::string planned_with;  // the profile the host's estimator was fitted to
  double load = 0.9;
  double capacity = 0.0;       // printed in log.txt, 2 decimals
  double printed_stretch = 0;  // printed in log.txt, 3 decimals
  int slots = 160;             // gpu_host.py --slots
  bool accept = false;  // gpu_host.py --admission accept: rtlm's policies admit every request
  std::vector<gpu_run> runs;
};

// "capacity 15.63 requests/s; arrivals x 0.266 for load 0.9" from the call's log.txt.
void read_log(const std::string& path, gpu_call& call) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot be read", path));
  std::string line;
  std::size_t number = 0;
  bool found = false;
  while (std::getline(in, line)) {
    ++number;
    if (line.rfind("capacity ", 0) != 0) continue;
    double cap = 0;
    double stretch = 0;
    double load = 0;
    std::array<std::string, 6> words;
    std::istringstream fields(line);
    fields >> words[0] >> cap >> words[1] >> words[2] >> words[3] >> stretch >> words[4] >>
        words[5] >> load;
    if (!fields ||
        words !=
            std::array<std::string, 6>{"capacity", "requests/s;", "arrivals", "x", "for", "load"} ||
        !(cap > 0) || !(stretch > 0) || !(load > 0)) {
      throw std::runtime_error(
          fmt::format("{}:{}: cannot read the capacity line '{}'", path, number, line));
    }
    call.capacity = cap;
    call.printed_stretch = stretch;
    call.load = load;
    found = true;
  }
  if (!found) throw std::runtime_error(fmt::format("{}: no 'capacity ...' line", path));
}

void read_call(const std::string& dir, gpu_call& call) {
  read_log(dir + "/log.txt", call);
  const csv_table served(dir + "/served_stream.csv");
  const csv_table steps(dir + "/steps.csv");
  const bool numbered = served.has("run");
  const auto key_of = [&](const csv_table& t, std::size_t row) {
    return numbered ? fmt::format("{}#{}", t.text(row, "policy"), t.whole(row, "run"))
                    : t.text(row, "policy");
  };
  std::map<std::string, std::size_t> index;
  for (std::size_t row = 0; row < served.size(); ++row) {
    const std::string key = key_of(served, row);
    auto [it, added] = index.emplace(key, call.runs.size());
    if (added) {
      gpu_run r;
      r.label = served.text(row, "policy");
      const std::size_t colon = r.label.find(':');
      r.policy = r.label.substr(0, colon);
      r.split_timing = colon == std::string::npos || r.label.substr(colon) != ":whole_step_timing";
      r.number = numbered ? static_cast<int>(served.whole(row, "run")) : -1;
      call.runs.push_back(std::move(r));
    }
    gpu_run& r = call.runs[it->second];
    const auto id = static_cast<std::size_t>(served.whole(row, "id"));
    if (id != r.latency.size()) {
      throw std::runtime_error(fmt::format("{}: request id {} out of order (expected {})",
                                           served.where(row), id, r.latency.size()));
    }
    if (served.text(row, "outcome") != "finished") {
      throw std::runtime_error(
          fmt::format("{}: outcome '{}': every request of these runs "
                      "finished; a refused one needs its own handling",
                      served.where(row), served.text(row, "outcome")));
    }
    r.latency.push_back(served.number(row, "latency"));
  }
  if (call.runs.empty()) {
    throw std::runtime_error(fmt::format("{}/served_stream.csv: no requests", dir));
  }
  for (const gpu_run& r : call.runs) {
    if (r.latency.size() != call.runs.front().latency.size()) {
      throw std::runtime_error(fmt::format(
          "{}/served_stream.csv: run '{}' has {} requests, run '{}' {}: the runs of a call serve "
          "the same requests",
          dir, r.label, r.latency.size(), call.runs.front().label,
          call.runs.front().latency.size()));
    }
  }
  const bool parts = steps.has("prefills");
  for (std::size_t row = 0; row < steps.size(); ++row) {
    const auto it = index.find(key_of(steps, row));
    if (it == index.end()) {
      throw std::runtime_error(
          fmt::format("{}: a step of run '{}', which served_stream.csv "
                      "does not have",
                      steps.where(row), key_of(steps, row)));
    }
    logged_step s;
    s.computed = steps.whole(row, "computed");
    s.measured = steps.number(row, "measured");
    if (parts) {
      s.prefills = steps.whole(row, "prefills");
      s.prefill_tokens = steps.whole(row, "prefill_tokens");
      s.decodes = steps.whole(row, "decodes");
      s.decode_kv_tokens = steps.whole(row, "decode_kv_tokens");
      s.measured_prefill = steps.number(row, "measured_prefill");
      if (s.prefills + s.decodes != s.computed) {
        throw std::runtime_error(fmt::format("{}: prefills {} + decodes {} != computed {}",
                                             steps.where(row), s.prefills, s.decodes, s.computed));
      }
    }
    call.runs[it->second].steps.push_back(s);
  }
}

// ---- the workload, as gpu_host.py built it -----------------------------------------------------

constexpr std::int64_t slot_tokens = 4096;  // gpu_host.py --slot-tokens (its default)
constexpr double deadline_slack = 5.0;      // gpu_host.py --slack (its default)

// The host's requests before their gaps are stretched: the first `count` trace rows whose prompt
// and output fit a slot (prompt + output + 2 < slot rows).
std::vector<rtlm::sim::trace_request> first_rows(const rtlm::sim::trace& t, std::size_t count) {
  std::vector<rtlm::sim::trace_request> rows;
  for (const rtlm::sim::trace_request& r : t.requests) {
    if (rows.size() == count) break;
    if (r.prompt.count() + r.output.count() + 2 < slot_tokens) rows.push_back(r);
  }
  if (rows.size() != count) {
    throw std::runtime_error(
        fmt::format("{}: {} requests fit a slot, the runs served {}", t.name, rows.size(), count));
  }
  return rows;
}

// The requests' arrival rate, as the host computed it: (n - 1) / (last - first).
double rate_of(const std::vector<rtlm::sim::trace_request>& rows) {
  return static_cast<double>(rows.size() - 1) /
         std::max(rows.back().arrival - rows.front().arrival, 1e-9);
}

// gpu_host.py's deadline: arrival + slack x (prefill + (output - 1) decodes at half the output's
// KV), on the estimator the host planned with.
double deadline_of(const rtlm::step_time_estimator& e, double arrival, rtlm::tokens prompt,
                   rtlm::tokens output) {
  const std::array<rtlm::tokens, 1> kv = {prompt + rtlm::tokens(output.count() / 2)};
  const double alone = e.prefill_time(prompt, rtlm::tokens(0)).count() +
                       static_cast<double>(output.count() - 1) * e.decode_time(kv).count();
  return arrival + deadline_slack * alone;
}

// The host's trace: arrivals (t_i - t_0) x stretch.
rtlm::sim::trace stretched(const std::vector<rtlm::sim::trace_request>& rows, double stretch) {
  rtlm::sim::trace t{.name = "gpu_host", .requests = rows};
  const double first = rows.front().arrival;
  for (rtlm::sim::trace_request& r : t.requests) r.arrival = (r.arrival - first) * stretch;
  return t;
}

// gpu_host.py's scheduler settings for a run labelled `label` (policy[:mode]): its
// SchedulerConfig defaults, with admission control off for FCFS (as vLLM runs it) and, for rtlm's
// policies, `reject` (gpu_host.py's default) or `accept` (--admission accept); ":strict" turns
// the policies' aging off, as gpu_host.py does.
rtlm::scheduler_config scheduler_settings(const std::string& label, std::size_t requests,
                                          bool accept) {
  rtlm::scheduler_config c;
  const std::size_t colon = label.find(':');
  const std::string policy = label.substr(0, colon);
  const std::string mode = colon == std::string::npos ? "" : label.substr(colon + 1);
  const std::optional<rtlm::policy_kind> kind = rtlm::policy_kind_from_string(policy);
  if (!kind) throw std::runtime_error(fmt::format("policy '{}' is not rtlm's", policy));
  if (!mode.empty() && mode != "strict" && mode != "whole_step_timing") {
    throw std::runtime_error(fmt::format("policy '{}': unknown mode '{}'", label, mode));
  }
  c.policy = kind;
  c.admission = accept || *kind == rtlm::policy_kind::first_come_first_served
                    ? rtlm::admission_mode::accept
                    : rtlm::admission_mode::reject;
  if (mode == "strict") {
    c.policies.predicted_length.age = false;
    c.policies.remaining_work.age = false;
    c.policies.length_distribution.age = false;
  }
  c.max_requests = requests + 1;
  c.intake_capacity = std::min(c.max_requests, c.intake_capacity);
  c.intake_shards = 1;
  return c;
}

// gpu_host.py's backend: `slots` slots of 4,096 KV rows (--slots), at most `slots` sequences, no
// step-token limit of its own (the scheduler's 2,048 applies), whole prompts, recompute preemption.
rtlm::backend_capabilities host_capabilities(int slots) {
  rtlm::backend_capabilities c;
  c.name = "gpu0";
  c.kv_capacity = rtlm::tokens(slots * slot_tokens);
  c.max_batch_size = slots;
  c.max_step_tokens = rtlm::tokens(0);
  c.can_chunk_prefill = false;
  c.can_preempt_recompute = true;
  return c;
}

rtlm::time_point at(double s) {
  return rtlm::time_point{} + std::chrono::duration_cast<rtlm::duration>(rtlm::seconds(s));
}
double since_start(rtlm::time_point t) {
  return std::chrono::duration<double>(t - rtlm::time_point{}).count();
}

// ---- the replay of a GPU run on its logged step times ------------------------------------------

// The GPU's measured step times against an estimator's for the same steps.
struct step_comparison {
  double measured = 0;              // all steps, seconds
  double estimated = 0;             // the estimator's time for the same steps
  double measured_decode_only = 0;  // the same over the steps with no prefill
  double estimated_decode_only = 0;
  std::vector<double> decode_only;  // measured / estimated, steps with no prefill
  std::vector<double> prefill;      // measured / estimated, the prefills' own part (timed apart)
};

double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// gpu_host.py's GpuBackend without the GPU: each step takes the time the GPU took for the same
// step (the next row of steps.csv), after checking that the plan has that row's shape. With an
// estimator, it also compares that estimator's time for each step with the GPU's.
class logged_backend final : public rtlm::model_backend {
 public:
  logged_backend(const gpu_run& run, const std::vector<rtlm::sim::trace_request>& rows, int slots,
                 const rtlm::step_time_estimator* engine)
      : caps_(host_capabilities(slots)), run_(&run), rows_(&rows), engine_(engine) {}
  [[nodiscard]] const step_comparison& comparison() const noexcept { return comparison_; }

  [[nodiscard]] const rtlm::backend_capabilities& capabilities() const noexcept override {
    return caps_;
  }
  [[nodiscard]] const std::string& mismatch() const noexcept { return mismatch_; }
  [[nodiscard]] std::size_t steps_run() const noexcept { return cursor_; }

 private:
  void run_step(const rtlm::step_plan& plan, rtlm::step_result& result) override {
    if (!mismatch_.empty()) throw std::runtime_error(mismatch_);
    for (const rtlm::request_id id : plan.releases) made_.erase(id);
    // A plan that only releases computes nothing: the host did not log it, nor move its clock.
    if (plan.computed() == 0) return;
    if (cursor_ >= run_->steps.size()) {
      mismatch_ = fmt::format("the replay runs more than the {} logged steps", run_->steps.size());
      throw std::runtime_error(mismatch_);
    }
    const logged_step& s = run_->steps[cursor_];
    std::int64_t prefill_tokens = 0;
    std::int64_t kv = 0;
    for (const rtlm::prefill_assignment& p : plan.prefills) prefill_tokens += p.new_tokens.count();
    for (const rtlm::decode_assignment& d : plan.decodes) kv += d.kv_length.count();
    const auto computed = static_cast<std::int64_t>(plan.prefills.size() + plan.decodes.size());
    const auto differs = [](std::int64_t logged, std::int64_t planned) {
      return logged >= 0 && logged != planned;
    };
    if (differs(s.computed, computed) ||
        differs(s.prefills, static_cast<std::int64_t>(plan.prefills.size())) ||
        differs(s.prefill_tokens, prefill_tokens) ||
        differs(s.decodes, static_cast<std::int64_t>(plan.decodes.size())) ||
        differs(s.decode_kv_tokens, kv)) {
      mismatch_ = fmt::format(
          "step {}: the replay planned {} prefills ({} tokens) and {} decodes ({} KV tokens), the "
          "GPU ran {} sequences ({} prefills, {} tokens; {} decodes, {} KV tokens)",
          cursor_, plan.prefills.size(), prefill_tokens, plan.decodes.size(), kv, s.computed,
          s.prefills, s.prefill_tokens, s.decodes, s.decode_kv_tokens);
      throw std::runtime_error(mismatch_);
    }
    // As GpuBackend: a request counts every token it has made, across a recompute.
    const auto produce = [&](rtlm::request_id id) {
      const std::int64_t made = ++made_[id];
      const auto i = static_cast<std::size_t>(rtlm::to_integer(id));
      result.outcomes.push_back(
          {.id = id, .generated = rtlm::tokens(1), .finished = made >= (*rows_)[i].output.count()});
    };
    for (const rtlm::prefill_assignment& p : plan.prefills) produce(p.id);
    for (const rtlm::decode_assignment& d : plan.decodes) produce(d.id);
    if (engine_ != nullptr) {
      double prefill = 0;
      for (const rtlm::prefill_assignment& p : plan.prefills) {
        prefill += engine_->prefill_time(p.new_tokens, p.computed_tokens).count();
      }
      kv_.clear();
      for (const rtlm::decode_assignment& d : plan.decodes) kv_.push_back(d.kv_length);
      const double decode = kv_.empty() ? 0.0 : engine_->decode_time(kv_).count();
      comparison_.measured += s.measured;
      comparison_.estimated += prefill + decode;
      if (plan.prefills.empty()) {
        comparison_.measured_decode_only += s.measured;
        comparison_.estimated_decode_only += decode;
        comparison_.decode_only.push_back(s.measured / decode);
      } else if (std::isfinite(s.measured_prefill)) {
        comparison_.prefill.push_back(s.measured_prefill / prefill);
      }
    }
    result.step_time = rtlm::seconds(s.measured);
    if (run_->split_timing && !plan.prefills.empty() && std::isfinite(s.measured_prefill)) {
      result.prefill_time = rtlm::seconds(s.measured_prefill);
    }
    ++cursor_;
  }

  rtlm::backend_capabilities caps_;
  const gpu_run* run_;
  const std::vector<rtlm::sim::trace_request>* rows_;
  const rtlm::step_time_estimator* engine_;
  std::map<rtlm::request_id, std::int64_t> made_;
  std::vector<rtlm::tokens> kv_;
  step_comparison comparison_;
  std::size_t cursor_ = 0;
  std::string mismatch_;
};

// Every request's first-token and finish time, in seconds on the scheduler's clock.
class time_observer final : public rtlm::scheduler_observer {
 public:
  explicit time_observer(std::size_t n) : first_token(n, std::nan("")), finish(n, std::nan("")) {}
  void on_event(const rtlm::request_event& e, const rtlm::request& r) noexcept override {
    const auto i = static_cast<std::size_t>(rtlm::to_integer(e.id));
    if (i >= finish.size()) return;
    switch (e.kind) {
      case rtlm::request_event_kind::finished:
        finish[i] = since_start(e.at);
        first_token[i] =
            r.progress.first_token_time ? since_start(*r.progress.first_token_time) : finish[i];
        ++ended;
        break;
      case rtlm::request_event_kind::rejected:
      case rtlm::request_event_kind::failed:
      case rtlm::request_event_kind::cancelled:
        ++ended;
        break;
      default:
        break;
    }
  }
  std::vector<double> first_token;
  std::vector<double> finish;
  std::size_t ended = 0;
};

// What a replay gave.
struct replay_result {
  std::vector<double> first_token;
  std::vector<double> finish;
  std::string mismatch;          // empty: every step had the logged shape
  double max_latency_error = 0;  // over requests, seconds: |replayed - logged|
  double latency_error_sq = 0;   // the sum of squared latency errors, seconds^2
  std::size_t steps = 0;
  step_comparison engine;  // the engine profile's step times against the GPU's
};

// gpu_host.py's serve() loop, on `backend`: arrivals due by `now` are submitted, one step runs,
// the clock moves by its measured time; an idle GPU jumps to the next arrival.
void serve(rtlm::scheduler& s, rtlm::model_backend& backend,
           const rtlm::step_time_estimator& planning, const rtlm::sim::trace& t,
           const std::vector<double>& deadlines,
           const std::vector<rtlm::length_estimate>& predictions, time_observer& times) {
  const std::size_t n = t.requests.size();
  const std::size_t gpu = s.add_backend(backend, planning);
  s.set_observer(&times);
  double now = 0.0;
  std::size_t next = 0;
  int idle = 0;
  while (times.ended < n) {
    for (; next < n && t.requests[next].arrival <= now; ++next) {
      rtlm::request r;
      r.id = rtlm::request_id{next};
      r.prompt_tokens = t.requests[next].prompt;
      r.arrival = at(t.requests[next].arrival);
      r.deadline = at(deadlines[next]);
      r.predicted_length = predictions[next];
      if (s.submit(r) != rtlm::submit_status::accepted) {
        throw std::runtime_error(fmt::format("request {}: the intake refused it", next));
      }
    }
    const rtlm::step_report report = s.step(gpu, at(now));
    if (report.status != rtlm::step_status::ok) return;  // the caller reads why
    if (report.computed == 0) {
      if (next < n) {
        now = std::max(now, t.requests[next].arrival);
      } else if (++idle > 3) {
        return;
      }
      continue;
    }
    idle = 0;
    now += report.measured.count();
  }
}

// The workload of one call at one stretch: trace, deadlines, predictions.
struct workload {
  rtlm::sim::trace trace;
  std::vector<double> deadlines;
  std::vector<rtlm::length_estimate> predictions;
};

// As gpu_host.py: deadlines on the estimator it planned with; request i's prediction drawn with
// key i from the noise model.
workload workload_of(const std::vector<rtlm::sim::trace_request>& rows, double stretch,
                     const rtlm::step_time_estimator& planning,
                     const rtlm::sim::length_noise_model& noise) {
  workload w{.trace = stretched(rows, stretch), .deadlines = {}, .predictions = {}};
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const rtlm::sim::trace_request& q = w.trace.requests[i];
    w.deadlines.push_back(deadline_of(planning, q.arrival, q.prompt, q.output));
    w.predictions.push_back(noise.predict(q.output, i));
  }
  return w;
}

replay_result replay(const gpu_call& call, const gpu_run& run, const workload& w,
                     const rtlm::step_time_estimator& planning,
                     const rtlm::step_time_estimator* engine = nullptr) {
  const std::size_t n = w.trace.requests.size();
  logged_backend backend(run, w.trace.requests, call.slots, engine);
  rtlm::scheduler s(scheduler_settings(run.label, n, call.accept));
  time_observer times(n);
  serve(s, backend, planning, w.trace, w.deadlines, w.predictions, times);
  replay_result r;
  r.mismatch = backend.mismatch();
  r.steps = backend.steps_run();
  if (r.mismatch.empty() && times.ended < n) r.mismatch = "requests left unfinished";
  if (r.mismatch.empty() && r.steps != run.steps.size()) {
    r.mismatch = fmt::format("the replay ran {} of the {} logged steps", r.steps, run.steps.size());
  }
  for (std::size_t i = 0; i < n; ++i) {
    const double e = times.finish[i] - w.trace.requests[i].arrival - run.latency[i];
    r.max_latency_error = std::isnan(e) ? INFINITY : std::max(r.max_latency_error, std::abs(e));
    r.latency_error_sq += std::isnan(e) ? INFINITY : e * e;
  }
  r.first_token = std::move(times.first_token);
  r.finish = std::move(times.finish);
  r.engine = backend.comparison();
  return r;
}

// The stretch a call's arrivals had. log.txt prints it to 3 digits and the capacity it came from
// to 2 (gpu_host.py: stretch = rate / (load x capacity)); a replay reproduces the logged steps
// only within a narrower window. Scans the window both printed figures allow for the stretch at
// which the first run's replay matches every logged step, then fits it by least squares on every
// run's latencies (linear in the stretch while the schedule stays the same).
struct stretch_fit {
  double stretch = 0;
  bool matched = false;  // every run's replay matched its logged steps
};

stretch_fit fit_stretch(const gpu_call& call, const std::vector<rtlm::sim::trace_request>& rows,
                        const rtlm::step_time_estimator& planning,
                        const rtlm::sim::length_noise_model& noise) {
  const double rate = rate_of(rows);
  double lo = std::max(rate / (call.load * (call.capacity + 0.005)), call.printed_stretch - 0.0005);
  double hi = std::min(rate / (call.load * (call.capacity - 0.005)), call.printed_stretch + 0.0005);
  if (!(lo <= hi)) {
    throw std::runtime_error(fmt::format("{}: capacity {} and stretch {} disagree", call.name,
                                         call.capacity, call.printed_stretch));
  }
  // Coarse to fine: each level scans 40 steps of its window and narrows it around the stretch
  // whose replay matched the most logged steps (the nearer the true stretch, the later the
  // first difference), until one matches them all.
  const gpu_run& first = call.runs.front();
  double best = rate / (call.load * call.capacity);
  double best_error = INFINITY;
  std::size_t best_steps = 0;
  constexpr int grid = 40;
  for (int level = 0; level < 6 && !std::isfinite(best_error); ++level) {
    const double width = (hi - lo) / grid;
    double centre = best;
    for (int k = 0; k <= grid; ++k) {
      const double s = lo + width * k;
      const replay_result r = replay(call, first, workload_of(rows, s, planning, noise), planning);
      if (r.mismatch.empty() && r.latency_error_sq < best_error) {
        best = s;
        best_error = r.latency_error_sq;
      } else if (!std::isfinite(best_error) && r.steps > best_steps) {
        best_steps = r.steps;
        centre = s;
      }
    }
    if (!std::isfinite(best_error)) {
      best = centre;
      lo = centre - width;
      hi = centre + width;
    }
  }
  stretch_fit fit{.stretch = best, .matched = false};
  if (!std::isfinite(best_error)) return fit;
  // Least squares over every run: latency_i(s) ~ latency_i(best) + slope_i (s - best).
  const double step = best * 1e-7;
  double num = 0;
  double den = 0;
  for (const gpu_run& run : call.runs) {
    const workload w0 = workload_of(rows, best, planning, noise);
    const workload w1 = workload_of(rows, best + step, planning, noise);
    const replay_result r0 = replay(call, run, w0, planning);
    const replay_result r1 = replay(call, run, w1, planning);
    if (!r0.mismatch.empty() || !r1.mismatch.empty()) continue;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const double l0 = r0.finish[i] - w0.trace.requests[i].arrival;
      const double l1 = r1.finish[i] - w1.trace.requests[i].arrival;
      const double slope = (l1 - l0) / step;
      num += slope * (l0 - run.latency[i]);
      den += slope * slope;
    }
  }
  const double refined = den > 0 ? best - num / den : best;
  bool all = true;
  for (const gpu_run& run : call.runs) {
    all = all &&
          replay(call, run, workload_of(rows, refined, planning, noise), planning).mismatch.empty();
  }
  fit.stretch = all ? refined : best;
  fit.matched = true;
  for (const gpu_run& run : call.runs) {
    fit.matched =
        fit.matched && replay(call, run, workload_of(rows, fit.stretch, planning, noise), planning)
                           .mismatch.empty();
  }
  return fit;
}

// Mean latency, TTFT and TPOT of finished requests, as rtlm::sim::summarize defines them.
struct figures {
  double latency = std::nan("");
  double ttft = std::nan("");
  double tpot = std::nan("");
};

figures figures_of(const std::vector<double>& first_token, const std::vector<double>& finish,
                   const rtlm::sim::trace& t) {
  double latency = 0;
  double ttft = 0;
  double tpot = 0;
  std::size_t n = 0;
  std::size_t tpot_n = 0;
  for (std::size_t i = 0; i < t.requests.size(); ++i) {
    if (std::isnan(finish[i])) continue;
    ++n;
    latency += finish[i] - t.requests[i].arrival;
    ttft += first_token[i] - t.requests[i].arrival;
    if (t.requests[i].output.count() > 1) {
      tpot += (finish[i] - first_token[i]) / static_cast<double>(t.requests[i].output.count() - 1);
      ++tpot_n;
    }
  }
  figures f;
  if (n > 0) {
    f.latency = latency / static_cast<double>(n);
    f.ttft = ttft / static_cast<double>(n);
  }
  if (tpot_n > 0) f.tpot = tpot / static_cast<double>(tpot_n);
  return f;
}

double relative(double simulated, double measured) { return (simulated - measured) / measured; }

// ---- the runs -----------------------------------------------------------------------------------

// The committed calls of gpu_host.py (benchmarks/gpu/results/README.md says what each is).
struct known_call {
  const char* folder;
  const char* name;         // in the table and the JSON keys
  bool own_engine;          // the engine the engine profile timed (FlashAttention-2 prefill)
  int slots;                // gpu_host.py --slots
  bool accept;              // gpu_host.py --admission accept (else `reject`) for rtlm's policies
  bool engine_is_planning;  // the engine profile is the call's own (it planned with it on its
                            // own GPU), not --engine-profile
};
constexpr std::array<known_call, 10> known_calls = {{
    {"h200_served_stream_rounds/call_1", "rounds_1", true, 160, false, false},
    {"h200_served_stream_rounds/call_2", "rounds_2", true, 160, false, false},
    {"h200_served_stream", "four_policies", true, 160, false, false},
    {"h200_served_stream_reversed", "reversed", true, 160, false, false},
    {"h200_served_stream_step_timing", "step_timing", true, 160, false, false},
    {"h200_served_stream_own_profile", "own_profile", true, 160, false, false},
    {"h200_served_stream_cudnn/load_1.0", "cudnn_load_1_0", false, 160, false, false},
    {"h200_served_stream_cudnn/load_0.9", "cudnn_load_0_9", false, 160, false, false},
    {"h100_r1_served_stream/call_1", "h100_r1_1", true, 48, true, true},
    {"h100_r1_served_stream/call_2", "h100_r1_2", true, 48, true, true},
}};

// The profile the host's estimator was fitted to, from log.txt's "estimator fitted to PATH": a
// path ending in the folder's own profile.csv (written by --profile-out) is that file; any other
// is the committed profile of that name.
std::string planning_profile(const std::string& dir) {
  std::ifstream in(dir + "/log.txt");
  std::string line;
  const std::string tag = "estimator fitted to ";
  while (std::getline(in, line)) {
    if (line.rfind(tag, 0) != 0) continue;
    const std::string path = line.substr(tag.size());
    const std::string base = path.substr(path.find_last_of('/') + 1);
    if (base == "profile.csv") return dir + "/profile.csv";
    return std::string(RTLM_BENCHMARK_DATA_DIR) + "/profiles/" + base;
  }
  throw std::runtime_error(fmt::format("{}/log.txt: no 'estimator fitted to ...' line", dir));
}

struct options {
  std::string results = RTLM_GPU_RESULTS_DIR;
  std::string engine_profile;  // default: results/h200_served_stream_own_profile/profile.csv
  std::uint64_t seed = 1;
  std::string json_path;
};

void print_help() {
  fmt::print(
      "usage: eval_sim_vs_gpu [--results DIR] [--engine-profile FILE] [--seed N] [--json PATH]\n"
      "\n"
      "Checks rtlm's simulator against the GPU host's served-stream runs (issue 25, item 8):\n"
      "each run's arrivals, lengths, deadlines and predictions are rebuilt as\n"
      "examples/gpu_host.py built them, the run is replayed on its logged step times (which\n"
      "recovers its TTFT and TPOT) and simulated by rtlm::sim::simulate on the engine's own\n"
      "profile; prints measured against simulated mean latency, TTFT and TPOT.\n"
      "  --results DIR          gpu_host.py's output folders (default {})\n"
      "  --engine-profile FILE  the profile of the engine that ran them (default\n"
      "                         DIR/h200_served_stream_own_profile/profile.csv, gpu_host.py\n"
      "                         --profile-out's timing of its own engine)\n"
      "  --seed N               the simulated step-time noise's seed (default 1)\n"
      "  --json PATH            also write the figures as a flat JSON object\n",
      RTLM_GPU_RESULTS_DIR);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      print_help();
      std::exit(EXIT_SUCCESS);
    } else if (arg == "--results") {
      o.results = value();
    } else if (arg == "--engine-profile") {
      o.engine_profile = value();
    } else if (arg == "--seed") {
      const std::string v = value();
      std::size_t used = 0;
      try {
        o.seed = std::stoull(v, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != v.size() || v.front() == '-') {
        throw std::invalid_argument("--seed " + v + ": not a whole number >= 0");
      }
    } else if (arg == "--json") {
      o.json_path = value();
    } else {
      throw std::invalid_argument("unknown option " + arg + " (see --help)");
    }
  }
  if (o.engine_profile.empty()) {
    o.engine_profile = o.results + "/h200_served_stream_own_profile/profile.csv";
  }
  return o;
}

rtlm::fitted_roofline_estimator fit(const rtlm::profile& prof) {
  // As gpu_host.py's rtlm.fit_estimator: Llama-3.1-8B's shape, the H100 roofline's features.
  return rtlm::fit_roofline_estimator(
             rtlm::step_featurizer{rtlm::model_shape(*rtlm::models::by_name("llama-3.1-8b")),
                                   rtlm::hardware_spec(rtlm::accelerators::h100_sxm_bf16())},
             prof)
      .estimator;
}

// One row of the table.
struct row_result {
  std::string call;
  std::string label;
  int number = -1;
  bool own_engine = true;
  bool replay_matched = false;
  double replay_max_error = 0;
  figures gpu;
  figures sim;
  figures sim_host_plan;         // simulated with the host's planning estimator and deadlines
  figures sim_at_pace;           // simulated with the engine's steps scaled to the GPU's pace
  double engine_time_ratio = 0;  // GPU time over the engine profile's time for the same steps
  double decode_ratio = 0;       // median, steps with no prefill
  double prefill_ratio = 0;      // median, the prefills' own part
  double sim_busy_ratio = 0;     // simulated busy time over the GPU's
};

std::string key_of(const row_result& r) {
  std::string label = r.label;
  std::replace(label.begin(), label.end(), ':', '_');
  return r.number >= 0 ? fmt::format("{}_run_{}.{}", r.call, r.number, label)
                       : fmt::format("{}.{}", r.call, label);
}

int run(const options& o) {
  const rtlm::sim::trace azure = rtlm::sim::load_trace(
      RTLM_BENCHMARK_DATA_DIR "/traces/azure-llm-2023/AzureLLMInferenceTrace_conv.csv");
  const rtlm::sim::length_noise_model noise = rtlm::sim::load_length_errors(
      RTLM_BENCHMARK_DATA_DIR "/length_errors/alpaca_eval_cv.csv", "Meta-Llama-3-8B-Instruct");
  const rtlm::profile engine_profile = rtlm::load_profile_csv(o.engine_profile);
  // The engine's estimator and its measured noise: --engine-profile's, or for a call timed on its
  // own profile, that profile's (`own_engines`, by path).
  using engine_model = std::pair<rtlm::fitted_roofline_estimator, rtlm::sim::step_noise>;
  const engine_model global_engine{fit(engine_profile), rtlm::sim::noise_of(engine_profile)};
  const auto& [engine, engine_noise] = global_engine;
  std::map<std::string, engine_model> own_engines;
  std::map<std::string, rtlm::fitted_roofline_estimator> planners;

  const auto mean_of = [](const std::vector<double>& v) {
    double sum = 0;
    for (const double x : v) sum += x;
    return v.empty() ? std::nan("") : sum / static_cast<double>(v.size());
  };
  fmt::print("eval_sim_vs_gpu: rtlm's simulator against the GPU host's served-stream runs\n");
  fmt::print("GPU runs: {} (examples/gpu_host.py on one H200; h100_* on one H100)\n", o.results);
  fmt::print(
      "simulated: rtlm::sim::simulate; steps timed by the estimator fitted to\n  {}\n"
      "  (the host's timing of its own engine) times its measured run-to-run noise, seed {}\n"
      "  (noise factors: decode mean {:.4f} of {}, prefill mean {:.4f} of {});\n"
      "  a call marked `engine: own profile` below: its own profile.csv's instead\n",
      o.engine_profile, o.seed, mean_of(engine_noise.decode), engine_noise.decode.size(),
      mean_of(engine_noise.prefill), engine_noise.prefill.size());
  // How the estimator fits its own profile's decode points (median measured over estimate).
  std::vector<double> uniform;
  std::vector<double> ragged;
  for (const rtlm::profile_point& p : engine_profile.points) {
    if (p.phase != rtlm::step_phase::decode) continue;
    const bool equal = std::all_of(p.kv_lengths.begin(), p.kv_lengths.end(),
                                   [&](rtlm::tokens k) { return k == p.kv_lengths.front(); });
    (equal ? uniform : ragged)
        .push_back(p.median().count() / engine.decode_time(p.kv_lengths).count());
  }
  const auto spread = [](const std::vector<double>& v) {
    if (v.empty()) return std::string("none");
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    return fmt::format("{:.3f}-{:.3f}, median {:.3f}", *lo, *hi, median(v));
  };
  fmt::print(
      "  (its decode points over the fitted estimate: {} uniform batches {};\n  {} ragged "
      "ones {})\n",
      uniform.size(), spread(uniform), ragged.size(), spread(ragged));
  fmt::print(
      "workload, per call, as gpu_host.py built it: the first N Azure 2023 conversation\n"
      "  requests that fit a 4,096-token slot, gaps stretched to the load (the stretch\n"
      "  recovered: log.txt prints 3 digits; the one at which the replay reproduces every\n"
      "  logged step and latency), deadlines arrival + 5x isolated time on the estimator\n"
      "  the host planned with, predictions from the AlpacaEval-calibrated noise model\n"
      "  (key = request index); the call's slots (batch <= slots), the scheduler's 2,048-token\n"
      "  step budget, whole prompts; FCFS without admission control, rtlm's policies the\n"
      "  call's admission (slots and admission: per call below)\n");

  std::vector<row_result> rows_out;
  std::vector<std::string> notes;
  for (const known_call& k : known_calls) {
    const std::string dir = o.results + "/" + k.folder;
    gpu_call call;
    call.name = k.name;
    call.slots = k.slots;
    call.accept = k.accept;
    read_call(dir, call);
    call.planned_with = planning_profile(dir);
    const auto planner_it =
        planners.try_emplace(call.planned_with, fit(rtlm::load_profile_csv(call.planned_with)))
            .first;
    const rtlm::step_time_estimator& planning = planner_it->second;
    const auto own_engine = [&] {
      const auto it = own_engines.find(call.planned_with);
      if (it != own_engines.end()) return it;
      const rtlm::profile p = rtlm::load_profile_csv(call.planned_with);
      return own_engines.try_emplace(call.planned_with, fit(p), rtlm::sim::noise_of(p)).first;
    };
    const auto& [call_engine, call_noise] =
        k.engine_is_planning ? own_engine()->second : global_engine;
    const std::vector<rtlm::sim::trace_request> rows =
        first_rows(azure, call.runs.front().latency.size());
    const stretch_fit sf = fit_stretch(call, rows, planning, noise);
    notes.push_back(fmt::format(
        "{}: {} runs; planned on {}; {} slots, rtlm's policies `{}`; engine: {}; load {} of "
        "capacity {} requests/s; gaps x {:.7f} (log: {}){}",
        k.folder, call.runs.size(), call.planned_with.substr(call.planned_with.rfind('/') + 1),
        call.slots, call.accept ? "accept" : "reject",
        k.engine_is_planning ? "own profile" : "engine profile", call.load, call.capacity,
        sf.stretch, call.printed_stretch,
        sf.matched ? "" : "; NO stretch reproduces the logged steps"));
    const workload w = workload_of(rows, sf.stretch, planning, noise);
    for (const gpu_run& run : call.runs) {
      row_result r;
      r.call = k.name;
      r.label = run.label;
      r.number = run.number;
      r.own_engine = k.own_engine;
      const replay_result rep = replay(call, run, w, planning, &call_engine);
      r.replay_matched = rep.mismatch.empty();
      r.replay_max_error = rep.max_latency_error;
      if (!r.replay_matched)
        notes.push_back(fmt::format("{}: replay: {}", key_of(r), rep.mismatch));
      // Mean latency as logged; TTFT and TPOT from the replay (NaN when it did not match).
      const figures replayed = figures_of(rep.first_token, rep.finish, w.trace);
      double logged = 0;
      for (const double l : run.latency) logged += l;
      r.gpu.latency = logged / static_cast<double>(run.latency.size());
      r.gpu.ttft = r.replay_matched ? replayed.ttft : std::nan("");
      r.gpu.tpot = r.replay_matched ? replayed.tpot : std::nan("");
      r.engine_time_ratio = rep.engine.measured / rep.engine.estimated;
      r.decode_ratio = median(rep.engine.decode_only);
      r.prefill_ratio = median(rep.engine.prefill);

      // The simulator, as a user runs it: one estimator plans and times the steps.
      rtlm::sim::simulation_config c;
      c.scheduler = scheduler_settings(run.label, rows.size(), call.accept);
      rtlm::sim::backend_spec b;
      b.config.capabilities = host_capabilities(call.slots);
      b.config.noise = call_noise;
      b.config.seed = o.seed;
      b.estimator = &call_engine;
      c.backends.push_back(b);
      c.deadlines = {.rule = rtlm::sim::deadline_rule::kind::slack, .slack = deadline_slack};
      c.predict = [&noise](std::size_t i, const rtlm::sim::trace_request& q) {
        return std::optional<rtlm::length_estimate>(noise.predict(q.output, i));
      };
      const rtlm::sim::simulation_result sim = rtlm::sim::simulate(w.trace, c);

      // The same at the GPU's pace in this run: the noise factors scaled so that the simulated
      // decode-only steps and steps with a prefill take, on average, what the GPU's took over
      // the engine profile's estimate of them (the replay's comparison).
      const auto scaled = [](std::vector<double> factors, double to) {
        if (factors.empty() || !std::isfinite(to) || !(to > 0)) return factors;
        double mean = 0;
        for (const double f : factors) mean += f;
        mean /= static_cast<double>(factors.size());
        for (double& f : factors) f *= to / mean;
        return factors;
      };
      rtlm::sim::simulation_config at_pace = c;
      at_pace.backends.front().config.noise = {
          .prefill = scaled(call_noise.prefill,
                            (rep.engine.measured - rep.engine.measured_decode_only) /
                                (rep.engine.estimated - rep.engine.estimated_decode_only)),
          .decode = scaled(call_noise.decode,
                           rep.engine.measured_decode_only / rep.engine.estimated_decode_only)};
      const rtlm::sim::simulation_metrics mp =
          rtlm::sim::summarize(rtlm::sim::simulate(w.trace, at_pace));
      r.sim_at_pace = {.latency = mp.mean_latency, .ttft = mp.mean_ttft, .tpot = mp.mean_tpot};
      const rtlm::sim::simulation_metrics m = rtlm::sim::summarize(sim);
      r.sim = {.latency = m.mean_latency, .ttft = m.mean_ttft, .tpot = m.mean_tpot};
      r.sim_busy_ratio = sim.busy_seconds.front() / rep.engine.measured;
      if (m.finished != rows.size()) {
        notes.push_back(fmt::format("{}: simulated, {} of {} requests finished ({} refused)",
                                    key_of(r), m.finished, rows.size(), m.rejected));
      }

      // The same on gpu_host.py's loop, planned on the host's estimator (its deadlines too) and
      // timed on the engine's: what the simulator's one-estimator setup changes.
      rtlm::sim::simulated_backend_config bc{.capabilities = host_capabilities(call.slots),
                                             .swap_seconds_per_token = 0.0,
                                             .noise = call_noise,
                                             .seed = o.seed};
      rtlm::sim::simulated_backend simulated(bc, call_engine);
      for (std::size_t i = 0; i < rows.size(); ++i) {
        simulated.set_output_length(rtlm::request_id{i}, rows[i].output);
      }
      rtlm::scheduler s(scheduler_settings(run.label, rows.size(), call.accept));
      time_observer times(rows.size());
      serve(s, simulated, planning, w.trace, w.deadlines, w.predictions, times);
      r.sim_host_plan = figures_of(times.first_token, times.finish, w.trace);
      rows_out.push_back(r);
    }
  }
  for (const std::string& n : notes) fmt::print("  {}\n", n);

  // The table.
  fmt::print(
      "\nGPU: mean latency as logged; mean TTFT and TPOT from the replay of the run's logged\n"
      "steps (gpu_host.py logs neither). sim: rtlm::sim::simulate on the engine profile\n"
      "(the call's own for one marked `engine: own profile`).\n"
      "diff: (simulated - GPU) / GPU.  * an engine the engine profile did not time (cuDNN "
      "prefill)\n\n");
  fmt::print("{:<22} {:<42} {:>7} {:>7} {:>7}  {:>7} {:>7} {:>7}  {:>6} {:>6} {:>7}\n", "run",
             "policy", "lat s", "sim", "diff", "TTFT ms", "sim", "diff", "TPOT ms", "sim", "diff");
  const auto pct = [](double x) { return fmt::format("{:+.1f}%", 100 * x); };
  std::vector<std::pair<std::string, double>> json;
  std::array<double, 3> sum_abs{};
  std::array<double, 3> max_abs{};
  double sum_abs_at_pace = 0;
  double max_abs_at_pace = 0;
  std::size_t counted = 0;
  std::size_t within = 0;
  std::map<std::string, std::array<double, 7>> per_policy;  // count, gpu and sim of each figure
  for (const row_result& r : rows_out) {
    const std::string run_name = r.number >= 0 ? fmt::format("{} #{}", r.call, r.number) : r.call;
    const std::array<double, 3> err = {relative(r.sim.latency, r.gpu.latency),
                                       relative(r.sim.ttft, r.gpu.ttft),
                                       relative(r.sim.tpot, r.gpu.tpot)};
    fmt::print(
        "{:<22} {:<42} {:>7.3f} {:>7.3f} {:>7}  {:>7.1f} {:>7.1f} {:>7}  {:>6.2f} {:>6.2f} "
        "{:>7}\n",
        run_name + (r.own_engine ? "" : " *"), r.label, r.gpu.latency, r.sim.latency, pct(err[0]),
        1e3 * r.gpu.ttft, 1e3 * r.sim.ttft, pct(err[1]), 1e3 * r.gpu.tpot, 1e3 * r.sim.tpot,
        pct(err[2]));
    const std::string key = key_of(r);
    json.insert(json.end(), {{key + ".gpu_mean_latency", r.gpu.latency},
                             {key + ".sim_mean_latency", r.sim.latency},
                             {key + ".mean_latency_error", err[0]},
                             {key + ".gpu_mean_ttft", r.gpu.ttft},
                             {key + ".sim_mean_ttft", r.sim.ttft},
                             {key + ".mean_ttft_error", err[1]},
                             {key + ".gpu_mean_tpot", r.gpu.tpot},
                             {key + ".sim_mean_tpot", r.sim.tpot},
                             {key + ".mean_tpot_error", err[2]},
                             {key + ".replay_max_latency_error", r.replay_max_error},
                             {key + ".gpu_over_engine_profile_step_time", r.engine_time_ratio},
                             {key + ".gpu_over_engine_profile_decode_median", r.decode_ratio},
                             {key + ".gpu_over_engine_profile_prefill_median", r.prefill_ratio},
                             {key + ".sim_busy_over_gpu_busy", r.sim_busy_ratio},
                             {key + ".sim_host_plan_mean_latency", r.sim_host_plan.latency},
                             {key + ".sim_host_plan_mean_ttft", r.sim_host_plan.ttft},
                             {key + ".sim_host_plan_mean_tpot", r.sim_host_plan.tpot},
                             {key + ".sim_at_gpu_pace_mean_latency", r.sim_at_pace.latency},
                             {key + ".sim_at_gpu_pace_mean_latency_error",
                              relative(r.sim_at_pace.latency, r.gpu.latency)}});
    if (!r.own_engine || !r.replay_matched) continue;
    ++counted;
    bool all_within = true;
    for (std::size_t k = 0; k < 3; ++k) {
      sum_abs[k] += std::abs(err[k]);
      max_abs[k] = std::max(max_abs[k], std::abs(err[k]));
      all_within = all_within && std::abs(err[k]) <= 0.10;
    }
    within += all_within ? 1 : 0;
    const double at_pace = std::abs(relative(r.sim_at_pace.latency, r.gpu.latency));
    sum_abs_at_pace += at_pace;
    max_abs_at_pace = std::max(max_abs_at_pace, at_pace);
    std::array<double, 7>& p = per_policy[r.label];
    p[0] += 1;
    p[1] += r.gpu.latency;
    p[2] += r.sim.latency;
    p[3] += r.gpu.ttft;
    p[4] += r.sim.ttft;
    p[5] += r.gpu.tpot;
    p[6] += r.sim.tpot;
  }

  fmt::print("\nper policy, mean over its runs on the engine the profile timed:\n");
  for (const auto& [label, p] : per_policy) {
    const double n = p[0];
    fmt::print(
        "{:<22} {:<42} {:>7.3f} {:>7.3f} {:>7}  {:>7.1f} {:>7.1f} {:>7}  {:>6.2f} {:>6.2f} "
        "{:>7}\n",
        fmt::format("{} runs", n), label, p[1] / n, p[2] / n, pct(relative(p[2], p[1])),
        1e3 * p[3] / n, 1e3 * p[4] / n, pct(relative(p[4], p[3])), 1e3 * p[5] / n, 1e3 * p[6] / n,
        pct(relative(p[6], p[5])));
    std::string name = label;
    std::replace(name.begin(), name.end(), ':', '_');
    json.insert(json.end(), {{"policy." + name + ".runs", n},
                             {"policy." + name + ".mean_latency_error", relative(p[2], p[1])},
                             {"policy." + name + ".mean_ttft_error", relative(p[4], p[3])},
                             {"policy." + name + ".mean_tpot_error", relative(p[6], p[5])}});
  }
  const double c = static_cast<double>(std::max<std::size_t>(counted, 1));
  fmt::print(
      "\nover the {} runs on the engine the profile timed: mean |difference| latency {:.1f}%, "
      "TTFT {:.1f}%, TPOT {:.1f}% (largest {:.1f}%, {:.1f}%, {:.1f}%); all three within 10% in "
      "{} of {}\n",
      counted, 100 * sum_abs[0] / c, 100 * sum_abs[1] / c, 100 * sum_abs[2] / c, 100 * max_abs[0],
      100 * max_abs[1], 100 * max_abs[2], within, counted);
  json.insert(json.end(), {{"summary.runs", static_cast<double>(counted)},
                           {"summary.mean_abs_latency_error", sum_abs[0] / c},
                           {"summary.mean_abs_ttft_error", sum_abs[1] / c},
                           {"summary.mean_abs_tpot_error", sum_abs[2] / c},
                           {"summary.max_abs_latency_error", max_abs[0]},
                           {"summary.max_abs_ttft_error", max_abs[1]},
                           {"summary.max_abs_tpot_error", max_abs[2]},
                           {"summary.runs_within_10pct", static_cast<double>(within)},
                           {"summary.mean_abs_latency_error_at_gpu_pace", sum_abs_at_pace / c},
                           {"summary.max_abs_latency_error_at_gpu_pace", max_abs_at_pace}});

  fmt::print(
      "\nwhy they differ, per run. steps: the GPU's time over the engine profile's estimate for\n"
      "the same steps (from the replay), all steps; decode: the median of that ratio over steps\n"
      "with no prefill; prefill: over the prefills' own part (timed apart; nan where not);\n"
      "sim busy: simulated GPU time over the GPU's; host plan: simulated mean latency (s) when\n"
      "the scheduler plans, and deadlines are set, on the host's estimator as on the GPU;\n"
      "GPU pace: simulated mean latency (s) with the simulated steps scaled to this run's\n"
      "measured pace (decode-only steps and steps with a prefill each to the GPU's ratio), and\n"
      "its difference from the GPU's; replay err: the largest |replayed - logged| latency (s)\n\n");
  fmt::print("{:<22} {:<42} {:>7} {:>7} {:>8} {:>8} {:>9} {:>9} {:>7} {:>10}\n", "run", "policy",
             "steps", "decode", "prefill", "sim busy", "host plan", "GPU pace", "diff",
             "replay err");
  for (const row_result& r : rows_out) {
    fmt::print(
        "{:<22} {:<42} {:>7.3f} {:>7.3f} {:>8.3f} {:>8.3f} {:>9.3f} {:>9.3f} {:>7} "
        "{:>10.2g}\n",
        r.number >= 0 ? fmt::format("{} #{}", r.call, r.number) : r.call, r.label,
        r.engine_time_ratio, r.decode_ratio, r.prefill_ratio, r.sim_busy_ratio,
        r.sim_host_plan.latency, r.sim_at_pace.latency,
        pct(relative(r.sim_at_pace.latency, r.gpu.latency)), r.replay_max_error);
  }
  fmt::print(
      "\nat each run's GPU pace, over the {} runs: mean |difference| in mean latency {:.1f}% "
      "(largest {:.1f}%)\n",
      counted, 100 * sum_abs_at_pace / c, 100 * max_abs_at_pace);
  if (!o.json_path.empty()) {
    rtlm::bench::write_flat_json(o.json_path, json);
    fmt::print("\nwrote {}\n", o.json_path);
  }
  return EXIT_SUCCESS;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    fmt::print(stderr, "eval_sim_vs_gpu: {}\n", e.what());
    return EXIT_FAILURE;
  }
}
