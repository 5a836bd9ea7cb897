// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/schedule/virtual_token_counter.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "rtlm/schedule/waiting_queue.hpp"

namespace {

using rtlm::queued_request;
using rtlm::tokens;

rtlm::time_point at(double s) {
  return rtlm::time_point{} +
         std::chrono::duration_cast<rtlm::duration>(std::chrono::duration<double>(s));
}

queued_request req(std::uint64_t id, double arrival, std::uint32_t tenant = 0) {
  return {.id = rtlm::request_id{id}, .sequence = id, .arrival = at(arrival), .tenant = tenant};
}

std::vector<std::uint64_t> drain(rtlm::waiting_queue<rtlm::first_come_first_served>& q) {
  std::vector<std::uint64_t> out;
  while (!q.empty()) out.push_back(rtlm::to_integer(q.pop().id));
  return out;
}

TEST(virtual_token_counter, charges_weighted_tokens_over_the_tenants_weight) {
  rtlm::virtual_token_counter c(
      {.tenants = 2, .prefill_weight = 1.0, .decode_weight = 2.0, .tenant_weights = {1.0, 4.0}});
  c.charge_prefill(0, tokens(100));
  c.charge_decode(0, tokens(10));
  c.charge_prefill(1, tokens(100));
  c.charge_decode(1, tokens(10));
  EXPECT_DOUBLE_EQ(c.counter(0), 120.0);
  EXPECT_DOUBLE_EQ(c.counter(1), 30.0);  // four times the share: a quarter of the count
  EXPECT_DOUBLE_EQ(c.last_served(), 30.0);
  c.lift(1, 50.0);
  EXPECT_DOUBLE_EQ(c.counter(1), 50.0);
  c.lift(1, 10.0);  // never lowered
  EXPECT_DOUBLE_EQ(c.counter(1), 50.0);
  c.charge_prefill(7, tokens(5));  // out of range: ignored
  EXPECT_DOUBLE_EQ(c.counter(7), 0.0);
}

TEST(waiting_queue_relegation, a_relegated_request_goes_after_every_other) {
  rtlm::waiting_queue queue(rtlm::first_come_first_served{}, 8);
  queued_request early = req(1, 0.0);
  early.relegated = true;
  queue.push(early);
  queue.push(req(2, 5.0));
  queue.push(req(3, 9.0));
  EXPECT_EQ(drain(queue), (std::vector<std::uint64_t>{2, 3, 1}));
}

TEST(waiting_queue_fairness, serves_the_backlogged_tenant_with_the_least_counter) {
  rtlm::waiting_queue queue(rtlm::first_come_first_served{}, 16, {.tenants = 2});
  for (std::uint64_t id = 1; id <= 4; ++id) queue.push(req(id, 0.1 * static_cast<double>(id), 0));
  queue.push(req(5, 1.0, 1));
  queue.push(req(6, 1.1, 1));
  // Equal counters: the earlier head. Then tenant 0 has been served and tenant 1 has not.
  EXPECT_EQ(rtlm::to_integer(queue.pop().id), 1U);
  queue.charge_prefill(0, tokens(30));
  EXPECT_EQ(rtlm::to_integer(queue.pop().id), 5U);
  queue.charge_prefill(1, tokens(10));
  EXPECT_EQ(rtlm::to_integer(queue.pop().id), 6U);
  queue.charge_prefill(1, tokens(10));
  EXPECT_EQ(rtlm::to_integer(queue.pop().id), 2U);  // 30 against 20, but tenant 1 is empty
  EXPECT_EQ(queue.size(), 2U);
}

TEST(waiting_queue_fairness, a_tenant_that_becomes_backlogged_starts_at_the_least_counter) {
  rtlm::waiting_queue queue(rtlm::first_come_first_served{}, 16, {.tenants = 2});
  queue.push(req(1, 0.0, 0));
  queue.charge_prefill(0, tokens(500));
  queue.charge_prefill(1, tokens(10));  // tenant 1 served long ago, idle since
  queue.push(req(2, 1.0, 1));           // lifted to tenant 0's 500: no banked credit
  ASSERT_NE(queue.counters(), nullptr);
  EXPECT_DOUBLE_EQ(queue.counters()->counter(1), 500.0);
  EXPECT_EQ(rtlm::to_integer(queue.pop().id), 1U);  // equal counters: the earlier head
}

TEST(waiting_queue_fairness, a_relegated_head_yields_to_another_tenants_request) {
  rtlm::waiting_queue queue(rtlm::first_come_first_served{}, 16, {.tenants = 2});
  queued_request late = req(1, 0.0, 0);
  late.relegated = true;
  queue.push(late);
  queue.push(req(2, 1.0, 1));
  queue.charge_prefill(1, tokens(1000));
  EXPECT_EQ(drain(queue), (std::vector<std::uint64_t>{2, 1}));
}

TEST(waiting_queue_fairness, erase_and_update_find_the_tenants_heap) {
  rtlm::waiting_queue queue(rtlm::first_come_first_served{}, 16, {.tenants = 3});
  const auto a = queue.push(req(1, 0.0, 2));
  const auto b = queue.push(req(2, 1.0, 2));
  queue.push(req(3, 2.0, 1));
  ASSERT_TRUE(a && b);
  queue.erase(*a);
  queued_request moved = req(2, 5.0, 2);
  queue.update(*b, moved);
  EXPECT_EQ(queue.size(), 2U);
  EXPECT_EQ(drain(queue), (std::vector<std::uint64_t>{3, 2}));
  EXPECT_EQ(queue.overflow_allocations(), 0U);
}

}  // namespace
