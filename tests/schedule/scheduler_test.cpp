// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/schedule/scheduler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "estimate/temp_file.hpp"
#include "rtlm/predict/online_length_regressor.hpp"
#include "rtlm/schedule/length_feedback.hpp"
#include "rtlm/testing/fake_backend.hpp"
#include "rtlm/testing/faulty_backend.hpp"
#include "schedule/linear_estimator.hpp"

namespace {

using namespace rtlm::literals;
using rtlm::request_event_kind;
using rtlm::request_event_reason;
using rtlm::request_id;
using rtlm::step_status;

constexpr rtlm::time_point t0{};

rtlm::time_point at(double s) {
  return t0 + std::chrono::duration_cast<rtlm::duration>(rtlm::seconds(s));
}

// Records every event, in order.
struct recorder final : rtlm::scheduler_observer {
  struct entry {
    rtlm::request_event event;
    rtlm::request_progress progress;
  };
  std::vector<entry> events;
  void on_event(const rtlm::request_event& e, const rtlm::request& r) noexcept override {
    events.push_back({e, r.progress});
  }
  [[nodiscard]] std::vector<request_id> ids(request_event_kind kind) const {
    std::vector<request_id> out;
    for (const entry& e : events)
      if (e.event.kind == kind) out.push_back(e.event.id);
    return out;
  }
  [[nodiscard]] std::optional<entry> last(request_id id, request_event_kind kind) const {
    std::optional<entry> out;
    for (const entry& e : events)
      if (e.event.id == id && e.event.kind == kind) out = e;
    return out;
  }
};

rtlm::backend_capabilities capabilities(rtlm::tokens kv_capacity) {
  rtlm::backend_capabilities c;
  c.name = "gpu0";
  c.kv_capacity = kv_capacity;
  c.can_chunk_prefill = true;
  c.can_evict_kv = true;
  c.can_preempt_recompute = true;
  c.can_preempt_swap = true;
  return c;
}

rtlm::testing::fake_backend_config fake_config(rtlm::backend_capabilities caps) {
  rtlm::testing::fake_backend_config c;
  c.capabilities = std::move(caps);
  c.default_output_length = 4_tok;
  return c;
}

rtlm::request make_request(std::uint64_t id, rtlm::tokens prompt, double arrival = 0.0) {
  rtlm::request r;
  r.id = request_id{id};
  r.prompt_tokens = prompt;
  r.arrival = at(arrival);
  return r;
}

rtlm::length_estimate predicted(double mean, rtlm::tokens bound, double uncertainty = 0.0) {
  return {
      .mean_tokens = mean, .upper_bound = bound, .bound_coverage = 0.9, .uncertainty = uncertainty};
}

class scheduler_test : public ::testing::Test {
 protected:
  void make(rtlm::scheduler_config config = {},
            rtlm::backend_capabilities caps = capabilities(100'000_tok)) {
    config.max_requests = 64;
    config.intake_capacity = 64;
    config.cancel_capacity = 16;
    config.intake_shards = 1;  // the intake's room is what the tests fill
    config.solver_max_tokens = 4096_tok;
    backend_.emplace(fake_config(std::move(caps)));
    scheduler_.emplace(config);
    scheduler_->add_backend(*backend_, estimator_);
    scheduler_->set_observer(&events_);
  }

  void submit(rtlm::request r) { ASSERT_EQ(scheduler_->submit(r), rtlm::submit_status::accepted); }

  // A batch of one under `policy`, taken by request 1 (three tokens): what arrives next waits.
  void make_busy_batch_of_one(rtlm::policy_kind policy) {
    rtlm::backend_capabilities caps = capabilities(100'000_tok);
    caps.max_batch_size = 1;
    rtlm::scheduler_config config;
    config.policy = policy;
    make(config, caps);
    submit(make_request(1, 10_tok));
    backend_->set_output_length(request_id{1}, 3_tok);
    step();
  }

  // One step at the current time, which then advances by the step's measured time.
  rtlm::step_report step() {
    const rtlm::step_report report = scheduler_->step(0, now_);
    EXPECT_EQ(report.status, step_status::ok) << report.error;
    now_ += std::chrono::duration_cast<rtlm::duration>(report.measured);
    return report;
  }

  // Runs `plan` (from plan_step()) on the fake backend and completes it at the current time.
  void execute(const rtlm::step_plan& plan) {
    rtlm::step_result r;
    ASSERT_EQ(backend_->execute(plan, r), step_status::ok) << backend_->last_error();
    scheduler_->complete_step(0, step_status::ok, r, now_);
  }

  // FCFS on a backend without chunked prefill (its own token limit `backend_limit`, 0 for none;
  // the scheduler's budget `budget`), with requests 1 to `n` (10 prompt and 20 output tokens
  // each) prefilled in one step and decoding.
  void start_decodes_without_chunking(std::uint64_t n, rtlm::tokens backend_limit,
                                      rtlm::tokens budget) {
    rtlm::backend_capabilities caps = capabilities(100'000_tok);
    caps.can_chunk_prefill = false;
    caps.max_step_tokens = backend_limit;
    rtlm::scheduler_config config;
    config.policy = rtlm::policy_kind::first_come_first_served;
    config.max_step_tokens = budget;
    make(config, caps);
    for (std::uint64_t id = 1; id <= n; ++id) {
      submit(make_request(id, 10_tok));
      backend_->set_output_length(request_id{id}, 20_tok);
    }
    step();
  }

  // Steps until every request is gone, the intake included: two steps in a row that end with
  // nothing live (the second also sends the last releases). At most `limit` steps.
  void run_to_completion(int limit = 1000) {
    int idle = 0;
    for (int i = 0; i < limit && idle < 2; ++i) {
      step();
      idle = scheduler_->live_requests() == 0 ? idle + 1 : 0;
    }
  }

  rtlm::test::linear_estimator estimator_;
  std::optional<rtlm::testing::fake_backend> backend_;
  std::optional<rtlm::scheduler> scheduler_;
  recorder events_;
  rtlm::time_point now_ = t0;
};

TEST_F(scheduler_test, a_request_runs_to_completion_and_is_released) {
  make();
  submit(make_request(1, 100_tok));
  backend_->set_output_length(request_id{1}, 5_tok);
  run_to_completion();
  EXPECT_EQ(events_.ids(request_event_kind::queued), std::vector<request_id>{request_id{1}});
  EXPECT_EQ(events_.ids(request_event_kind::admitted), std::vector<request_id>{request_id{1}});
  const auto done = events_.last(request_id{1}, request_event_kind::finished);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->progress.generated, 5_tok);
  EXPECT_EQ(done->progress.prefilled, 100_tok);
  EXPECT_TRUE(done->progress.first_token_time);
  EXPECT_FALSE(backend_->holds(request_id{1}));  // released in the step after it finished
  EXPECT_EQ(scheduler_->live_requests(), 0U);
  EXPECT_EQ(scheduler_->reserved_kv(0), 0_tok);
}

TEST_F(scheduler_test, the_first_plan_prefills_then_decodes_follow) {
  make();
  submit(make_request(1, 10_tok));
  const rtlm::step_plan& p1 = scheduler_->plan_step(0, now_);
  ASSERT_EQ(p1.prefills.size(), 1U);
  EXPECT_EQ(p1.prefills[0].new_tokens, 10_tok);
  EXPECT_TRUE(p1.prefills[0].final_chunk);
  EXPECT_TRUE(p1.decodes.empty());
  // Planning twice before completing returns the same plan.
  EXPECT_EQ(&scheduler_->plan_step(0, now_), &p1);
  rtlm::step_result r;
  r.outcomes.push_back({.id = request_id{1}, .generated = 1_tok, .finished = false});
  r.step_time = rtlm::seconds(0.02);
  EXPECT_EQ(scheduler_->complete_step(0, step_status::ok, r, now_).status, step_status::ok);
  const rtlm::step_plan& p2 = scheduler_->plan_step(0, now_);
  ASSERT_EQ(p2.decodes.size(), 1U);
  EXPECT_EQ(p2.decodes[0].kv_length, 10_tok);  // the prompt; the first token is this input
}

TEST_F(scheduler_test, admission_reserves_each_requests_bounded_growth) {
  // Each request reserves prompt 300 + bound 100 = 400 of 1000 KV tokens: two fit, the third
  // waits until one finishes.
  make({}, capabilities(1000_tok));
  for (std::uint64_t id = 1; id <= 3; ++id) {
    rtlm::request r = make_request(id, 300_tok);
    r.predicted_length = predicted(50, 100_tok);
    submit(r);
    backend_->set_output_length(request_id{id}, 3_tok);
  }
  const rtlm::step_plan& p = scheduler_->plan_step(0, now_);
  EXPECT_EQ(p.prefills.size(), 2U);
  EXPECT_EQ(scheduler_->reserved_kv(0), 800_tok);
  EXPECT_EQ(scheduler_->waiting(0), 1U);
  rtlm::step_result r;
  ASSERT_EQ(backend_->execute(p, r), step_status::ok);
  scheduler_->complete_step(0, step_status::ok, r, now_);
  run_to_completion();
  EXPECT_EQ(events_.ids(request_event_kind::finished).size(), 3U);
}

TEST_F(scheduler_test, chunked_prefill_stays_within_the_token_budget) {
  rtlm::backend_capabilities caps = capabilities(100'000_tok);
  caps.max_step_tokens = 64_tok;
  make({}, caps);
  submit(make_request(1, 150_tok));
  std::vector<rtlm::tokens> chunks;
  for (int i = 0; i < 3; ++i) {
    const rtlm::step_plan& p = scheduler_->plan_step(0, now_);
    ASSERT_EQ(p.prefills.size(), 1U);
    EXPECT_EQ(p.prefills[0].computed_tokens, rtlm::tokens(64 * i));
    chunks.push_back(p.prefills[0].new_tokens);
    EXPECT_EQ(p.prefills[0].final_chunk, i == 2);
    rtlm::step_result r;
    ASSERT_EQ(backend_->execute(p, r), step_status::ok);
    scheduler_->complete_step(0, step_status::ok, r, now_);
  }
  EXPECT_EQ(chunks, (std::vector<rtlm::tokens>{64_tok, 64_tok, 22_tok}));
}

TEST_F(scheduler_test, decodes_take_their_token_from_the_budget_first) {
  rtlm::backend_capabilities caps = capabilities(100'000_tok);
  caps.max_step_tokens = 8_tok;
  make({}, caps);
  submit(make_request(1, 4_tok));
  backend_->set_output_length(request_id{1}, 100_tok);
  step();  // request 1 prefilled
  submit(make_request(2, 20_tok));
  const rtlm::step_plan& p = scheduler_->plan_step(0, now_);
  ASSERT_EQ(p.decodes.size(), 1U);
  ASSERT_EQ(p.prefills.size(), 1U);
  EXPECT_EQ(p.prefills[0].new_tokens, 7_tok);  // 8 - 1 decode
}

TEST_F(scheduler_test, a_backend_without_chunking_gets_whole_prompts) {
  rtlm::backend_capabilities caps = capabilities(100'000_tok);
  caps.can_chunk_prefill = false;
  caps.max_step_tokens = 0_tok;
  rtlm::scheduler_config config;
  config.max_step_tokens = 64_tok;
  make(config, caps);
  submit(make_request(1, 100_tok));  // longer than the budget: runs alone, whole
  submit(make_request(2, 10_tok));
  const rtlm::step_plan& p = scheduler_->plan_step(0, now_);
  ASSERT_EQ(p.prefills.size(), 1U);
  EXPECT_EQ(p.prefills[0].new_tokens, 100_tok);
  EXPECT_TRUE(p.prefills[0].final_chunk);
  rtlm::step_result r;
  ASSERT_EQ(backend_->execute(p, r), step_status::ok);
  scheduler_->complete_step(0, step_status::ok, r, now_);
  run_to_completion();
  EXPECT_EQ(events_.ids(request_event_kind::finished).size(), 2U);
}

// The requests a plan prefills, in plan order.
std::vector<request_id> prefilled_ids(const rtlm::step_plan& p) {
  std::vector<request_id> ids;
  for (const rtlm::prefill_assignment& a : p.prefills) ids.push_back(a.id);
  return ids;
}

TEST_F(scheduler_test, a_backend_without_chunking_takes_a_long_prompt_beside_the_decodes) {
  // The budget is the scheduler's (the backend sets none): the step's first prompt is taken
  // whole beside the running decodes, not held until the batch drains.
  start_decodes_without_chunking(3, 0_tok, 64_tok);
  submit(make_request(4, 100_tok));
  submit(make_request(5, 10_tok));
  const rtlm::step_plan& p = scheduler_->plan_step(0, now_);
  EXPECT_EQ(p.decodes.size(), 3U);
  ASSERT_EQ(prefilled_ids(p), std::vector<request_id>{request_id{4}});  // 5: the budget is spent
  EXPECT_EQ(p.prefills[0].new_tokens, 100_tok);
  execute(p);
  const rtlm::step_plan& next = scheduler_->plan_step(0, now_);
  EXPECT_EQ(next.decodes.size(), 4U);
  EXPECT_EQ(prefilled_ids(next), std::vector<request_id>{request_id{5}});
  execute(next);
  run_to_completion();
  EXPECT_EQ(events_.ids(request_event_kind::finished).size(), 5U);
}

TEST_F(scheduler_test, a_prompt_the_decodes_leave_no_room_for_gets_a_prefill_only_step) {
  // The backend's own limit, 64 tokens, and no chunking: 4 decodes leave 60 tokens, so a
  // 62-token prompt would wait for the batch to drain. Instead the decodes wait one step, and
  // never two in a row.
  start_decodes_without_chunking(4, 64_tok, 64_tok);
  submit(make_request(5, 62_tok));
  submit(make_request(6, 62_tok));
  const rtlm::step_plan& first = scheduler_->plan_step(0, now_);
  EXPECT_TRUE(first.decodes.empty());
  EXPECT_EQ(prefilled_ids(first), std::vector<request_id>{request_id{5}});
  execute(first);
  const rtlm::step_plan& second = scheduler_->plan_step(0, now_);  // the decodes' turn
  EXPECT_EQ(second.decodes.size(), 5U);
  EXPECT_TRUE(second.prefills.empty());
  execute(second);
  const rtlm::step_plan& third = scheduler_->plan_step(0, now_);
  EXPECT_TRUE(third.decodes.empty());
  EXPECT_EQ(prefilled_ids(third), std::vector<request_id>{request_id{6}});
  execute(third);
  run_to_completion();
  EXPECT_EQ(events_.ids(request_event_kind::finished).size(), 6U);
}

TEST_F(scheduler_test, the_batch_never_exceeds_max_batch_size) {
  rtlm::backend_capabilities caps = capabilities(100'000_tok);
  caps.max_batch_size = 3;
  make({}, caps);
  for (std::uint64_t id = 1; id <= 7; ++id) submit(make_request(id, 5_tok));
  for (int i = 0; i < 40; ++i) {
    const rtlm::step_report report = step();
    EXPECT_LE(report.computed, 3U);
    EXPECT_LE(scheduler_->running(0), 3U);
  }
  EXPECT_EQ(events_.ids(request_event_kind::finished).size(), 7U);
}

TEST_F(scheduler_test, an_overrun_preempts_the_least_urgent_by_swap) {
  // Two requests reserve 10 + 10 of 40 tokens each (bound 10); both overrun to 30 tokens of
  // output, so the KV runs out and the one the policy serves last (FCFS: the later) is swapped.
  rtlm::scheduler_config config;
  config.policy = rtlm::policy_kind::first_come_first_served;
  make(config, capabilities(40_tok));
  for (std::uint64_t id = 1; id <= 2; ++id) {
    rtlm::request r = make_request(id, 10_tok, 0.001 * static_cast<double>(id));
    r.predicted_length = predicted(5, 10_tok);
    submit(r);
    backend_->set_output_length(request_id{id}, 25_tok);
  }
  run_to_completion();
  const std::vector<request_id> preempted = events_.ids(request_event_kind::preempted);
  ASSERT_FALSE(preempted.empty());
  EXPECT_EQ(preempted.front(), request_id{2});
  const auto done1 = events_.last(request_id{1}, request_event_kind::finished);
  const auto done2 = events_.last(request_id{2}, request_event_kind::finished);
  ASSERT_TRUE(done1 && done2);
  EXPECT_EQ(done1->progress.generated, 25_tok);
  EXPECT_EQ(done2->progress.generated, 25_tok);
}

TEST_F(scheduler_test, without_swap_a_preempted_request_is_recomputed) {
  rtlm::backend_capabilities caps = capabilities(40_tok);
  caps.can_preempt_swap = false;
  rtlm::scheduler_config config;
  config.policy = rtlm::policy_kind::first_come_first_served;
  make(config, caps);
  for (std::uint64_t id = 1; id <= 2; ++id) {
    rtlm::request r = make_request(id, 10_tok, 0.001 * static_cast<double>(id));
    r.predicted_length = predicted(5, 10_tok);
    submit(r);
    backend_->set_output_length(request_id{id}, 25_tok);
  }
  bool saw_recompute = false;
  for (int i = 0; i < 300; ++i) {
    const rtlm::step_plan& p = scheduler_->plan_step(0, now_);
    for (const rtlm::preemption& x : p.preemptions) {
      saw_recompute = saw_recompute || x.mode == rtlm::preemption_mode::recompute;
    }
    rtlm::step_result r;
    ASSERT_EQ(backend_->execute(p, r), step_status::ok) << backend_->last_error();
    scheduler_->complete_step(0, step_status::ok, r, now_);
  }
  EXPECT_TRUE(saw_recompute);
  const auto done2 = events_.last(request_id{2}, request_event_kind::finished);
  ASSERT_TRUE(done2);
  EXPECT_EQ(done2->progress.generated, 25_tok);  // the recompute kept its output
}

// A recompute preemption leaves the request waiting while its backend may still keep state
// for it (not KV): cancelling it then must release it on the backend, or that state leaks.
TEST_F(scheduler_test, cancelling_a_recomputed_request_while_it_waits_releases_it) {
  rtlm::backend_capabilities caps = capabilities(40_tok);
  caps.can_preempt_swap = false;
  rtlm::scheduler_config config;
  config.policy = rtlm::policy_kind::first_come_first_served;
  make(config, caps);
  for (std::uint64_t id = 1; id <= 2; ++id) {
    rtlm::request r = make_request(id, 10_tok, 0.001 * static_cast<double>(id));
    r.predicted_length = predicted(5, 10_tok);
    submit(r);
    backend_->set_output_length(request_id{id}, 25_tok);
  }
  std::optional<request_id> recomputed;
  for (int i = 0; i < 300 && !recomputed; ++i) {
    const rtlm::step_plan& p = scheduler_->plan_step(0, now_);
    for (const rtlm::preemption& x : p.preemptions) {
      if (x.mode == rtlm::preemption_mode::recompute) recomputed = x.id;
    }
    rtlm::step_result r;
    ASSERT_EQ(backend_->execute(p, r), step_status::ok) << backend_->last_error();
    scheduler_->complete_step(0, step_status::ok, r, now_);
  }
  ASSERT_TRUE(recomputed);
  ASSERT_EQ(scheduler_->cancel(*recomputed), rtlm::cancel_status::accepted);
  const rtlm::step_plan& p = scheduler_->plan_step(0, now_);
  EXPECT_NE(std::find(p.releases.begin(), p.releases.end(), *recomputed), p.releases.end());
  EXPECT_TRUE(events_.last(*recomputed, request_event_kind::cancelled));
}

TEST_F(scheduler_test, a_swap_only_backend_never_recomputes_a_prefilling_request) {
  // Request 2 (the later, so FCFS's least urgent) is still prefilling, 2 tokens a step, when
  // request 1 overruns its reservation and the KV is over-committed: 2 cannot be swapped (its
  // prompt is not all in the cache) nor recomputed (the backend cannot), so 1 is swapped out.
  rtlm::backend_capabilities caps = capabilities(70_tok);
  caps.can_preempt_recompute = false;
  caps.max_step_tokens = 3_tok;
  rtlm::scheduler_config config;
  config.policy = rtlm::policy_kind::first_come_first_served;
  make(config, caps);
  rtlm::request r1 = make_request(1, 4_tok, 0.0);
  r1.predicted_length = predicted(5, 10_tok);
  submit(r1);
  backend_->set_output_length(request_id{1}, 40_tok);
  step();
  rtlm::request r2 = make_request(2, 40_tok, 0.001);
  r2.predicted_length = predicted(5, 10_tok);
  submit(r2);
  backend_->set_output_length(request_id{2}, 5_tok);
  for (int i = 0; i < 300; ++i) {
    const rtlm::step_report report = scheduler_->step(0, now_);
    ASSERT_EQ(report.status, step_status::ok) << report.error;
  }
  EXPECT_EQ(events_.ids(request_event_kind::preempted).front(), request_id{1});
  EXPECT_EQ(events_.ids(request_event_kind::finished).size(), 2U);
}

// Preemption for priority, on a batch of one: request 1 (predicted 500 tokens, 40 real) runs;
// request 2 (predicted 2, 2 real) arrives a step later. `finished` says in which order they end.
class priority_preemption_test : public scheduler_test {
 protected:
  std::vector<request_id> finished_order(rtlm::policy_kind policy, bool preempt,
                                         double margin = 1.0, bool swap = true) {
    rtlm::backend_capabilities caps = capabilities(100'000_tok);
    caps.max_batch_size = 1;
    caps.can_preempt_swap = swap;
    rtlm::scheduler_config config;
    config.policy = policy;
    config.preempt_for_priority = preempt;
    config.priority_preemption_margin = margin;
    make(config, caps);
    rtlm::request first = make_request(1, 10_tok);
    first.predicted_length = predicted(500, 1000_tok);
    submit(first);
    backend_->set_output_length(request_id{1}, 40_tok);
    step();
    step();
    rtlm::request second = make_request(2, 10_tok, 0.001);
    second.predicted_length = predicted(2, 1000_tok);
    submit(second);
    backend_->set_output_length(request_id{2}, 2_tok);
    run_to_completion();
    return events_.ids(request_event_kind::finished);
  }
};

TEST_F(priority_preemption_test, a_shorter_request_preempts_the_longer_one_under_srpt) {
  const std::vector<request_id> order =
      finished_order(rtlm::policy_kind::shortest_predicted_remaining, true);
  EXPECT_EQ(order, (std::vector<request_id>{request_id{2}, request_id{1}}));
  EXPECT_EQ(events_.ids(request_event_kind::preempted), std::vector<request_id>{request_id{1}});
  // Swapped out and back: request 1 lost no work and made its whole output.
  const auto done = events_.last(request_id{1}, request_event_kind::finished);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->progress.generated, 40_tok);
}

TEST_F(priority_preemption_test, without_swap_the_preempted_request_is_recomputed) {
  const std::vector<request_id> order =
      finished_order(rtlm::policy_kind::shortest_predicted_remaining, true, 1.0, false);
  EXPECT_EQ(order, (std::vector<request_id>{request_id{2}, request_id{1}}));
  const auto done = events_.last(request_id{1}, request_event_kind::finished);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->progress.generated, 40_tok);  // the recompute kept its output
}

TEST_F(priority_preemption_test, off_by_default_the_running_request_finishes_first) {
  EXPECT_FALSE(rtlm::scheduler_config{}.preempt_for_priority);
  const std::vector<request_id> order =
      finished_order(rtlm::policy_kind::shortest_predicted_remaining, false);
  EXPECT_EQ(order, (std::vector<request_id>{request_id{1}, request_id{2}}));
  EXPECT_TRUE(events_.ids(request_event_kind::preempted).empty());
}

TEST_F(priority_preemption_test, a_lead_within_the_margin_preempts_nothing) {
  // Keys: request 1 0.01 s x 498 tokens left = 4.98 s, request 2 0.001 + 0.01 x 2 = 0.021 s. A
  // 10 s margin keeps request 1 running.
  const std::vector<request_id> order =
      finished_order(rtlm::policy_kind::shortest_predicted_remaining, true, 10.0);
  EXPECT_EQ(order, (std::vector<request_id>{request_id{1}, request_id{2}}));
  EXPECT_TRUE(events_.ids(request_event_kind::preempted).empty());
}

TEST_F(priority_preemption_test, fcfs_never_preempts_an_earlier_arrival) {
  const std::vector<request_id> order =
      finished_order(rtlm::policy_kind::first_come_first_served, true, 0.0);
  EXPECT_EQ(order, (std::vector<request_id>{request_id{1}, request_id{2}}));
  EXPECT_TRUE(events_.ids(request_event_kind::preempted).empty());
}

TEST_F(scheduler_test, a_tight_deadline_gets_an_eviction_after_its_prefill) {
  // Decode costs 1 ms per 100 KV tokens: a 4000-token prompt with 100 output tokens needs
  // ~4.4 s of decode at alpha 0; a 2 s deadline needs most of the prompt evicted.
  estimator_.decode_per_kv = 0.00001;
  rtlm::scheduler_config config;
  config.alpha_max = 0.9;
  make(config);
  rtlm::request r = make_request(1, 4000_tok);
  r.predicted_length = predicted(80, 100_tok);
  r.deadline = at(2.0);
  submit(r);
  backend_->set_output_length(request_id{1}, 50_tok);
  const rtlm::step_plan& p1 = scheduler_->plan_step(0, now_);
  EXPECT_TRUE(p1.evictions.empty());  // the prompt is not in the cache yet
  const double alpha = scheduler_->eviction_ratio(request_id{1});
  EXPECT_GT(alpha, 0.0);
  EXPECT_LE(alpha, 0.9);
  rtlm::step_result res;
  ASSERT_EQ(backend_->execute(p1, res), step_status::ok);
  scheduler_->complete_step(0, step_status::ok, res, now_);
  // Prefill of 4000 tokens in 2048-token chunks: the eviction follows the final chunk.
  const rtlm::step_plan& p2 = scheduler_->plan_step(0, now_);
  ASSERT_EQ(backend_->execute(p2, res), step_status::ok);
  scheduler_->complete_step(0, step_status::ok, res, now_);
  const rtlm::step_plan& p3 = scheduler_->plan_step(0, now_);
  ASSERT_EQ(p3.evictions.size(), 1U);
  EXPECT_DOUBLE_EQ(p3.evictions[0].eviction_ratio, alpha);
  EXPECT_EQ(p3.evictions[0].kept_tokens, rtlm::kept_tokens_for_ratio(4000_tok, alpha));
  ASSERT_EQ(p3.decodes.size(), 1U);
  EXPECT_EQ(p3.decodes[0].kv_length, p3.evictions[0].kept_tokens);
  ASSERT_EQ(backend_->execute(p3, res), step_status::ok) << backend_->last_error();
  scheduler_->complete_step(0, step_status::ok, res, now_);
  run_to_completion();
  EXPECT_TRUE(events_.last(request_id{1}, request_event_kind::finished));
}

TEST_F(scheduler_test, no_eviction_when_the_deadline_is_loose_or_absent) {
  estimator_.decode_per_kv = 0.00001;
  make();
  rtlm::request loose = make_request(1, 4000_tok);
  loose.predicted_length = predicted(80, 100_tok);
  loose.deadline = at(100.0);
  submit(loose);
  submit(make_request(2, 4000_tok));
  scheduler_->plan_step(0, now_);
  EXPECT_EQ(scheduler_->eviction_ratio(request_id{1}), 0.0);
  EXPECT_EQ(scheduler_->eviction_ratio(request_id{2}), 0.0);
}

TEST_F(scheduler_test, consolidation_keeps_running_deadlines) {
  // Request 1 runs with 100 steps left and a deadline that allows ~12 ms per step; each extra
  // sequence costs 5 ms per step and a prefill 10 ms once. Admitting request 2 would push the
  // step to 20 ms: it waits. Without the deadline it is admitted at once.
  estimator_.decode_fixed = 0.010;
  estimator_.decode_per_sequence = 0.005;
  rtlm::scheduler_config config;
  config.consolidate = true;
  for (const bool with_deadline : {true, false}) {
    make(config);
    rtlm::request r1 = make_request(1, 10_tok);
    r1.predicted_length = predicted(100, 100_tok);
    if (with_deadline) r1.deadline = at(0.011 + 0.0101 + 100 * 0.0155);
    submit(r1);
    backend_->set_output_length(request_id{1}, 100_tok);
    step();  // prefill of request 1
    rtlm::request r2 = make_request(2, 10_tok);
    r2.predicted_length = predicted(100, 100_tok);
    submit(r2);
    const rtlm::step_plan& p = scheduler_->plan_step(0, now_);
    EXPECT_EQ(p.prefills.size(), with_deadline ? 0U : 1U) << with_deadline;
    EXPECT_EQ(scheduler_->waiting(0), with_deadline ? 1U : 0U);
    rtlm::step_result res;
    ASSERT_EQ(backend_->execute(p, res), step_status::ok);
    scheduler_->complete_step(0, step_status::ok, res, now_);
  }
}

// The consolidation case above, with request 1 running under its tight deadline; returns how
// many prefills the next plan holds once `second` (and `extra` more requests) arrive.
class consolidation_test : public scheduler_test {
 protected:
  static rtlm::scheduler_config on() {
    rtlm::scheduler_config c;
    c.consolidate = true;
    return c;
  }
  std::size_t prefills_after(rtlm::scheduler_config config, rtlm::request second, int extra = 0) {
    now_ = t0;
    estimator_.decode_fixed = 0.010;
    estimator_.decode_per_sequence = 0.005;
    make(config);
    rtlm::request r1 = make_request(1, 10_tok);
    r1.predicted_length = predicted(100, 100_tok);
    r1.deadline = at(0.011 + 0.0101 + 100 * 0.0155);
    submit(r1);
    backend_->set_output_length(request_id{1}, 100_tok);
    step();  // prefill of request 1
    second.predicted_length = predicted(100, 100_tok);
    submit(second);
    for (int i = 0; i < extra; ++i) {
      rtlm::request r = make_request(10 + static_cast<std::uint64_t>(i), 10_tok);
      r.predicted_length = predicted(100, 100_tok);
      submit(r);
    }
    return scheduler_->plan_step(0, now_).prefills.size();
  }
};

TEST_F(consolidation_test, off_by_default_it_admits_whatever_fits) {
  EXPECT_EQ(prefills_after(on(), make_request(2, 10_tok)), 0U);  // held back, as above
  EXPECT_EQ(prefills_after({}, make_request(2, 10_tok)), 1U);    // off: the default
}

TEST_F(consolidation_test, a_candidate_at_its_last_chance_is_admitted) {
  // Request 2 alone needs its prefill (11 ms) and 100 steps of 15 ms: its deadline leaves half
  // a step to spare, so it cannot wait for request 1 to finish.
  rtlm::request r2 = make_request(2, 10_tok, 0.010);
  r2.deadline = at(0.010 + 0.011 + 100 * 0.015 + 0.0075);
  EXPECT_EQ(prefills_after(on(), r2), 1U);
  // With room to wait, it waits.
  r2.deadline = at(0.010 + 0.011 + 100 * 0.015 + 0.5);
  EXPECT_EQ(prefills_after(on(), r2), 0U);
}

TEST_F(consolidation_test, a_saturated_backend_holds_nothing_back) {
  // Six requests of ~1.5 s each queue ~3 s of work per unit of batch concurrency, past
  // offload.saturated_wait (1 s): the batch grows although request 1 will miss.
  EXPECT_GE(prefills_after(on(), make_request(2, 10_tok), 5), 1U);
  rtlm::scheduler_config patient = on();
  patient.offload.saturated_wait = rtlm::seconds(100.0);
  EXPECT_EQ(prefills_after(patient, make_request(2, 10_tok), 5), 0U);
}

TEST_F(scheduler_test, without_admission_control_an_impossible_deadline_is_queued) {
  rtlm::scheduler_config config;
  config.admission = rtlm::admission_mode::accept;
  make(config);
  rtlm::request r = make_request(1, 10_tok);
  r.deadline = at(0.0);  // passed already
  submit(r);
  step();
  EXPECT_TRUE(events_.ids(request_event_kind::rejected).empty());
  run_to_completion();
  EXPECT_EQ(events_.ids(request_event_kind::finished), std::vector<request_id>{request_id{1}});
}

TEST_F(scheduler_test, cancellation_of_waiting_running_and_unknown_requests) {
  rtlm::backend_capabilities caps = capabilities(100'000_tok);
  caps.max_batch_size = 1;
  make({}, caps);
  submit(make_request(1, 10_tok));
  submit(make_request(2, 10_tok));
  backend_->set_output_length(request_id{1}, 100_tok);
  step();  // 1 running, 2 waiting
  ASSERT_EQ(scheduler_->waiting(0), 1U);
  EXPECT_EQ(scheduler_->cancel(request_id{2}), rtlm::cancel_status::accepted);
  EXPECT_EQ(scheduler_->cancel(request_id{1}), rtlm::cancel_status::accepted);
  EXPECT_EQ(scheduler_->cancel(request_id{99}), rtlm::cancel_status::accepted);
  const rtlm::step_plan& p = scheduler_->plan_step(0, now_);
  EXPECT_EQ(p.releases, std::vector<request_id>{request_id{1}});
  EXPECT_TRUE(p.decodes.empty());
  EXPECT_EQ(scheduler_->waiting(0), 0U);
  EXPECT_EQ(scheduler_->live_requests(), 0U);
  EXPECT_EQ(events_.ids(request_event_kind::cancelled),
            (std::vector<request_id>{request_id{2}, request_id{1}}));
  rtlm::step_result res;
  ASSERT_EQ(backend_->execute(p, res), step_status::ok);
  scheduler_->complete_step(0, step_status::ok, res, now_);
  EXPECT_FALSE(backend_->holds(request_id{1}));
}

TEST_F(scheduler_test, a_cancel_during_a_step_drops_that_steps_outcome) {
  make();
  submit(make_request(1, 10_tok));
  backend_->set_output_length(request_id{1}, 100_tok);
  step();
  const rtlm::step_plan& p = scheduler_->plan_step(0, now_);
  rtlm::step_result res;
  ASSERT_EQ(backend_->execute(p, res), step_status::ok);
  scheduler_->cancel(request_id{1});
  submit(make_request(2, 10_tok));
  scheduler_->plan_step(0, now_);  // still in flight: the same plan, nothing taken in
  EXPECT_EQ(scheduler_->complete_step(0, step_status::ok, res, now_).finished, 0U);
  const rtlm::step_plan& next = scheduler_->plan_step(0, now_);
  EXPECT_EQ(next.releases, std::vector<request_id>{request_id{1}});
  ASSERT_EQ(next.prefills.size(), 1U);
  EXPECT_EQ(next.prefills[0].id, request_id{2});
}

TEST_F(scheduler_test, a_throwing_backend_reports_the_step_and_its_requests) {
  rtlm::scheduler_config config;
  config.max_failed_steps = 2;
  make(config);
  submit(make_request(1, 10_tok));
  submit(make_request(2, 10_tok));
  backend_->set_output_length(request_id{1}, 100_tok);
  backend_->set_output_length(request_id{2}, 100_tok);
  step();
  backend_->fail_next_step("device lost");
  rtlm::step_report report = scheduler_->step(0, now_);
  EXPECT_EQ(report.status, step_status::backend_failure);
  EXPECT_EQ(report.error, "device lost");
  EXPECT_EQ(std::vector<request_id>(report.affected.begin(), report.affected.end()),
            (std::vector<request_id>{request_id{1}, request_id{2}}));
  EXPECT_TRUE(events_.ids(request_event_kind::failed).empty());  // retried
  // The retried step does the same work: the fake accepts it (the failed one changed nothing).
  report = step();
  EXPECT_EQ(report.computed, 2U);
  // Two failures in a row fail the requests, with the reason, and release them.
  backend_->fail_next_step("again");
  scheduler_->step(0, now_);
  backend_->fail_next_step("and again");
  report = scheduler_->step(0, now_);
  EXPECT_EQ(report.affected.size(), 2U);
  EXPECT_EQ(events_.ids(request_event_kind::failed),
            (std::vector<request_id>{request_id{1}, request_id{2}}));
  EXPECT_EQ(events_.last(request_id{1}, request_event_kind::failed)->event.reason,
            request_event_reason::backend_failure);
  EXPECT_EQ(scheduler_->live_requests(), 0U);
  // The scheduler keeps serving.
  submit(make_request(3, 10_tok));
  run_to_completion();
  EXPECT_TRUE(events_.last(request_id{3}, request_event_kind::finished));
}

TEST_F(scheduler_test, a_result_that_breaks_the_plan_is_a_failed_step) {
  make();
  submit(make_request(1, 10_tok));
  scheduler_->plan_step(0, now_);
  rtlm::step_result garbage;
  garbage.outcomes.push_back({.id = request_id{7}, .generated = 1_tok});
  garbage.step_time = rtlm::seconds(0.01);
  const rtlm::step_report report = scheduler_->complete_step(0, step_status::ok, garbage, now_);
  EXPECT_EQ(report.status, step_status::invalid_result);
  EXPECT_EQ(report.affected.size(), 1U);
}

TEST_F(scheduler_test, admission_control_rejects_an_impossible_deadline_with_the_reason) {
  rtlm::scheduler_config config;
  config.admission_length = rtlm::admission_basis::expected_length;
  make(config);
  rtlm::request r = make_request(1, 100_tok);
  r.predicted_length = predicted(1000, 2000_tok);
  r.deadline = at(0.5);  // 1000 tokens at >= 10 ms per step: >= 10 s
  submit(r);
  rtlm::request passed = make_request(2, 100_tok, 0.0);
  passed.deadline = at(0.0);
  submit(passed);
  rtlm::request prefill = make_request(3, 4000_tok);  // 0.41 s of prefill
  prefill.deadline = at(0.2);
  submit(prefill);
  scheduler_->plan_step(0, at(0.0));
  EXPECT_EQ(events_.last(request_id{1}, request_event_kind::rejected)->event.reason,
            request_event_reason::eviction_too_weak);
  EXPECT_EQ(events_.last(request_id{2}, request_event_kind::rejected)->event.reason,
            request_event_reason::deadline_passed);
  EXPECT_EQ(events_.last(request_id{3}, request_event_kind::rejected)->event.reason,
            request_event_reason::prefill_too_long);
  EXPECT_EQ(scheduler_->live_requests(), 0U);
}

TEST_F(scheduler_test, an_idle_backend_refuses_only_what_no_answer_could_make) {
  // The default basis: on a backend with room, a request predicted too long for its deadline
  // is kept (its answer may be shorter); one whose deadline even a one-token answer misses is
  // refused. Once the queue holds more than offload.saturated_wait of work, the prediction
  // decides.
  make();
  rtlm::request r = make_request(1, 100_tok);
  r.predicted_length = predicted(1000, 2000_tok);
  r.deadline = at(0.5);  // 1000 tokens take >= 10 s; one token 0.03 s
  submit(r);
  rtlm::request prefill = make_request(2, 4000_tok);  // 0.41 s of prefill
  prefill.deadline = at(0.2);
  submit(prefill);
  scheduler_->plan_step(0, at(0.0));
  EXPECT_FALSE(events_.last(request_id{1}, request_event_kind::rejected));
  EXPECT_EQ(events_.last(request_id{2}, request_event_kind::rejected)->event.reason,
            request_event_reason::prefill_too_long);

  events_.events.clear();
  rtlm::backend_capabilities one_at_a_time = capabilities(100'000_tok);
  one_at_a_time.max_batch_size = 1;
  make({}, one_at_a_time);
  for (std::uint64_t id = 10; id < 20; ++id) {  // nine wait behind the first: ~190 s of work
    rtlm::request w = make_request(id, 100_tok);
    w.predicted_length = predicted(1000, 2000_tok);
    submit(w);
  }
  step();
  r.deadline = now_ + std::chrono::milliseconds(500);
  submit(r);
  step();
  EXPECT_EQ(events_.last(request_id{1}, request_event_kind::rejected)->event.reason,
            request_event_reason::eviction_too_weak);
}

TEST_F(scheduler_test, admission_at_the_current_pace_refuses_what_only_an_idle_gpu_would_make) {
  // Request 2 (100 prompt tokens, 20 predicted) takes 0.02 + 19 x 0.0105 = 0.22 s alone, inside
  // its 1 s. Behind request 1's 2048-token prefill chunk, a step takes 0.215 s, about 20 times
  // its own step alone: at that pace it needs about 4.4 s.
  for (const bool at_pace : {false, true}) {
    events_.events.clear();
    rtlm::scheduler_config config;
    config.admission_length = rtlm::admission_basis::expected_length;
    config.admission_at_current_pace = at_pace;
    make(config);
    rtlm::request idle = make_request(3, 100_tok);
    idle.predicted_length = predicted(20, 40_tok);
    idle.deadline = at(1.0);
    submit(idle);  // nothing runs yet: the pace is the request's own
    rtlm::request big = make_request(1, 8000_tok);
    big.predicted_length = predicted(20, 40_tok);
    submit(big);
    step();
    EXPECT_FALSE(events_.last(request_id{3}, request_event_kind::rejected)) << at_pace;
    rtlm::request r = make_request(2, 100_tok);
    r.predicted_length = predicted(20, 40_tok);
    r.deadline = now_ + std::chrono::seconds(1);
    submit(r);
    step();
    const auto rejected = events_.last(request_id{2}, request_event_kind::rejected);
    EXPECT_EQ(rejected.has_value(), at_pace);
    if (rejected) {
      EXPECT_EQ(rejected->event.reason, request_event_reason::eviction_too_weak);
    }
  }
  EXPECT_FALSE(rtlm::scheduler_config{}.admission_at_current_pace);
}

TEST_F(scheduler_test, admission_control_can_downgrade_or_relax_instead) {
  for (const auto mode : {rtlm::admission_mode::downgrade, rtlm::admission_mode::relax_deadline}) {
    rtlm::scheduler_config config;
    config.admission = mode;
    config.admission_length = rtlm::admission_basis::expected_length;
    events_.events.clear();
    make(config);
    rtlm::request r = make_request(1, 100_tok);
    r.predicted_length = predicted(1000, 2000_tok);
    r.deadline = at(0.5);
    submit(r);
    scheduler_->plan_step(0, at(0.0));
    const rtlm::request* held = scheduler_->find(request_id{1});
    ASSERT_NE(held, nullptr);
    if (mode == rtlm::admission_mode::downgrade) {
      EXPECT_TRUE(events_.last(request_id{1}, request_event_kind::downgraded));
      EXPECT_EQ(held->priority, rtlm::priority_class::background);
      EXPECT_FALSE(held->effective_deadline());
    } else {
      EXPECT_TRUE(events_.last(request_id{1}, request_event_kind::deadline_relaxed));
      // 1.5 x the isolated time: prefill 0.02 s + 1000 decode steps of 10.5 ms.
      const double relaxed = std::chrono::duration<double>(*held->deadline - t0).count();
      EXPECT_NEAR(relaxed, 1.5 * (0.020 + 1000 * 0.0105), 0.05);
    }
  }
}

TEST_F(scheduler_test, bad_requests_are_rejected_with_a_reason) {
  make({}, capabilities(1000_tok));
  submit(make_request(1, 10_tok));
  submit(make_request(1, 10_tok));    // the same id while 1 lives
  submit(make_request(2, 5000_tok));  // larger than the KV
  scheduler_->plan_step(0, now_);
  EXPECT_EQ(events_.last(request_id{1}, request_event_kind::rejected)->event.reason,
            request_event_reason::duplicate_id);
  EXPECT_EQ(events_.last(request_id{2}, request_event_kind::rejected)->event.reason,
            request_event_reason::too_long);
  rtlm::request invalid = make_request(3, 0_tok);
  invalid.prompt_tokens = rtlm::tokens(-1);
  EXPECT_EQ(scheduler_->submit(invalid), rtlm::submit_status::invalid);
}

TEST_F(scheduler_test, a_full_intake_says_so_and_keeps_the_request) {
  make();
  std::uint64_t id = 1;
  for (; id <= 64; ++id) submit(make_request(id, 10_tok));
  rtlm::request extra = make_request(id, 10_tok);
  extra.prompt_text = "kept";
  EXPECT_EQ(scheduler_->submit(extra), rtlm::submit_status::queue_full);
  EXPECT_EQ(extra.prompt_text, "kept");
}

TEST_F(scheduler_test, a_full_request_table_leaves_the_rest_in_the_intake) {
  rtlm::backend_capabilities caps = capabilities(100'000_tok);
  caps.max_batch_size = 64;
  make({}, caps);  // 64 live requests at most
  for (std::uint64_t id = 1; id <= 64; ++id) submit(make_request(id, 10_tok));
  scheduler_->plan_step(0, now_);
  for (std::uint64_t id = 65; id <= 70; ++id) submit(make_request(id, 10_tok));
  // Cancel one not yet taken in: it is kept until its request is.
  scheduler_->cancel(request_id{70});
  run_to_completion();
  EXPECT_EQ(events_.ids(request_event_kind::finished).size(), 69U);
  EXPECT_EQ(events_.ids(request_event_kind::cancelled), std::vector<request_id>{request_id{70}});
}

TEST_F(scheduler_test, cancellations_wait_in_the_intake_while_the_deferred_list_is_full) {
  rtlm::backend_capabilities caps = capabilities(100'000_tok);
  caps.max_batch_size = 64;
  make({}, caps);  // 64 live requests, 16 cancellations deferred at most
  for (std::uint64_t id = 1; id <= 64; ++id) submit(make_request(id, 10_tok));
  step();  // the table is full
  for (std::uint64_t id = 65; id <= 70; ++id) submit(make_request(id, 10_tok));
  // Sixteen cancellations of ids never submitted fill the deferred list (the drain is limited
  // by the full table, so they might belong to requests still in the intake)...
  for (std::uint64_t id = 1000; id < 1016; ++id) {
    ASSERT_EQ(scheduler_->cancel(request_id{id}), rtlm::cancel_status::accepted);
  }
  step();
  // ...so this one waits in the intake instead of being dropped, and still takes effect.
  ASSERT_EQ(scheduler_->cancel(request_id{70}), rtlm::cancel_status::accepted);
  run_to_completion();
  EXPECT_EQ(events_.ids(request_event_kind::cancelled), std::vector<request_id>{request_id{70}});
  EXPECT_EQ(events_.ids(request_event_kind::finished).size(), 69U);
}

TEST_F(scheduler_test, a_refined_prediction_changes_the_reservation_and_the_laxity) {
  make_busy_batch_of_one(rtlm::policy_kind::least_laxity_first);
  for (std::uint64_t id = 2; id <= 3; ++id) {
    rtlm::request r = make_request(id, 10_tok);
    r.deadline = at(100.0);
    // Same deadline: request 3, predicted the longer, has the less laxity.
    r.predicted_length = id == 2 ? predicted(10, 10_tok) : predicted(500, 500_tok);
    submit(r);
    backend_->set_output_length(request_id{id}, 1_tok);
  }
  step();
  // Request 3 turns out short: its laxity grows past request 2's, and it reserves less KV.
  ASSERT_TRUE(scheduler_->update_prediction(request_id{3}, predicted(1, 1_tok)));
  for (int i = 0; i < 100 && !events_.last(request_id{3}, request_event_kind::admitted); ++i) {
    scheduler_->plan_step(0, now_);  // step() then runs this plan
    if (!events_.last(request_id{3}, request_event_kind::admitted)) step();
  }
  ASSERT_TRUE(events_.last(request_id{3}, request_event_kind::admitted));
  EXPECT_EQ(scheduler_->reserved_kv(0), 11_tok);  // prompt 10 + bound 1, request 3 alone
  run_to_completion();
  const std::vector<request_id> admitted = events_.ids(request_event_kind::admitted);
  EXPECT_EQ(admitted, (std::vector<request_id>{request_id{1}, request_id{2}, request_id{3}}));
}

TEST_F(scheduler_test, the_estimator_learns_from_measured_steps) {
  rtlm::scheduler_config config;
  config.step_time_learning.weight = 0.5;
  make(config);
  // The fake measures 10 ms per step; the estimator predicts 10.5 ms for a decode of 1 and
  // 10 + 0.1 * n ms for a prefill of n.
  submit(make_request(1, 10_tok));
  backend_->set_output_length(request_id{1}, 60_tok);
  run_to_completion();
  EXPECT_GT(scheduler_->estimator(0).observed_steps(), 50U);
  EXPECT_NEAR(scheduler_->estimator(0).decode_factor(), 0.010 / 0.0105, 1e-6);
}

// A host that times its prefills apart from its decodes, and whose every prefill launches 4 ms
// faster than the estimator says: the scheduler hands the split to the estimator's online update,
// which learns the per-prefill offset, so short and long prompts are both planned right.
TEST(scheduler_estimator, a_host_that_times_its_prefills_apart_teaches_their_offset) {
  rtlm::scheduler_config config;
  config.max_requests = 64;
  config.solver_max_tokens = 4096_tok;
  config.step_time_learning.weight = 0.3;
  rtlm::scheduler s(config);
  const rtlm::test::linear_estimator estimator;
  const auto prefill_part = [&estimator](const rtlm::step_plan& plan) {
    rtlm::seconds t(0);
    for (const auto& p : plan.prefills)
      t += estimator.prefill_time(p.new_tokens, p.computed_tokens) - rtlm::seconds(0.004);
    return t;
  };
  rtlm::testing::fake_backend_config fake = fake_config(capabilities(100'000_tok));
  fake.default_output_length = 8_tok;
  fake.step_time = [&](const rtlm::step_plan& plan) {
    std::vector<rtlm::tokens> kv;
    for (const auto& d : plan.decodes) kv.push_back(d.kv_length);
    return prefill_part(plan) + (kv.empty() ? rtlm::seconds(0) : estimator.decode_time(kv));
  };
  std::size_t prefill_steps = 0;
  fake.prefill_time = [&](const rtlm::step_plan& plan) {
    ++prefill_steps;
    return std::optional<rtlm::seconds>(prefill_part(plan));
  };
  rtlm::testing::fake_backend backend(fake);
  s.add_backend(backend, estimator);

  // 40 requests 400 ms apart, one prefill per step, prompts of 16 and 2000 tokens in turn.
  double now = 0;
  std::uint64_t next = 0;
  std::vector<double> late_prefill_errors;  // |predicted / measured - 1| of the last 10 arrivals
  while (next < 40 || s.live_requests() > 0) {
    while (next < 40 && 0.4 * static_cast<double>(next) <= now) {
      rtlm::request r = make_request(next, next % 2 == 0 ? 16_tok : 2000_tok, now);
      ASSERT_EQ(s.submit(r), rtlm::submit_status::accepted);
      ++next;
    }
    const std::size_t before = prefill_steps;
    const rtlm::step_report report = s.step(0, at(now));
    ASSERT_EQ(report.status, rtlm::step_status::ok);
    if (report.computed == 0) {
      now = 0.4 * static_cast<double>(next);
      continue;
    }
    if (next > 30 && prefill_steps > before)
      late_prefill_errors.push_back(std::abs(report.predicted / report.measured - 1.0));
    now += report.measured.count();
  }
  EXPECT_NEAR(s.estimator(0).prefill_offset() * estimator.prefill_time(1_tok, 0_tok).count(),
              -0.004, 2e-4);
  ASSERT_GE(late_prefill_errors.size(), 5U);
  for (const double e : late_prefill_errors) EXPECT_LT(e, 0.01);
}

TEST_F(scheduler_test, the_predictor_learns_finished_lengths) {
  rtlm::online_length_regressor predictor;
  const rtlm::prompt_feature_extractor extractor;
  recorder next;
  rtlm::length_feedback feedback(predictor, extractor, &next);
  make();
  scheduler_->set_observer(&feedback);
  rtlm::request r = make_request(1, 10_tok);
  r.prompt_text = "Write a long essay about the sea.";
  submit(r);
  submit(make_request(2, 10_tok));  // no text: nothing to learn from
  backend_->set_output_length(request_id{1}, 7_tok);
  run_to_completion();
  EXPECT_EQ(feedback.learned(), 1U);
  EXPECT_EQ(next.ids(request_event_kind::finished).size(), 2U);  // forwarded
}

TEST_F(scheduler_test, static_batches_group_similar_predicted_lengths) {
  rtlm::backend_capabilities caps = capabilities(100'000_tok);
  caps.batching = rtlm::batching_mode::static_batch;
  rtlm::scheduler_config config;
  config.policy = rtlm::policy_kind::first_come_first_served;
  make(config, caps);
  const double means[] = {100, 900, 150, 1000, 60};  // NOLINT(*-avoid-c-arrays)
  for (std::uint64_t id = 1; id <= 5; ++id) {
    rtlm::request r = make_request(id, 10_tok, 0.001 * static_cast<double>(id));
    r.predicted_length = predicted(means[id - 1], rtlm::tokens(2000));
    submit(r);
    backend_->set_output_length(request_id{id}, 3_tok);
  }
  const rtlm::step_plan& p = scheduler_->plan_step(0, now_);
  std::vector<request_id> batch;
  for (const rtlm::prefill_assignment& a : p.prefills) batch.push_back(a.id);
  std::sort(batch.begin(), batch.end());
  // The head (1, mean 100) with 3 (150) and 5 (60), within a factor 2; not 900 or 1000.
  EXPECT_EQ(batch, (std::vector<request_id>{request_id{1}, request_id{3}, request_id{5}}));
  rtlm::step_result res;
  ASSERT_EQ(backend_->execute(p, res), step_status::ok);
  scheduler_->complete_step(0, step_status::ok, res, now_);
  // While the batch runs nothing joins it.
  submit(make_request(9, 10_tok));
  EXPECT_TRUE(scheduler_->plan_step(0, now_).prefills.empty());
}

TEST_F(scheduler_test, a_prompt_no_step_can_take_whole_is_rejected) {
  // Found by fuzz/fuzz_scheduler: a static batch prefilled a prompt past max_step_tokens.
  rtlm::backend_capabilities caps = capabilities(100'000_tok);
  caps.batching = rtlm::batching_mode::static_batch;
  caps.max_step_tokens = 100_tok;
  make({}, caps);
  submit(make_request(1, 200_tok));
  submit(make_request(2, 50_tok));
  run_to_completion();
  EXPECT_EQ(events_.ids(request_event_kind::rejected), std::vector<request_id>{request_id{1}});
  EXPECT_EQ(events_.ids(request_event_kind::finished), std::vector<request_id>{request_id{2}});
}

TEST_F(scheduler_test, predictions_can_be_refined_while_waiting) {
  make_busy_batch_of_one(rtlm::policy_kind::shortest_predicted_first);
  for (std::uint64_t id = 2; id <= 3; ++id) {
    rtlm::request r = make_request(id, 10_tok);
    r.predicted_length = predicted(id == 2 ? 10 : 500, 1000_tok);
    submit(r);
  }
  step();
  // Request 3 turns out short: it now goes first.
  EXPECT_TRUE(scheduler_->update_prediction(request_id{3}, predicted(1, 1000_tok)));
  EXPECT_FALSE(scheduler_->update_prediction(request_id{1}, predicted(1, 1000_tok)));
  // An estimate submit() would refuse is refused here too, and changes nothing.
  EXPECT_FALSE(scheduler_->update_prediction(request_id{2}, predicted(-3e54, 1000_tok)));
  EXPECT_FALSE(scheduler_->update_prediction(
      request_id{2}, predicted(std::numeric_limits<double>::quiet_NaN(), 1000_tok)));
  run_to_completion();
  const std::vector<request_id> admitted = events_.ids(request_event_kind::admitted);
  EXPECT_EQ(admitted, (std::vector<request_id>{request_id{1}, request_id{3}, request_id{2}}));
}

TEST(scheduler_config, admission_modes_round_trip_their_names) {
  for (const auto m : {rtlm::admission_mode::accept, rtlm::admission_mode::reject,
                       rtlm::admission_mode::downgrade, rtlm::admission_mode::relax_deadline}) {
    EXPECT_EQ(rtlm::admission_mode_from_string(rtlm::to_string(m)), m);
  }
  EXPECT_EQ(rtlm::to_string(rtlm::admission_mode::relax_deadline), "relax_deadline");
  EXPECT_FALSE(rtlm::admission_mode_from_string("relax"));
}

TEST(scheduler_config, invalid_fields_are_named) {
  const auto blamed = [](rtlm::scheduler_config c) {
    return rtlm::test::blamed_field([&] { rtlm::scheduler s(c); });
  };
  rtlm::scheduler_config c;
  c.alpha_max = 1.0;
  EXPECT_EQ(blamed(c), "scheduler_config.alpha_max");
  c = {};
  c.max_requests = 0;
  EXPECT_EQ(blamed(c), "scheduler_config.max_requests");
  c = {};
  c.bound_level = std::nan("");
  EXPECT_EQ(blamed(c), "scheduler_config.bound_level");
  c = {};
  c.offload.saturated_wait = rtlm::seconds(-1);
  EXPECT_EQ(blamed(c), "offload_config.saturated_wait");
  c = {};
  c.step_time_learning.weight = 0;
  EXPECT_EQ(blamed(c), "online_correction_config.weight");
  for (const double margin : {-1.0, std::nan(""), static_cast<double>(INFINITY)}) {
    c = {};
    c.priority_preemption_margin = margin;
    EXPECT_EQ(blamed(c), "scheduler_config.priority_preemption_margin") << margin;
  }
}

TEST(scheduler_config, a_backend_without_kv_is_refused) {
  rtlm::scheduler s;
  rtlm::testing::fake_backend_config config;
  config.capabilities.kv_capacity = 0_tok;
  rtlm::testing::fake_backend backend(config);
  const rtlm::test::linear_estimator estimator;
  EXPECT_EQ(rtlm::test::blamed_field([&] { s.add_backend(backend, estimator); }),
            "backend_capabilities.kv_capacity");
}

TEST(scheduler_compile_time_policy, a_fixed_policy_schedules_in_its_order) {
  // basic_scheduler with the policy as a template parameter: shortest predicted first.
  rtlm::scheduler_config config;
  config.max_requests = 16;
  config.solver_max_tokens = 1024_tok;
  rtlm::basic_scheduler<rtlm::shortest_predicted_first> s(rtlm::shortest_predicted_first{}, config);
  rtlm::backend_capabilities caps = capabilities(100'000_tok);
  caps.max_batch_size = 1;
  rtlm::testing::fake_backend backend(fake_config(caps));
  const rtlm::test::linear_estimator estimator;
  s.add_backend(backend, estimator);
  recorder events;
  s.set_observer(&events);
  const double means[] = {300, 20, 100};  // NOLINT(*-avoid-c-arrays)
  for (std::uint64_t id = 1; id <= 3; ++id) {
    rtlm::request r = make_request(id, 10_tok);
    r.predicted_length = predicted(means[id - 1], 1000_tok);
    ASSERT_EQ(s.submit(r), rtlm::submit_status::accepted);
  }
  rtlm::time_point now = t0;
  for (int i = 0; i < 50; ++i)
    now += std::chrono::duration_cast<rtlm::duration>(s.step(0, now).measured);
  EXPECT_EQ(events.ids(request_event_kind::admitted),
            (std::vector<request_id>{request_id{2}, request_id{3}, request_id{1}}));
}

TEST(scheduler_compile_time_policy, a_config_naming_another_policy_is_refused) {
  rtlm::scheduler_config config;
  config.max_requests = 16;
  config.solver_max_tokens = 1024_tok;
  config.policy = rtlm::policy_kind::earliest_deadline_first;
  EXPECT_EQ(rtlm::test::blamed_field([&] {
              rtlm::basic_scheduler<rtlm::shortest_predicted_first> s(
                  rtlm::shortest_predicted_first{}, config);
            }),
            "scheduler_config.policy");
  config.policy = rtlm::policy_kind::shortest_predicted_first;  // its own kind: fine
  rtlm::basic_scheduler<rtlm::shortest_predicted_first> s(rtlm::shortest_predicted_first{}, config);
  EXPECT_EQ(s.config().policy, rtlm::policy_kind::shortest_predicted_first);
}

TEST(scheduler_admission, admission_control_judges_at_the_pace_the_backend_has_shown) {
  // The backend runs three times slower than its estimator says. Once the online correction has
  // learnt that, a deadline met only at the estimator's pace is refused.
  rtlm::scheduler_config config;
  config.max_requests = 64;
  config.solver_max_tokens = 1024_tok;
  config.admission_length = rtlm::admission_basis::expected_length;
  config.step_time_learning.weight = 0.5;
  rtlm::scheduler s(config);
  const rtlm::test::linear_estimator estimator;
  rtlm::testing::fake_backend_config fc = fake_config(capabilities(100'000_tok));
  fc.step_time = [&estimator](const rtlm::step_plan& plan) {
    rtlm::seconds t(0);
    for (const auto& p : plan.prefills)
      t += estimator.prefill_time(p.new_tokens, p.computed_tokens);
    std::vector<rtlm::tokens> kv;
    for (const auto& d : plan.decodes) kv.push_back(d.kv_length);
    if (!kv.empty()) t += estimator.decode_time(kv);
    return t * 3.0;
  };
  rtlm::testing::fake_backend backend(fc);
  s.add_backend(backend, estimator);
  recorder events;
  s.set_observer(&events);
  for (std::uint64_t id = 1; id <= 8; ++id) {
    rtlm::request r = make_request(id, 10_tok);
    ASSERT_EQ(s.submit(r), rtlm::submit_status::accepted);
  }
  rtlm::time_point now = t0;
  for (int i = 0; i < 100; ++i) {
    now += std::chrono::duration_cast<rtlm::duration>(s.step(0, now).measured);
  }
  ASSERT_GT(s.estimator(0).decode_factor(), 2.5);
  // Alone at the estimator's pace: 0.011 s of prefill and 20 steps of 0.0105 s, 0.22 s; at the
  // backend's, 0.66 s.
  rtlm::request probe = make_request(100, 10_tok);
  probe.arrival = now;
  probe.predicted_length = predicted(20, 20_tok);
  probe.deadline = now + std::chrono::duration_cast<rtlm::duration>(rtlm::seconds(0.4));
  ASSERT_EQ(s.submit(probe), rtlm::submit_status::accepted);
  s.plan_step(0, now);
  EXPECT_TRUE(events.last(request_id{100}, request_event_kind::rejected).has_value());
}

TEST(scheduler_failures, a_failed_steps_control_operations_are_sent_again) {
  rtlm::scheduler_config config;
  config.max_requests = 16;
  config.solver_max_tokens = 1024_tok;
  rtlm::scheduler s(config);
  rtlm::test::linear_estimator estimator;
  estimator.decode_per_kv = 1e-5;  // a long KV slows decoding: eviction helps the deadline
  rtlm::testing::fake_backend fake(fake_config(capabilities(100'000_tok)));
  rtlm::testing::faulty_backend faulty(fake);
  s.add_backend(faulty, estimator);
  rtlm::request r = make_request(1, 800_tok);
  r.predicted_length = predicted(20, 20_tok);
  r.deadline = at(0.4);
  ASSERT_EQ(s.submit(r), rtlm::submit_status::accepted);
  rtlm::step_result result;
  const auto run = [&](rtlm::time_point now) {
    const rtlm::step_plan& plan = s.plan_step(0, now);
    const rtlm::step_status status = faulty.execute(plan, result);
    return s.complete_step(0, status, result, now);
  };
  ASSERT_EQ(run(t0).status, step_status::ok);  // the prefill
  const rtlm::step_plan& evicting = s.plan_step(0, t0);
  ASSERT_EQ(evicting.evictions.size(), 1U);
  const rtlm::kv_eviction eviction = evicting.evictions[0];
  faulty.inject_next(rtlm::testing::fault::throw_std);
  ASSERT_EQ(s.complete_step(0, faulty.execute(evicting, result), result, t0).status,
            step_status::backend_failure);
  const rtlm::step_plan& again = s.plan_step(0, t0);
  ASSERT_EQ(again.evictions.size(), 1U);
  EXPECT_EQ(again.evictions[0].id, eviction.id);
  EXPECT_EQ(again.evictions[0].kept_tokens, eviction.kept_tokens);
  ASSERT_EQ(s.complete_step(0, faulty.execute(again, result), result, t0).status, step_status::ok);
  // Decode to the end; the step that carries the release fails, and the next sends it again.
  while (s.live_requests() > 0) ASSERT_EQ(run(t0).status, step_status::ok);
  const rtlm::step_plan& releasing = s.plan_step(0, t0);
  ASSERT_EQ(releasing.releases.size(), 1U);
  faulty.inject_next(rtlm::testing::fault::throw_std);
  s.complete_step(0, faulty.execute(releasing, result), result, t0);
  const rtlm::step_plan& released_again = s.plan_step(0, t0);
  ASSERT_EQ(released_again.releases.size(), 1U);
  EXPECT_EQ(released_again.releases[0], request_id{1});
  EXPECT_EQ(s.complete_step(0, faulty.execute(released_again, result), result, t0).status,
            step_status::ok);
}

}  // namespace
