// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// A downstream server: links rtlm::rtlm (or rtlm::header_only) and no simulator, includes the
// umbrella header, and schedules three requests on a backend. It checks one cost-model figure
// and that every request finishes, so that a packaging mistake (missing header, unexported
// symbol, unforwarded dependency, server code that needs rtlm::sim) fails the build or the run.

#include <rtlm/rtlm.hpp>
#include <rtlm/testing/fake_backend.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <vector>

int main() {
  using namespace rtlm::literals;

  const rtlm::model_shape llama(rtlm::models::llama_3_8b());
  const std::vector<rtlm::tokens> kv{1024_tok};
  const double flops = llama.decode_work(kv).flops();
  std::printf("rtlm %s: Llama-3-8B decode at KV 1024 is %.0f FLOPs\n", rtlm::version_string, flops);
  if (flops != 15546712064.0) return 1;

  // 10 ms per prefill, 5 ms per decode step: the estimator a server would load from its file.
  const rtlm::timebill_estimator estimator({.c = 0.010, .q = 0.005});
  rtlm::testing::fake_backend gpu;
  rtlm::scheduler_config config;
  config.policy = rtlm::policy_kind::earliest_deadline_first;
  config.max_requests = 16;
  config.intake_capacity = 16;
  config.cancel_capacity = 4;
  rtlm::scheduler scheduler(config);
  const std::size_t b = scheduler.add_backend(gpu, estimator);

  const rtlm::time_point t0{};
  for (std::uint64_t i = 1; i <= 3; ++i) {
    rtlm::request r;
    r.id = rtlm::request_id{i};
    r.prompt_tokens = 32_tok;
    r.arrival = t0;
    r.time_budget = rtlm::seconds(10.0);
    gpu.set_output_length(r.id, 4_tok);
    if (scheduler.submit(r) != rtlm::submit_status::accepted) return 2;
  }
  std::size_t finished = 0;
  rtlm::time_point now = t0;
  for (int step = 0; step < 100 && finished < 3; ++step) {
    const rtlm::step_report report = scheduler.step(b, now);
    if (report.status != rtlm::step_status::ok) return 3;
    finished += report.finished;
    now += std::chrono::duration_cast<rtlm::duration>(report.measured);
  }
  std::printf("scheduled 3 requests, %zu finished\n", finished);
  return finished == 3 ? 0 : 4;
}
