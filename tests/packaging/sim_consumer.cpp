// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// A downstream offline tool: links rtlm::sim, parses a three-request trace and simulates it on
// one GPU, so that a packaging mistake in the simulator's target (a source left out, an
// unexported symbol, a missing link to rtlm::rtlm) fails the build or the run.

#include <rtlm/estimate/timebill_estimator.hpp>
#include <rtlm/sim/simulation.hpp>
#include <rtlm/sim/trace.hpp>

#include <cstdio>
#include <fstream>

int main() {
  using namespace rtlm::literals;

  const char* const path = "rtlm_sim_consumer_trace.csv";
  std::ofstream(path) << "timestamp_ms,input_length,output_length\n"
                         "0,64,8\n"
                         "100,128,4\n"
                         "250,32,16\n";
  const rtlm::sim::trace t = rtlm::sim::load_trace(path);
  if (t.requests.size() != 3) return 1;

  const rtlm::timebill_estimator estimator({.c = 0.010, .q = 0.005});
  rtlm::sim::backend_spec gpu;
  gpu.config.capabilities.name = "gpu0";
  gpu.config.capabilities.kv_capacity = 100'000_tok;
  gpu.config.capabilities.can_preempt_recompute = true;
  gpu.estimator = &estimator;
  rtlm::sim::simulation_config config;
  config.scheduler.policy = rtlm::policy_kind::first_come_first_served;
  config.backends = {gpu};
  config.deadlines.rule = rtlm::sim::deadline_rule::kind::none;

  const rtlm::sim::simulation_metrics m = rtlm::sim::summarize(rtlm::sim::simulate(t, config));
  std::printf("simulated %zu requests, %zu finished, mean latency %.3f s\n", m.requests, m.finished,
              m.mean_latency);
  return m.finished == 3 ? 0 : 2;
}
