// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// Proves a real-time rule (docs/methods.md, 'Architecture and real-time rules'): after warm-up,
// the scheduler's per-step path (plan_step and complete_step, with intake, placement, admission,
// preemption, eviction planning and feedback) allocates nothing. This binary replaces the global
// operator new to count allocations, so it is built on its own, apart from the main test suites.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>

#include "rtlm/schedule/scheduler.hpp"
#include "rtlm/testing/fake_backend.hpp"
#include "schedule/linear_estimator.hpp"

namespace {

std::atomic<std::size_t> allocations{0};
std::atomic<std::size_t> allocated_bytes{0};
thread_local bool counting = false;

void* allocate(std::size_t size, std::size_t alignment) {
  if (counting) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    allocated_bytes.fetch_add(size, std::memory_order_relaxed);
  }
  const std::size_t a =
      alignment < alignof(std::max_align_t) ? alignof(std::max_align_t) : alignment;
  void* p = std::aligned_alloc(a, (size + a - 1) / a * a + (size == 0 ? a : 0));
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

// Counts allocations made by this thread inside its lifetime.
class allocation_counter {
 public:
  allocation_counter() noexcept : start_(allocations.load()), start_bytes_(allocated_bytes.load()) {
    counting = true;
  }
  allocation_counter(const allocation_counter&) = delete;
  allocation_counter& operator=(const allocation_counter&) = delete;
  allocation_counter(allocation_counter&&) = delete;
  allocation_counter& operator=(allocation_counter&&) = delete;
  ~allocation_counter() { counting = false; }
  [[nodiscard]] std::size_t count() const noexcept { return allocations.load() - start_; }
  /// Bytes asked for (frees not subtracted).
  [[nodiscard]] std::size_t bytes() const noexcept { return allocated_bytes.load() - start_bytes_; }

 private:
  std::size_t start_;
  std::size_t start_bytes_;
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
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t /*n*/) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t /*n*/) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t /*a*/) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t /*a*/) noexcept { std::free(p); }
void operator delete(void* p, std::size_t /*n*/, std::align_val_t /*a*/) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t /*n*/, std::align_val_t /*a*/) noexcept {
  std::free(p);
}

namespace {

using namespace rtlm::literals;

// A workload that exercises every branch of the step path: predictions, deadlines (admission
// control, eviction planning, consolidation), overruns that force swaps, cancellations, SLO
// classes (a TTFT that relegates some, a TPOT that sizes the steps) and three tenants.
rtlm::request make_request(std::uint64_t id, rtlm::time_point now) {
  rtlm::request r;
  r.id = rtlm::request_id{id};
  r.arrival = now;
  r.prompt_tokens = rtlm::tokens(static_cast<rtlm::tokens::rep>(50 + (id * 37) % 400));
  r.predicted_length = rtlm::length_estimate{.mean_tokens = static_cast<double>(10 + id % 30),
                                             .upper_bound = rtlm::tokens(20),
                                             .bound_coverage = 0.9,
                                             .uncertainty = 0.3};
  if (id % 3 == 0) r.deadline = now + std::chrono::seconds(5);
  if (id % 4 == 1) r.slo_class = 0;
  r.tenant = static_cast<std::uint32_t>(id % 3);
  return r;
}

// Counts events by kind without allocating: shows the workload reached every branch.
struct event_counts final : rtlm::scheduler_observer {
  std::array<std::size_t, 10> by_kind{};
  void on_event(const rtlm::request_event& e, const rtlm::request& /*r*/) noexcept override {
    ++by_kind[static_cast<std::size_t>(e.kind)];
  }
  [[nodiscard]] std::size_t operator[](rtlm::request_event_kind k) const {
    return by_kind[static_cast<std::size_t>(k)];
  }
};

TEST(scheduler_allocation, the_counter_counts) {
  const allocation_counter c;
  const auto p = std::make_unique<int>(1);
  EXPECT_EQ(c.count(), 1U);
}

// The memory a scheduler takes is sized once, by max_requests: the bytes per request of the
// scheduler itself and of each backend added. docs/reliability.md ("Memory") states these bounds;
// the test prints the measured figures.
TEST(scheduler_allocation, memory_per_request_stays_within_the_documented_bounds) {
  constexpr std::size_t scheduler_bound = 600;  // bytes per max_requests, backends aside
  constexpr std::size_t backend_bound = 360;    // bytes per max_requests for each backend
  constexpr std::size_t batched_bound = 300;    // the same, for a backend declaring its batch
  const auto measure = [](std::size_t max_requests, int backends, int max_batch = 0) {
    rtlm::scheduler_config config;
    config.max_requests = max_requests;
    config.solver_max_tokens = 1024_tok;
    rtlm::testing::fake_backend_config fc;
    fc.capabilities.max_batch_size = max_batch;
    rtlm::testing::fake_backend backend(fc);
    const rtlm::test::linear_estimator estimator;
    const allocation_counter c;
    rtlm::scheduler s(config);
    for (int b = 0; b < backends; ++b) s.add_backend(backend, estimator);
    return static_cast<double>(c.bytes());
  };
  const double n = 32768;
  const double per_request = (measure(65536, 0) - measure(32768, 0)) / n;
  const double per_backend = (measure(32768, 2) - measure(32768, 1)) / n;
  const double per_batched = (measure(32768, 2, 256) - measure(32768, 1, 256)) / n;
  std::printf(  // NOLINT(*-vararg)
      "scheduler: %.0f bytes per request; each backend: %.0f bytes per request, %.0f with a "
      "declared batch of 256\n",
      per_request, per_backend, per_batched);
  EXPECT_GT(per_request, 0.0);
  EXPECT_LE(per_request, scheduler_bound);
  EXPECT_LE(per_backend, backend_bound);
  EXPECT_LE(per_batched, batched_bound);
}

TEST(scheduler_allocation, the_step_path_allocates_nothing_after_warm_up) {
  for (const rtlm::policy_kind kind : rtlm::all_policy_kinds) {
    rtlm::scheduler_config config;
    config.policy = kind;
    config.consolidate = true;           // its path allocates nothing either,
    config.preempt_for_priority = true;  // nor does preemption for priority's
    config.max_requests = 512;
    config.intake_capacity = 256;
    config.solver_max_tokens = 4096_tok;
    config.slo.classes = {
        {.name = "chat", .ttft = rtlm::seconds(0.1), .tpot = rtlm::seconds(0.03)}};
    config.slo.relegation = rtlm::relegation_mode::demote;
    config.slo.tpot_budget = true;  // and the step sizing's path,
    config.slo.ttft_first = true;
    config.slo.min_prefill_tokens = 64_tok;
    config.fairness.tenants = 3;  // and the fair queue's
    rtlm::scheduler s(config);
    rtlm::testing::fake_backend_config fc;
    fc.capabilities.name = "gpu0";
    fc.capabilities.kv_capacity = 6000_tok;
    fc.capabilities.max_batch_size = 32;
    fc.capabilities.max_step_tokens = 512_tok;
    fc.capabilities.can_chunk_prefill = true;
    fc.capabilities.can_evict_kv = true;
    fc.capabilities.can_preempt_recompute = true;
    fc.capabilities.can_preempt_swap = true;
    rtlm::testing::fake_backend backend(fc);
    rtlm::test::linear_estimator estimator;
    estimator.decode_per_kv = 0.00001;
    s.add_backend(backend, estimator);
    event_counts events;
    s.set_observer(&events);

    rtlm::time_point now{};
    rtlm::step_result result;
    result.outcomes.reserve(64);
    std::uint64_t next_id = 1;
    std::size_t counted = 0;
    std::size_t steps = 0;
    for (int i = 0; i < 3000; ++i) {
      for (int k = 0; k < 2; ++k) {
        rtlm::request r = make_request(next_id, now);
        // Overruns: every fifth request runs 3x past its bound of 20 tokens.
        backend.set_output_length(r.id, rtlm::tokens(next_id % 5 == 0 ? 60 : 12));
        if (s.submit(r) == rtlm::submit_status::accepted) ++next_id;
      }
      if (i % 7 == 0) s.cancel(rtlm::request_id{next_id - 3});
      const bool measure = i >= 1000;  // warm-up: buffers grow to their working size
      std::size_t step_allocations = 0;
      const rtlm::step_plan* plan = nullptr;
      {
        const allocation_counter c;
        plan = &s.plan_step(0, now);
        step_allocations += c.count();
      }
      const rtlm::step_status status = backend.execute(*plan, result);  // the host's, not counted
      ASSERT_EQ(status, rtlm::step_status::ok) << backend.last_error();
      {
        const allocation_counter c;
        s.complete_step(0, status, result, now);
        step_allocations += c.count();
      }
      now += std::chrono::milliseconds(20);
      if (measure) {
        counted += step_allocations;
        ++steps;
      }
    }
    EXPECT_EQ(counted, 0U) << rtlm::to_string(kind) << ": allocations in " << steps << " steps";
    EXPECT_GT(backend.steps_run(), 2000U);
    EXPECT_GT(events[rtlm::request_event_kind::finished], 1000U);
    EXPECT_GT(events[rtlm::request_event_kind::preempted], 0U);
    EXPECT_GT(events[rtlm::request_event_kind::cancelled], 0U);
    EXPECT_GT(events[rtlm::request_event_kind::relegated], 0U);
  }
}

}  // namespace
