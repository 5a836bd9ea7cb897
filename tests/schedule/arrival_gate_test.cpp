// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/schedule/arrival_gate.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "schedule/part_fixture.hpp"

namespace {

using rtlm::request_event_reason;
using rtlm::tokens;
using policy = rtlm::first_come_first_served;

struct gate_fixture {
  explicit gate_fixture(rtlm::scheduler_config c = rtlm::test::part_fixture<>::small_config())
      : config(c), table(4), gate(config) {
    for (const tokens kv : {tokens(500), tokens(10'000)}) {
      auto caps = rtlm::test::part_fixture<>::default_caps();
      caps.kv_capacity = kv;
      backends.push_back(std::make_unique<rtlm::testing::fake_backend>(
          rtlm::testing::fake_backend_config{.capabilities = caps}));
      lanes.push_back(std::make_unique<rtlm::backend_lane<policy>>(*backends.back(), estimator,
                                                                   policy{}, config));
    }
    gate.reserve(lanes.size());
  }
  rtlm::scheduled_request<policy>& fresh(tokens prompt, std::optional<double> deadline = {}) {
    rtlm::request r;
    r.id = rtlm::request_id{1};
    r.prompt_tokens = prompt;
    if (deadline) r.deadline = rtlm::test::at_seconds(*deadline);
    auto& t = table.next_free();
    t.take(std::move(r), 0, config.default_output_tokens);
    return t;
  }
  rtlm::scheduler_config config;
  rtlm::test::linear_estimator estimator;
  std::vector<std::unique_ptr<rtlm::testing::fake_backend>> backends;
  rtlm::arrival_gate<policy>::lanes lanes;
  rtlm::request_table<policy> table;
  rtlm::arrival_gate<policy> gate;
};

TEST(arrival_gate, a_request_goes_only_where_its_kv_fits) {
  gate_fixture g;
  const rtlm::gate_verdict v =
      g.gate.judge(g.fresh(tokens(1000)), g.lanes, rtlm::test::at_seconds(0));
  ASSERT_TRUE(v.queued);
  EXPECT_EQ(v.backend, 1U);  // 1000 + 256 does not fit backend 0's 500
  EXPECT_GT(v.service.count(), 0.0);
  const rtlm::gate_verdict none =
      g.gate.judge(g.fresh(tokens(20'000)), g.lanes, rtlm::test::at_seconds(0));
  EXPECT_FALSE(none.queued);
  EXPECT_EQ(none.reason, request_event_reason::too_long);
}

TEST(arrival_gate, admission_control_refuses_a_deadline_no_backend_can_meet) {
  gate_fixture g;
  const rtlm::gate_verdict v =
      g.gate.judge(g.fresh(tokens(100), 0.001), g.lanes, rtlm::test::at_seconds(0));
  EXPECT_FALSE(v.queued);
  EXPECT_EQ(v.reason, request_event_reason::prefill_too_long);
  EXPECT_TRUE(g.gate.judge(g.fresh(tokens(100), 60.0), g.lanes, rtlm::test::at_seconds(0)).queued);
}

TEST(arrival_gate, downgrade_keeps_the_request_as_best_effort) {
  auto config = rtlm::test::part_fixture<>::small_config();
  config.admission = rtlm::admission_mode::downgrade;
  gate_fixture g(config);
  auto& t = g.fresh(tokens(100), 0.001);
  const rtlm::gate_verdict v = g.gate.judge(t, g.lanes, rtlm::test::at_seconds(0));
  EXPECT_TRUE(v.queued);
  EXPECT_EQ(v.changed, rtlm::request_event_kind::downgraded);
  EXPECT_FALSE(t.r.deadline);
  EXPECT_FALSE(t.deadline);
  EXPECT_EQ(t.r.priority, rtlm::priority_class::background);
}

}  // namespace
