// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/schedule/intake_pump.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace {

using rtlm::request_id;

rtlm::request make(std::uint64_t id) {
  rtlm::request r;
  r.id = request_id{id};
  r.prompt_tokens = rtlm::tokens(10);
  return r;
}

struct consumer {
  std::set<request_id> live;
  std::vector<request_id> taken, cancelled;
  void pump(rtlm::intake_pump& p, std::size_t room) {
    p.pump(
        room,
        [&](rtlm::request&& r) noexcept {
          taken.push_back(r.id);
          live.insert(r.id);
        },
        [&](request_id id) noexcept {
          cancelled.push_back(id);
          live.erase(id);
        },
        [&](request_id id) noexcept { return live.count(id) > 0; });
  }
};

TEST(intake_pump, a_cancellation_that_overtook_its_request_waits_for_it) {
  rtlm::scheduler_config config;
  config.intake_shards = 1;
  rtlm::intake_pump p(config);
  consumer c;
  for (std::uint64_t id = 1; id <= 3; ++id) {
    rtlm::request r = make(id);
    ASSERT_EQ(p.submit(r), rtlm::submit_status::accepted);
  }
  ASSERT_EQ(p.cancel(request_id{3}), rtlm::cancel_status::accepted);
  EXPECT_TRUE(p.pending());
  c.pump(p, 2);  // room for two: request 3 stays in the intake, its cancellation is deferred
  EXPECT_EQ(c.taken, (std::vector<request_id>{request_id{1}, request_id{2}}));
  EXPECT_TRUE(c.cancelled.empty());
  c.pump(p, 8);  // request 3 arrives, and its cancellation with it
  EXPECT_EQ(c.taken.size(), 3U);
  EXPECT_EQ(c.cancelled, (std::vector<request_id>{request_id{3}}));
  EXPECT_FALSE(p.pending());
}

TEST(intake_pump, a_cancellation_of_an_unknown_id_is_dropped_once_nothing_waits) {
  rtlm::scheduler_config config;
  rtlm::intake_pump p(config);
  consumer c;
  ASSERT_EQ(p.cancel(request_id{42}), rtlm::cancel_status::accepted);
  c.pump(p, 8);
  c.pump(p, 8);
  EXPECT_TRUE(c.cancelled.empty());
  EXPECT_FALSE(p.pending());
}

}  // namespace
