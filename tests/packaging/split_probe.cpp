// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// Needs one function from each source of rtlm::sim, so that it links against rtlm::sim and not
// against rtlm::rtlm alone (split_check.cmake). Never run.

#include <rtlm/estimate/estimator_fitting.hpp>
#include <rtlm/estimate/profile_csv.hpp>
#include <rtlm/estimate/profiler.hpp>
#include <rtlm/estimate/third_party_profiles.hpp>
#include <rtlm/estimate/timebill_estimator.hpp>
#include <rtlm/sim/length_noise.hpp>
#include <rtlm/sim/serving_metrics.hpp>
#include <rtlm/sim/simulated_backend.hpp>
#include <rtlm/sim/simulation.hpp>
#include <rtlm/sim/trace.hpp>
#include <rtlm/sim/workload.hpp>

int main(int argc, char** argv) {
  if (argc > 1) {
    const rtlm::timebill_estimator estimator(rtlm::timebill_coefficients{});
    const rtlm::sim::simulated_backend backend({}, estimator);
    (void)rtlm::sim::load_trace(argv[1]);
    (void)rtlm::sim::summarize(rtlm::sim::simulation_result{});
    (void)rtlm::sim::load_length_set(argv[1]);
    (void)rtlm::sim::serving_metrics_of(rtlm::sim::simulation_result{});
    (void)rtlm::sim::load_length_errors(argv[1], argv[1]);
    (void)rtlm::load_profile_csv(argv[1]);
    (void)rtlm::load_splitwise_profile(argv[1], {});
    (void)rtlm::fit_timebill_estimator(rtlm::profile{});
    (void)rtlm::profile_grid::standard(rtlm::tokens(1));
  }
  return 0;
}
