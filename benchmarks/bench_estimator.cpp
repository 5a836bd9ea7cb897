// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// Speed of the execution-time estimator: one estimate, one bound, one fit (docs/methods.md,
// 'Speed benchmarks').
// Queries sit on the scheduler's per-step path; fits run when a profile arrives.

#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "rtlm/estimate/estimator_fitting.hpp"
#include "rtlm/estimate/profile_csv.hpp"

namespace {

const rtlm::step_featurizer& featurizer() {
  static const rtlm::step_featurizer f{rtlm::model_shape(*rtlm::models::by_name("llama-3.1-8b")),
                                       rtlm::hardware_spec(rtlm::accelerators::h100_sxm_bf16())};
  return f;
}

const rtlm::profile& measured() {
  static const rtlm::profile p =
      rtlm::load_profile_csv(RTLM_BENCHMARK_DATA_DIR "/profiles/h100_llama-3.1-8b.csv");
  return p;
}

const rtlm::fitted_roofline_estimator& rtlm_model() {
  static const rtlm::roofline_fit fit = rtlm::fit_roofline_estimator(featurizer(), measured());
  return fit.estimator;
}

const rtlm::timebill_estimator& timebill_model() {
  static const rtlm::timebill_estimator e = rtlm::fit_timebill_estimator(measured());
  return e;
}

void rtlm_prefill_estimate(benchmark::State& state) {
  const rtlm::step_time_estimator& e = rtlm_model();
  rtlm::tokens::rep n = 1;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    benchmark::DoNotOptimize(e.prefill_time(rtlm::tokens(n), rtlm::tokens(0)));
    n = n % 32768 + 1;
  }
}
BENCHMARK(rtlm_prefill_estimate);

void rtlm_decode_estimate(benchmark::State& state) {
  const rtlm::step_time_estimator& e = rtlm_model();
  std::vector<rtlm::tokens> kv;
  kv.reserve(static_cast<std::size_t>(state.range(0)));
  for (int i = 0; i < state.range(0); ++i) kv.emplace_back(128 + 97 * i);
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    benchmark::DoNotOptimize(e.decode_time(kv));
  }
}
BENCHMARK(rtlm_decode_estimate)->Arg(1)->Arg(64);

void rtlm_decode_bound(benchmark::State& state) {
  const rtlm::step_time_estimator& e = rtlm_model();
  std::vector<rtlm::tokens> kv;
  kv.reserve(static_cast<std::size_t>(state.range(0)));
  for (int i = 0; i < state.range(0); ++i) kv.emplace_back(128 + 97 * i);
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    benchmark::DoNotOptimize(e.decode_upper_bound(kv, 0.99));
  }
}
BENCHMARK(rtlm_decode_bound)->Arg(1)->Arg(64);

void rtlm_prefill_bound(benchmark::State& state) {
  const rtlm::step_time_estimator& e = rtlm_model();
  rtlm::tokens::rep n = 1;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    benchmark::DoNotOptimize(e.prefill_upper_bound(rtlm::tokens(n), rtlm::tokens(0), 0.99));
    n = n % 32768 + 1;
  }
}
BENCHMARK(rtlm_prefill_bound);

void timebill_decode_estimate(benchmark::State& state) {
  const rtlm::step_time_estimator& e = timebill_model();
  const std::vector<rtlm::tokens> kv{rtlm::tokens(4096)};
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    benchmark::DoNotOptimize(e.decode_time(kv));
  }
}
BENCHMARK(timebill_decode_estimate);

// A profile of 500 step shapes x 20 measurements = 10,000 samples, timed by the measured model
// with 1% noise.
rtlm::profile ten_thousand_samples() {
  std::mt19937_64 rng(0);
  std::normal_distribution<double> noise(1.0, 0.01);
  rtlm::profile p;
  p.source = "synthetic 10,000 samples";
  for (int i = 0; i < 500; ++i) {
    rtlm::profile_point point;
    if (i % 2 == 0) {
      point = {.phase = rtlm::step_phase::prefill,
               .new_tokens = rtlm::tokens(1 + 65 * i),
               .kv_lengths = {rtlm::tokens(i % 8 == 0 ? 1024 : 0)}};
    } else {
      const auto batch = static_cast<std::size_t>(1 + ((i / 2) % 64));
      point = {.phase = rtlm::step_phase::decode,
               .new_tokens = rtlm::tokens(static_cast<rtlm::tokens::rep>(batch)),
               .kv_lengths = std::vector<rtlm::tokens>(batch, rtlm::tokens(64 + 31 * i))};
    }
    const double t = rtlm_model().point_time(point).count();
    for (int r = 0; r < 20; ++r) point.measurements.emplace_back(t * noise(rng));
    p.points.push_back(std::move(point));
  }
  return p;
}

void rtlm_fit_10000_samples(benchmark::State& state) {
  const rtlm::profile p = ten_thousand_samples();
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    benchmark::DoNotOptimize(rtlm::fit_roofline_estimator(featurizer(), p));
  }
}
BENCHMARK(rtlm_fit_10000_samples)->Unit(benchmark::kMillisecond);

void timebill_fit_10000_samples(benchmark::State& state) {
  const rtlm::profile p = ten_thousand_samples();
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    benchmark::DoNotOptimize(rtlm::fit_timebill_estimator(p));
  }
}
BENCHMARK(timebill_fit_10000_samples)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
