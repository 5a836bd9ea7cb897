// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "rtlm/schedule/request_queueing.hpp"
#include "rtlm/schedule/step_context.hpp"
#include "rtlm/testing/fake_backend.hpp"
#include "schedule/linear_estimator.hpp"

namespace rtlm::test {

// Records every event, in order.
struct event_log final : scheduler_observer {
  std::vector<request_event> events;
  void on_event(const request_event& e, const request& /*r*/) noexcept override {
    events.push_back(e);
  }
};

inline time_point at_seconds(double s) {
  return time_point{} + std::chrono::duration_cast<duration>(seconds(s));
}

// One backend's lane, a request table and everything a part of the scheduler reads, built by
// hand so that a part is tested alone. `Policy` orders the queue.
template <class Policy = first_come_first_served>
struct part_fixture {
  static backend_capabilities default_caps() {
    return {.name = "gpu0",
            .kv_capacity = tokens(10'000),
            .can_chunk_prefill = true,
            .can_evict_kv = true,
            .can_preempt_recompute = true,
            .can_preempt_swap = true};
  }
  static scheduler_config small_config() {
    scheduler_config c;
    c.max_requests = 8;
    c.solver_max_tokens = tokens(1024);
    return c;
  }

  explicit part_fixture(backend_capabilities caps = default_caps(),
                        scheduler_config c = small_config(), Policy p = Policy{},
                        std::size_t table_slots = 0)
      : config(c),
        policy(p),
        backend(testing::fake_backend_config{.capabilities = caps}),
        table(table_slots > 0 ? table_slots : config.max_requests),
        lane(backend, estimator, policy, config) {
    events.set(&log);
  }

  step_context<Policy> context(double now = 0.0) {
    step_context<Policy> c{.table = table,
                           .lane = lane,
                           .config = config,
                           .policy = policy,
                           .events = events,
                           .backend = 0,
                           .now = at_seconds(now)};
    c.max_batch = lane.max_batch();
    c.budget = config.max_step_tokens;
    return c;
  }

  // A request taken in and queued on the lane (as the arrival gate leaves it).
  std::uint32_t queue(std::uint64_t id, tokens prompt, double mean = 10, tokens bound = tokens(20),
                      double arrival = 0.0) {
    request r;
    r.id = request_id{id};
    r.prompt_tokens = prompt;
    r.arrival = at_seconds(arrival);
    r.predicted_length = length_estimate{.mean_tokens = mean, .upper_bound = bound};
    scheduled_request<Policy>& t = table.next_free();
    t.take(std::move(r), next_sequence++, config.default_output_tokens);
    t.service = lane.isolated_service(t);
    EXPECT_TRUE(table.add(request_phase::waiting));
    step_context<Policy> c = context();
    EXPECT_TRUE(requeue(c, t, request_phase::waiting));
    lane.queued_work += t.service;
    return table.slot_of(t);
  }

  // A request running on the lane: queued, then admitted with its reservation, in `phase`.
  std::uint32_t run(std::uint64_t id, tokens prompt, request_phase phase = request_phase::decoding,
                    tokens generated = tokens(0)) {
    const std::uint32_t slot = queue(id, prompt);
    scheduled_request<Policy>& t = table[slot];
    lane.waiting.erase(t.handle);
    lane.queued_work -= t.service;
    t.phase = phase;
    if (phase == request_phase::decoding) {
      t.prefilled = t.prefill_target;
      t.r.progress.generated = generated;
    }
    lane.kv.reserve(t, lane.kv.need(t));
    lane.running.push_back(slot);
    return slot;
  }

  scheduler_config config;
  Policy policy;
  testing::fake_backend backend;
  linear_estimator estimator;
  request_table<Policy> table;
  backend_lane<Policy> lane;
  event_sink events;
  event_log log;
  std::uint64_t next_sequence = 0;
};

}  // namespace rtlm::test
