// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/core/manual_clock.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

// Code written against any rtlm::clock, as rtlm's components are.
template <rtlm::clock Clock>
rtlm::duration elapsed_since(rtlm::time_point start) {
  return Clock::now() - start;
}

TEST(manual_clock, moves_only_when_told) {
  rtlm::manual_clock::set(rtlm::time_point{});
  EXPECT_EQ(rtlm::manual_clock::now(), rtlm::time_point{});
  rtlm::manual_clock::advance(1500ms);
  EXPECT_EQ(rtlm::manual_clock::now().time_since_epoch(), 1500ms);
  rtlm::manual_clock::advance(250us);
  EXPECT_EQ(rtlm::manual_clock::now().time_since_epoch(), 1500ms + 250us);
  EXPECT_EQ(elapsed_since<rtlm::manual_clock>(rtlm::time_point{}), 1500ms + 250us);
}

TEST(manual_clock, never_moves_backwards_when_advanced) {
  rtlm::manual_clock::set(rtlm::time_point{} + 10s);
  rtlm::manual_clock::advance(-5s);
  EXPECT_EQ(rtlm::manual_clock::now().time_since_epoch(), 10s);
  rtlm::manual_clock::set(rtlm::time_point{} + 3s);
  EXPECT_EQ(rtlm::manual_clock::now().time_since_epoch(), 3s);
}

TEST(manual_clock, meets_std_chrono_clock_requirements) {
  static_assert(rtlm::manual_clock::is_steady);
  static_assert(
      std::is_same_v<rtlm::manual_clock::time_point, std::chrono::steady_clock::time_point>);
  static_assert(std::chrono::is_clock_v<rtlm::manual_clock>);
}

TEST(manual_clock, concurrent_advances_all_count) {
  rtlm::manual_clock::set(rtlm::time_point{});
  constexpr int threads = 4;
  constexpr int advances = 10'000;
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([] {
      for (int i = 0; i < advances; ++i) rtlm::manual_clock::advance(1ns);
    });
  }
  for (std::thread& w : workers) w.join();
  EXPECT_EQ(rtlm::manual_clock::now().time_since_epoch(), rtlm::duration(threads * advances));
}

}  // namespace
