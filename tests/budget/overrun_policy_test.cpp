// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/budget/overrun_policy.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "rtlm/core/error.hpp"
#include "rtlm/core/manual_clock.hpp"

// Suites are named OverrunPolicy, SingleStreamGuard and SingleStreamReplay so that
// --gtest_filter='*Overrun*:*SingleStream*' selects them all.
namespace {

using namespace std::chrono_literals;
using rtlm::job_outcome;
using rtlm::overrun_policy;
using rtlm::stream_job;

// A time point `d` after the epoch.
rtlm::time_point at(rtlm::duration d) { return rtlm::time_point{} + d; }

stream_job job(rtlm::duration release, rtlm::duration deadline, rtlm::duration execution) {
  return {.release = at(release), .deadline = at(deadline), .execution = execution};
}

// Checks one replayed job: its outcome, whether it ran, and its start and end times.
void expect_job(const rtlm::replayed_job& r, job_outcome outcome, bool started,
                rtlm::duration start, rtlm::duration end) {
  EXPECT_EQ(r.outcome, outcome) << rtlm::to_string(r.outcome);
  EXPECT_EQ(r.started, started);
  EXPECT_EQ(r.start, at(start));
  EXPECT_EQ(r.end, at(end));
}

void expect_counts(const rtlm::deadline_miss_stats& s, std::uint64_t released, std::uint64_t met,
                   std::uint64_t killed, std::uint64_t late, std::uint64_t skipped) {
  EXPECT_EQ(s.released, released);
  EXPECT_EQ(s.met, met);
  EXPECT_EQ(s.killed, killed);
  EXPECT_EQ(s.late, late);
  EXPECT_EQ(s.skipped, skipped);
}

TEST(OverrunPolicy, names_round_trip) {
  EXPECT_EQ(rtlm::to_string(overrun_policy::kill), "kill");
  EXPECT_EQ(rtlm::to_string(overrun_policy::skip_next), "skip_next");
  EXPECT_EQ(rtlm::overrun_policy_from_string("kill"), overrun_policy::kill);
  EXPECT_EQ(rtlm::overrun_policy_from_string("skip_next"), overrun_policy::skip_next);
  EXPECT_EQ(rtlm::overrun_policy_from_string("Kill"), std::nullopt);
  EXPECT_EQ(rtlm::to_string(job_outcome::met), "met");
  EXPECT_EQ(rtlm::to_string(job_outcome::killed), "killed");
  EXPECT_EQ(rtlm::to_string(job_outcome::late), "late");
  EXPECT_EQ(rtlm::to_string(job_outcome::skipped), "skipped");
  EXPECT_EQ(rtlm::to_string(rtlm::guard_error::nothing_running), "nothing_running");
  static_assert(rtlm::dropped_outcome(overrun_policy::kill) == job_outcome::killed);
  static_assert(rtlm::dropped_outcome(overrun_policy::skip_next) == job_outcome::skipped);
}

TEST(OverrunPolicy, stats_arithmetic) {
  constexpr rtlm::deadline_miss_stats none{};
  static_assert(none.completion_rate() == 0.0 && none.miss_rate() == 0.0);
  EXPECT_EQ(none.mean_lateness(), rtlm::seconds(0));

  const rtlm::deadline_miss_stats s{.released = 10,
                                    .met = 6,
                                    .killed = 1,
                                    .late = 2,
                                    .skipped = 1,
                                    .total_lateness = 3s,
                                    .max_lateness = 2s};
  EXPECT_EQ(s.decided(), 10U);
  EXPECT_EQ(s.missed(), 4U);
  EXPECT_DOUBLE_EQ(s.completion_rate(), 0.6);
  EXPECT_DOUBLE_EQ(s.miss_rate(), 0.4);
  EXPECT_DOUBLE_EQ(s.mean_lateness().count(), 1.5);

  // Jobs still pending count in released only: the rates do not sum to 1 yet.
  const rtlm::deadline_miss_stats pending{.released = 4, .met = 1, .late = 1};
  EXPECT_EQ(pending.decided(), 2U);
  EXPECT_DOUBLE_EQ(pending.completion_rate(), 0.25);
  EXPECT_DOUBLE_EQ(pending.miss_rate(), 0.25);
}

// Periodic jobs, period = relative deadline = 10 s; job 1 needs 25 s.
std::vector<stream_job> periodic_with_one_overrun() {
  return {job(0s, 10s, 4s), job(10s, 20s, 25s), job(20s, 30s, 4s), job(30s, 40s, 4s),
          job(40s, 50s, 4s)};
}

TEST(SingleStreamReplay, kill_misses_only_the_overrunning_job) {
  const auto jobs = periodic_with_one_overrun();
  const rtlm::stream_replay r = rtlm::replay_single_stream(jobs, overrun_policy::kill);
  ASSERT_EQ(r.jobs.size(), 5U);
  expect_job(r.jobs[0], job_outcome::met, true, 0s, 4s);
  expect_job(r.jobs[1], job_outcome::killed, true, 10s, 20s);  // stopped at its deadline
  expect_job(r.jobs[2], job_outcome::met, true, 20s, 24s);     // the stream is free at 20 s
  expect_job(r.jobs[3], job_outcome::met, true, 30s, 34s);
  expect_job(r.jobs[4], job_outcome::met, true, 40s, 44s);
  expect_counts(r.stats, 5, 4, 1, 0, 0);
  EXPECT_EQ(r.stats.total_lateness, 0s);
  EXPECT_DOUBLE_EQ(r.stats.completion_rate(), 0.8);
  EXPECT_DOUBLE_EQ(r.stats.miss_rate(), 0.2);
}

TEST(SingleStreamReplay, skip_next_runs_the_late_job_and_skips_those_released_meanwhile) {
  const auto jobs = periodic_with_one_overrun();
  const rtlm::stream_replay r = rtlm::replay_single_stream(jobs, overrun_policy::skip_next);
  ASSERT_EQ(r.jobs.size(), 5U);
  expect_job(r.jobs[0], job_outcome::met, true, 0s, 4s);
  expect_job(r.jobs[1], job_outcome::late, true, 10s, 35s);      // 15 s late
  expect_job(r.jobs[2], job_outcome::skipped, false, 20s, 20s);  // released at job 1's deadline
  expect_job(r.jobs[3], job_outcome::skipped, false, 30s, 30s);
  expect_job(r.jobs[4], job_outcome::met, true, 40s, 44s);  // job 1 ended at 35 s
  expect_counts(r.stats, 5, 2, 0, 1, 2);
  EXPECT_EQ(r.stats.total_lateness, 15s);
  EXPECT_EQ(r.stats.max_lateness, 15s);
  EXPECT_DOUBLE_EQ(r.stats.completion_rate(), 0.4);
  EXPECT_DOUBLE_EQ(r.stats.miss_rate(), 0.6);
}

TEST(SingleStreamReplay, ending_exactly_at_the_deadline_is_met) {
  // Job 0 ends at 10 s, its deadline; job 1 is released at that instant: the end comes first,
  // so job 1 starts at once under both policies (not skipped, not queued).
  const std::vector<stream_job> jobs{job(0s, 10s, 10s), job(10s, 20s, 10s)};
  for (const overrun_policy p : {overrun_policy::kill, overrun_policy::skip_next}) {
    SCOPED_TRACE(rtlm::to_string(p));
    const rtlm::stream_replay r = rtlm::replay_single_stream(jobs, p);
    expect_job(r.jobs[0], job_outcome::met, true, 0s, 10s);
    expect_job(r.jobs[1], job_outcome::met, true, 10s, 20s);
    expect_counts(r.stats, 2, 2, 0, 0, 0);
    EXPECT_DOUBLE_EQ(r.stats.completion_rate(), 1.0);
  }
}

TEST(SingleStreamReplay, zero_length_jobs) {
  // A zero-length job with time left is met at its start; one with no time left at all
  // (deadline == release) cannot start, since a job starting at its deadline is dropped.
  const std::vector<stream_job> jobs{job(0s, 5s, 0s), job(5s, 5s, 0s), job(5s, 6s, 0s),
                                     job(6s, 9s, 2s), job(7s, 9s, 0s)};
  {
    const rtlm::stream_replay r = rtlm::replay_single_stream(jobs, overrun_policy::kill);
    expect_job(r.jobs[0], job_outcome::met, true, 0s, 0s);
    expect_job(r.jobs[1], job_outcome::killed, false, 5s, 5s);
    expect_job(r.jobs[2], job_outcome::met, true, 5s, 5s);
    expect_job(r.jobs[3], job_outcome::met, true, 6s, 8s);
    expect_job(r.jobs[4], job_outcome::met, true, 8s, 8s);  // waited behind job 3
    expect_counts(r.stats, 5, 4, 1, 0, 0);
  }
  {
    const rtlm::stream_replay r = rtlm::replay_single_stream(jobs, overrun_policy::skip_next);
    expect_job(r.jobs[1], job_outcome::skipped, false, 5s, 5s);
    expect_job(r.jobs[4], job_outcome::met, true, 8s, 8s);
    expect_counts(r.stats, 5, 4, 0, 0, 1);
  }
}

TEST(SingleStreamReplay, fifo_wait_still_meets_the_deadline) {
  // Job 1 arrives while job 0 runs, waits until 6 s and ends at 11 s <= 12 s; job 2 then runs
  // from 11 s to 13 s <= 14 s. Nothing overruns, so both policies agree.
  const std::vector<stream_job> jobs{job(0s, 10s, 6s), job(2s, 12s, 5s), job(3s, 14s, 2s)};
  for (const overrun_policy p : {overrun_policy::kill, overrun_policy::skip_next}) {
    SCOPED_TRACE(rtlm::to_string(p));
    const rtlm::stream_replay r = rtlm::replay_single_stream(jobs, p);
    expect_job(r.jobs[0], job_outcome::met, true, 0s, 6s);
    expect_job(r.jobs[1], job_outcome::met, true, 6s, 11s);
    expect_job(r.jobs[2], job_outcome::met, true, 11s, 13s);
    expect_counts(r.stats, 3, 3, 0, 0, 0);
  }
}

TEST(SingleStreamReplay, a_waiting_job_whose_deadline_passes_never_starts) {
  // Job 1's deadline (8 s) is reached while it waits behind job 0 (0..8 s): dropped at 8 s;
  // job 2 behind it starts at once.
  const std::vector<stream_job> jobs{job(0s, 10s, 8s), job(1s, 8s, 1s), job(2s, 20s, 1s)};
  const rtlm::stream_replay r = rtlm::replay_single_stream(jobs, overrun_policy::kill);
  expect_job(r.jobs[0], job_outcome::met, true, 0s, 8s);
  expect_job(r.jobs[1], job_outcome::killed, false, 8s, 8s);
  expect_job(r.jobs[2], job_outcome::met, true, 8s, 9s);
  expect_counts(r.stats, 3, 2, 1, 0, 0);
}

TEST(SingleStreamReplay, a_job_queued_behind_an_overrun) {
  // Job 1 is released at 5 s, before job 0 (deadline 10 s, needs 20 s) is late, so it waits.
  // Kill frees the stream at 10 s and job 1 meets its 15 s deadline; skip_next runs job 0 to
  // 20 s, by when job 1's deadline has passed.
  const std::vector<stream_job> jobs{job(0s, 10s, 20s), job(5s, 15s, 3s)};
  const rtlm::stream_replay kill = rtlm::replay_single_stream(jobs, overrun_policy::kill);
  expect_job(kill.jobs[0], job_outcome::killed, true, 0s, 10s);
  expect_job(kill.jobs[1], job_outcome::met, true, 10s, 13s);
  expect_counts(kill.stats, 2, 1, 1, 0, 0);
  const rtlm::stream_replay skip = rtlm::replay_single_stream(jobs, overrun_policy::skip_next);
  expect_job(skip.jobs[0], job_outcome::late, true, 0s, 20s);
  expect_job(skip.jobs[1], job_outcome::skipped, false, 20s, 20s);
  expect_counts(skip.stats, 2, 0, 0, 1, 1);
  EXPECT_EQ(skip.stats.total_lateness, 10s);
}

TEST(SingleStreamReplay, lateness_sums_and_maximum) {
  // Two late jobs under skip_next: 3 s and 1 s late; equal release times are allowed.
  const std::vector<stream_job> jobs{job(0s, 2s, 5s), job(10s, 11s, 2s), job(10s, 30s, 1s)};
  const rtlm::stream_replay r = rtlm::replay_single_stream(jobs, overrun_policy::skip_next);
  expect_job(r.jobs[0], job_outcome::late, true, 0s, 5s);
  expect_job(r.jobs[1], job_outcome::late, true, 10s, 12s);
  // Released at 10 s while job 1 ran but was not yet late (deadline 11 s): it waits.
  expect_job(r.jobs[2], job_outcome::met, true, 12s, 13s);
  expect_counts(r.stats, 3, 1, 0, 2, 0);
  EXPECT_EQ(r.stats.total_lateness, 4s);
  EXPECT_EQ(r.stats.max_lateness, 3s);
  EXPECT_DOUBLE_EQ(r.stats.mean_lateness().count(), 2.0);
}

TEST(SingleStreamReplay, huge_executions_saturate_instead_of_overflowing) {
  const std::vector<stream_job> jobs{
      {.release = at(1s), .deadline = at(2s), .execution = rtlm::duration::max()}};
  const rtlm::stream_replay kill = rtlm::replay_single_stream(jobs, overrun_policy::kill);
  expect_job(kill.jobs[0], job_outcome::killed, true, 1s, 2s);
  const rtlm::stream_replay skip = rtlm::replay_single_stream(jobs, overrun_policy::skip_next);
  EXPECT_EQ(skip.jobs[0].outcome, job_outcome::late);
  EXPECT_EQ(skip.jobs[0].end, rtlm::time_point::max());
  EXPECT_EQ(skip.stats.max_lateness, rtlm::time_point::max() - at(2s));
}

TEST(SingleStreamReplay, no_jobs) {
  const rtlm::stream_replay r = rtlm::replay_single_stream({}, overrun_policy::kill);
  EXPECT_TRUE(r.jobs.empty());
  expect_counts(r.stats, 0, 0, 0, 0, 0);
  EXPECT_EQ(r.stats.completion_rate(), 0.0);
}

TEST(SingleStreamReplay, rejects_bad_jobs_naming_field_and_value) {
  const auto fails = [](const std::vector<stream_job>& jobs, const std::string& field,
                        const std::string& value) {
    try {
      (void)rtlm::replay_single_stream(jobs, overrun_policy::kill);
      ADD_FAILURE() << "no error for " << field;
    } catch (const rtlm::error& e) {
      EXPECT_EQ(e.field(), field);
      EXPECT_EQ(e.value(), value);
    }
  };
  fails({job(0s, 1s, 1s), job(5s, 9s, 1s), job(4s, 9s, 1s)}, "jobs[2].release", "4000000000ns");
  fails({job(0s, 1s, 1s), job(2s, 3s, 1s), job(3s, 4s, 1s), job(3s, 2s, 1s)}, "jobs[3].deadline",
        "2000000000ns");
  fails({job(0s, 1s, -1ns)}, "jobs[0].execution", "-1ns");
  try {
    (void)rtlm::replay_single_stream(std::vector<stream_job>{job(5s, 4s, 0s)},
                                     overrun_policy::skip_next);
    ADD_FAILURE() << "no error";
  } catch (const rtlm::error& e) {
    EXPECT_STREQ(e.what(),
                 "rtlm: jobs[0].deadline = 4000000000ns: must not be before jobs[0].release "
                 "(5000000000ns)");
  }
}

TEST(SingleStreamGuard, online_sequence_under_kill) {
  using clock = rtlm::manual_clock;
  using rtlm::checkpoint_action;
  using rtlm::finish_outcome;
  using rtlm::stream_admission;
  clock::set(rtlm::time_point{});
  rtlm::single_stream_guard g(overrun_policy::kill);
  EXPECT_EQ(g.policy(), overrun_policy::kill);
  EXPECT_FALSE(g.running());

  EXPECT_EQ(g.release(clock::now(), at(10s)), stream_admission::start);
  EXPECT_TRUE(g.running());
  EXPECT_EQ(g.running_deadline(), at(10s));
  clock::advance(2s);
  EXPECT_EQ(g.release(clock::now(), at(12s)), stream_admission::wait);  // FIFO behind job 0
  EXPECT_EQ(g.waiting(), 1U);
  clock::advance(1s);
  EXPECT_EQ(g.checkpoint(clock::now()), checkpoint_action::proceed);
  clock::advance(7s);  // 10 s: job 0's deadline
  EXPECT_EQ(g.checkpoint(clock::now()), checkpoint_action::stop);
  EXPECT_FALSE(g.running());
  EXPECT_EQ(g.start_next(clock::now(), at(12s)), stream_admission::start);
  EXPECT_EQ(g.waiting(), 0U);
  clock::advance(1s);
  EXPECT_EQ(g.finish(clock::now()), finish_outcome::met);
  expect_counts(g.stats(), 2, 1, 1, 0, 0);

  // Misuse is rejected, named, and changes nothing.
  EXPECT_EQ(g.finish(clock::now()), finish_outcome::rejected);
  EXPECT_EQ(g.last_error(), rtlm::guard_error::nothing_running);
  EXPECT_EQ(g.checkpoint(clock::now()), checkpoint_action::rejected);
  EXPECT_EQ(g.last_error(), rtlm::guard_error::nothing_running);
  EXPECT_EQ(g.start_next(clock::now(), at(20s)), stream_admission::rejected);
  EXPECT_EQ(g.last_error(), rtlm::guard_error::nothing_waiting);
  EXPECT_EQ(g.release(at(5s), at(20s)), stream_admission::rejected);
  EXPECT_EQ(g.last_error(), rtlm::guard_error::time_went_backwards);
  EXPECT_EQ(g.release(clock::now(), at(10s)), stream_admission::rejected);
  EXPECT_EQ(g.last_error(), rtlm::guard_error::deadline_before_release);
  expect_counts(g.stats(), 2, 1, 1, 0, 0);
  EXPECT_EQ(g.latest_time(), at(11s));

  // No time left at release: dropped as killed without running.
  EXPECT_EQ(g.release(clock::now(), clock::now()), stream_admission::drop);
  EXPECT_EQ(g.last_error(), rtlm::guard_error::none);
  EXPECT_FALSE(g.running());

  // A job whose last step crosses its deadline between checkpoints: its result is discarded.
  EXPECT_EQ(g.release(clock::now(), at(20s)), stream_admission::start);
  EXPECT_EQ(g.release(clock::now(), at(30s)), stream_admission::wait);
  EXPECT_EQ(g.start_next(clock::now(), at(30s)), stream_admission::rejected);
  EXPECT_EQ(g.last_error(), rtlm::guard_error::stream_busy);
  EXPECT_EQ(g.checkpoint(at(19s)), checkpoint_action::proceed);
  EXPECT_EQ(g.finish(at(21s)), finish_outcome::killed);
  EXPECT_EQ(g.checkpoint(at(20s)), checkpoint_action::rejected);
  EXPECT_EQ(g.last_error(), rtlm::guard_error::time_went_backwards);
  EXPECT_EQ(g.start_next(at(21s), at(30s)), stream_admission::start);
  EXPECT_EQ(g.finish(at(30s)), finish_outcome::met);
  expect_counts(g.stats(), 5, 2, 3, 0, 0);
  EXPECT_EQ(g.stats().total_lateness, 0s);
}

TEST(SingleStreamGuard, online_sequence_under_skip_next) {
  using rtlm::checkpoint_action;
  using rtlm::finish_outcome;
  using rtlm::stream_admission;
  rtlm::single_stream_guard g(overrun_policy::skip_next);
  EXPECT_EQ(g.release(at(0s), at(10s)), stream_admission::start);
  EXPECT_EQ(g.release(at(5s), at(30s)), stream_admission::wait);   // job 0 not late yet
  EXPECT_EQ(g.checkpoint(at(10s)), checkpoint_action::proceed);    // late, but runs to its end
  EXPECT_EQ(g.release(at(10s), at(40s)), stream_admission::drop);  // released while late
  EXPECT_EQ(g.release(at(12s), at(50s)), stream_admission::drop);
  EXPECT_EQ(g.finish(at(14s)), finish_outcome::late);
  // The stream is free but a job still waits: a new release queues behind it (FIFO).
  EXPECT_EQ(g.release(at(14s), at(60s)), stream_admission::wait);
  EXPECT_EQ(g.waiting(), 2U);
  EXPECT_EQ(g.start_next(at(14s), at(30s)), stream_admission::start);
  EXPECT_EQ(g.finish(at(20s)), finish_outcome::met);
  EXPECT_EQ(g.start_next(at(20s), at(60s)), stream_admission::start);
  EXPECT_EQ(g.finish(at(63s)), finish_outcome::late);
  expect_counts(g.stats(), 5, 1, 0, 2, 2);
  EXPECT_EQ(g.stats().total_lateness, 7s);
  EXPECT_EQ(g.stats().max_lateness, 4s);
  EXPECT_DOUBLE_EQ(g.stats().mean_lateness().count(), 3.5);
  EXPECT_DOUBLE_EQ(g.stats().completion_rate(), 0.2);
  EXPECT_DOUBLE_EQ(g.stats().miss_rate(), 0.8);
}

TEST(SingleStreamGuard, is_a_small_trivially_copyable_value) {
  static_assert(std::is_trivially_copyable_v<rtlm::single_stream_guard>);
  static_assert(std::is_nothrow_move_constructible_v<rtlm::single_stream_guard>);
  rtlm::single_stream_guard g(overrun_policy::kill);
  const rtlm::time_point t{};
  static_assert(noexcept(g.release(t, t)));
  static_assert(noexcept(g.start_next(t, t)));
  static_assert(noexcept(g.checkpoint(t)));
  static_assert(noexcept(g.finish(t)));
  EXPECT_EQ(g.latest_time(), rtlm::time_point::min());
}

}  // namespace
