// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/core/request.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>

namespace {

using namespace std::chrono_literals;
using namespace rtlm::literals;

const rtlm::time_point t0 = rtlm::time_point{} + 100s;

rtlm::request base_request() {
  return rtlm::request{.id = rtlm::request_id{1}, .prompt_tokens = 512_tok, .arrival = t0};
}

// Runs validate() and returns the field it blamed, or "" when it passed.
std::string blamed_field(const rtlm::request& r) {
  try {
    r.validate();
  } catch (const rtlm::error& e) {
    return e.field();
  }
  return "";
}

TEST(request, effective_deadline_is_the_earlier_limit) {
  rtlm::request r = base_request();
  EXPECT_FALSE(r.effective_deadline().has_value());
  r.time_budget = rtlm::seconds(2.5);
  EXPECT_EQ(*r.effective_deadline(), t0 + 2500ms);
  r.deadline = t0 + 1s;
  EXPECT_EQ(*r.effective_deadline(), t0 + 1s);
  r.deadline = t0 + 9s;
  EXPECT_EQ(*r.effective_deadline(), t0 + 2500ms);
  r.time_budget.reset();
  EXPECT_EQ(*r.effective_deadline(), t0 + 9s);
}

TEST(request, a_well_formed_request_validates) {
  rtlm::request r = base_request();
  r.prompt_text = "Explain the roofline model in 100 words.";
  r.deadline = t0 + 5s;
  r.time_budget = rtlm::seconds(0);
  r.max_new_tokens = 256_tok;
  r.priority = rtlm::priority_class::interactive;
  r.predicted_length = rtlm::length_estimate{
      .mean_tokens = 120, .upper_bound = 300_tok, .bound_coverage = 0.9, .uncertainty = 0.4};
  EXPECT_EQ(blamed_field(r), "");
}

TEST(request, bad_fields_are_named) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  rtlm::request r = base_request();
  r.prompt_tokens = rtlm::tokens(-1);
  EXPECT_EQ(blamed_field(r), "request.prompt_tokens");
  // Lengths past max_request_tokens would overflow the scheduler's sums of lengths.
  r.prompt_tokens = rtlm::max_request_tokens + 1_tok;
  EXPECT_EQ(blamed_field(r), "request.prompt_tokens");
  r.prompt_tokens = rtlm::max_request_tokens;
  EXPECT_EQ(blamed_field(r), "");

  for (double budget : {nan, inf, -0.5}) {
    r = base_request();
    r.time_budget = rtlm::seconds(budget);
    EXPECT_EQ(blamed_field(r), "request.time_budget") << budget;
  }
  r = base_request();
  r.deadline = t0 - 1ms;
  EXPECT_EQ(blamed_field(r), "request.deadline");
  r = base_request();
  r.max_new_tokens = 0_tok;
  EXPECT_EQ(blamed_field(r), "request.max_new_tokens");
  r.max_new_tokens = rtlm::tokens(std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(blamed_field(r), "request.max_new_tokens");
  r = base_request();
  r.predicted_length = rtlm::length_estimate{
      .mean_tokens = 10, .upper_bound = rtlm::tokens(1LL << 62), .bound_coverage = 0.9};
  EXPECT_EQ(blamed_field(r), "request.predicted_length.upper_bound");
  r = base_request();
  r.predicted_length =
      rtlm::length_estimate{.mean_tokens = 10, .upper_bound = 20_tok, .bound_coverage = 1.0};
  EXPECT_EQ(blamed_field(r), "request.predicted_length.bound_coverage");
  r.predicted_length->bound_coverage = 0.9;
  r.predicted_length->mean_tokens = nan;
  EXPECT_EQ(blamed_field(r), "request.predicted_length.mean_tokens");
}

TEST(request, times_past_the_timeline_bounds_are_named) {
  // Times that would overflow the nanosecond timeline once added to or compared with others.
  rtlm::request r = base_request();
  r.time_budget = rtlm::seconds(1e9);  // the longest budget: about 31 years
  EXPECT_EQ(blamed_field(r), "");
  r.time_budget = rtlm::seconds(5e63);
  EXPECT_EQ(blamed_field(r), "request.time_budget");
  r = base_request();
  r.arrival = rtlm::time_point(std::chrono::seconds(4'000'000'001LL));
  EXPECT_EQ(blamed_field(r), "request.arrival");
  r.arrival = rtlm::time_point(-std::chrono::seconds(4'000'000'001LL));
  EXPECT_EQ(blamed_field(r), "request.arrival");
  r.arrival = rtlm::time_point(std::chrono::seconds(4'000'000'000LL));
  EXPECT_EQ(blamed_field(r), "");
  r.deadline = rtlm::time_point::max();
  EXPECT_EQ(blamed_field(r), "request.deadline");
  try {
    r.validate();
    FAIL() << "a deadline past the timeline was accepted";
  } catch (const rtlm::error& e) {
    EXPECT_EQ(e.field(), "request.deadline");
  }
}

TEST(request, a_budget_past_the_timeline_saturates) {
  rtlm::request r = base_request();
  r.time_budget = rtlm::seconds(5e63);  // far past the timeline's end (validate() refuses it)
  EXPECT_EQ(r.effective_deadline(), rtlm::time_point::max());
  EXPECT_EQ(rtlm::add_saturated(t0, rtlm::seconds(-5e63)), rtlm::time_point::min());
  EXPECT_EQ(rtlm::add_saturated(t0, rtlm::seconds(1.5)), t0 + 1500ms);
}

TEST(request, nan_budget_message_shows_the_value) {
  rtlm::request r = base_request();
  r.time_budget = rtlm::seconds(std::numeric_limits<double>::quiet_NaN());
  try {
    r.validate();
    FAIL() << "a NaN budget was accepted";
  } catch (const rtlm::error& e) {
    EXPECT_EQ(e.value(), "nan");
    EXPECT_STREQ(e.what(), "rtlm: request.time_budget = nan: must be a finite number >= 0");
  }
}

}  // namespace
