// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/sim/serving_metrics.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "estimate/temp_file.hpp"
#include "schedule/linear_estimator.hpp"

namespace {

using namespace rtlm::literals;
using rtlm::test::blamed_field;

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

rtlm::sim::request_record finished_record(double arrival, double first_token, double finish,
                                          std::int64_t output) {
  rtlm::sim::request_record r;
  r.arrival = arrival;
  r.deadline = r.admitted = nan;
  r.ttft_target = r.tpot_target = nan;
  r.first_token = first_token;
  r.finish = finish;
  r.prompt = 10_tok;
  r.output = rtlm::tokens(output);
  r.outcome = rtlm::request_event_kind::finished;
  return r;
}

rtlm::sim::request_record ended_record(rtlm::request_event_kind outcome) {
  rtlm::sim::request_record r;
  r.deadline = r.admitted = r.first_token = r.finish = nan;
  r.ttft_target = r.tpot_target = nan;
  r.prompt = 10_tok;
  r.output = 5_tok;
  r.outcome = outcome;
  return r;
}

// Three finished requests, one refused, one failed, over 10 simulated seconds:
//   0: TTFT 0.5, TPOT (2.5 - 0.5) / 4 = 0.5, latency 2.5 over 5 tokens;
//   1: TTFT 0.2, one token (TPOT 0), latency 0.2 over 1 token;
//   2: TTFT 2, TPOT (6 - 4) / 10 = 0.2, latency 4 over 11 tokens.
rtlm::sim::simulation_result five_requests() {
  rtlm::sim::simulation_result r;
  r.records = {finished_record(0.0, 0.5, 2.5, 5), finished_record(1.0, 1.2, 1.2, 1),
               finished_record(2.0, 4.0, 6.0, 11), ended_record(rtlm::request_event_kind::rejected),
               ended_record(rtlm::request_event_kind::failed)};
  r.records[0].preemptions = 1;
  r.records[0].recomputed = 120_tok;
  r.records[4].preemptions = 2;
  r.records[4].recomputed = 300_tok;
  r.simulated_seconds = 10.0;
  return r;
}

// A refused request counts at its deadline in the mean over all requests; a failed one too.
TEST(serving_metrics, refused_requests_count_at_their_deadline_in_the_mean_over_all) {
  rtlm::sim::simulation_result r = five_requests();
  r.records[3].arrival = 3.0;
  r.records[3].deadline = 9.0;  // refused: counts as 6 s
  r.records[4].arrival = 4.0;
  r.records[4].deadline = 5.0;  // failed: counts as 1 s
  const rtlm::sim::serving_metrics m = rtlm::sim::serving_metrics_of(r);
  EXPECT_DOUBLE_EQ(m.mean_latency_all, (2.5 + 0.2 + 4.0 + 6.0 + 1.0) / 5);
}

TEST(serving_metrics, figures_of_a_hand_built_run) {
  const rtlm::sim::serving_metrics m = rtlm::sim::serving_metrics_of(five_requests());
  EXPECT_EQ(m.requests, 5U);
  EXPECT_EQ(m.finished, 3U);
  EXPECT_DOUBLE_EQ(m.normalized_latency, (2.5 / 5 + 0.2 / 1 + 4.0 / 11) / 3);
  EXPECT_DOUBLE_EQ(m.mean_latency_all, (2.5 + 0.2 + 4.0) / 3);  // the others have no deadline
  // TTFT: 0.2, 0.5, 2 (nearest rank: p50 the 2nd, p90 and p99 the 3rd).
  EXPECT_EQ(m.ttft.count, 3U);
  EXPECT_DOUBLE_EQ(m.ttft.mean, (0.5 + (1.2 - 1.0) + 2.0) / 3);
  EXPECT_EQ(m.ttft.p50, 0.5);
  EXPECT_EQ(m.ttft.p90, 2.0);
  EXPECT_EQ(m.ttft.p99, 2.0);
  // TPOT: of the two requests of more than one token, 0.2 and 0.5.
  EXPECT_EQ(m.tpot.count, 2U);
  EXPECT_DOUBLE_EQ(m.tpot.mean, 0.35);
  EXPECT_DOUBLE_EQ(m.tpot.p50, 0.2);
  EXPECT_EQ(m.tpot.p90, 0.5);
  EXPECT_EQ(m.tpot.p99, 0.5);
  EXPECT_EQ(m.preemptions, 3U);
  EXPECT_EQ(m.recomputed_tokens, 420_tok);
}

TEST(serving_metrics, per_request_times) {
  const rtlm::sim::simulation_result r = five_requests();
  EXPECT_EQ(rtlm::sim::time_to_first_token(r.records[0]), 0.5);
  EXPECT_EQ(rtlm::sim::time_per_output_token(r.records[0]), 0.5);
  EXPECT_EQ(rtlm::sim::time_per_output_token(r.records[1]), 0.0);
  EXPECT_TRUE(std::isnan(rtlm::sim::time_to_first_token(r.records[3])));
  EXPECT_TRUE(std::isnan(rtlm::sim::time_per_output_token(r.records[4])));
}

TEST(serving_metrics, percentiles_are_nearest_rank) {
  rtlm::sim::simulation_result r;
  for (int i = 100; i >= 1; --i) r.records.push_back(finished_record(0.0, i / 100.0, 5.0, 2));
  const rtlm::sim::serving_metrics m = rtlm::sim::serving_metrics_of(r);
  EXPECT_EQ(m.ttft.p50, 50 / 100.0);
  EXPECT_EQ(m.ttft.p90, 90 / 100.0);
  EXPECT_EQ(m.ttft.p99, 99 / 100.0);
  EXPECT_DOUBLE_EQ(m.ttft.mean, 0.505);
}

TEST(serving_metrics, slo_attainment_counts_every_request_and_refusals_as_violations) {
  const rtlm::sim::simulation_result r = five_requests();
  // Bounds met with equality count as met (request 0); request 2's TTFT of 2 s misses.
  rtlm::sim::slo_attainment a =
      rtlm::sim::attainment_of(r, {.ttft = rtlm::seconds(0.5), .tpot = rtlm::seconds(0.5)});
  EXPECT_EQ(a.requests, 5U);
  EXPECT_EQ(a.met, 2U);
  EXPECT_DOUBLE_EQ(a.attainment, 0.4);
  EXPECT_DOUBLE_EQ(a.violation_rate, 0.6);
  EXPECT_DOUBLE_EQ(a.goodput, 0.2);  // 2 requests in 10 s
  // A tight TPOT: only the one-token request, which has no second token to be late.
  a = rtlm::sim::attainment_of(r, {.ttft = rtlm::seconds(2.0), .tpot = rtlm::seconds(0.1)});
  EXPECT_EQ(a.met, 1U);
  // Loose enough for every finished request; the refused and the failed one still miss.
  a = rtlm::sim::attainment_of(r, {.ttft = rtlm::seconds(1e9), .tpot = rtlm::seconds(1e9)});
  EXPECT_EQ(a.met, 3U);
  EXPECT_DOUBLE_EQ(a.violation_rate, 0.4);
  EXPECT_TRUE(
      rtlm::sim::meets(r.records[1], {.ttft = rtlm::seconds(0.2), .tpot = rtlm::seconds(0.0)}));
  EXPECT_FALSE(
      rtlm::sim::meets(r.records[3], {.ttft = rtlm::seconds(1e9), .tpot = rtlm::seconds(1.0)}));
}

TEST(serving_metrics, an_empty_run_has_nothing_to_violate) {
  const rtlm::sim::simulation_result r;
  const rtlm::sim::serving_metrics m = rtlm::sim::serving_metrics_of(r);
  EXPECT_EQ(m.requests, 0U);
  EXPECT_EQ(m.normalized_latency, 0.0);
  EXPECT_EQ(m.ttft.count, 0U);
  EXPECT_EQ(m.ttft.p99, 0.0);
  const rtlm::sim::slo_attainment a = rtlm::sim::attainment_of(r, {});
  EXPECT_EQ(a.attainment, 1.0);
  EXPECT_EQ(a.violation_rate, 0.0);
  EXPECT_EQ(a.goodput, 0.0);
}

TEST(serving_metrics, slo_targets_are_checked) {
  const rtlm::sim::simulation_result r = five_requests();
  const auto blamed = [&](double ttft, double tpot) {
    return blamed_field([&] {
      (void)rtlm::sim::attainment_of(r, {.ttft = rtlm::seconds(ttft), .tpot = rtlm::seconds(tpot)});
    });
  };
  EXPECT_EQ(blamed(-1.0, 0.1), "slo_target.ttft");
  EXPECT_EQ(blamed(nan, 0.1), "slo_target.ttft");
  EXPECT_EQ(blamed(2e9, 0.1), "slo_target.ttft");
  EXPECT_EQ(blamed(1.0, std::numeric_limits<double>::infinity()), "slo_target.tpot");
  EXPECT_EQ(blamed(0.0, 0.0), "");
}

TEST(serving_metrics, each_own_objective_is_met_with_equality_and_missed_beyond_it) {
  // TTFT 0.5, TPOT (2.5 - 0.5) / 4 = 0.5, finish 2.5.
  const rtlm::sim::request_record plain = finished_record(0.0, 0.5, 2.5, 5);
  EXPECT_TRUE(rtlm::sim::meets_own_objectives(plain));  // none: met by finishing
  const auto with = [&](double ttft, double tpot, double deadline) {
    rtlm::sim::request_record r = plain;
    r.ttft_target = ttft;
    r.tpot_target = tpot;
    r.deadline = deadline;
    return rtlm::sim::meets_own_objectives(r);
  };
  EXPECT_TRUE(with(0.5, nan, nan));
  EXPECT_FALSE(with(0.4, nan, nan));
  EXPECT_TRUE(with(nan, 0.5, nan));
  EXPECT_FALSE(with(nan, 0.49, nan));
  EXPECT_TRUE(with(nan, nan, 2.5));
  EXPECT_FALSE(with(nan, nan, 2.4));
  EXPECT_TRUE(with(0.5, 0.5, 2.5));
  EXPECT_FALSE(with(0.5, 0.5, 2.0));
  EXPECT_FALSE(with(0.1, 0.5, 2.5));
  // A one-token output has no TPOT to miss.
  rtlm::sim::request_record one = finished_record(1.0, 1.2, 1.2, 1);
  one.tpot_target = 0.0;
  EXPECT_TRUE(rtlm::sim::meets_own_objectives(one));
  // Ending unfinished misses them, with objectives or without.
  for (const auto outcome : {rtlm::request_event_kind::rejected, rtlm::request_event_kind::failed,
                             rtlm::request_event_kind::cancelled}) {
    rtlm::sim::request_record r = ended_record(outcome);
    EXPECT_FALSE(rtlm::sim::meets_own_objectives(r));
    r.ttft_target = r.tpot_target = 1e9;
    EXPECT_FALSE(rtlm::sim::meets_own_objectives(r));
  }
}

// Seven requests over 10 simulated seconds, in three groups, given out of order:
//   class 0: a (TTFT 0.5 <= 1, TPOT 0.5 <= 0.5: met), b (TTFT 2 > 1, TPOT 0.5: missed), c
//            (refused, with both targets: both missed);
//   class 2: d (no targets, finished at 2 after its deadline of 1.5: missed), e (one token,
//            TPOT target 0: met);
//   none:    f (failed: missed), g (finished, no objectives: met).
rtlm::sim::simulation_result seven_requests_in_classes() {
  rtlm::sim::request_record a = finished_record(0.0, 0.5, 2.5, 5);
  rtlm::sim::request_record b = finished_record(1.0, 3.0, 4.0, 3);
  rtlm::sim::request_record c = ended_record(rtlm::request_event_kind::rejected);
  for (rtlm::sim::request_record* r : {&a, &b, &c}) {
    r->slo_class = 0;
    r->ttft_target = 1.0;
    r->tpot_target = 0.5;
  }
  rtlm::sim::request_record d = finished_record(0.0, 1.0, 2.0, 2);
  d.deadline = 1.5;
  rtlm::sim::request_record e = finished_record(0.0, 0.1, 0.2, 1);
  e.tpot_target = 0.0;
  d.slo_class = e.slo_class = 2;
  const rtlm::sim::request_record f = ended_record(rtlm::request_event_kind::failed);
  const rtlm::sim::request_record g = finished_record(0.0, 1.0, 3.0, 4);
  rtlm::sim::simulation_result r;
  r.records = {d, f, a, e, b, g, c};
  r.simulated_seconds = 10.0;
  return r;
}

TEST(serving_metrics, class_attainment_counts_each_class_and_the_classless_last) {
  const std::vector<rtlm::sim::class_attainment> classes =
      rtlm::sim::class_attainment_of(seven_requests_in_classes());
  ASSERT_EQ(classes.size(), 3U);

  const rtlm::sim::class_attainment& zero = classes[0];
  EXPECT_EQ(zero.slo_class, 0U);
  EXPECT_EQ(zero.requests, 3U);
  EXPECT_EQ(zero.finished, 2U);
  EXPECT_EQ(zero.met, 1U);
  EXPECT_DOUBLE_EQ(zero.ttft_attainment, 1.0 / 3);  // the refused one misses too
  EXPECT_DOUBLE_EQ(zero.tpot_attainment, 2.0 / 3);
  EXPECT_DOUBLE_EQ(zero.attainment, 1.0 / 3);
  EXPECT_DOUBLE_EQ(zero.goodput, 0.1);
  EXPECT_DOUBLE_EQ(zero.throughput, 0.2);

  const rtlm::sim::class_attainment& two = classes[1];
  EXPECT_EQ(two.slo_class, 2U);
  EXPECT_EQ(two.requests, 2U);
  EXPECT_EQ(two.finished, 2U);
  EXPECT_EQ(two.met, 1U);
  EXPECT_EQ(two.ttft_attainment, 1.0);  // none has a TTFT target
  EXPECT_EQ(two.tpot_attainment, 1.0);  // e's TPOT of 0
  EXPECT_EQ(two.attainment, 0.5);
  EXPECT_DOUBLE_EQ(two.goodput, 0.1);
  EXPECT_DOUBLE_EQ(two.throughput, 0.2);

  const rtlm::sim::class_attainment& none = classes[2];
  EXPECT_EQ(none.slo_class, rtlm::sim::no_slo_class);
  EXPECT_EQ(none.requests, 2U);
  EXPECT_EQ(none.finished, 1U);
  EXPECT_EQ(none.met, 1U);
  EXPECT_EQ(none.ttft_attainment, 1.0);
  EXPECT_EQ(none.tpot_attainment, 1.0);
  EXPECT_EQ(none.attainment, 0.5);
  EXPECT_DOUBLE_EQ(none.goodput, 0.1);
  EXPECT_DOUBLE_EQ(none.throughput, 0.1);

  const rtlm::sim::objective_summary all = rtlm::sim::objectives_of(seven_requests_in_classes());
  EXPECT_EQ(all.requests, 7U);
  EXPECT_EQ(all.met, 3U);  // a, e, g
  EXPECT_DOUBLE_EQ(all.attainment, 3.0 / 7);
  EXPECT_DOUBLE_EQ(all.goodput, 0.3);
}

TEST(serving_metrics, class_attainment_has_no_classless_entry_without_classless_requests) {
  rtlm::sim::simulation_result r = seven_requests_in_classes();
  std::erase_if(r.records, [](const rtlm::sim::request_record& x) {
    return x.slo_class == rtlm::sim::no_slo_class;
  });
  r.simulated_seconds = 0.0;
  const std::vector<rtlm::sim::class_attainment> classes = rtlm::sim::class_attainment_of(r);
  ASSERT_EQ(classes.size(), 2U);
  EXPECT_EQ(classes[0].slo_class, 0U);
  EXPECT_EQ(classes[1].slo_class, 2U);
  EXPECT_EQ(classes[1].goodput, 0.0);  // no simulated time
  EXPECT_EQ(classes[1].throughput, 0.0);
  EXPECT_EQ(rtlm::sim::objectives_of(r).goodput, 0.0);

  const rtlm::sim::simulation_result empty;
  EXPECT_TRUE(rtlm::sim::class_attainment_of(empty).empty());
  const rtlm::sim::objective_summary none = rtlm::sim::objectives_of(empty);
  EXPECT_EQ(none.requests, 0U);
  EXPECT_EQ(none.attainment, 1.0);
  EXPECT_EQ(none.goodput, 0.0);
}

TEST(fairness_metrics, jain_index_of_known_vectors) {
  EXPECT_EQ(rtlm::sim::jain_index(std::vector<double>{1.0, 1.0, 1.0}), 1.0);
  EXPECT_EQ(rtlm::sim::jain_index(std::vector<double>{1.0, 0.0}), 0.5);
  EXPECT_EQ(rtlm::sim::jain_index(std::vector<double>{0.0, 0.0, 5.0, 0.0}), 0.25);
  EXPECT_DOUBLE_EQ(rtlm::sim::jain_index(std::vector<double>{1.0, 2.0, 3.0}), 36.0 / 42.0);
  EXPECT_EQ(rtlm::sim::jain_index({}), 1.0);
  EXPECT_EQ(rtlm::sim::jain_index(std::vector<double>{0.0, 0.0}), 1.0);
  // Scaled by the largest value, so squares this large do not overflow.
  EXPECT_EQ(rtlm::sim::jain_index(std::vector<double>{1e200, 1e200}), 1.0);
  EXPECT_DOUBLE_EQ(rtlm::sim::jain_index(std::vector<double>{1e300, 0.0}), 0.5);
}

TEST(fairness_metrics, jain_index_refuses_negative_and_non_finite_values) {
  const auto blamed = [](std::vector<double> x) {
    return blamed_field([&] { (void)rtlm::sim::jain_index(x); });
  };
  EXPECT_EQ(blamed({1.0, -1.0}), "jain_index");
  EXPECT_EQ(blamed({nan}), "jain_index");
  EXPECT_EQ(blamed({1.0, std::numeric_limits<double>::infinity()}), "jain_index");
  EXPECT_EQ(blamed({0.0, 1.0}), "");
}

rtlm::sim::request_record tenant_record(std::uint32_t tenant, double arrival, double first_token,
                                        double finish, std::int64_t prompt, std::int64_t output) {
  rtlm::sim::request_record r = finished_record(arrival, first_token, finish, output);
  r.tenant = tenant;
  r.prompt = rtlm::tokens(prompt);
  return r;
}

// Weights 1 (prefill) and 2 (decode), a window ending at 10 s:
//   tenant 0 (light): prompt 10, output 5, from 1 s to `light_finish` (its first token at
//     `light_first`): demand 10 + 2 x 5 = 20;
//   tenant 1 (heavy): prompt 100, output 51, first token at 2 s, finished at 12 s: by 10 s,
//     100 + 2 x 1 + 2 x 50 x 8 / 10 = 182 of its 202; and prompt 50, output 10, arrived at 5 s
//     and refused: 0 of 70; demand 272;
//   tenant 7: prompt 1,000 arriving at 11 s, after the window: no demand.
rtlm::sim::simulation_result light_and_heavy(double light_first, double light_finish) {
  rtlm::sim::request_record refused = ended_record(rtlm::request_event_kind::rejected);
  refused.tenant = 1;
  refused.arrival = 5.0;
  refused.prompt = 50_tok;
  refused.output = 10_tok;
  rtlm::sim::simulation_result r;
  r.records = {tenant_record(1, 0.0, 2.0, 12.0, 100, 51),
               tenant_record(0, 1.0, light_first, light_finish, 10, 5), refused,
               tenant_record(7, 11.0, 12.0, 13.0, 1000, 3)};
  r.simulated_seconds = 13.0;
  return r;
}

TEST(fairness_metrics, a_light_tenant_served_in_full_is_served_fairly) {
  // Tenant 0 is served in full (20): of the 202 delivered, an equal split is 101, above its
  // demand, so its fair share is its demand, 20, and tenant 1's the other 182.
  const rtlm::sim::fairness_report f =
      rtlm::sim::fairness_of(light_and_heavy(2.0, 4.0), 1.0, 2.0, 10.0);
  ASSERT_EQ(f.tenants.size(), 3U);
  const rtlm::sim::tenant_service& light = f.tenants[0];
  EXPECT_EQ(light.tenant, 0U);
  EXPECT_EQ(light.requests, 1U);
  EXPECT_EQ(light.demand, 20.0);
  EXPECT_EQ(light.service, 20.0);
  EXPECT_EQ(light.fair_share, 20.0);
  EXPECT_EQ(light.share_ratio, 1.0);
  const rtlm::sim::tenant_service& heavy = f.tenants[1];
  EXPECT_EQ(heavy.tenant, 1U);
  EXPECT_EQ(heavy.requests, 2U);
  EXPECT_EQ(heavy.demand, 272.0);
  EXPECT_DOUBLE_EQ(heavy.service, 182.0);
  EXPECT_DOUBLE_EQ(heavy.fair_share, 182.0);
  EXPECT_DOUBLE_EQ(heavy.share_ratio, 1.0);
  const rtlm::sim::tenant_service& late = f.tenants[2];
  EXPECT_EQ(late.tenant, 7U);
  EXPECT_EQ(late.requests, 0U);
  EXPECT_EQ(late.demand, 0.0);
  EXPECT_EQ(late.service, 0.0);
  EXPECT_EQ(late.fair_share, 0.0);
  EXPECT_EQ(late.share_ratio, 1.0);
  EXPECT_DOUBLE_EQ(f.jain, 1.0);
}

TEST(fairness_metrics, a_starved_light_tenant_lowers_the_index) {
  // Tenant 0's first token at 9 s and its last at 13 s: by 10 s, 10 + 2 x 1 + 2 x 4 x 1 / 4 =
  // 14 of its 20. Of the 196 delivered its fair share is still its demand, 20; tenant 1's is
  // 176, and it got 182.
  const rtlm::sim::fairness_report f =
      rtlm::sim::fairness_of(light_and_heavy(9.0, 13.0), 1.0, 2.0, 10.0);
  ASSERT_EQ(f.tenants.size(), 3U);
  EXPECT_DOUBLE_EQ(f.tenants[0].service, 14.0);
  EXPECT_EQ(f.tenants[0].fair_share, 20.0);
  EXPECT_DOUBLE_EQ(f.tenants[0].share_ratio, 0.7);
  EXPECT_DOUBLE_EQ(f.tenants[1].fair_share, 176.0);
  EXPECT_DOUBLE_EQ(f.tenants[1].share_ratio, 182.0 / 176.0);
  const double a = 0.7;
  const double b = 182.0 / 176.0;
  EXPECT_DOUBLE_EQ(f.jain, (a + b) * (a + b) / (2 * (a * a + b * b)));  // tenant 7 left out
  EXPECT_LT(f.jain, 0.97);
}

TEST(fairness_metrics, tenants_demanding_more_than_an_equal_split_share_it_equally) {
  // Prefill only: each tenant demands 100 and 80 is delivered, 60 to tenant 0 and 20 to
  // tenant 1 (a queued request has no first token). The fair shares are 40 each; the ratios 1.5
  // and 0.5, and Jain's index 2^2 / (2 (1.5^2 + 0.5^2)) = 0.8.
  rtlm::sim::request_record queued0 = ended_record(rtlm::request_event_kind::queued);
  queued0.prompt = 40_tok;
  rtlm::sim::request_record queued1 = queued0;
  queued1.tenant = 1;
  queued1.prompt = 80_tok;
  rtlm::sim::simulation_result r;
  r.records = {tenant_record(0, 0.0, 1.0, 2.0, 60, 3), queued0,
               tenant_record(1, 0.0, 3.0, 4.0, 20, 3), queued1};
  const rtlm::sim::fairness_report f = rtlm::sim::fairness_of(r, 1.0, 0.0, 10.0);
  ASSERT_EQ(f.tenants.size(), 2U);
  EXPECT_EQ(f.tenants[0].demand, 100.0);
  EXPECT_EQ(f.tenants[0].service, 60.0);
  EXPECT_EQ(f.tenants[0].fair_share, 40.0);
  EXPECT_EQ(f.tenants[0].share_ratio, 1.5);
  EXPECT_EQ(f.tenants[1].demand, 100.0);
  EXPECT_EQ(f.tenants[1].service, 20.0);
  EXPECT_EQ(f.tenants[1].fair_share, 40.0);
  EXPECT_EQ(f.tenants[1].share_ratio, 0.5);
  EXPECT_DOUBLE_EQ(f.jain, 0.8);
}

TEST(fairness_metrics, decode_tokens_count_uniformly_up_to_the_window_end) {
  // Prompt 10 and output 5: the prompt and the first token at 2 s, the other 4 tokens spread
  // over [2, 6].
  rtlm::sim::simulation_result r;
  r.records = {tenant_record(0, 0.0, 2.0, 6.0, 10, 5)};
  const auto service = [&](double prefill, double decode, double window_end) {
    const rtlm::sim::fairness_report f = rtlm::sim::fairness_of(r, prefill, decode, window_end);
    return f.tenants.at(0).service;
  };
  EXPECT_EQ(service(1.0, 1.0, 1.0), 0.0);  // arrived, no first token yet
  EXPECT_EQ(service(1.0, 1.0, 2.0), 11.0);
  EXPECT_EQ(service(1.0, 1.0, 3.0), 12.0);
  EXPECT_EQ(service(1.0, 1.0, 4.0), 13.0);
  EXPECT_EQ(service(1.0, 1.0, 6.0), 15.0);
  EXPECT_EQ(service(1.0, 1.0, 100.0), 15.0);
  EXPECT_EQ(service(0.5, 2.0, 4.0), 5.0 + 2.0 + 2.0 * 2);
  EXPECT_EQ(service(1.0, 0.0, 100.0), 10.0);
  EXPECT_EQ(rtlm::sim::fairness_of(r, 1.0, 1.0, 1.0).tenants.at(0).demand, 15.0);
  // Before its arrival it demands nothing.
  const rtlm::sim::fairness_report before = rtlm::sim::fairness_of(r, 1.0, 1.0, -1.0);
  EXPECT_EQ(before.tenants.at(0).requests, 0U);
  EXPECT_EQ(before.tenants.at(0).demand, 0.0);
  EXPECT_EQ(before.jain, 1.0);
  // One that failed after its first token counts nothing beyond it.
  r.records[0].outcome = rtlm::request_event_kind::failed;
  r.records[0].finish = nan;
  EXPECT_EQ(service(1.0, 1.0, 100.0), 11.0);
  // One token made at once counts in full.
  r.records = {tenant_record(0, 0.0, 2.0, 2.0, 10, 1)};
  EXPECT_EQ(service(1.0, 1.0, 2.0), 11.0);
}

TEST(fairness_metrics, an_empty_run_is_fair) {
  const rtlm::sim::fairness_report f = rtlm::sim::fairness_of({}, 1.0, 1.0, 10.0);
  EXPECT_TRUE(f.tenants.empty());
  EXPECT_EQ(f.jain, 1.0);
}

TEST(fairness_metrics, bad_weights_and_window_ends_are_named) {
  const rtlm::sim::simulation_result r = five_requests();
  const auto blamed = [&](double prefill, double decode, double window_end) {
    return blamed_field([&] { (void)rtlm::sim::fairness_of(r, prefill, decode, window_end); });
  };
  EXPECT_EQ(blamed(-1.0, 1.0, 1.0), "prefill_weight");
  EXPECT_EQ(blamed(nan, 1.0, 1.0), "prefill_weight");
  EXPECT_EQ(blamed(1.0, -0.5, 1.0), "decode_weight");
  EXPECT_EQ(blamed(1.0, std::numeric_limits<double>::infinity(), 1.0), "decode_weight");
  EXPECT_EQ(blamed(1.0, 1.0, nan), "window_end");
  EXPECT_EQ(blamed(1.0, 1.0, -std::numeric_limits<double>::infinity()), "window_end");
  EXPECT_EQ(blamed(0.0, 0.0, -5.0), "");
}

// One sequence at a time, no noise, shortest-predicted-first with preemption for priority
// (simulation_test's scenario): request 0 (prompt 100, output 1,000) runs alone from 0 s;
// request 1 (prompt 100, output 2) arrives at 1 s and takes its place at the first step end
// after that. The prefill takes 10 ms + 100 x 0.1 ms = 20 ms and makes the first token; each
// decode step 10.5 ms. The 94th decode ends at 0.020 + 94 x 0.0105 = 1.007 s >= 1 s: request 0
// has made 95 tokens, and a recompute throws away its prompt and those, 195 tokens.
rtlm::sim::simulation_result preempted_by_priority(bool swap) {
  static const rtlm::test::linear_estimator e;
  rtlm::sim::trace t;
  t.requests = {{.arrival = 0.0, .prompt = 100_tok, .output = 1000_tok},
                {.arrival = 1.0, .prompt = 100_tok, .output = 2_tok}};
  rtlm::sim::simulation_config c;
  c.scheduler.policy = rtlm::policy_kind::shortest_predicted_first;
  c.scheduler.preempt_for_priority = true;
  rtlm::sim::backend_spec b;
  b.config.capabilities.name = "server";
  b.config.capabilities.kv_capacity = 1'000'000_tok;
  b.config.capabilities.max_batch_size = 1;
  b.config.capabilities.can_preempt_recompute = true;
  b.config.capabilities.can_preempt_swap = swap;
  b.estimator = &e;
  c.backends = {b};
  c.deadlines.rule = rtlm::sim::deadline_rule::kind::none;
  c.predict = rtlm::sim::true_length;
  return rtlm::sim::simulate(t, c);
}

TEST(serving_metrics, a_recompute_counts_the_prompt_and_the_tokens_made_so_far) {
  const rtlm::sim::simulation_result r = preempted_by_priority(false);
  ASSERT_TRUE(r.records[0].finished() && r.records[1].finished());
  EXPECT_EQ(r.records[0].preemptions, 1U);
  EXPECT_EQ(r.records[0].recomputed, 195_tok);
  EXPECT_EQ(r.records[1].recomputed, 0_tok);
  // The backend did prefill those 195 tokens again: request 1 runs from 1.007 s (its prefill,
  // 20 ms, then one decode, 10.5 ms), then request 0's recompute (10 ms + 195 x 0.1 ms), which
  // makes its 96th token, then its last 904 decodes.
  const double recompute_start = 1.007 + 0.020 + 0.0105;
  EXPECT_NEAR(r.records[0].finish, recompute_start + 0.010 + 195 * 0.0001 + 904 * 0.0105, 1e-6);
  const rtlm::sim::serving_metrics m = rtlm::sim::serving_metrics_of(r);
  EXPECT_EQ(m.preemptions, 1U);
  EXPECT_EQ(m.recomputed_tokens, 195_tok);
}

TEST(serving_metrics, a_swap_recomputes_nothing) {
  const rtlm::sim::simulation_result r = preempted_by_priority(true);
  ASSERT_TRUE(r.records[0].finished() && r.records[1].finished());
  EXPECT_EQ(r.records[0].preemptions, 1U);
  EXPECT_EQ(r.records[0].recomputed, 0_tok);
}

// KV pressure: two requests of 40-token prompts admitted side by side on a backend that holds
// 100 tokens, each predicted to need a single output token, so they reserve 41 each and then
// outgrow it together, one token a step each. The KV runs out while both decode: the capacity
// stage preempts one (the later under FCFS) and recomputes it once the other has finished.
rtlm::sim::simulation_result preempted_by_kv(bool swap) {
  static const rtlm::test::linear_estimator e;
  rtlm::sim::trace t;
  t.requests = {{.arrival = 0.0, .prompt = 40_tok, .output = 30_tok},
                {.arrival = 0.0, .prompt = 40_tok, .output = 30_tok}};
  rtlm::sim::simulation_config c;
  c.scheduler.policy = rtlm::policy_kind::first_come_first_served;
  rtlm::sim::backend_spec b;
  b.config.capabilities.name = "tiny";
  b.config.capabilities.kv_capacity = 100_tok;
  b.config.capabilities.max_batch_size = 2;
  b.config.capabilities.can_preempt_recompute = true;
  b.config.capabilities.can_preempt_swap = swap;
  b.estimator = &e;
  c.backends = {b};
  c.deadlines.rule = rtlm::sim::deadline_rule::kind::none;
  c.predict = [](std::size_t, const rtlm::sim::trace_request&) {
    return std::optional<rtlm::length_estimate>(rtlm::length_estimate{
        .mean_tokens = 1.0, .upper_bound = 1_tok, .bound_coverage = 0.9, .uncertainty = 0.0});
  };
  return rtlm::sim::simulate(t, c);
}

TEST(serving_metrics, kv_pressure_recomputes_what_the_victim_held) {
  const rtlm::sim::simulation_result r = preempted_by_kv(false);
  ASSERT_TRUE(r.records[0].finished() && r.records[1].finished());
  EXPECT_EQ(r.records[0].preemptions + r.records[1].preemptions, 1U);
  const rtlm::sim::request_record& victim = r.records[r.records[0].preemptions == 1 ? 0 : 1];
  // Both hold 40 + g - 1 entries after g tokens (the last token's entry is written by the next
  // decode), and the next decode needs one more each: 2 (40 + g) > 100 first at g = 11, so the
  // victim has made 11 tokens: 40 + 11 are prefilled again.
  EXPECT_EQ(victim.recomputed, 51_tok);
  EXPECT_EQ(rtlm::sim::serving_metrics_of(r).recomputed_tokens, 51_tok);
}

TEST(serving_metrics, kv_pressure_on_a_backend_that_swaps_recomputes_nothing) {
  const rtlm::sim::simulation_result r = preempted_by_kv(true);
  ASSERT_TRUE(r.records[0].finished() && r.records[1].finished());
  EXPECT_EQ(r.records[0].preemptions + r.records[1].preemptions, 1U);
  EXPECT_EQ(rtlm::sim::serving_metrics_of(r).recomputed_tokens, 0_tok);
}

TEST(sustainable_rate, a_linear_violation_curve_crosses_the_target_at_its_closed_form) {
  // violations(x) = (x - 3) / 10 on [3, 13]: 10% at x = 4 exactly. From [0, 16] to 2^-10 s of
  // precision: 16 x 2^10 = 2^14, so 14 halvings after lo and hi, each at a dyadic point, exact.
  const auto f = [](double x) { return std::clamp((x - 3.0) / 10.0, 0.0, 1.0); };
  const rtlm::sim::sustainable_rate_result r = rtlm::sim::sustainable_rate(
      f, {.lo = 0.0, .hi = 16.0, .target = 0.1, .tolerance = 1.0 / 1024});
  EXPECT_EQ(r.outcome, rtlm::sim::rate_search_outcome::found);
  ASSERT_TRUE(r.load && r.violating_load);
  EXPECT_EQ(*r.load, 4.0);
  EXPECT_EQ(*r.violating_load, 4.0 + 1.0 / 1024);
  EXPECT_EQ(r.evaluations(), 16U);
  ASSERT_GE(r.probes.size(), 3U);
  EXPECT_EQ(r.probes[0].load, 0.0);
  EXPECT_EQ(r.probes[1].load, 16.0);
  EXPECT_EQ(r.probes[1].violations, 1.0);
  EXPECT_EQ(r.probes[2].load, 8.0);
  EXPECT_EQ(r.probes[2].violations, 0.5);
}

TEST(sustainable_rate, a_smooth_curve_is_bracketed_within_the_tolerance) {
  // violations(x) = 1 - e^-x: 1% at x = -ln(0.99) = 0.0100503...
  const auto f = [](double x) { return 1.0 - std::exp(-x); };
  const double threshold = -std::log(0.99);
  const rtlm::sim::sustainable_rate_result r =
      rtlm::sim::sustainable_rate(f, {.lo = 0.0, .hi = 1.0, .target = 0.01, .tolerance = 1e-6});
  ASSERT_EQ(r.outcome, rtlm::sim::rate_search_outcome::found);
  EXPECT_LE(*r.load, threshold);
  EXPECT_GT(*r.violating_load, threshold);
  EXPECT_LE(*r.violating_load - *r.load, 1e-6);
  EXPECT_EQ(r.evaluations(), 2U + 20U);  // ceil(log2(1 / 1e-6)) = 20 halvings
  for (const rtlm::sim::rate_probe& p : r.probes) EXPECT_EQ(p.violations, f(p.load));
}

TEST(sustainable_rate, a_step_at_the_threshold_is_found) {
  const auto f = [](double x) { return x > 2.5 ? 1.0 : 0.0; };
  const rtlm::sim::sustainable_rate_result r =
      rtlm::sim::sustainable_rate(f, {.lo = 1.0, .hi = 7.0, .target = 0.01, .tolerance = 0.001});
  ASSERT_EQ(r.outcome, rtlm::sim::rate_search_outcome::found);
  EXPECT_LE(*r.load, 2.5);
  EXPECT_GT(*r.violating_load, 2.5);
  EXPECT_LE(*r.violating_load - *r.load, 0.001);
}

TEST(sustainable_rate, even_lo_violating_and_hi_still_meeting_are_said) {
  std::size_t calls = 0;
  const rtlm::sim::sustainable_rate_result low = rtlm::sim::sustainable_rate(
      [&](double) {
        ++calls;
        return 0.5;
      },
      {.lo = 1.0, .hi = 2.0, .target = 0.1, .tolerance = 0.01});
  EXPECT_EQ(low.outcome, rtlm::sim::rate_search_outcome::lo_violates);
  EXPECT_FALSE(low.load.has_value());
  EXPECT_EQ(low.violating_load, 1.0);
  EXPECT_EQ(low.evaluations(), 1U);
  EXPECT_EQ(calls, 1U);

  const rtlm::sim::sustainable_rate_result high = rtlm::sim::sustainable_rate(
      [](double x) { return x / 100.0; }, {.lo = 1.0, .hi = 2.0, .target = 0.1, .tolerance = 0.01});
  EXPECT_EQ(high.outcome, rtlm::sim::rate_search_outcome::hi_meets);
  EXPECT_EQ(high.load, 2.0);
  EXPECT_FALSE(high.violating_load.has_value());
  EXPECT_EQ(high.evaluations(), 2U);
}

TEST(sustainable_rate, a_tolerance_below_the_doubles_spacing_still_ends) {
  const rtlm::sim::sustainable_rate_result r =
      rtlm::sim::sustainable_rate([](double x) { return x > 0.3 ? 1.0 : 0.0; },
                                  {.lo = 0.0, .hi = 1.0, .target = 0.0, .tolerance = 1e-300});
  ASSERT_EQ(r.outcome, rtlm::sim::rate_search_outcome::found);
  EXPECT_EQ(std::nextafter(*r.load, 1.0), *r.violating_load);  // adjacent doubles
  EXPECT_LT(r.evaluations(), 80U);
}

TEST(sustainable_rate, outcomes_have_names) {
  using outcome = rtlm::sim::rate_search_outcome;
  EXPECT_EQ(rtlm::sim::to_string(outcome::found), "found");
  EXPECT_EQ(rtlm::sim::to_string(outcome::lo_violates), "lo_violates");
  EXPECT_EQ(rtlm::sim::to_string(outcome::hi_meets), "hi_meets");
  EXPECT_EQ(rtlm::sim::to_string(static_cast<outcome>(3)), "unknown");
}

TEST(sustainable_rate, bad_searches_and_bad_values_are_named) {
  const auto f = [](double x) { return x / 10.0; };
  const auto blamed = [&](rtlm::sim::rate_search s) {
    return blamed_field([&] { (void)rtlm::sim::sustainable_rate(f, s); });
  };
  EXPECT_EQ(blamed({.lo = nan}), "rate_search.lo");
  EXPECT_EQ(blamed({.lo = 1.0, .hi = 1.0}), "rate_search.hi");
  EXPECT_EQ(blamed({.lo = 0.0, .hi = std::numeric_limits<double>::infinity()}), "rate_search.hi");
  EXPECT_EQ(blamed({.target = 1.0}), "rate_search.target");
  EXPECT_EQ(blamed({.target = -0.1}), "rate_search.target");
  EXPECT_EQ(blamed({.target = nan}), "rate_search.target");
  EXPECT_EQ(blamed({.tolerance = 0.0}), "rate_search.tolerance");
  EXPECT_EQ(blamed({.tolerance = nan}), "rate_search.tolerance");
  EXPECT_EQ(blamed({}), "");
  EXPECT_EQ(blamed_field([] { (void)rtlm::sim::sustainable_rate([](double) { return 1.5; }, {}); }),
            "violations(0)");
  EXPECT_EQ(blamed_field([] {
              (void)rtlm::sim::sustainable_rate([](double x) { return x > 0.5 ? nan : 0.0; }, {});
            }),
            "violations(1)");
}

}  // namespace
