// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "rtlm/detail/split_mix64.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/schedule/scheduler.hpp"
#include "rtlm/sim/simulation.hpp"

namespace rtlm::sim {

RTLM_INLINE void deadline_rule::validate() const {
  if (rule == kind::slack) {
    rtlm::detail::require_positive_finite("deadline_rule.slack", slack);
    rtlm::detail::require(slack <= max_deadline_slack, "deadline_rule.slack", slack,
                          "must be at most 1e9");
  }
  if (rule == kind::slo) {
    for (const auto& [field, value] : {std::pair{"deadline_rule.ttft", ttft.count()},
                                       std::pair{"deadline_rule.tpot", tpot.count()}}) {
      rtlm::detail::require_non_negative_finite(field, value);
      rtlm::detail::require(value <= max_duration_seconds, field, value,
                            "must be at most 1e9 seconds");
    }
  }
}

RTLM_INLINE void request_mix::validate(std::size_t classes) const {
  rtlm::detail::require(class_shares.size() <= classes, "request_mix.class_shares",
                        class_shares.size(),
                        fmt::format("must hold at most one share per SLO class ({})", classes));
  rtlm::detail::require(tenant_shares.size() <= fairness_config::max_tenants,
                        "request_mix.tenant_shares", tenant_shares.size(),
                        "must hold at most 64 tenants");
  for (const auto& [name, shares] :
       {std::pair{"class_shares", &class_shares}, std::pair{"tenant_shares", &tenant_shares}}) {
    double total = 0.0;
    for (std::size_t i = 0; i < shares->size(); ++i) {
      const double v = (*shares)[i];
      rtlm::detail::require(std::isfinite(v) && v >= 0.0,
                            fmt::format("request_mix.{}[{}]", name, i), v,
                            "must be finite and >= 0");
      total += v;
    }
    rtlm::detail::require(shares->empty() || total > 0.0, fmt::format("request_mix.{}", name),
                          total, "must not all be 0");
  }
}

RTLM_INLINE bool request_record::on_time() const noexcept {
  return finished() && (std::isnan(deadline) || finish <= deadline);
}

namespace detail {

constexpr double not_yet = std::numeric_limits<double>::quiet_NaN();

inline time_point at(double s) {
  return time_point{} + std::chrono::duration_cast<duration>(seconds(s));
}
inline double since_start(time_point t) {
  return std::chrono::duration<double>(t - time_point{}).count();
}

// The index drawn from `shares` (not all 0) by uniform `u` in (0, 1].
inline std::uint32_t drawn(const std::vector<double>& shares, double u) {
  double total = 0.0;
  for (const double s : shares) total += s;
  double at = u * total;
  for (std::size_t i = 0; i < shares.size(); ++i) {
    if (shares[i] > 0.0 && at <= shares[i]) return static_cast<std::uint32_t>(i);
    at -= shares[i];
  }
  // Rounding past the end: the last class with a share.
  std::size_t last = shares.size() - 1;
  while (last > 0 && shares[last] <= 0.0) --last;
  return static_cast<std::uint32_t>(last);
}

// Sets request `i`'s class and tenant from `mix`, with its class's defaults, on `r` and its
// record.
inline void assign_mix(const request_mix& mix, const slo_config& slo, std::size_t i, request& r,
                       request_record& rec) {
  rtlm::detail::split_mix64 rng(mix.seed * 0x9e3779b97f4a7c15ULL + i);
  const double class_draw = rng.uniform();
  const double tenant_draw = rng.uniform();
  if (!mix.class_shares.empty()) r.slo_class = drawn(mix.class_shares, class_draw);
  if (!mix.tenant_shares.empty()) r.tenant = drawn(mix.tenant_shares, tenant_draw);
  request with_defaults = r;
  slo.apply_defaults(with_defaults);
  rec.slo_class = r.slo_class.value_or(no_slo_class);
  rec.tenant = r.tenant;
  rec.ttft_target = with_defaults.ttft_target ? with_defaults.ttft_target->count() : not_yet;
  rec.tpot_target = with_defaults.tpot_target ? with_defaults.tpot_target->count() : not_yet;
}

// Fills the records from the scheduler's events (ids are trace indices).
class recording_observer final : public scheduler_observer {
 public:
  // `can_swap[b]`: whether backend b can preempt by swapping.
  recording_observer(std::vector<request_record>& records, std::size_t& repeated,
                     std::vector<bool> can_swap)
      : records_(&records), repeated_(&repeated), can_swap_(std::move(can_swap)) {}

  void on_event(const request_event& e, const request& r) noexcept override {
    const auto i = static_cast<std::size_t>(to_integer(e.id));
    if (i >= records_->size()) return;
    request_record& rec = (*records_)[i];
    const double now = since_start(e.at);
    const bool ending =
        e.kind == request_event_kind::finished || e.kind == request_event_kind::rejected ||
        e.kind == request_event_kind::failed || e.kind == request_event_kind::cancelled;
    if (ending && rec.outcome != request_event_kind::queued) ++*repeated_;
    switch (e.kind) {
      case request_event_kind::queued:
        rec.backend = e.backend;
        break;
      case request_event_kind::admitted:
        if (std::isnan(rec.admitted)) rec.admitted = now;
        rec.backend = e.backend;
        break;
      case request_event_kind::finished:
        rec.outcome = e.kind;
        rec.finish = now;
        rec.first_token =
            r.progress.first_token_time ? since_start(*r.progress.first_token_time) : now;
        rec.eviction_ratio = r.progress.eviction_ratio;
        break;
      case request_event_kind::rejected:
      case request_event_kind::failed:
      case request_event_kind::cancelled:
        rec.outcome = e.kind;
        rec.reason = e.reason;
        break;
      case request_event_kind::preempted:
        if (rec.preemptions < std::numeric_limits<std::uint32_t>::max()) ++rec.preemptions;
        if (recomputes(e, r)) rec.recomputed += r.prompt_tokens + r.progress.generated;
        break;
      case request_event_kind::relegated:
        rec.relegated = true;
        break;
      case request_event_kind::downgraded:
      case request_event_kind::deadline_relaxed:
        break;
    }
  }

 private:
  // Whether preemption `e` of `r` threw its KV away (the event does not say). A backend that
  // cannot swap recomputes. One that can swaps a decoding request, which holds its whole prompt
  // (progress.prefilled), and recomputes only one still prefilling, setting its prefilled
  // tokens to 0 first. An empty prompt looks the same either way: counted as a swap, which is
  // exact unless consolidation brought it there half re-prefilled from a backend that cannot
  // swap (on one that can, it is recomputed only before its first token, with nothing to lose).
  [[nodiscard]] bool recomputes(const request_event& e, const request& r) const noexcept {
    if (e.backend >= can_swap_.size() || !can_swap_[e.backend]) return true;
    return r.prompt_tokens > tokens(0) && r.progress.prefilled == tokens(0);
  }

  std::vector<request_record>* records_;
  std::size_t* repeated_;
  std::vector<bool> can_swap_;
};

}  // namespace detail

RTLM_INLINE std::optional<length_estimate> true_length(std::size_t /*index*/,
                                                       const trace_request& request) noexcept {
  return length_estimate{.mean_tokens = static_cast<double>(request.output.count()),
                         .upper_bound = request.output,
                         .bound_coverage = 0.99,
                         .uncertainty = 0.0};
}

namespace detail {

// One run with a request table (and intake) of `table` slots; nullopt when a submission would
// not fit, before it is made (the caller runs again with a larger table). A request never waits
// in the intake for a free slot, so the run is the same as with a table of one slot per request.
inline std::optional<simulation_result> run_with_table(const trace& t,
                                                       const simulation_config& config,
                                                       std::size_t table) {
  const std::size_t n = t.requests.size();
  scheduler_config sc = config.scheduler;
  sc.max_requests = table;
  sc.intake_capacity = table;
  sc.intake_shards = 1;
  scheduler s(sc);

  std::vector<std::unique_ptr<simulated_backend>> backends;
  for (std::size_t b = 0; b < config.backends.size(); ++b) {
    backend_spec spec = config.backends[b];
    spec.config.seed += b;  // each backend its own noise stream
    backends.push_back(std::make_unique<simulated_backend>(spec.config, *spec.estimator));
    s.add_backend(*backends.back(), *spec.estimator);
  }

  simulation_result result;
  result.records.resize(n);
  result.records.shrink_to_fit();
  for (std::size_t i = 0; i < n; ++i) {
    request_record& rec = result.records[i];
    rec.index = i;
    rec.arrival = since_start(at(t.requests[i].arrival));  // as the clock sees it
    rec.prompt = t.requests[i].prompt;
    rec.output = t.requests[i].output;
    rec.deadline = rec.admitted = rec.first_token = rec.finish = not_yet;
    rec.ttft_target = rec.tpot_target = not_yet;
  }
  std::vector<bool> can_swap(backends.size());
  for (std::size_t b = 0; b < backends.size(); ++b) {
    can_swap[b] = backends[b]->capabilities().can_preempt_swap;
  }
  recording_observer observer(result.records, result.repeated_endings, std::move(can_swap));
  s.set_observer(&observer);

  const step_time_estimator& reference = *config.backends.front().estimator;
  // The deadline of `q` whose output is taken to be `output` tokens (>= 1).
  const auto deadline_of = [&](const trace_request& q, tokens output) -> std::optional<double> {
    switch (config.deadlines.rule) {
      case deadline_rule::kind::none:
        return std::nullopt;
      case deadline_rule::kind::slack: {
        const std::array<tokens, 1> kv = {q.prompt + tokens(output.count() / 2)};
        const double isolated =
            reference.prefill_time(q.prompt, tokens(0)).count() +
            static_cast<double>(output.count() - 1) * reference.decode_time(kv).count();
        return q.arrival + config.deadlines.slack * isolated;
      }
      case deadline_rule::kind::slo:
        return q.arrival + config.deadlines.ttft.count() +
               config.deadlines.tpot.count() * static_cast<double>(output.count() - 1);
    }
    return std::nullopt;
  };

  std::vector<step_result> results(backends.size());
  std::vector<std::optional<time_point>> busy_until(backends.size());
  std::size_t next = 0;
  std::size_t in_intake = 0;  // submitted since the last plan_step, which takes them in
  bool overflow = false;
  time_point now{};
  const auto submit_due = [&] {
    for (; next < n && at(t.requests[next].arrival) <= now; ++next) {
      if (s.live_requests() + in_intake >= table) {
        overflow = true;
        return;
      }
      const trace_request& q = t.requests[next];
      request r;
      r.id = request_id{next};
      r.prompt_tokens = q.prompt;
      r.arrival = at(q.arrival);
      if (config.predict) r.predicted_length = config.predict(next, q);
      tokens output = q.output;
      if (config.deadlines.on_predicted_length) {
        const std::optional<length_estimate> basis =
            config.deadline_basis ? config.deadline_basis(next, q) : r.predicted_length;
        if (basis && std::isfinite(basis->mean_tokens)) {
          // Clamped to what a deadline can hold; a bad mean is named by validate() below.
          output = tokens(
              static_cast<tokens::rep>(std::clamp(std::round(basis->mean_tokens), 1.0, 1e9)));
        }
      }
      assign_mix(config.mix, config.scheduler.slo, next, r, result.records[next]);
      // A request of a class has its class's objectives (its time budget, if any), no other.
      std::optional<double> class_deadline;
      if (r.slo_class) {
        const slo_class& k = config.scheduler.slo.classes[*r.slo_class];
        if (k.time_budget) class_deadline = q.arrival + k.time_budget->count();
      }
      if (const std::optional<double> d = r.slo_class ? class_deadline : deadline_of(q, output)) {
        // NaN fails both comparisons.
        if (!(*d - q.arrival <= max_duration_seconds && *d <= max_time_seconds)) {
          throw rtlm::error(fmt::format("trace request {}: deadline", next),
                            fmt::format("{} s after arrival {} s", *d - q.arrival, q.arrival),
                            "must be at most 1e9 s after its arrival and 4e9 s after the first "
                            "arrival (a smaller deadline_rule slack, TTFT or TPOT)");
        }
        r.deadline = at(*d);
        result.records[next].deadline = *d;
      }
      try {
        r.validate();  // submit() would only say "invalid"; a bad prediction must be named
      } catch (const rtlm::error& e) {
        throw rtlm::error(fmt::format("trace request {}: {}", next, e.field()), e.value(),
                          e.requirement());
      }
      for (const auto& b : backends) {
        b->set_output_length(r.id, q.output);
        if (!t.prefix_blocks.empty()) b->set_prefix_blocks(r.id, t.prefix_blocks[next]);
      }
      const submit_status status = s.submit(r);
      RTLM_ASSERT(status == submit_status::accepted);
      static_cast<void>(status);
      ++in_intake;
    }
  };

  for (;;) {
    submit_due();
    if (overflow) return std::nullopt;
    // Start a step on every idle backend; a step that computes nothing (only releases) ends at
    // once, and planning one backend can queue work on another, so repeat until none starts.
    for (bool again = true; again;) {
      again = false;
      for (std::size_t b = 0; b < backends.size(); ++b) {
        if (busy_until[b]) continue;
        const step_plan& plan = s.plan_step(b, now);
        in_intake = 0;
        const step_status status = backends[b]->execute(plan, results[b]);
        ++result.steps;
        if (status == step_status::ok && plan.computed() > 0) {
          busy_until[b] = now + std::chrono::duration_cast<duration>(results[b].step_time);
        } else {
          const bool did_something = !plan.empty();
          s.complete_step(b, status, results[b], now);
          again = again || did_something;
        }
      }
    }
    // The next event: an arrival or the end of a step.
    std::optional<time_point> next_event;
    if (next < n) next_event = at(t.requests[next].arrival);
    for (const auto& until : busy_until) {
      if (until && (!next_event || *until < *next_event)) next_event = until;
    }
    if (!next_event) break;  // nothing runs and nothing arrives: done
    // A step ends at most 1e9 s (the step-result check's bound) after a time within the bound,
    // so this comparison itself cannot overflow.
    if (*next_event > at(max_time_seconds)) {
      throw rtlm::error("simulation clock", fmt::format("{} s", since_start(*next_event)),
                        "must stay within 4e9 s of the first arrival (steps too slow for the "
                        "trace)");
    }
    now = *next_event;
    for (std::size_t b = 0; b < backends.size(); ++b) {
      if (busy_until[b] && *busy_until[b] == now) {
        busy_until[b].reset();
        s.complete_step(b, step_status::ok, results[b], now);
      }
    }
  }

  result.simulated_seconds = since_start(now);
  for (const auto& b : backends) {
    result.busy_seconds.push_back(b->busy_time().count());
    result.cached_prefill_tokens += b->cached_prefill_tokens();
  }
  return result;
}

}  // namespace detail

RTLM_INLINE simulation_result simulate(const trace& t, const simulation_config& config) {
  config.deadlines.validate();
  config.scheduler.validate();
  config.mix.validate(config.scheduler.slo.classes.size());
  const fairness_config& fair = config.scheduler.fairness;
  rtlm::detail::require(!fair.enabled() || config.mix.tenant_shares.size() <= fair.tenants,
                        "request_mix.tenant_shares", config.mix.tenant_shares.size(),
                        fmt::format("must name at most scheduler_config.fairness.tenants ({}) "
                                    "tenants",
                                    fair.tenants));
  rtlm::detail::require(!config.backends.empty(), "simulation_config.backends", 0,
                        "needs at least one backend");
  for (const backend_spec& b : config.backends) {
    rtlm::detail::require(b.estimator != nullptr, "backend_spec.estimator", "null",
                          "every simulated backend needs an estimator");
  }
  const std::size_t n = t.requests.size();
  rtlm::detail::require(t.prefix_blocks.empty() || t.prefix_blocks.size() == n,
                        "trace.prefix_blocks", t.prefix_blocks.size(),
                        fmt::format("must be empty or hold one list per request ({})", n));
  // Every time must fit the int64-nanosecond clock with room to spare (detail::at would
  // overflow): bound the arrivals here, the deadlines as they are set, the clock as it moves.
  for (std::size_t i = 0; i < n; ++i) {
    const trace_request& q = t.requests[i];
    const auto field = [i](std::string_view what) {
      return fmt::format("trace request {}: {}", i, what);
    };
    rtlm::detail::require(
        std::isfinite(q.arrival) && q.arrival >= 0.0 && q.arrival <= max_time_seconds,
        field("arrival"), q.arrival, "must be seconds in [0, 4e9] after the first arrival");
    if (i > 0 && q.arrival < t.requests[i - 1].arrival) {
      throw rtlm::error(
          field("arrival"), fmt::format("{}", q.arrival),
          fmt::format("must not be before the previous request's ({})", t.requests[i - 1].arrival));
    }
    rtlm::detail::require(q.prompt.count() >= 0, field("prompt"), q.prompt, "must be >= 0");
    rtlm::detail::require(q.output.count() >= 1, field("output"), q.output, "must be >= 1");
  }
  // The request table holds the requests live at once, not the whole trace (about 900 bytes a
  // slot): start small and double it in the rare run that needs more. The intake's limit, 2^24,
  // bounds it.
  constexpr std::size_t max_table = std::size_t{1} << 24;
  for (std::size_t table = std::min<std::size_t>(n + 1, 4096);; table *= 2) {
    table = std::min({table, n + 1, max_table});
    if (std::optional<simulation_result> r = detail::run_with_table(t, config, table)) {
      return std::move(*r);
    }
    rtlm::detail::require(table < std::min(n + 1, max_table), "trace", n,
                          "must not hold more than 2^24 requests live at once");
  }
}

RTLM_INLINE simulation_metrics summarize(const simulation_result& result) {
  simulation_metrics m;
  m.requests = result.records.size();
  std::vector<double> latencies;
  latencies.reserve(result.records.size());
  double ttft = 0.0;
  double tpot = 0.0;
  std::size_t tpot_n = 0;
  std::size_t with_deadline = 0;
  std::size_t missed = 0;
  std::size_t on_time = 0;
  for (const request_record& r : result.records) {
    if (r.outcome == request_event_kind::rejected) ++m.rejected;
    if (r.outcome == request_event_kind::failed) ++m.failed;
    m.preemptions += r.preemptions;
    if (!std::isnan(r.deadline)) {
      ++with_deadline;
      if (!r.on_time()) ++missed;
    }
    if (r.on_time()) ++on_time;
    if (!std::isnan(r.admitted))
      m.max_queue_wait = std::max(m.max_queue_wait, r.admitted - r.arrival);
    if (!r.finished()) continue;
    ++m.finished;
    m.mean_eviction += r.eviction_ratio;
    latencies.push_back(r.latency());
    ttft += r.first_token - r.arrival;
    if (r.output.count() > 1) {
      tpot += (r.finish - r.first_token) / static_cast<double>(r.output.count() - 1);
      ++tpot_n;
    }
  }
  if (!latencies.empty()) {
    std::sort(latencies.begin(), latencies.end());
    double sum = 0.0;
    for (const double l : latencies) sum += l;
    m.mean_latency = sum / static_cast<double>(latencies.size());
    const auto quantile = [&](double q) {
      const auto k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(latencies.size())));
      return latencies[std::min(latencies.size(), std::max<std::size_t>(k, 1)) - 1];
    };
    m.p50_latency = quantile(0.5);
    m.p99_latency = quantile(0.99);
    m.mean_ttft = ttft / static_cast<double>(latencies.size());
    m.mean_eviction /= static_cast<double>(latencies.size());
  }
  if (tpot_n > 0) m.mean_tpot = tpot / static_cast<double>(tpot_n);
  if (with_deadline > 0) {
    m.deadline_miss_rate = static_cast<double>(missed) / static_cast<double>(with_deadline);
  }
  if (result.simulated_seconds > 0.0) {
    m.goodput = static_cast<double>(on_time) / result.simulated_seconds;
    m.throughput = static_cast<double>(m.finished) / result.simulated_seconds;
    double busy = 0.0;
    for (const double b : result.busy_seconds) busy += b;
    m.utilization = busy / (result.simulated_seconds * static_cast<double>(std::max<std::size_t>(
                                                           result.busy_seconds.size(), 1)));
  }
  return m;
}

}  // namespace rtlm::sim
