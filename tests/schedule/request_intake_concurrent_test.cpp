// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "rtlm/schedule/request_intake.hpp"

// Thread tests of rtlm::request_intake. Every test here runs threads, so every name contains
// "concurrent": CI runs exactly those under ThreadSanitizer (ctest -R concurrent).
namespace {

using rtlm::request_id;
using rtlm::submit_status;

constexpr std::size_t producers = 4;

// A cheap request (no prompt text): the stress tests measure the intake, not string copies.
rtlm::request make_request(std::uint64_t id) {
  rtlm::request r;
  r.id = request_id{id};
  r.prompt_tokens = rtlm::tokens(static_cast<rtlm::tokens::rep>(id % 4096));
  return r;
}

// Submits `r`, retrying (yielding) while the intake is full; the request stays the producer's
// until accepted.
void submit_until_accepted(rtlm::request_intake& intake, rtlm::request& r) {
  for (;;) {
    const submit_status s = intake.submit(r);
    if (s == submit_status::accepted) return;
    ASSERT_EQ(s, submit_status::queue_full);
    std::this_thread::yield();
  }
}

// Producer p submits ids p, p + producers, p + 2 * producers, ... below `total`.
void produce(rtlm::request_intake& intake, std::size_t p, std::uint64_t total) {
  for (std::uint64_t id = p; id < total; id += producers) {
    rtlm::request r = make_request(id);
    submit_until_accepted(intake, r);
  }
}

TEST(request_intake_concurrent, four_producers_deliver_every_id_exactly_once) {
  constexpr std::uint64_t total = 1'000'000;
  rtlm::request_intake intake(1024);
  std::vector<std::uint8_t> seen(total, 0);
  // The last id seen from each producer: each producer's requests arrive in its order (FIFO).
  std::vector<std::uint64_t> next_from(producers, 0);
  for (std::size_t p = 0; p < producers; ++p) next_from[p] = p;
  std::uint64_t received = 0;
  std::uint64_t bad = 0;  // ids out of range, duplicated, out of order or corrupted

  std::vector<std::thread> threads;
  threads.reserve(producers);
  for (std::size_t p = 0; p < producers; ++p) {
    threads.emplace_back([&intake, p] { produce(intake, p, total); });
  }
  while (received < total) {
    const rtlm::drain_counts c = intake.drain(
        [&](rtlm::request&& r) noexcept {
          const std::uint64_t id = rtlm::to_integer(r.id);
          if (id >= total || seen[id] != 0 || id != next_from[id % producers] ||
              r.prompt_tokens.count() != static_cast<rtlm::tokens::rep>(id % 4096)) {
            ++bad;
            if (id < total) ++seen[id];
            return;
          }
          ++seen[id];
          next_from[id % producers] += producers;
        },
        [&](request_id) noexcept { ++bad; });
    received += c.requests;
    if (c.requests == 0) std::this_thread::yield();
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(bad, 0U);
  EXPECT_EQ(received, total);
  std::uint64_t once = 0;
  for (const std::uint8_t s : seen) once += s == 1 ? 1 : 0;
  EXPECT_EQ(once, total);
  // Nothing is left behind.
  const rtlm::drain_counts rest =
      intake.drain([](rtlm::request&&) noexcept {}, [](request_id) noexcept {});
  EXPECT_EQ(rest.requests, 0U);
}

TEST(request_intake_concurrent, cancel_after_submit_arrives_after_its_request) {
  constexpr std::uint64_t total = 100'000;
  constexpr std::uint64_t cancel_every = 3;
  rtlm::request_intake intake(256, 64);
  enum : std::uint8_t { unknown = 0, delivered = 1, cancelled = 2 };
  std::vector<std::uint8_t> state(total, unknown);
  std::uint64_t received = 0;
  std::uint64_t cancels = 0;
  std::uint64_t bad = 0;  // duplicates, or a cancellation before its request
  std::uint64_t expected_cancels = 0;
  for (std::uint64_t id = 0; id < total; ++id) expected_cancels += id % cancel_every == 0 ? 1U : 0U;

  std::vector<std::thread> threads;
  threads.reserve(producers);
  for (std::size_t p = 0; p < producers; ++p) {
    threads.emplace_back([&intake, p] {
      for (std::uint64_t id = p; id < total; id += producers) {
        rtlm::request r = make_request(id);
        submit_until_accepted(intake, r);
        // Ordered after the accepted submit (same thread): must reach the consumer after it.
        if (id % cancel_every == 0) {
          while (intake.cancel(request_id{id}) != rtlm::cancel_status::accepted) {
            std::this_thread::yield();
          }
        }
      }
    });
  }
  while (received < total || cancels < expected_cancels) {
    const rtlm::drain_counts c = intake.drain(
        [&](rtlm::request&& r) noexcept {
          const std::uint64_t id = rtlm::to_integer(r.id);
          if (id >= total || state[id] != unknown) {
            ++bad;
            return;
          }
          state[id] = delivered;
        },
        [&](request_id rid) noexcept {
          const std::uint64_t id = rtlm::to_integer(rid);
          if (id >= total || state[id] != delivered || id % cancel_every != 0) {
            ++bad;
            return;
          }
          state[id] = cancelled;
        });
    received += c.requests;
    cancels += c.cancellations;
    if (c.requests == 0 && c.cancellations == 0) std::this_thread::yield();
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(bad, 0U);
  EXPECT_EQ(received, total);
  EXPECT_EQ(cancels, expected_cancels);
  for (std::uint64_t id = 0; id < total; ++id) {
    ASSERT_EQ(state[id], id % cancel_every == 0 ? cancelled : delivered) << id;
  }
}

TEST(request_intake_concurrent, prompt_text_moves_across_threads_intact) {
  constexpr std::uint64_t total = 20'000;
  rtlm::request_intake intake(64);
  std::uint64_t received = 0;
  std::uint64_t bad = 0;

  std::vector<std::thread> threads;
  threads.reserve(producers);
  for (std::size_t p = 0; p < producers; ++p) {
    threads.emplace_back([&intake, p] {
      for (std::uint64_t id = p; id < total; id += producers) {
        rtlm::request r = make_request(id);
        // Long enough to live on the heap: its buffer changes hands between threads.
        r.prompt_text = std::string(64, 'a') + std::to_string(id);
        submit_until_accepted(intake, r);
      }
    });
  }
  while (received < total) {
    const rtlm::drain_counts c = intake.drain(
        [&](rtlm::request&& r) noexcept {
          const std::uint64_t id = rtlm::to_integer(r.id);
          if (r.prompt_text != std::string(64, 'a') + std::to_string(id)) ++bad;
          const rtlm::request mine = std::move(r);  // the consumer owns it now
          static_cast<void>(mine);
        },
        [&](request_id) noexcept { ++bad; });
    received += c.requests;
    if (c.requests == 0) std::this_thread::yield();
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(bad, 0U);
  EXPECT_EQ(received, total);
}

}  // namespace
