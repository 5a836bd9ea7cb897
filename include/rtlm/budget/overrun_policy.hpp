// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/config.hpp"

namespace rtlm {

/// What a single-stream host does with a job that overruns its deadline (TimeBill's two
/// policies; docs/methods.md, 'Overrun policies'). One job runs at a time; jobs released while
/// the stream is busy wait FIFO.
enum class overrun_policy : std::uint8_t {
  /// Kill: the late job is stopped at its deadline and dropped; the stream is free from then on.
  /// A job that could only start at or after its deadline is dropped without running.
  kill,
  /// Skip-Next: the late job runs to its end; every job released while it is past its deadline
  /// is skipped (never started). A job that could only start at or after its deadline is skipped.
  skip_next,
};

/// What became of one job on a single stream.
enum class job_outcome : std::uint8_t {
  /// Ran to its end at or before its deadline (end == deadline counts as met).
  met,
  /// Under kill: stopped at its deadline (or later, at the host's first checkpoint past it), or
  /// never started because its deadline had passed (start >= deadline) before it could start.
  killed,
  /// Under skip_next: ran to its end after its deadline; its lateness is counted.
  late,
  /// Under skip_next: never started, because it was released while a late job ran, or because
  /// its deadline had passed (start >= deadline) before it could start.
  skipped,
};

/// The name of a policy: "kill" or "skip_next". O(1); no allocation.
[[nodiscard]] std::string_view to_string(overrun_policy policy) noexcept;
/// The policy named `name` ("kill" or "skip_next"), or nullopt. O(1); no allocation.
[[nodiscard]] std::optional<overrun_policy> overrun_policy_from_string(
    std::string_view name) noexcept;
/// The name of an outcome: "met", "killed", "late" or "skipped". O(1); no allocation.
[[nodiscard]] std::string_view to_string(job_outcome outcome) noexcept;

/// The outcome of a job that `policy` drops without running it: killed under kill, skipped
/// under skip_next. O(1).
[[nodiscard]] constexpr job_outcome dropped_outcome(overrun_policy policy) noexcept {
  switch (policy) {
    case overrun_policy::kill:
      return job_outcome::killed;
    case overrun_policy::skip_next:
      return job_outcome::skipped;
  }
  return job_outcome::skipped;
}

/// Deadline-miss accounting for one stream: how many jobs were released and what became of
/// them. A job counts in `released` from its release and in one outcome once decided, so
/// released - decided() jobs are still waiting or running. Plain data, trivially copyable;
/// members O(1), no allocation.
struct deadline_miss_stats {
  std::uint64_t released = 0;  ///< jobs released (accepted by the guard or the replay)
  std::uint64_t met = 0;       ///< finished at or before their deadline
  std::uint64_t killed = 0;    ///< dropped under kill, at the deadline or before starting
  std::uint64_t late = 0;      ///< finished after their deadline under skip_next
  std::uint64_t skipped = 0;   ///< never started under skip_next
  /// Sum over late jobs of end - deadline, in integer nanoseconds (exact; saturates at
  /// duration::max()). Killed jobs add nothing: they stop at their deadline.
  duration total_lateness{0};
  /// The largest end - deadline of a late job; 0 when none was late.
  duration max_lateness{0};

  /// Jobs with an outcome: met + killed + late + skipped.
  [[nodiscard]] constexpr std::uint64_t decided() const noexcept {
    return met + killed + late + skipped;
  }
  /// Jobs that missed their deadline: killed + late + skipped.
  [[nodiscard]] constexpr std::uint64_t missed() const noexcept { return killed + late + skipped; }
  /// met / released, in [0, 1]; 0 when none was released.
  [[nodiscard]] constexpr double completion_rate() const noexcept {
    return released == 0 ? 0.0 : static_cast<double>(met) / static_cast<double>(released);
  }
  /// missed() / released, in [0, 1]; 0 when none was released. completion_rate() + miss_rate()
  /// is 1 once every released job is decided.
  [[nodiscard]] constexpr double miss_rate() const noexcept {
    return released == 0 ? 0.0 : static_cast<double>(missed()) / static_cast<double>(released);
  }
  /// total_lateness / late, in seconds; 0 when none was late.
  [[nodiscard]] constexpr seconds mean_lateness() const noexcept {
    return late == 0 ? seconds(0) : seconds(total_lateness) / static_cast<double>(late);
  }
};

/// What the guard tells the host to do with a released job (release()) or with the job at the
/// head of the host's queue (start_next()).
enum class stream_admission : std::uint8_t {
  start,     ///< run it now; the stream is busy until finish() or a checkpoint() that says stop
  wait,      ///< (release() only) append it to the host's FIFO queue; see start_next()
  drop,      ///< never run it; its outcome, dropped_outcome(policy()), is already recorded
  rejected,  ///< misuse: nothing changed and nothing was counted; last_error() says why
};

/// What the guard tells the host at a decode checkpoint of the running job.
enum class checkpoint_action : std::uint8_t {
  proceed,   ///< keep running the job
  stop,      ///< (kill only) stop it now: its deadline has passed; recorded killed, stream free
  rejected,  ///< misuse: nothing changed; last_error() says why
};

/// What the guard recorded for a job the host reports finished.
enum class finish_outcome : std::uint8_t {
  met,       ///< finished at or before its deadline
  late,      ///< (skip_next) finished after its deadline; its lateness is counted
  killed,    ///< (kill) finished after its deadline, between checkpoints: discard the result
  rejected,  ///< misuse: nothing changed; last_error() says why
};

/// Why the guard rejected a call: the host broke the protocol. A rejected call changes nothing.
enum class guard_error : std::uint8_t {
  none,                     ///< the latest call was accepted
  time_went_backwards,      ///< the call's time is earlier than the latest time accepted
  deadline_before_release,  ///< release() with deadline < release time
  nothing_running,          ///< checkpoint() or finish() while no job runs
  stream_busy,              ///< start_next() while a job runs
  nothing_waiting,          ///< start_next() while no released job waits
};

/// The name of a guard error ("none", "time_went_backwards", ...). O(1); no allocation.
[[nodiscard]] std::string_view to_string(guard_error error) noexcept;

/// The online overrun guard of one single-stream host (one job at a time on one GPU, as in
/// TimeBill): it applies an overrun_policy to jobs as they are released, run and finish, and
/// keeps the deadline_miss_stats. The host owns the FIFO queue of waiting jobs; the guard
/// counts them and answers, for each event, what to do:
/// - release(at, deadline) when a job arrives: start it, let it wait, or drop it;
/// - start_next(now, deadline) when the stream is free and the host's queue is not: start the
///   queue's head or drop it (ask again for the next one);
/// - checkpoint(now) between decode steps: proceed, or stop (kill at/after the deadline);
/// - finish(now) when the running job ends: records met, late or killed.
///
/// Times are rtlm::time_point and must not decrease from call to call. Misuse (time going
/// backwards, a deadline before its release, finishing or checkpointing with nothing running,
/// starting while busy or with nothing waiting) is answered `rejected`, changes nothing, and
/// last_error() names it: the per-step path never throws. Every call is O(1), noexcept and
/// allocation-free. Not thread-safe: one stream, one thread, one guard. Trivially copyable.
///
/// @code
/// rtlm::single_stream_guard guard(rtlm::overrun_policy::skip_next);
/// std::deque<job> queue;       // jobs answered `wait`, FIFO
/// std::optional<job> current;  // the job on the stream
/// for (;;) {
///   for (job& j : poll_arrivals()) {  // between two decode steps
///     switch (guard.release(clock::now(), j.deadline)) {
///       case rtlm::stream_admission::start: current = std::move(j); break;
///       case rtlm::stream_admission::wait: queue.push_back(std::move(j)); break;
///       case rtlm::stream_admission::drop: break;  // counted as killed (kill) or skipped
///       case rtlm::stream_admission::rejected: log(rtlm::to_string(guard.last_error())); break;
///     }
///   }
///   while (!current && !queue.empty()) {  // the stream is free: start the head or drop it
///     job j = std::move(queue.front());
///     queue.pop_front();
///     if (guard.start_next(clock::now(), j.deadline) == rtlm::stream_admission::start) {
///       current = std::move(j);
///     }
///   }
///   if (!current) {
///     wait_for_arrival();
///   } else if (guard.checkpoint(clock::now()) == rtlm::checkpoint_action::stop) {
///     current.reset();  // kill: its deadline has passed
///   } else if (current->decode_step()) {  // true once the job is done
///     guard.finish(clock::now());  // met, late (skip_next) or killed (kill)
///     current.reset();
///   }
/// }
/// @endcode
class single_stream_guard {
 public:
  /// A guard for an idle stream under `policy`, with empty stats. O(1).
  explicit single_stream_guard(overrun_policy policy) noexcept : policy_(policy) {}

  /// A job is released at `at` (the host's current time) with `deadline` (>= `at`). Counts it
  /// as released and answers:
  /// - drop under skip_next if a job runs and `at` >= that job's deadline (it is late);
  /// - wait if a job runs, or if earlier jobs still wait (FIFO);
  /// - otherwise start if `at` < `deadline`, else drop (no time left to run it).
  /// Rejected (time_went_backwards, deadline_before_release) without counting. A job that ends
  /// at `at` is to be finish()ed before this call, or it reads as still running. O(1).
  stream_admission release(time_point at, time_point deadline) noexcept;

  /// The stream is free at `now` and the host's queue is not: the queue's head, whose deadline
  /// is `deadline`, leaves the queue and is answered start if `now` < `deadline`, else drop.
  /// Rejected (time_went_backwards, stream_busy, nothing_waiting) without change. O(1).
  stream_admission start_next(time_point now, time_point deadline) noexcept;

  /// A decode checkpoint of the running job at `now`. Under kill, at or after its deadline: stop
  /// (recorded killed; the stream is free from `now`). Otherwise proceed. Rejected
  /// (time_went_backwards, nothing_running) without change. O(1).
  checkpoint_action checkpoint(time_point now) noexcept;

  /// The running job ended at `now`: met if `now` <= its deadline; otherwise late under
  /// skip_next (lateness now - deadline counted) or killed under kill (its result came too
  /// late). The stream is free. Rejected (time_went_backwards, nothing_running). O(1).
  finish_outcome finish(time_point now) noexcept;

  /// The policy the guard applies. O(1).
  [[nodiscard]] overrun_policy policy() const noexcept { return policy_; }
  /// Whether a job runs on the stream. O(1).
  [[nodiscard]] bool running() const noexcept { return running_; }
  /// The running job's deadline; meaningful only while running(). O(1).
  [[nodiscard]] time_point running_deadline() const noexcept { return running_deadline_; }
  /// Released jobs that wait in the host's queue (answered wait, not yet given to start_next()).
  /// O(1).
  [[nodiscard]] std::uint64_t waiting() const noexcept { return waiting_; }
  /// The latest time an accepted call gave; time_point::min() before the first. O(1).
  [[nodiscard]] time_point latest_time() const noexcept { return latest_; }
  /// Why the latest call was rejected; guard_error::none after an accepted call. O(1).
  [[nodiscard]] guard_error last_error() const noexcept { return last_error_; }
  /// The deadline-miss accounting so far. O(1).
  [[nodiscard]] const deadline_miss_stats& stats() const noexcept { return stats_; }

 private:
  // Starts the job (`now` < `deadline`) or drops it, recording the drop.
  stream_admission admit(time_point now, time_point deadline) noexcept;
  // Counts one job with `outcome` in the stats.
  void record(job_outcome outcome) noexcept;
  // Records `error` as the reason of a rejected call.
  void reject(guard_error error) noexcept { last_error_ = error; }
  // Accepts `now` as the latest time: clears last_error_.
  void accept(time_point now) noexcept;

  overrun_policy policy_;
  bool running_ = false;
  guard_error last_error_ = guard_error::none;
  time_point running_deadline_{};
  time_point latest_ = time_point::min();
  std::uint64_t waiting_ = 0;
  deadline_miss_stats stats_{};
};

/// One job of an offline single-stream replay.
struct stream_job {
  time_point release;     ///< when it is released; not before the previous job's release
  time_point deadline;    ///< when it must be done; >= release
  duration execution{0};  ///< time it needs if run to its end; >= 0
};

/// What the replay did with one job.
struct replayed_job {
  job_outcome outcome = job_outcome::met;  ///< what became of it
  bool started = false;  ///< whether it ran at all (met, late, or killed after starting)
  /// When it began to run; for a job that never ran, when it was dropped (at its release, or
  /// when the stream freed up).
  time_point start{};
  /// When it left the stream: its end (met, late) or its deadline (killed while running); equal
  /// to `start` for a job that never ran. Saturates at time_point::max().
  time_point end{};
};

/// The result of replay_single_stream(): one replayed_job per input job, in input order, and
/// the stats over all of them (every job decided).
struct stream_replay {
  std::vector<replayed_job> jobs;  ///< jobs[i] is what became of the input's jobs[i]
  deadline_miss_stats stats;       ///< counts and lateness over all jobs
};

/// Replays `jobs` (in release order) on one stream under `policy`, through a
/// single_stream_guard, so it follows exactly the guard's rules: each job starts at
/// max(release, when the stream frees up), FIFO. Under kill, a job whose start is at or after
/// its deadline is killed without running, and one whose start + execution > deadline runs
/// until its deadline and is killed there (the stream is free from then). Under skip_next, a job
/// released while the running job is past its deadline (release >= that deadline, the running
/// job not yet ended), or that would start at or after its own deadline, is skipped; every
/// other job runs to its end: met if end <= deadline, else late. At equal times a job's end (or
/// kill) comes before a release. Throws rtlm::error naming the field and its value
/// (`jobs[3].deadline`) unless releases ascend, deadline >= release and execution >= 0.
/// O(jobs); allocates the result and a queue of job indices.
[[nodiscard]] stream_replay replay_single_stream(std::span<const stream_job> jobs,
                                                 overrun_policy policy);

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/budget/overrun_policy-inl.hpp"
#endif
