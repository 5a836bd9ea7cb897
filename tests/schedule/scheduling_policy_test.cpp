// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/schedule/scheduling_policy.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "rtlm/core/error.hpp"

// Suites start with scheduling_policy so that --gtest_filter='scheduling_policy*' selects them.
namespace {

using namespace std::chrono_literals;
using rtlm::policy_kind;
using rtlm::queued_request;

constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();

rtlm::time_point at(double s) {
  return rtlm::time_point{} +
         std::chrono::duration_cast<rtlm::duration>(std::chrono::duration<double>(s));
}

struct spec {
  char name;
  double arrival;
  std::optional<double> deadline;
  rtlm::priority_class priority;
  rtlm::tokens::rep prompt;
  std::optional<double> mean;
  double uncertainty;
  rtlm::tokens::rep generated;
  double remaining;
};

queued_request make(const spec& s, std::uint64_t sequence) {
  queued_request q{.id = rtlm::request_id{static_cast<std::uint64_t>(s.name)},
                   .sequence = sequence,
                   .arrival = at(s.arrival),
                   .priority = s.priority,
                   .prompt_tokens = rtlm::tokens(s.prompt),
                   .generated = rtlm::tokens(s.generated),
                   .predicted_remaining = rtlm::seconds(s.remaining)};
  if (s.deadline) q.deadline = at(*s.deadline);
  if (s.mean) {
    q.predicted_length = rtlm::length_estimate{.mean_tokens = *s.mean,
                                               .upper_bound = rtlm::tokens(4096),
                                               .bound_coverage = 0.9,
                                               .uncertainty = s.uncertainty};
  }
  return q;
}

// Five requests chosen so that every policy orders them differently from FCFS. Times in s.
std::vector<queued_request> five() {
  using pc = rtlm::priority_class;
  const std::vector<spec> specs = {
      {'A', 0.0, std::nullopt, pc::standard, 1000, 400.0, 0.0, 0, 4.0},
      {'B', 1.0, 5.0, pc::interactive, 100, 100.0, 5.0, 0, 0.5},
      {'C', 2.0, 30.0, pc::realtime, 2000, 100.0, 0.1, 0, 20.0},
      {'D', 3.0, 8.0, pc::background, 10, 300.0, 0.0, 280, 6.0},
      {'E', 4.0, std::nullopt, pc::standard, 500, std::nullopt, 0.0, 0, 2.0},
  };
  std::vector<queued_request> out;
  out.reserve(specs.size());
  for (std::size_t i = 0; i < specs.size(); ++i) out.push_back(make(specs[i], i));
  return out;
}

// The names of `qs` in serving order under `key`: ascending key, ties by sequence.
template <class Key>
std::string order(const Key& key, std::vector<queued_request> qs) {
  std::sort(qs.begin(), qs.end(), [&](const queued_request& a, const queued_request& b) {
    const auto ka = key(a);
    const auto kb = key(b);
    return ka != kb ? ka < kb : a.sequence < b.sequence;
  });
  std::string names;
  for (const queued_request& q : qs) names += static_cast<char>(rtlm::to_integer(q.id));
  return names;
}

template <rtlm::scheduling_policy P>
std::string order_of(const P& p) {
  return order([&](const queued_request& q) { return p.key(q); }, five());
}

std::string order_of(const rtlm::any_scheduling_policy& p) {
  return order([&](const queued_request& q) { return rtlm::policy_key(p, q); }, five());
}

double key_seconds(rtlm::virtual_time k) { return k.time_since_epoch().count(); }

// The configuration used for the hand-made orders below.
rtlm::policy_config test_config() {
  rtlm::policy_config c;
  c.priority_classes.class_spacing = rtlm::seconds(10.0);
  c.earliest_deadline_first.default_relative_deadline = rtlm::seconds(60.0);
  c.shortest_prompt_first.seconds_per_token = 0.01;
  c.predicted_length.seconds_per_token = 0.01;
  c.predicted_length.default_length_tokens = 256.0;
  c.uncertainty_aware.seconds_per_token = 0.01;
  c.uncertainty_aware.default_length_tokens = 256.0;
  c.uncertainty_aware.uncertainty_weight = 0.5;
  c.uncertainty_aware.max_inflation = 4.0;
  return c;
}

// The expected order of five() per kind under test_config(); keys worked out in the comments.
std::string expected_order(policy_kind kind) {
  switch (kind) {
    case policy_kind::first_come_first_served:
      return "ABCDE";  // arrivals 0..4
    case policy_kind::priority_classes:
      return "CBAED";  // A 0+20, B 1+10, C 2+0, D 3+30, E 4+20
    case policy_kind::earliest_deadline_first:
      return "BDCAE";  // A 0+60, B 5, C 30, D 8, E 4+60
    case policy_kind::shortest_prompt_first:
      return "BDEAC";  // A 0+10, B 1+1, C 2+20, D 3+0.1, E 4+5
    case policy_kind::shortest_predicted_first:
      return "BCADE";  // A 0+4, B 1+1, C 2+1, D 3+3, E 4+2.56 (default length)
    case policy_kind::shortest_predicted_remaining:
      return "BCDAE";  // as above but D: 3 + 0.01 * (300 - 280) = 3.2
    case policy_kind::least_laxity_first:
      return "DBCAE";  // A 60-4, B 5-0.5, C 30-20, D 8-6, E 64-2
    case policy_kind::uncertainty_aware_priority:
      // A 0+4, B 1 + 0.01*100*min(e^2.5, 4) = 5, C 2 + 0.01*100*e^0.05 = 3.05, E 4+2.56,
      // D 3 + 0.01*(300 - 280): what remains of it
      return "CDABE";
    case policy_kind::shortest_remaining_work:
      return "BAEDC";  // A 0+4, B 1+0.5, C 2+20, D 3+6, E 4+2 (predicted remaining seconds)
    case policy_kind::gittins_index:
      // Bounds of 4096 give every prediction sigma = z(0.9): ranks scale with the mean (A 2.53,
      // B 1.63, C 2.63); D is conditioned on its 280 tokens (4.65); E 4 + 2.56.
      return "BACDE";
    case policy_kind::tail_inflated_expectation:
      return "BCEAD";  // 3.5 x the mean (A 14, B 4.5, C 5.5); D 14.52; E 6.56
  }
  return {};
}

TEST(scheduling_policy, fcfs_orders_by_arrival) {
  EXPECT_EQ(order_of(rtlm::first_come_first_served{}), "ABCDE");
}

TEST(scheduling_policy, priority_classes_order_and_key) {
  const rtlm::priority_classes p({.class_spacing = rtlm::seconds(10.0)});
  EXPECT_EQ(order_of(p), "CBAED");
  EXPECT_DOUBLE_EQ(key_seconds(p.key(five()[3])), 33.0);
}

TEST(scheduling_policy, earliest_deadline_first_order_and_key) {
  const rtlm::earliest_deadline_first p({.default_relative_deadline = rtlm::seconds(60.0)});
  EXPECT_EQ(order_of(p), "BDCAE");
  EXPECT_DOUBLE_EQ(key_seconds(p.key(five()[0])), 60.0);  // no deadline: arrival + 60
  EXPECT_DOUBLE_EQ(key_seconds(p.key(five()[1])), 5.0);
}

TEST(scheduling_policy, shortest_prompt_first_order_and_key) {
  const rtlm::shortest_prompt_first p({.seconds_per_token = 0.01});
  EXPECT_EQ(order_of(p), "BDEAC");
  EXPECT_DOUBLE_EQ(key_seconds(p.key(five()[2])), 22.0);
}

TEST(scheduling_policy, shortest_prompt_first_without_aging_is_prompt_length_order) {
  // A huge seconds_per_token makes the prompt length dominate: plain prompt-length order.
  const rtlm::shortest_prompt_first p({.seconds_per_token = 1e6});
  EXPECT_EQ(order_of(p), "DBEAC");  // prompts 10, 100, 500, 1000, 2000
}

TEST(scheduling_policy, shortest_predicted_first_order_and_fallback) {
  const rtlm::shortest_predicted_first p({.seconds_per_token = 0.01, .default_length_tokens = 256});
  EXPECT_EQ(order_of(p), "BCADE");
  EXPECT_DOUBLE_EQ(key_seconds(p.key(five()[4])), 4.0 + 2.56);  // no prediction: 256 tokens
  queued_request bad = five()[0];
  bad.predicted_length->mean_tokens = nan;  // an unusable prediction also falls back
  EXPECT_DOUBLE_EQ(key_seconds(p.key(bad)), 2.56);
}

TEST(scheduling_policy, shortest_predicted_remaining_order_and_floor) {
  const rtlm::shortest_predicted_remaining p(
      {.seconds_per_token = 0.01, .default_length_tokens = 256});
  EXPECT_EQ(order_of(p), "BCDAE");
  queued_request past = five()[3];
  past.generated = rtlm::tokens(1000);  // outlived its prediction: remaining is 1 token
  EXPECT_DOUBLE_EQ(key_seconds(p.key(past)), 3.0 + 0.01);
}

TEST(scheduling_policy, least_laxity_first_order_and_key) {
  const rtlm::least_laxity_first p({.default_relative_deadline = rtlm::seconds(60.0)});
  EXPECT_EQ(order_of(p), "DBCAE");
  EXPECT_DOUBLE_EQ(key_seconds(p.key(five()[3])), 2.0);
  queued_request broken = five()[3];
  broken.predicted_remaining = rtlm::seconds(nan);  // counts as 0: key = deadline
  EXPECT_DOUBLE_EQ(key_seconds(p.key(broken)), 8.0);
}

TEST(scheduling_policy, uncertainty_aware_priority_order_and_inflation) {
  const rtlm::uncertainty_aware_priority p({.seconds_per_token = 0.01,
                                            .default_length_tokens = 256,
                                            .uncertainty_weight = 0.5,
                                            .max_inflation = 4.0});
  EXPECT_EQ(order_of(p), "CDABE");
  const std::vector<queued_request> qs = five();
  EXPECT_DOUBLE_EQ(p.inflated_length(qs[0]), 400.0);                   // u = 0: the mean
  EXPECT_DOUBLE_EQ(p.inflated_length(qs[1]), 400.0);                   // capped at 4x
  EXPECT_DOUBLE_EQ(p.inflated_length(qs[2]), 100.0 * std::exp(0.05));  // mean * e^(0.5 * 0.1)
  EXPECT_DOUBLE_EQ(p.inflated_length(qs[4]), 256.0);                   // no prediction

  queued_request huge = qs[0];
  huge.predicted_length->uncertainty = 1e308;  // exp overflows; the cap holds
  EXPECT_DOUBLE_EQ(p.inflated_length(huge), 1600.0);

  // With class spacing, classes add to the key as in priority_classes.
  const rtlm::uncertainty_aware_priority classed({.class_spacing = rtlm::seconds(10.0)});
  EXPECT_DOUBLE_EQ(key_seconds(classed.key(qs[3])) - key_seconds(p.key(qs[3])), 30.0);
}

TEST(scheduling_policy, ties_break_by_sequence) {
  std::vector<queued_request> qs = five();
  for (queued_request& q : qs) {
    q.arrival = at(7.0);
    q.priority = rtlm::priority_class::standard;
  }
  // Reverse the sequences: equal keys are then served E, D, C, B, A.
  for (std::size_t i = 0; i < qs.size(); ++i) qs[i].sequence = 10 - i;
  const rtlm::first_come_first_served fcfs;
  EXPECT_EQ(order([&](const queued_request& q) { return fcfs.key(q); }, qs), "EDCBA");
  const rtlm::priority_classes classes;
  EXPECT_EQ(order([&](const queued_request& q) { return classes.key(q); }, qs), "EDCBA");
}

TEST(scheduling_policy, runtime_variant_matches_compile_time_types) {
  const rtlm::policy_config c = test_config();
  EXPECT_EQ(order_of(rtlm::first_come_first_served{}),
            expected_order(policy_kind::first_come_first_served));
  EXPECT_EQ(order_of(rtlm::priority_classes(c.priority_classes)),
            expected_order(policy_kind::priority_classes));
  EXPECT_EQ(order_of(rtlm::earliest_deadline_first(c.earliest_deadline_first)),
            expected_order(policy_kind::earliest_deadline_first));
  EXPECT_EQ(order_of(rtlm::shortest_prompt_first(c.shortest_prompt_first)),
            expected_order(policy_kind::shortest_prompt_first));
  EXPECT_EQ(order_of(rtlm::shortest_predicted_first(c.predicted_length)),
            expected_order(policy_kind::shortest_predicted_first));
  EXPECT_EQ(order_of(rtlm::shortest_predicted_remaining(c.predicted_length)),
            expected_order(policy_kind::shortest_predicted_remaining));
  EXPECT_EQ(order_of(rtlm::least_laxity_first(c.earliest_deadline_first)),
            expected_order(policy_kind::least_laxity_first));
  EXPECT_EQ(order_of(rtlm::uncertainty_aware_priority(c.uncertainty_aware)),
            expected_order(policy_kind::uncertainty_aware_priority));
  EXPECT_EQ(order_of(rtlm::shortest_remaining_work(c.remaining_work)),
            expected_order(policy_kind::shortest_remaining_work));
  EXPECT_EQ(order_of(rtlm::gittins_index(c.length_distribution)),
            expected_order(policy_kind::gittins_index));
  EXPECT_EQ(order_of(rtlm::tail_inflated_expectation(c.length_distribution)),
            expected_order(policy_kind::tail_inflated_expectation));
  for (const policy_kind kind : rtlm::all_policy_kinds) {
    const rtlm::any_scheduling_policy p = rtlm::make_policy(kind, c);
    EXPECT_EQ(rtlm::kind_of(p), kind) << rtlm::to_string(kind);
    EXPECT_EQ(p.index(), static_cast<std::size_t>(kind)) << rtlm::to_string(kind);
    EXPECT_EQ(order_of(p), expected_order(kind)) << rtlm::to_string(kind);
  }
}

// Without aging, the key is the remaining work alone: a late short request passes an early long
// one however late it comes (pure SRPT).
TEST(scheduling_policy, shortest_remaining_work_without_aging_is_pure_srpt) {
  const rtlm::shortest_remaining_work aged({.work_weight = 1.0, .age = true});
  const rtlm::shortest_remaining_work pure({.work_weight = 1.0, .age = false});
  queued_request early{};
  early.arrival = rtlm::time_point{} + std::chrono::seconds(0);
  early.predicted_remaining = rtlm::seconds(10.0);
  early.sequence = 0;
  queued_request late = early;
  late.arrival = rtlm::time_point{} + std::chrono::seconds(100);
  late.predicted_remaining = rtlm::seconds(1.0);
  late.sequence = 1;
  EXPECT_LT(aged.key(early), aged.key(late));  // 10 < 101
  EXPECT_GT(pure.key(early), pure.key(late));  // 10 > 1
  EXPECT_DOUBLE_EQ(key_seconds(pure.key(late)), 1.0);
  late.predicted_remaining = rtlm::seconds(std::numeric_limits<double>::quiet_NaN());
  EXPECT_DOUBLE_EQ(key_seconds(pure.key(late)), 0.0);
}

// A prediction as certain as a fit allows: its Gittins rank is its remaining length (SRPT).
TEST(scheduling_policy, gittins_index_of_a_certain_prediction_is_the_remaining_length) {
  const rtlm::gittins_index aged({.seconds_per_token = 0.01});
  const rtlm::gittins_index strict({.seconds_per_token = 0.01, .age = false});
  queued_request q = five()[1];  // arrival 1
  q.predicted_length = rtlm::length_estimate{
      .mean_tokens = 100.0, .upper_bound = rtlm::tokens(100), .bound_coverage = 0.9};
  EXPECT_NEAR(aged.rank(q), 100.0, 1.0);
  EXPECT_NEAR(key_seconds(aged.key(q)), 1.0 + 0.01 * aged.rank(q), 1e-9);
  EXPECT_NEAR(key_seconds(strict.key(q)), 0.01 * aged.rank(q), 1e-9);
  q.generated = rtlm::tokens(60);
  EXPECT_NEAR(aged.rank(q), 40.0, 2.0);
}

// Two predictions with the same mean: the one more likely to end soon ranks first under
// Gittins, and behind under TIE, which charges the long tail that comes with it.
TEST(scheduling_policy, distribution_policies_read_the_spread) {
  queued_request narrow = five()[0];
  narrow.predicted_length = rtlm::length_estimate{
      .mean_tokens = 200.0, .upper_bound = rtlm::tokens(260), .bound_coverage = 0.9};
  queued_request wide = narrow;
  wide.predicted_length->upper_bound = rtlm::tokens(450);
  const rtlm::gittins_index gittins;
  EXPECT_LT(gittins.rank(wide), gittins.rank(narrow));
  EXPECT_LE(gittins.rank(wide), 200.0);  // never above the mean remaining
  const rtlm::tail_inflated_expectation tie({.tail_level = 0.9, .tail_weight = 0.5});
  EXPECT_GT(tie.score(wide), tie.score(narrow));
  const rtlm::tail_inflated_expectation mean_only({.tail_weight = 0.0});
  EXPECT_NEAR(mean_only.score(wide), 200.0, 1e-6);  // beta 0: the mean
  queued_request none = narrow;
  none.predicted_length.reset();
  EXPECT_DOUBLE_EQ(gittins.rank(none), 256.0);  // default_length_tokens, taken as certain
  EXPECT_DOUBLE_EQ(tie.score(none), 256.0);
}

// SRPT on the conditioned remaining length: a request past its predicted mean is not ranked as
// nearly done once the scheduler conditioned its prediction on what it generated.
TEST(scheduling_policy, shortest_predicted_remaining_reads_the_conditioned_length) {
  const rtlm::shortest_predicted_remaining p(
      {.seconds_per_token = 0.01, .default_length_tokens = 256});
  queued_request past = five()[3];  // mean 300
  past.generated = rtlm::tokens(1000);
  past.remaining_tokens =
      rtlm::remaining_length(*past.predicted_length, past.generated).mean_tokens;
  EXPECT_GT(past.remaining_tokens, 100.0);
  EXPECT_DOUBLE_EQ(key_seconds(p.key(past)), 3.0 + 0.01 * past.remaining_tokens);
  // SJF keeps the prediction made at submission, as vLLM's priority does.
  const rtlm::shortest_predicted_first sjf(
      {.seconds_per_token = 0.01, .default_length_tokens = 256});
  EXPECT_DOUBLE_EQ(key_seconds(sjf.key(past)), 3.0 + 0.01 * 300.0);
}

TEST(scheduling_policy, kind_names_round_trip) {
  for (const policy_kind kind : rtlm::all_policy_kinds) {
    EXPECT_EQ(rtlm::policy_kind_from_string(rtlm::to_string(kind)), kind);
  }
  EXPECT_EQ(rtlm::to_string(policy_kind::earliest_deadline_first), "earliest_deadline_first");
  EXPECT_EQ(rtlm::to_string(policy_kind::uncertainty_aware_priority), "uncertainty_aware_priority");
  EXPECT_EQ(rtlm::policy_kind_from_string("edf"), std::nullopt);
  EXPECT_EQ(rtlm::policy_kind_from_string(""), std::nullopt);
  EXPECT_EQ(rtlm::all_policy_kinds.size(), std::variant_size_v<rtlm::any_scheduling_policy>);
}

TEST(scheduling_policy, make_queued_request_copies_the_view) {
  rtlm::request r{.id = rtlm::request_id{9},
                  .prompt_tokens = rtlm::tokens(321),
                  .arrival = at(1.0),
                  .deadline = at(9.0),
                  .time_budget = rtlm::seconds(5.0),
                  .priority = rtlm::priority_class::interactive};
  r.predicted_length = rtlm::length_estimate{
      .mean_tokens = 42.0, .upper_bound = rtlm::tokens(99), .bound_coverage = 0.9};
  r.progress.generated = rtlm::tokens(7);
  const queued_request q = rtlm::make_queued_request(r, 3, rtlm::seconds(1.5));
  EXPECT_EQ(q.id, rtlm::request_id{9});
  EXPECT_EQ(q.sequence, 3U);
  EXPECT_EQ(q.arrival, at(1.0));
  EXPECT_EQ(q.deadline, at(6.0));  // the effective deadline: arrival + budget is earlier
  EXPECT_EQ(q.priority, rtlm::priority_class::interactive);
  EXPECT_EQ(q.prompt_tokens, rtlm::tokens(321));
  ASSERT_TRUE(q.predicted_length.has_value());
  EXPECT_DOUBLE_EQ(q.predicted_length->mean_tokens, 42.0);
  EXPECT_EQ(q.generated, rtlm::tokens(7));
  EXPECT_DOUBLE_EQ(q.predicted_remaining.count(), 1.5);
  static_assert(std::is_trivially_copyable_v<queued_request>);
}

// Expects `make` to throw rtlm::error naming `field`.
void expect_field(const std::function<void()>& make, std::string_view field) {
  try {
    make();
    ADD_FAILURE() << "no error for " << field;
  } catch (const rtlm::error& e) {
    EXPECT_EQ(e.field(), field);
    EXPECT_NE(std::string(e.what()).find(std::string(field)), std::string::npos) << e.what();
  }
}

TEST(scheduling_policy_config, validation_names_the_field) {
  for (const double bad : {nan, inf, -1.0}) {
    SCOPED_TRACE(bad);
    expect_field([&] { rtlm::priority_classes({.class_spacing = rtlm::seconds(bad)}); },
                 "priority_classes_config.class_spacing");
    expect_field(
        [&] { rtlm::earliest_deadline_first({.default_relative_deadline = rtlm::seconds(bad)}); },
        "earliest_deadline_first_config.default_relative_deadline");
    expect_field(
        [&] { rtlm::least_laxity_first({.default_relative_deadline = rtlm::seconds(bad)}); },
        "earliest_deadline_first_config.default_relative_deadline");
    expect_field([&] { rtlm::shortest_prompt_first({.seconds_per_token = bad}); },
                 "shortest_prompt_first_config.seconds_per_token");
    expect_field([&] { rtlm::shortest_predicted_first({.seconds_per_token = bad}); },
                 "predicted_length_config.seconds_per_token");
    expect_field([&] { rtlm::shortest_predicted_first({.default_length_tokens = bad}); },
                 "predicted_length_config.default_length_tokens");
    expect_field([&] { rtlm::shortest_predicted_remaining({.seconds_per_token = bad}); },
                 "predicted_length_config.seconds_per_token");
    expect_field([&] { rtlm::uncertainty_aware_priority({.seconds_per_token = bad}); },
                 "uncertainty_aware_config.seconds_per_token");
    expect_field([&] { rtlm::uncertainty_aware_priority({.default_length_tokens = bad}); },
                 "uncertainty_aware_config.default_length_tokens");
    expect_field([&] { rtlm::uncertainty_aware_priority({.uncertainty_weight = bad}); },
                 "uncertainty_aware_config.uncertainty_weight");
    expect_field([&] { rtlm::uncertainty_aware_priority({.max_inflation = bad}); },
                 "uncertainty_aware_config.max_inflation");
    expect_field([&] { rtlm::uncertainty_aware_priority({.class_spacing = rtlm::seconds(bad)}); },
                 "uncertainty_aware_config.class_spacing");
    expect_field([&] { rtlm::shortest_remaining_work({.work_weight = bad}); },
                 "remaining_work_config.work_weight");
    expect_field([&] { rtlm::gittins_index({.seconds_per_token = bad}); },
                 "length_distribution_config.seconds_per_token");
    expect_field([&] { rtlm::tail_inflated_expectation({.default_length_tokens = bad}); },
                 "length_distribution_config.default_length_tokens");
    expect_field([&] { rtlm::tail_inflated_expectation({.tail_weight = bad}); },
                 "length_distribution_config.tail_weight");
    expect_field([&] { rtlm::gittins_index({.tail_level = bad}); },
                 "length_distribution_config.tail_level");
  }
  expect_field([] { rtlm::tail_inflated_expectation({.tail_level = 1.0}); },
               "length_distribution_config.tail_level");
  expect_field([] { rtlm::uncertainty_aware_priority({.max_inflation = 0.5}); },
               "uncertainty_aware_config.max_inflation");
  // Zero is allowed everywhere it is a weight.
  EXPECT_NO_THROW(rtlm::priority_classes({.class_spacing = rtlm::seconds(0.0)}));
  EXPECT_NO_THROW(rtlm::shortest_predicted_first({.seconds_per_token = 0.0}));
}

TEST(scheduling_policy_config, make_policy_checks_only_the_kind_it_builds) {
  rtlm::policy_config c;
  c.predicted_length.seconds_per_token = -1.0;
  expect_field(
      [&] { static_cast<void>(rtlm::make_policy(policy_kind::shortest_predicted_first, c)); },
      "predicted_length_config.seconds_per_token");
  EXPECT_NO_THROW(static_cast<void>(rtlm::make_policy(policy_kind::earliest_deadline_first, c)));
}

// A user-defined policy: satisfies the concept, and so can order a waiting_queue.
struct longest_prompt_first {
  [[nodiscard]] rtlm::virtual_time key(const queued_request& q) const noexcept {
    return rtlm::virtual_time(rtlm::seconds(-static_cast<double>(q.prompt_tokens.count())));
  }
};
struct throwing_key {
  [[nodiscard]] rtlm::virtual_time key(const queued_request& q) const {
    return rtlm::virtual_time(q.arrival);
  }
};
struct double_key {
  [[nodiscard]] double key(const queued_request& /*q*/) const noexcept { return 0.0; }
};

TEST(scheduling_policy, concept_checks) {
  static_assert(rtlm::scheduling_policy<rtlm::first_come_first_served>);
  static_assert(rtlm::scheduling_policy<rtlm::priority_classes>);
  static_assert(rtlm::scheduling_policy<rtlm::earliest_deadline_first>);
  static_assert(rtlm::scheduling_policy<rtlm::shortest_prompt_first>);
  static_assert(rtlm::scheduling_policy<rtlm::shortest_predicted_first>);
  static_assert(rtlm::scheduling_policy<rtlm::shortest_predicted_remaining>);
  static_assert(rtlm::scheduling_policy<rtlm::least_laxity_first>);
  static_assert(rtlm::scheduling_policy<rtlm::uncertainty_aware_priority>);
  static_assert(rtlm::scheduling_policy<longest_prompt_first>);
  static_assert(!rtlm::scheduling_policy<throwing_key>);  // key() must be noexcept
  static_assert(!rtlm::scheduling_policy<double_key>);    // key() must return a virtual_time
  static_assert(!rtlm::scheduling_policy<int>);
  static_assert(!rtlm::scheduling_policy<rtlm::any_scheduling_policy>);  // use policy_key()
  EXPECT_EQ(order_of(longest_prompt_first{}), "CAEBD");
}

}  // namespace
