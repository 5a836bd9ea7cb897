// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/schedule/request_intake.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "rtlm/core/error.hpp"

// Single-threaded behaviour; the thread tests are in request_intake_concurrent_test.cpp.
namespace {

using namespace std::chrono_literals;
using rtlm::cancel_status;
using rtlm::request_id;
using rtlm::submit_status;

const rtlm::time_point t0 = rtlm::time_point{} + 1s;

rtlm::request make_request(std::uint64_t id, std::string text = "") {
  rtlm::request r;
  r.id = request_id{id};
  r.prompt_tokens = rtlm::tokens(static_cast<rtlm::tokens::rep>(100 + id));
  if (!text.empty()) r.prompt_text = std::move(text);
  r.arrival = t0;
  r.deadline = t0 + 2s;
  return r;
}

// Drains `intake` into `requests` and `cancels`, returning the counts.
rtlm::drain_counts drain_into(rtlm::request_intake& intake, std::vector<rtlm::request>& requests,
                              std::vector<request_id>& cancels) {
  return intake.drain([&](rtlm::request&& r) noexcept { requests.push_back(std::move(r)); },
                      [&](request_id id) noexcept { cancels.push_back(id); });
}

// The field that rtlm::error from r.validate() names, or "" when it does not throw.
std::string validate_field(const rtlm::request& r) {
  try {
    r.validate();
  } catch (const rtlm::error& e) {
    return e.field();
  }
  return "";
}

TEST(request_intake, capacity_out_of_range_names_the_field) {
  for (const std::size_t bad : {std::size_t{0}, rtlm::request_intake::max_capacity + 1}) {
    try {
      rtlm::request_intake intake(bad);
      ADD_FAILURE() << "capacity " << bad << " accepted";
    } catch (const rtlm::error& e) {
      EXPECT_EQ(e.field(), "request_intake.capacity");
      EXPECT_EQ(e.value(), std::to_string(bad));
    }
    try {
      rtlm::request_intake intake(4, bad);
      ADD_FAILURE() << "cancel_capacity " << bad << " accepted";
    } catch (const rtlm::error& e) {
      EXPECT_EQ(e.field(), "request_intake.cancel_capacity");
    }
  }
  const rtlm::request_intake one(1);
  EXPECT_EQ(one.capacity(), 1U);
  EXPECT_EQ(one.cancel_capacity(), 1U);
  const rtlm::request_intake two(2, 3);
  EXPECT_EQ(two.capacity(), 2U);
  EXPECT_EQ(two.cancel_capacity(), 3U);
}

TEST(request_intake, shards_out_of_range_names_the_field) {
  for (const std::size_t bad : {std::size_t{0}, std::size_t{65}, std::size_t{9}}) {
    try {
      rtlm::request_intake intake(8, 8, bad);
      ADD_FAILURE() << "shards " << bad << " accepted";
    } catch (const rtlm::error& e) {
      EXPECT_EQ(e.field(), "request_intake.shards");
    }
  }
  EXPECT_EQ(rtlm::request_intake(8, 8, 2).shards(), 2U);
}

TEST(request_intake, each_thread_fills_its_own_shard_and_drain_takes_all) {
  // Two threads started one after the other take consecutive shard numbers: each sees half of
  // the 8 slots; one drain delivers all 8, each thread's in its order.
  rtlm::request_intake intake(8, 8, 2);
  std::vector<std::uint64_t> accepted_per_thread;
  for (std::uint64_t t = 0; t < 2; ++t) {
    std::uint64_t accepted = 0;
    std::thread([&] {
      for (std::uint64_t i = 0; i < 6; ++i) {
        rtlm::request r = make_request(t * 100 + i);
        if (intake.submit(r) == rtlm::submit_status::accepted) ++accepted;
      }
    }).join();
    accepted_per_thread.push_back(accepted);
  }
  EXPECT_EQ(accepted_per_thread, (std::vector<std::uint64_t>{4, 4}));
  std::vector<std::uint64_t> ids;
  const rtlm::drain_counts c =
      intake.drain([&](rtlm::request&& r) noexcept { ids.push_back(rtlm::to_integer(r.id)); },
                   [](rtlm::request_id) noexcept {});
  EXPECT_EQ(c.requests, 8U);
  std::vector<std::uint64_t> first;
  std::vector<std::uint64_t> second;
  for (const std::uint64_t id : ids) (id < 100 ? first : second).push_back(id);
  EXPECT_EQ(first, (std::vector<std::uint64_t>{0, 1, 2, 3}));
  EXPECT_EQ(second, (std::vector<std::uint64_t>{100, 101, 102, 103}));
}

TEST(request_intake, a_limited_drain_leaves_the_rest_in_order) {
  rtlm::request_intake intake(8);
  for (std::uint64_t i = 0; i < 5; ++i) {
    rtlm::request r = make_request(i);
    ASSERT_EQ(intake.submit(r), rtlm::submit_status::accepted);
  }
  std::vector<std::uint64_t> ids;
  const auto take = [&](rtlm::request&& r) noexcept { ids.push_back(rtlm::to_integer(r.id)); };
  EXPECT_EQ(intake.drain(2, take, [](rtlm::request_id) noexcept {}).requests, 2U);
  EXPECT_EQ(intake.drain(take, [](rtlm::request_id) noexcept {}).requests, 3U);
  EXPECT_EQ(ids, (std::vector<std::uint64_t>{0, 1, 2, 3, 4}));
}

TEST(request_intake, status_names) {
  EXPECT_EQ(rtlm::to_string(submit_status::accepted), "accepted");
  EXPECT_EQ(rtlm::to_string(submit_status::queue_full), "queue_full");
  EXPECT_EQ(rtlm::to_string(submit_status::invalid), "invalid");
  EXPECT_EQ(rtlm::to_string(cancel_status::accepted), "accepted");
  EXPECT_EQ(rtlm::to_string(cancel_status::queue_full), "queue_full");
}

TEST(request_intake, empty_drain_delivers_nothing) {
  rtlm::request_intake intake(4);
  std::vector<rtlm::request> got;
  std::vector<request_id> cancels;
  const rtlm::drain_counts c = drain_into(intake, got, cancels);
  EXPECT_EQ(c.requests, 0U);
  EXPECT_EQ(c.cancellations, 0U);
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(cancels.empty());
}

TEST(request_intake, single_producer_is_fifo_and_moves_every_field) {
  rtlm::request_intake intake(8);
  for (std::uint64_t id = 1; id <= 8; ++id) {
    rtlm::request r = make_request(id, "prompt " + std::to_string(id));
    ASSERT_EQ(intake.submit(r), submit_status::accepted) << id;
  }
  std::vector<rtlm::request> got;
  std::vector<request_id> cancels;
  const rtlm::drain_counts c = drain_into(intake, got, cancels);
  EXPECT_EQ(c.requests, 8U);
  EXPECT_EQ(c.cancellations, 0U);
  ASSERT_EQ(got.size(), 8U);
  for (std::uint64_t id = 1; id <= 8; ++id) {
    const rtlm::request& r = got[id - 1];
    EXPECT_EQ(r.id, request_id{id});
    EXPECT_EQ(r.prompt_tokens.count(), static_cast<rtlm::tokens::rep>(100 + id));
    EXPECT_EQ(r.prompt_text, "prompt " + std::to_string(id));
    EXPECT_EQ(r.arrival, t0);
    EXPECT_EQ(r.deadline, t0 + 2s);
  }
}

TEST(request_intake, accepted_request_moves_its_prompt_text_without_copying) {
  rtlm::request_intake intake(1);
  // Longer than the small-string buffer: a move hands over the same heap buffer.
  rtlm::request r = make_request(1, std::string(1000, 'x'));
  const char* buffer = r.prompt_text->data();
  ASSERT_EQ(intake.submit(r), submit_status::accepted);
  const char* delivered = nullptr;
  intake.drain([&](rtlm::request&& q) noexcept { delivered = q.prompt_text->data(); },
               [](request_id) noexcept {});
  EXPECT_EQ(delivered, buffer);
}

TEST(request_intake, full_queue_leaves_the_request_with_the_caller) {
  rtlm::request_intake intake(2);
  rtlm::request a = make_request(1);
  rtlm::request b = make_request(2);
  ASSERT_EQ(intake.submit(a), submit_status::accepted);
  ASSERT_EQ(intake.submit(b), submit_status::accepted);

  const std::string text(1000, 'y');
  rtlm::request c = make_request(3, text);
  EXPECT_EQ(intake.submit(c), submit_status::queue_full);
  EXPECT_EQ(intake.submit(c), submit_status::queue_full);
  // Untouched: every field as it was.
  EXPECT_EQ(c.id, request_id{3});
  EXPECT_EQ(c.prompt_tokens.count(), 103);
  EXPECT_EQ(c.prompt_text, text);
  EXPECT_EQ(c.arrival, t0);
  EXPECT_EQ(c.deadline, t0 + 2s);

  std::vector<rtlm::request> got;
  std::vector<request_id> cancels;
  EXPECT_EQ(drain_into(intake, got, cancels).requests, 2U);
  EXPECT_EQ(intake.submit(c), submit_status::accepted);
  EXPECT_EQ(drain_into(intake, got, cancels).requests, 1U);
  ASSERT_EQ(got.size(), 3U);
  EXPECT_EQ(got[2].id, request_id{3});
  EXPECT_EQ(got[2].prompt_text, text);
}

TEST(request_intake, invalid_request_is_refused_and_left_with_the_caller) {
  rtlm::request_intake intake(4);
  rtlm::request r = make_request(1, "text");
  r.deadline = t0 - 1ns;  // before arrival
  EXPECT_EQ(intake.submit(r), submit_status::invalid);
  EXPECT_EQ(rtlm::invalid_request_field(r), "request.deadline");
  EXPECT_EQ(r.prompt_text, "text");
  EXPECT_EQ(r.id, request_id{1});
  std::vector<rtlm::request> got;
  std::vector<request_id> cancels;
  EXPECT_EQ(drain_into(intake, got, cancels).requests, 0U);
  // The slot was not taken: the full capacity is still free.
  for (std::uint64_t id = 10; id < 14; ++id) {
    rtlm::request ok = make_request(id);
    EXPECT_EQ(intake.submit(ok), submit_status::accepted);
  }
}

TEST(request_intake, invalid_request_field_agrees_with_validate) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<rtlm::request> cases;
  cases.reserve(16);
  cases.push_back(make_request(1));  // valid
  rtlm::request r = make_request(1);
  r.prompt_tokens = rtlm::tokens(-1);
  cases.push_back(r);
  for (const double budget : {-1.0, nan, inf}) {
    r = make_request(1);
    r.time_budget = rtlm::seconds(budget);
    cases.push_back(r);
  }
  r = make_request(1);
  r.prompt_tokens = rtlm::max_request_tokens + rtlm::tokens(1);
  cases.push_back(r);
  r = make_request(1);
  r.deadline = t0 - 1ns;
  cases.push_back(r);
  r = make_request(1);
  r.max_new_tokens = rtlm::tokens(0);
  cases.push_back(r);
  const rtlm::length_estimate good{.mean_tokens = 10.0,
                                   .upper_bound = rtlm::tokens(20),
                                   .bound_coverage = 0.9,
                                   .uncertainty = 0.5};
  r = make_request(1);
  r.predicted_length = good;
  cases.push_back(r);  // valid
  for (int field = 0; field < 4; ++field) {
    rtlm::length_estimate p = good;
    if (field == 0) p.mean_tokens = nan;
    if (field == 1) p.upper_bound = rtlm::tokens(-1);
    if (field == 2) p.bound_coverage = 1.0;
    if (field == 3) p.uncertainty = -0.5;
    r = make_request(1);
    r.predicted_length = p;
    cases.push_back(r);
  }
  rtlm::request_intake intake(static_cast<std::size_t>(cases.size()));
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string expected = validate_field(cases[i]);
    EXPECT_EQ(std::string(rtlm::invalid_request_field(cases[i])), expected) << "case " << i;
    EXPECT_EQ(intake.submit(cases[i]),
              expected.empty() ? submit_status::accepted : submit_status::invalid)
        << "case " << i;
  }
}

TEST(request_intake, cancellations_follow_the_requests_of_the_same_drain) {
  rtlm::request_intake intake(4, 2);
  rtlm::request a = make_request(1);
  rtlm::request b = make_request(2);
  ASSERT_EQ(intake.submit(a), submit_status::accepted);
  EXPECT_EQ(intake.cancel(request_id{1}), cancel_status::accepted);
  ASSERT_EQ(intake.submit(b), submit_status::accepted);
  EXPECT_EQ(intake.cancel(request_id{99}), cancel_status::accepted);  // unknown ids pass through
  EXPECT_EQ(intake.cancel(request_id{2}), cancel_status::queue_full);

  // The order in which the consumer sees them: both requests, then both cancellations.
  std::vector<std::string> events;
  const rtlm::drain_counts c = intake.drain(
      [&](rtlm::request&& r) noexcept {
        events.push_back("request " + std::to_string(rtlm::to_integer(r.id)));
      },
      [&](request_id id) noexcept {
        events.push_back("cancel " + std::to_string(rtlm::to_integer(id)));
      });
  EXPECT_EQ(c.requests, 2U);
  EXPECT_EQ(c.cancellations, 2U);
  EXPECT_EQ(events, (std::vector<std::string>{"request 1", "request 2", "cancel 1", "cancel 99"}));

  // Room again, and a cancellation alone is delivered too.
  EXPECT_EQ(intake.cancel(request_id{2}), cancel_status::accepted);
  std::vector<rtlm::request> got;
  std::vector<request_id> cancels;
  const rtlm::drain_counts d = drain_into(intake, got, cancels);
  EXPECT_EQ(d.requests, 0U);
  EXPECT_EQ(cancels, std::vector<request_id>{request_id{2}});
}

TEST(request_intake, slots_are_reused_many_times_over) {
  constexpr std::size_t capacity = 3;
  rtlm::request_intake intake(capacity);
  std::uint64_t next_id = 0;
  std::uint64_t expected_id = 0;
  std::vector<rtlm::request> got;
  got.reserve(capacity);
  std::vector<request_id> cancels;
  for (int round = 0; round < 10000; ++round) {
    // Fill to a varying level (1..capacity), then check the next submit is refused when full.
    const std::size_t n = 1 + static_cast<std::size_t>(round) % capacity;
    for (std::size_t i = 0; i < n; ++i) {
      rtlm::request r = make_request(next_id, "p" + std::to_string(next_id));
      ASSERT_EQ(intake.submit(r), submit_status::accepted) << "round " << round;
      ++next_id;
    }
    if (n == capacity) {
      rtlm::request extra = make_request(next_id);
      ASSERT_EQ(intake.submit(extra), submit_status::queue_full) << "round " << round;
    }
    got.clear();
    ASSERT_EQ(drain_into(intake, got, cancels).requests, n);
    for (const rtlm::request& r : got) {
      ASSERT_EQ(r.id, request_id{expected_id});
      ASSERT_EQ(r.prompt_text, "p" + std::to_string(expected_id));
      ++expected_id;
    }
  }
  EXPECT_EQ(expected_id, next_id);
  EXPECT_TRUE(cancels.empty());
}

}  // namespace
