// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// Bounds the simulator's memory (docs/simulator.md, "Memory"): a run keeps one request_record per
// trace request and, while it runs, a request table of the requests live at once, not of the
// whole trace (once about 900 bytes a request more: 5.6 GB per policy for 5 million requests).
// This binary replaces the global operator new to count live bytes (glibc's
// malloc_usable_size, the same at allocation and at release), so it is built on its own, apart
// from the main test suites. The counts are of the program's own allocations: exact and
// repeatable, not a measurement of the process.
#include <gtest/gtest.h>
#include <malloc.h>

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>

#include "rtlm/sim/simulation.hpp"
#include "rtlm/sim/trace.hpp"
#include "schedule/linear_estimator.hpp"

namespace {

std::atomic<std::int64_t> live_bytes{0};
std::atomic<std::int64_t> peak_bytes{0};

void* allocate(std::size_t size, std::size_t alignment) {
  void* p = alignment <= alignof(std::max_align_t)
                ? std::malloc(std::max<std::size_t>(size, 1))
                : std::aligned_alloc(alignment, (std::max<std::size_t>(size, 1) + alignment - 1) /
                                                    alignment * alignment);
  if (p == nullptr) throw std::bad_alloc();
  const std::int64_t now = live_bytes.fetch_add(static_cast<std::int64_t>(malloc_usable_size(p))) +
                           static_cast<std::int64_t>(malloc_usable_size(p));
  std::int64_t peak = peak_bytes.load();
  while (now > peak && !peak_bytes.compare_exchange_weak(peak, now)) {
  }
  return p;
}

void release(void* p) noexcept {
  if (p == nullptr) return;
  live_bytes.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(p)));
  std::free(p);
}

// Live bytes since construction: the peak and what is still held.
class memory_meter {
 public:
  memory_meter() noexcept : start_(live_bytes.load()) { peak_bytes.store(start_); }
  [[nodiscard]] std::int64_t peak() const noexcept { return peak_bytes.load() - start_; }
  [[nodiscard]] std::int64_t held() const noexcept { return live_bytes.load() - start_; }

 private:
  std::int64_t start_;
};

}  // namespace

// The replaced global allocation functions (all forms that the standard library may call).
void* operator new(std::size_t n) { return allocate(n, alignof(std::max_align_t)); }
void* operator new[](std::size_t n) { return allocate(n, alignof(std::max_align_t)); }
void* operator new(std::size_t n, std::align_val_t a) {
  return allocate(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return allocate(n, static_cast<std::size_t>(a));
}
void* operator new(std::size_t n, const std::nothrow_t& /*tag*/) noexcept {
  try {
    return allocate(n, alignof(std::max_align_t));
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t& /*tag*/) noexcept {
  try {
    return allocate(n, alignof(std::max_align_t));
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t /*n*/) noexcept { release(p); }
void operator delete[](void* p, std::size_t /*n*/) noexcept { release(p); }
void operator delete(void* p, std::align_val_t /*a*/) noexcept { release(p); }
void operator delete[](void* p, std::align_val_t /*a*/) noexcept { release(p); }
void operator delete(void* p, std::size_t /*n*/, std::align_val_t /*a*/) noexcept { release(p); }
void operator delete[](void* p, std::size_t /*n*/, std::align_val_t /*a*/) noexcept { release(p); }

namespace {

using namespace rtlm::literals;

// `n` requests, one every 50 ms, each a 100-token prompt and 20 output tokens: a few live at once.
rtlm::sim::trace steady_trace(std::size_t n) {
  rtlm::sim::trace t;
  t.requests.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    t.requests.push_back(
        {.arrival = 0.05 * static_cast<double>(i), .prompt = 100_tok, .output = 20_tok});
  }
  return t;
}

struct run_memory {
  std::int64_t peak;  // during simulate(), the result included
  std::int64_t held;  // the result
};

run_memory simulate_and_measure(const rtlm::sim::trace& t) {
  rtlm::test::linear_estimator e;
  rtlm::sim::simulation_config config;
  rtlm::sim::backend_spec b;
  b.config.capabilities.kv_capacity = 100'000_tok;
  b.config.capabilities.max_batch_size = 64;
  b.estimator = &e;
  config.backends = {b};
  config.predict = rtlm::sim::true_length;
  const memory_meter meter;
  const rtlm::sim::simulation_result r = rtlm::sim::simulate(t, config);
  EXPECT_EQ(r.records.size(), t.requests.size());
  return {.peak = meter.peak(), .held = meter.held()};
}

// The simulation's memory: sizeof(request_record) (128 bytes on LP64) a trace request, held in the
// result, plus a fixed table of live requests while it runs (4,096 slots, about 4 MB, until more
// are live at once).
TEST(simulation_memory, a_run_takes_one_record_per_request_and_a_table_of_the_live_ones) {
  constexpr std::size_t small = 20'000;
  constexpr std::size_t large = 60'000;
  const rtlm::sim::trace a = steady_trace(small);
  const rtlm::sim::trace b = steady_trace(large);
  const run_memory at_small = simulate_and_measure(a);
  const run_memory at_large = simulate_and_measure(b);
  const auto record = static_cast<double>(sizeof(rtlm::sim::request_record));
  const double per_request =
      static_cast<double>(at_large.peak - at_small.peak) / static_cast<double>(large - small);
  std::printf("simulation: %.1f bytes a request (peak, marginal), %.1f held; sizeof record %zu\n",
              per_request, static_cast<double>(at_large.held) / static_cast<double>(large),
              sizeof(rtlm::sim::request_record));
  // Each further request costs its record and nothing else (malloc's rounding aside; measured
  // sizeof + 0 to 3).
  EXPECT_LE(per_request, record + 4.0);
  // What the result holds: the records (malloc rounds a large block up to whole pages), and a
  // little for the per-backend figures.
  EXPECT_LE(at_large.held,
            static_cast<std::int64_t>(large * sizeof(rtlm::sim::request_record)) + 8192);
  // The rest is fixed: the scheduler's table of 4,096 live requests and its parts.
  EXPECT_LE(at_large.peak - static_cast<std::int64_t>(large * sizeof(rtlm::sim::request_record)),
            std::int64_t{8} << 20);
}

// A trace keeps sizeof(trace_request) (24 bytes) a line, and at most twice that with a vector's
// growth slack.
TEST(simulation_memory, a_loaded_trace_takes_at_most_two_trace_requests_a_line) {
  constexpr std::size_t lines = 50'000;
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("rtlm_sim_memory_" + std::to_string(::getpid()) + ".csv");
  {
    std::ofstream f(path);
    f << "timestamp_ms,input_length,output_length\n";
    for (std::size_t i = 0; i < lines; ++i)
      f << i * 70 << ',' << 100 + i % 900 << ',' << 1 + i % 300 << '\n';
  }
  std::int64_t held = 0;
  std::int64_t peak = 0;
  {
    const memory_meter meter;
    const rtlm::sim::trace t = rtlm::sim::load_trace(path.string());
    ASSERT_EQ(t.requests.size(), lines);
    held = meter.held();
    peak = meter.peak();
  }
  std::filesystem::remove(path);
  std::printf("trace: %.1f bytes a line held, %.1f at the peak of loading\n",
              static_cast<double>(held) / lines, static_cast<double>(peak) / lines);
  EXPECT_LE(held, static_cast<std::int64_t>(2 * lines * sizeof(rtlm::sim::trace_request)) + 65536);
}

}  // namespace
