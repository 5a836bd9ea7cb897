// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "rtlm/schedule/scheduler.hpp"
#include "rtlm/testing/fake_backend.hpp"
#include "schedule/linear_estimator.hpp"

// The scheduler with host threads submitting and cancelling while its thread steps a backend.
// The name contains "concurrent": CI runs it under ThreadSanitizer.
namespace {

using namespace rtlm::literals;

// Counts how each request ended, by id; only the scheduler thread writes.
struct endings final : rtlm::scheduler_observer {
  explicit endings(std::size_t n) : finished(n, 0), cancelled(n, 0), other(n, 0) {}
  std::vector<std::uint8_t> finished;
  std::vector<std::uint8_t> cancelled;
  std::vector<std::uint8_t> other;  // rejected or failed: must not happen here
  std::size_t ended = 0;
  void on_event(const rtlm::request_event& e, const rtlm::request& /*r*/) noexcept override {
    const auto id = static_cast<std::size_t>(rtlm::to_integer(e.id));
    if (id >= finished.size()) return;
    switch (e.kind) {
      case rtlm::request_event_kind::finished:
        ++finished[id];
        ++ended;
        break;
      case rtlm::request_event_kind::cancelled:
        ++cancelled[id];
        ++ended;
        break;
      case rtlm::request_event_kind::rejected:
      case rtlm::request_event_kind::failed:
        ++other[id];
        ++ended;
        break;
      default:
        break;
    }
  }
};

TEST(scheduler_concurrent, four_producers_every_request_ends_exactly_once) {
  constexpr std::uint64_t producers = 4;
  constexpr std::uint64_t total = 1'000'000;
  rtlm::scheduler_config config;
  config.policy = rtlm::policy_kind::shortest_predicted_first;
  config.max_requests = 1024;
  config.intake_capacity = 256;
  config.cancel_capacity = 256;
  config.solver_max_tokens = 1024_tok;
  rtlm::scheduler s(config);
  rtlm::testing::fake_backend_config fc;
  fc.capabilities.kv_capacity = 1'000'000_tok;
  fc.capabilities.max_batch_size = 256;
  fc.capabilities.can_chunk_prefill = true;
  fc.capabilities.can_preempt_recompute = true;
  fc.default_output_length = 2_tok;
  rtlm::testing::fake_backend backend(fc);
  const rtlm::test::linear_estimator estimator;
  s.add_backend(backend, estimator);
  endings seen(total);
  s.set_observer(&seen);

  std::atomic<std::uint64_t> cancels_sent{0};
  std::vector<std::thread> threads;
  threads.reserve(producers);
  for (std::uint64_t p = 0; p < producers; ++p) {
    threads.emplace_back([&s, &cancels_sent, p] {
      for (std::uint64_t id = p; id < total; id += producers) {
        rtlm::request r;
        r.id = rtlm::request_id{id};
        r.prompt_tokens = rtlm::tokens(static_cast<rtlm::tokens::rep>(1 + id % 32));
        r.predicted_length = rtlm::length_estimate{.mean_tokens = static_cast<double>(id % 7),
                                                   .upper_bound = 8_tok,
                                                   .bound_coverage = 0.9};
        while (s.submit(r) != rtlm::submit_status::accepted) std::this_thread::yield();
        if (id % 10 == 0) {
          while (s.cancel(rtlm::request_id{id}) != rtlm::cancel_status::accepted) {
            std::this_thread::yield();
          }
          cancels_sent.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  rtlm::time_point now{};
  for (int i = 0; i < 10'000'000 && seen.ended < total; ++i) {
    const rtlm::step_report report = s.step(0, now);
    ASSERT_EQ(report.status, rtlm::step_status::ok) << report.error;
    now += std::chrono::milliseconds(10);
    if (report.computed == 0) std::this_thread::yield();
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(seen.ended, total);
  EXPECT_EQ(s.live_requests(), 0U);
  std::uint64_t once = 0;
  std::uint64_t cancelled = 0;
  for (std::uint64_t id = 0; id < total; ++id) {
    once += seen.finished[id] + seen.cancelled[id] == 1 && seen.other[id] == 0 ? 1U : 0U;
    cancelled += seen.cancelled[id];
  }
  EXPECT_EQ(once, total);  // none lost, none duplicated
  // A cancel can arrive after its request finished (then it is ignored), never before it.
  EXPECT_LE(cancelled, cancels_sent.load());
}

}  // namespace
