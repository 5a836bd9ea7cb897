// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/schedule/waiting_queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <variant>
#include <vector>

#include "rtlm/core/error.hpp"
#include "rtlm/schedule/scheduling_policy.hpp"

// Suites start with waiting_queue so that --gtest_filter='waiting_queue*' selects them.
namespace {

using rtlm::queued_request;

rtlm::time_point at(double s) {
  return rtlm::time_point{} +
         std::chrono::duration_cast<rtlm::duration>(std::chrono::duration<double>(s));
}

queued_request req(std::uint64_t id, std::uint64_t sequence, double arrival,
                   std::optional<double> mean = std::nullopt) {
  queued_request q{.id = rtlm::request_id{id}, .sequence = sequence, .arrival = at(arrival)};
  if (mean) {
    q.predicted_length = rtlm::length_estimate{.mean_tokens = *mean,
                                               .upper_bound = rtlm::tokens(4096),
                                               .bound_coverage = 0.9,
                                               .uncertainty = 0.0};
  }
  return q;
}

template <class Policy>
std::vector<std::uint64_t> drain(rtlm::waiting_queue<Policy>& queue) {
  std::vector<std::uint64_t> ids;
  ids.reserve(queue.size());
  while (!queue.empty()) ids.push_back(rtlm::to_integer(queue.pop().id));
  return ids;
}

using ids = std::vector<std::uint64_t>;

TEST(waiting_queue, pops_lowest_key_first_ties_by_sequence) {
  rtlm::waiting_queue queue(rtlm::shortest_predicted_first({.seconds_per_token = 0.01}), 8);
  // keys: 1: 0 + 5 = 5, 2: 1 + 1 = 2, 3: 2 + 0 = 2 (ties 2; sequence 1 < 2), 4: 0.5 + 10 = 10.5
  ASSERT_TRUE(queue.push(req(1, 0, 0.0, 500.0)));
  ASSERT_TRUE(queue.push(req(2, 2, 1.0, 100.0)));
  ASSERT_TRUE(queue.push(req(3, 1, 2.0, 0.0)));
  ASSERT_TRUE(queue.push(req(4, 3, 0.5, 1000.0)));
  EXPECT_EQ(queue.size(), 4U);
  EXPECT_EQ(queue.top().id, rtlm::request_id{3});
  EXPECT_DOUBLE_EQ(queue.top_key().time_since_epoch().count(), 2.0);
  EXPECT_EQ(drain(queue), (ids{3, 2, 1, 4}));
  EXPECT_TRUE(queue.empty());
}

TEST(waiting_queue, full_queue_refuses_and_capacity_is_validated) {
  rtlm::waiting_queue queue(rtlm::first_come_first_served{}, 2);
  EXPECT_TRUE(queue.push(req(1, 0, 0.0)));
  EXPECT_TRUE(queue.push(req(2, 1, 1.0)));
  EXPECT_FALSE(queue.push(req(3, 2, 2.0)));
  EXPECT_EQ(queue.size(), 2U);
  EXPECT_EQ(queue.capacity(), 2U);
  queue.pop();
  EXPECT_TRUE(queue.push(req(3, 2, 2.0)));
  EXPECT_EQ(drain(queue), (ids{2, 3}));

  try {
    const rtlm::waiting_queue<rtlm::first_come_first_served> bad({}, 0);
    ADD_FAILURE() << "capacity 0 accepted";
  } catch (const rtlm::error& e) {
    EXPECT_EQ(e.field(), "waiting_queue.capacity");
    EXPECT_EQ(e.value(), "0");
  }
}

TEST(waiting_queue, update_reorders_in_place) {
  rtlm::waiting_queue queue(rtlm::shortest_predicted_first({.seconds_per_token = 0.01}), 8);
  auto h1 = queue.push(req(1, 0, 0.0, 100.0));  // key 1
  auto h2 = queue.push(req(2, 1, 0.0, 200.0));  // key 2
  auto h3 = queue.push(req(3, 2, 0.0, 300.0));  // key 3
  ASSERT_TRUE(h1 && h2 && h3);
  EXPECT_EQ(queue.top().id, rtlm::request_id{1});

  queue.update(*h3, req(3, 2, 0.0, 50.0));  // a new, shorter prediction: key 0.5
  EXPECT_EQ(queue.top().id, rtlm::request_id{3});
  EXPECT_DOUBLE_EQ(
      rtlm::waiting_queue<rtlm::shortest_predicted_first>::key(*h3).time_since_epoch().count(),
      0.5);
  queue.update(*h1, req(1, 0, 0.0, 1000.0));  // a longer one: key 10
  EXPECT_EQ(queue.get(*h1).predicted_length->mean_tokens, 1000.0);
  EXPECT_EQ(drain(queue), (ids{3, 2, 1}));
}

TEST(waiting_queue, erase_removes_one) {
  rtlm::waiting_queue queue(rtlm::first_come_first_served{}, 8);
  std::vector<rtlm::waiting_queue<rtlm::first_come_first_served>::handle> handles;
  handles.reserve(5);
  for (std::uint64_t i = 0; i < 5; ++i) {
    handles.push_back(*queue.push(req(i, i, static_cast<double>(i))));
  }
  queue.erase(handles[2]);  // cancelled while waiting
  queue.erase(handles[0]);  // the top
  EXPECT_EQ(queue.size(), 3U);
  std::vector<std::uint64_t> seen;
  seen.reserve(queue.size());
  queue.for_each([&](const queued_request& q) { seen.push_back(rtlm::to_integer(q.id)); });
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (ids{1, 3, 4}));
  EXPECT_EQ(drain(queue), (ids{1, 3, 4}));
}

TEST(waiting_queue, any_scheduling_policy_orders_like_the_type) {
  const rtlm::policy_config config;
  for (const rtlm::policy_kind kind : rtlm::all_policy_kinds) {
    SCOPED_TRACE(rtlm::to_string(kind));
    rtlm::waiting_queue<rtlm::any_scheduling_policy> dynamic(rtlm::make_policy(kind, config), 16);
    std::vector<queued_request> qs;
    qs.reserve(10);
    for (std::uint64_t i = 0; i < 10; ++i) {
      queued_request q = req(i, i, 0.3 * static_cast<double>(i), 37.0 * static_cast<double>(i % 4));
      q.prompt_tokens = rtlm::tokens(static_cast<rtlm::tokens::rep>(1000 - 90 * i));
      q.priority = static_cast<rtlm::priority_class>(i % 3);
      if (i % 2 == 0) q.deadline = at(5.0 + static_cast<double>(i % 5));
      q.predicted_remaining = rtlm::seconds(0.1 * static_cast<double>(i));
      qs.push_back(q);
      ASSERT_TRUE(dynamic.push(q));
    }
    const std::vector<std::uint64_t> got = drain(dynamic);
    // The same requests through the compile-time type of this kind.
    std::visit(
        [&](const auto& policy) {
          rtlm::waiting_queue typed(policy, 16);
          for (const queued_request& q : qs) ASSERT_TRUE(typed.push(q));
          EXPECT_EQ(drain(typed), got);
        },
        dynamic.policy());
  }
}

// A policy that hands out NaN for one request: that request goes last, the others keep order.
struct nan_for_id_7 {
  [[nodiscard]] static rtlm::virtual_time key(const queued_request& q) noexcept {
    if (q.id == rtlm::request_id{7}) {
      return rtlm::virtual_time(rtlm::seconds(std::numeric_limits<double>::quiet_NaN()));
    }
    return q.arrival;
  }
};

TEST(waiting_queue, user_policy_and_nan_key_last) {
  rtlm::waiting_queue queue(nan_for_id_7{}, 4);
  ASSERT_TRUE(queue.push(req(7, 0, 0.0)));
  ASSERT_TRUE(queue.push(req(2, 1, 2.0)));
  ASSERT_TRUE(queue.push(req(1, 2, 1.0)));
  EXPECT_EQ(drain(queue), (ids{1, 2, 7}));
}

TEST(waiting_queue, no_allocation_after_construction) {
  constexpr std::size_t capacity = 64;
  rtlm::waiting_queue queue(rtlm::first_come_first_served{}, capacity);
  std::vector<rtlm::waiting_queue<rtlm::first_come_first_served>::handle> handles;
  handles.reserve(capacity);
  std::uint64_t sequence = 0;
  for (int round = 0; round < 3; ++round) {
    handles.clear();
    for (std::size_t i = 0; i < capacity; ++i) {
      handles.push_back(*queue.push(req(sequence, sequence, static_cast<double>(sequence))));
      ++sequence;
    }
    EXPECT_FALSE(queue.push(req(0, 0, 0.0)));
    EXPECT_EQ(queue.pooled_nodes(), capacity);  // every node came from the pool
    queue.update(handles[10], req(999, 999, -1.0));
    for (std::size_t i = 20; i < 30; ++i) queue.erase(handles[i]);
    EXPECT_EQ(queue.pooled_nodes(), capacity - 10);
    while (!queue.empty()) queue.pop();
  }
  EXPECT_EQ(queue.pooled_nodes(), 0U);
  EXPECT_EQ(queue.overflow_allocations(), 0U);
}

// One request `long_one` waits at t = 0 behind `backlog` short requests; then one short request
// arrives every tick (1 s) and one request is popped per tick. Returns the tick at which
// `long_one` is popped, or nullopt if it is not popped within `horizon` ticks.
template <class Policy, class Short>
std::optional<int> served_tick(const Policy& policy, queued_request long_one, int backlog,
                               const Short& make_short, int horizon = 2000) {
  rtlm::waiting_queue queue(policy, static_cast<std::size_t>(backlog) + 2);
  std::uint64_t sequence = 0;
  for (int i = 0; i < backlog; ++i) {
    queued_request s = make_short(0.0);
    s.id = rtlm::request_id{sequence + 1};
    s.sequence = sequence++;
    EXPECT_TRUE(queue.push(s));
  }
  long_one.id = rtlm::request_id{0};
  long_one.sequence = sequence++;
  EXPECT_TRUE(queue.push(long_one));
  for (int t = 0; t < horizon; ++t) {
    if (t > 0) {
      queued_request s = make_short(static_cast<double>(t));
      s.id = rtlm::request_id{sequence + 1};
      s.sequence = sequence++;
      EXPECT_TRUE(queue.push(s));
    }
    if (queue.pop().id == rtlm::request_id{0}) return t;
  }
  return std::nullopt;
}

// Checks the documented bound: the long request (arrival 0, key k) is served by tick
// k - arrival + backlog (the ticks to drain what was queued with keys below k), and not before
// about tick k (the stream did overtake it until its key came due).
template <class Policy, class Short>
void expect_bounded(const Policy& policy, const queued_request& long_one, const Short& make_short) {
  constexpr int backlog = 5;
  const double k = policy.key(long_one).time_since_epoch().count();
  const std::optional<int> tick = served_tick(policy, long_one, backlog, make_short);
  ASSERT_TRUE(tick.has_value()) << "starved; key " << k;
  EXPECT_LE(*tick, k + backlog) << "key " << k;
  // It did wait for the stream: every short arrival with a key below k went first.
  EXPECT_GE(*tick, std::max(static_cast<double>(backlog), std::floor(k) - 1.0)) << "key " << k;
}

TEST(waiting_queue_starvation, fcfs) {
  expect_bounded(rtlm::first_come_first_served{}, req(0, 0, 0.0),
                 [](double t) { return req(0, 0, t); });
}

TEST(waiting_queue_starvation, priority_classes) {
  queued_request low = req(0, 0, 0.0);
  low.priority = rtlm::priority_class::background;  // key 30
  expect_bounded(rtlm::priority_classes({.class_spacing = rtlm::seconds(10.0)}), low, [](double t) {
    queued_request s = req(0, 0, t);
    s.priority = rtlm::priority_class::realtime;
    return s;
  });
}

TEST(waiting_queue_starvation, earliest_deadline_first) {
  // No deadline: key 0 + 20; every short request's deadline is 1 s after its arrival.
  expect_bounded(rtlm::earliest_deadline_first({.default_relative_deadline = rtlm::seconds(20.0)}),
                 req(0, 0, 0.0), [](double t) {
                   queued_request s = req(0, 0, t);
                   s.deadline = at(t + 1.0);
                   return s;
                 });
}

TEST(waiting_queue_starvation, shortest_prompt_first_with_and_without_aging) {
  queued_request big = req(0, 0, 0.0);
  big.prompt_tokens = rtlm::tokens(3000);  // key 30
  const auto small = [](double t) {
    queued_request s = req(0, 0, t);
    s.prompt_tokens = rtlm::tokens(10);
    return s;
  };
  expect_bounded(rtlm::shortest_prompt_first({.seconds_per_token = 0.01}), big, small);
  // Plain prompt-length order (no aging) starves it for the whole horizon.
  EXPECT_EQ(served_tick(rtlm::shortest_prompt_first({.seconds_per_token = 1e6}), big, 5, small),
            std::nullopt);
}

TEST(waiting_queue_starvation, shortest_predicted_first) {
  expect_bounded(rtlm::shortest_predicted_first({.seconds_per_token = 0.01}),
                 req(0, 0, 0.0, 2000.0), [](double t) { return req(0, 0, t, 10.0); });
}

TEST(waiting_queue_starvation, shortest_predicted_remaining) {
  queued_request preempted = req(0, 0, 0.0, 2500.0);
  preempted.generated = rtlm::tokens(500);  // 2000 predicted to go: key 20
  expect_bounded(rtlm::shortest_predicted_remaining({.seconds_per_token = 0.01}), preempted,
                 [](double t) { return req(0, 0, t, 10.0); });
}

TEST(waiting_queue_starvation, least_laxity_first) {
  queued_request slack = req(0, 0, 0.0);
  slack.deadline = at(40.0);
  slack.predicted_remaining = rtlm::seconds(10.0);  // key 30
  expect_bounded(rtlm::least_laxity_first{}, slack, [](double t) {
    queued_request s = req(0, 0, t);
    s.deadline = at(t + 2.0);
    s.predicted_remaining = rtlm::seconds(1.0);  // key t + 1
    return s;
  });
}

TEST(waiting_queue_starvation, uncertainty_aware_priority) {
  queued_request unsure = req(0, 0, 0.0, 1000.0);
  unsure.predicted_length->uncertainty = 2.0;  // 1000 * e^1 tokens: key 27.18
  expect_bounded(rtlm::uncertainty_aware_priority({.uncertainty_weight = 0.5}), unsure,
                 [](double t) { return req(0, 0, t, 10.0); });
}

}  // namespace
