// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// How long the analytic cost model takes per query: it sits on the scheduler's per-step path.

#include <benchmark/benchmark.h>

#include <vector>

#include "rtlm/estimate/hardware_spec.hpp"
#include "rtlm/estimate/model_shape.hpp"

namespace {

const rtlm::model_shape& llama() {
  static const rtlm::model_shape shape(rtlm::models::llama_3_8b());
  return shape;
}

void prefill_work(benchmark::State& state) {
  rtlm::tokens::rep n = 1;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    benchmark::DoNotOptimize(llama().prefill_work(rtlm::tokens(n), rtlm::tokens(n / 2)));
    n = n % 32768 + 1;
  }
}
BENCHMARK(prefill_work);

void decode_work(benchmark::State& state) {
  std::vector<rtlm::tokens> kv;
  kv.reserve(static_cast<std::size_t>(state.range(0)));
  for (int i = 0; i < state.range(0); ++i) kv.emplace_back(128 + 37 * i);
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    benchmark::DoNotOptimize(llama().decode_work(kv));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(decode_work)->Arg(1)->Arg(64)->Arg(256);

void roofline(benchmark::State& state) {
  const rtlm::hardware_spec h100(rtlm::accelerators::h100_sxm_bf16());
  const rtlm::step_work w = llama().prefill_work(rtlm::tokens(2048));
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    benchmark::DoNotOptimize(h100.roofline(w));
  }
}
BENCHMARK(roofline);

}  // namespace

BENCHMARK_MAIN();
