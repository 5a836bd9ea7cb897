// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <limits>
#include <string>

#include "rtlm/budget/overrun_policy.hpp"
#include "rtlm/detail/enum_names.hpp"
#include "rtlm/detail/validate.hpp"

namespace rtlm {

namespace detail::single_stream {

// `later - earlier` for later >= earlier, saturated at duration::max() instead of overflowing.
constexpr duration elapsed(time_point later, time_point earlier) noexcept {
  const duration::rep a = later.time_since_epoch().count();
  const duration::rep b = earlier.time_since_epoch().count();
  if (b < 0 && a > std::numeric_limits<duration::rep>::max() + b) return duration::max();
  return duration(a - b);
}

// `t + d` for d >= 0, saturated at time_point::max().
constexpr time_point advanced(time_point t, duration d) noexcept {
  if (t.time_since_epoch().count() > std::numeric_limits<duration::rep>::max() - d.count()) {
    return time_point::max();
  }
  return t + d;
}

// `a + b` for a, b >= 0, saturated at duration::max().
constexpr duration sum(duration a, duration b) noexcept {
  return a > duration::max() - b ? duration::max() : a + b;
}

// A time point as text for error messages: nanoseconds since the clock's epoch.
inline std::string format_time(time_point t) {
  return fmt::format("{}ns", t.time_since_epoch().count());
}

}  // namespace detail::single_stream

namespace detail {

inline constexpr std::string_view overrun_policy_names[] = {"kill", "skip_next"};
inline constexpr std::string_view job_outcome_names[] = {"met", "killed", "late", "skipped"};
inline constexpr std::string_view guard_error_names[] = {
    "none",        "time_went_backwards", "deadline_before_release", "nothing_running",
    "stream_busy", "nothing_waiting"};

}  // namespace detail

RTLM_INLINE std::string_view to_string(overrun_policy policy) noexcept {
  return detail::enum_name(policy, detail::overrun_policy_names);
}

RTLM_INLINE std::optional<overrun_policy> overrun_policy_from_string(
    std::string_view name) noexcept {
  return detail::enum_from_name<overrun_policy>(name, detail::overrun_policy_names);
}

RTLM_INLINE std::string_view to_string(job_outcome outcome) noexcept {
  return detail::enum_name(outcome, detail::job_outcome_names);
}

RTLM_INLINE std::string_view to_string(guard_error error) noexcept {
  return detail::enum_name(error, detail::guard_error_names);
}

RTLM_INLINE void single_stream_guard::accept(time_point now) noexcept {
  latest_ = now;
  last_error_ = guard_error::none;
}

RTLM_INLINE void single_stream_guard::record(job_outcome outcome) noexcept {
  switch (outcome) {
    case job_outcome::met:
      ++stats_.met;
      break;
    case job_outcome::killed:
      ++stats_.killed;
      break;
    case job_outcome::late:
      ++stats_.late;
      break;
    case job_outcome::skipped:
      ++stats_.skipped;
      break;
  }
}

RTLM_INLINE stream_admission single_stream_guard::admit(time_point now,
                                                        time_point deadline) noexcept {
  if (now < deadline) {
    running_ = true;
    running_deadline_ = deadline;
    return stream_admission::start;
  }
  // No time left: starting at or after the deadline cannot meet it.
  record(dropped_outcome(policy_));
  return stream_admission::drop;
}

RTLM_INLINE stream_admission single_stream_guard::release(time_point at,
                                                          time_point deadline) noexcept {
  if (at < latest_) {
    reject(guard_error::time_went_backwards);
    return stream_admission::rejected;
  }
  if (deadline < at) {
    reject(guard_error::deadline_before_release);
    return stream_admission::rejected;
  }
  accept(at);
  ++stats_.released;
  if (running_) {
    switch (policy_) {
      case overrun_policy::kill:
        break;  // the running job is stopped at its next checkpoint; this one waits
      case overrun_policy::skip_next:
        // The running job has reached its deadline without ending: it is late, so jobs released
        // now are skipped.
        if (at >= running_deadline_) {
          record(job_outcome::skipped);
          return stream_admission::drop;
        }
        break;
    }
    ++waiting_;
    return stream_admission::wait;
  }
  if (waiting_ > 0) {  // FIFO: earlier jobs go first
    ++waiting_;
    return stream_admission::wait;
  }
  return admit(at, deadline);
}

RTLM_INLINE stream_admission single_stream_guard::start_next(time_point now,
                                                             time_point deadline) noexcept {
  if (now < latest_) {
    reject(guard_error::time_went_backwards);
    return stream_admission::rejected;
  }
  if (running_) {
    reject(guard_error::stream_busy);
    return stream_admission::rejected;
  }
  if (waiting_ == 0) {
    reject(guard_error::nothing_waiting);
    return stream_admission::rejected;
  }
  accept(now);
  --waiting_;
  return admit(now, deadline);
}

RTLM_INLINE checkpoint_action single_stream_guard::checkpoint(time_point now) noexcept {
  if (now < latest_) {
    reject(guard_error::time_went_backwards);
    return checkpoint_action::rejected;
  }
  if (!running_) {
    reject(guard_error::nothing_running);
    return checkpoint_action::rejected;
  }
  accept(now);
  switch (policy_) {
    case overrun_policy::kill:
      if (now >= running_deadline_) {
        running_ = false;
        record(job_outcome::killed);
        return checkpoint_action::stop;
      }
      break;
    case overrun_policy::skip_next:
      break;  // a late job runs to its end
  }
  return checkpoint_action::proceed;
}

RTLM_INLINE finish_outcome single_stream_guard::finish(time_point now) noexcept {
  if (now < latest_) {
    reject(guard_error::time_went_backwards);
    return finish_outcome::rejected;
  }
  if (!running_) {
    reject(guard_error::nothing_running);
    return finish_outcome::rejected;
  }
  accept(now);
  running_ = false;
  if (now <= running_deadline_) {
    record(job_outcome::met);
    return finish_outcome::met;
  }
  switch (policy_) {
    case overrun_policy::kill:
      // The last step crossed the deadline between checkpoints: the result is too late.
      record(job_outcome::killed);
      return finish_outcome::killed;
    case overrun_policy::skip_next:
      break;
  }
  const duration lateness = detail::single_stream::elapsed(now, running_deadline_);
  record(job_outcome::late);
  stats_.total_lateness = detail::single_stream::sum(stats_.total_lateness, lateness);
  if (lateness > stats_.max_lateness) stats_.max_lateness = lateness;
  return finish_outcome::late;
}

RTLM_INLINE stream_replay replay_single_stream(std::span<const stream_job> jobs,
                                               overrun_policy policy) {
  using detail::require;
  using detail::single_stream::format_time;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const stream_job& job = jobs[i];
    if (i > 0) {
      require(job.release >= jobs[i - 1].release, fmt::format("jobs[{}].release", i),
              format_time(job.release),
              fmt::format("must not be before jobs[{}].release ({})", i - 1,
                          format_time(jobs[i - 1].release)));
    }
    require(job.deadline >= job.release, fmt::format("jobs[{}].deadline", i),
            format_time(job.deadline),
            fmt::format("must not be before jobs[{}].release ({})", i, format_time(job.release)));
    require(job.execution >= duration(0), fmt::format("jobs[{}].execution", i),
            fmt::format("{}ns", job.execution.count()), "must be >= 0");
  }

  stream_replay out;
  out.jobs.resize(jobs.size());
  single_stream_guard guard(policy);
  std::vector<std::size_t> queue;  // indices of the jobs answered `wait`, FIFO from `head`
  queue.reserve(jobs.size());
  std::size_t head = 0;
  std::size_t current = 0;    // the running job, while guard.running()
  time_point leaves{};        // when the running job leaves the stream: its end, or its kill
  bool killed_there = false;  // whether it leaves by a kill at its deadline

  const auto start = [&](std::size_t j, time_point now) {
    replayed_job& r = out.jobs[j];
    r.started = true;
    r.start = now;
    const time_point end = detail::single_stream::advanced(now, jobs[j].execution);
    // Under kill a job that cannot end by its deadline is stopped there; the guard stops it at a
    // checkpoint at the deadline.
    killed_there = policy == overrun_policy::kill && end > jobs[j].deadline;
    leaves = killed_there ? jobs[j].deadline : end;
    current = j;
  };
  const auto drop = [&](std::size_t j, time_point now) {
    replayed_job& r = out.jobs[j];
    r.outcome = dropped_outcome(policy);
    r.start = now;
    r.end = now;
  };
  // Plays the stream forward to `until`: the running job leaves when that is at or before
  // `until` (an end comes before a release at the same time), then waiting jobs start, FIFO.
  const auto play_until = [&](time_point until) {
    while (guard.running() && leaves <= until) {
      replayed_job& r = out.jobs[current];
      r.end = leaves;
      if (killed_there) {
        // A checkpoint at the deadline (the job started before it) answers stop under kill.
        static_cast<void>(guard.checkpoint(leaves));
        r.outcome = job_outcome::killed;
      } else {
        switch (guard.finish(leaves)) {
          case finish_outcome::met:
            r.outcome = job_outcome::met;
            break;
          case finish_outcome::late:
            r.outcome = job_outcome::late;
            break;
          case finish_outcome::killed:  // not reached: under kill, such a job is killed_there
            r.outcome = job_outcome::killed;
            break;
          case finish_outcome::rejected:  // not reached: a job runs and time only moves on
            break;
        }
      }
      while (!guard.running() && head < queue.size()) {
        const std::size_t j = queue[head++];
        // The stream is free and `queue` holds the waiting jobs, so this answers start or drop.
        if (guard.start_next(leaves, jobs[j].deadline) == stream_admission::start) {
          start(j, leaves);
        } else {
          drop(j, leaves);
        }
      }
    }
  };

  for (std::size_t i = 0; i < jobs.size(); ++i) {
    play_until(jobs[i].release);
    switch (guard.release(jobs[i].release, jobs[i].deadline)) {
      case stream_admission::start:
        start(i, jobs[i].release);
        break;
      case stream_admission::wait:
        queue.push_back(i);
        break;
      case stream_admission::drop:
        drop(i, jobs[i].release);
        break;
      case stream_admission::rejected:  // not reached: the input was validated above
        break;
    }
  }
  play_until(time_point::max());
  out.stats = guard.stats();
  return out;
}

}  // namespace rtlm
