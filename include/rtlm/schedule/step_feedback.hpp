// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "rtlm/backend/step_result.hpp"
#include "rtlm/schedule/relegation.hpp"
#include "rtlm/schedule/step_context.hpp"

namespace rtlm {

/// What a completed step teaches: each request's progress (tokens, first-token time, the end of
/// its prefill, its finish), the KV a request past its reservation now needs, the estimator's
/// online correction, and, through the finished events, the length predictor's feedback
/// (rtlm::length_feedback). A failed step's requests are retried, up to max_failed_steps in a
/// row; a request whose steps emit nothing max_stalled_steps times in a row fails. Stateless;
/// O(computed) per step; no allocation.
template <waiting_queue_policy Policy>
struct step_feedback {
  /// How far the online correction may drift from what the budget solver's table was built on
  /// before the table is rebuilt: 2% on any of its factors; and how many steps apart two
  /// rebuilds are at least (a rebuild evaluates the estimator at every tabulated length, and
  /// would otherwise run every few steps while the factors wander around a drift).
  static constexpr double solver_drift = 0.02;
  static constexpr std::uint32_t solver_refresh_steps = 64;

  /// Feeds the measured step to the lane's online estimator correction, and rebuilds the budget
  /// solver's table once the correction has drifted, so that admission control and eviction
  /// planning judge at the pace the backend runs.
  static void observe(backend_lane<Policy>& s, const step_result& result) noexcept {
    s.estimator.observe_step({.base_prefill = s.base_prefill,
                              .prefills = s.plan.prefills.size(),
                              .base_decode = s.base_decode,
                              .measured = result.step_time,
                              .measured_prefill = result.prefill_time});
    refresh_solver(s);
  }

  /// Rebuilds lane `s`'s solver table from its corrected estimator when a correction factor
  /// has moved by more than solver_drift since the last build, at most once every
  /// solver_refresh_steps steps. O(solver_max_tokens) then, O(1) otherwise; no allocation.
  static void refresh_solver(backend_lane<Policy>& s) noexcept {
    if (++s.steps_since_refresh < solver_refresh_steps) return;
    const online_step_correction& e = s.estimator;
    const auto drifted = [](double now, double built) {
      return std::abs(now - built) > solver_drift * std::max(std::abs(built), 1e-12);
    };
    // The offset is in units of the base's one-token prefill: compare it with the scale it adds to.
    if (!drifted(e.decode_factor(), s.solver_decode_factor) &&
        !drifted(e.prefill_scale(), s.solver_prefill_scale) &&
        std::abs(e.prefill_offset() - s.solver_prefill_offset) <= solver_drift) {
      return;
    }
    s.steps_since_refresh = 0;
    s.solver.retabulate(e);
    s.solver_decode_factor = e.decode_factor();
    s.solver_prefill_scale = e.prefill_scale();
    s.solver_prefill_offset = e.prefill_offset();
  }

  /// Applies a successful step's outcomes; returns how many requests finished.
  static std::size_t apply(step_context<Policy>& c, const step_result& result) noexcept {
    backend_lane<Policy>& s = c.lane;
    std::size_t finished = 0;
    for (std::size_t i = 0; i < s.plan.computed(); ++i) {
      const plan_entry& e = entry_at(s, i);
      if (!c.table.current(e)) continue;  // cancelled while the step ran
      scheduled_request<Policy>& t = c.table[e.slot];
      const request_outcome& o = result.outcomes[i];
      t.failed_steps = 0;
      bool emits = true;
      if (i < s.plan.prefills.size()) {
        const prefill_assignment& p = s.plan.prefills[i];
        t.prefilled += p.new_tokens;
        t.r.progress.prefilled = std::min(t.prefilled, t.r.prompt_tokens);
        if (t.prefilled >= t.prefill_target) t.phase = request_phase::decoding;
        emits = p.final_chunk;
      }
      if (emits) {
        t.r.progress.generated += o.generated;
        // A multi-token outcome (speculative decoding) may overshoot the cap: the rest is not
        // the request's.
        if (t.r.max_new_tokens) {
          t.r.progress.generated = std::min(t.r.progress.generated, *t.r.max_new_tokens);
        }
        s.waiting.charge_decode(t.r.tenant, o.generated);
        if (o.generated.count() > 0 && !t.r.progress.first_token_time) {
          t.r.progress.first_token_time = c.now;
          relegation<Policy>::after_first_token(c, t);
        }
      }
      const bool capped = t.r.max_new_tokens && t.r.progress.generated >= *t.r.max_new_tokens;
      if (o.finished || capped) {
        ++finished;
        end(c, e.slot, request_phase::finished);
        continue;
      }
      // A step that should have emitted a token and did not: a backend that never does would
      // keep the request running forever.
      t.stalled_steps = emits && o.generated.count() == 0 ? t.stalled_steps + 1 : 0;
      if (t.stalled_steps >= c.config.max_stalled_steps) {
        end(c, e.slot, request_phase::failed, request_event_reason::no_progress);
        continue;
      }
      if (t.phase == request_phase::decoding) s.kv.grow(t);
      t.refresh_remaining(c.config.remaining_refresh_tokens);
    }
    return finished;
  }

  /// A failed step: its requests' work in it is lost and planned again; a request whose steps
  /// failed max_failed_steps times in a row fails. Appends the affected ids to `affected`. The
  /// step's control operations may or may not have taken effect, so they are sent again with the
  /// next plan (resend()); the backend takes repeats as no-ops (model_backend's contract).
  static void fail(step_context<Policy>& c, std::vector<request_id>& affected) noexcept {
    backend_lane<Policy>& s = c.lane;
    s.releases.insert(s.releases.end(), s.plan.releases.begin(), s.plan.releases.end());
    s.resend_preemptions.assign(s.plan.preemptions.begin(), s.plan.preemptions.end());
    s.resend_swap_ins.assign(s.plan.swap_ins.begin(), s.plan.swap_ins.end());
    s.resend_evictions.assign(s.plan.evictions.begin(), s.plan.evictions.end());
    for (std::size_t i = 0; i < s.plan.computed(); ++i) {
      const plan_entry& e = entry_at(s, i);
      if (!c.table.current(e)) continue;
      scheduled_request<Policy>& t = c.table[e.slot];
      affected.push_back(t.r.id);
      if (++t.failed_steps < c.config.max_failed_steps) continue;
      end(c, e.slot, request_phase::failed, request_event_reason::backend_failure);
    }
  }

  /// Ends running or swapped-out request `slot` in `phase`: it leaves its backend's lists and
  /// KV, is released there in the next plan, and its event is emitted.
  static void end(step_context<Policy>& c, std::uint32_t slot, request_phase phase,
                  request_event_reason reason = request_event_reason::none) noexcept {
    leave(c.lane, c.table, slot);
    c.emit(phase == request_phase::finished ? request_event_kind::finished
                                            : request_event_kind::failed,
           c.table[slot], reason);
    c.table.end(slot, phase);
  }

  /// Removes running or swapped-out request `slot` from lane `s`'s lists and KV, and queues its
  /// release on the backend. O(running).
  static void leave(backend_lane<Policy>& s, request_table<Policy>& table,
                    std::uint32_t slot) noexcept {
    scheduled_request<Policy>& t = table[slot];
    if (running(t.phase)) {
      s.running.erase(std::find(s.running.begin(), s.running.end(), slot));
      s.kv.release(t);
    } else if (t.phase == request_phase::swapped_out) {
      s.swapped.erase(std::find(s.swapped.begin(), s.swapped.end(), slot));
    }
    s.releases.push_back(t.r.id);
  }

  /// Adds to the new plan the control operations of a failed step that still hold: a
  /// preemption of a request still preempted (or brought back in this plan), a swap-in of a
  /// request still decoding, an eviction of a request still holding that KV. Called once the
  /// plan is formed. O(resent x plan); no allocation after warm-up.
  static void resend(step_context<Policy>& c) noexcept {
    backend_lane<Policy>& s = c.lane;
    const auto phase = [&](request_id id) -> std::optional<request_phase> {
      const std::optional<std::uint32_t> slot = c.table.find(id);
      return slot ? std::optional(c.table[*slot].phase) : std::nullopt;
    };
    const auto preempted_now = [&](request_id id) {
      return std::any_of(s.plan.preemptions.begin(), s.plan.preemptions.end(),
                         [&](const preemption& p) { return p.id == id; });
    };
    const auto swapped_in_now = [&](request_id id) {
      return std::find(s.plan.swap_ins.begin(), s.plan.swap_ins.end(), id) != s.plan.swap_ins.end();
    };
    for (const preemption& p : s.resend_preemptions) {
      const std::optional<request_phase> now = phase(p.id);
      const bool holds = p.mode == preemption_mode::swap
                             ? now == request_phase::swapped_out || swapped_in_now(p.id)
                             : now == request_phase::preempted || now == request_phase::prefilling;
      if (holds && !preempted_now(p.id)) s.plan.preemptions.push_back(p);
    }
    for (const request_id id : s.resend_swap_ins) {
      if (phase(id) == request_phase::decoding && !preempted_now(id) && !swapped_in_now(id)) {
        s.plan.swap_ins.push_back(id);
      }
    }
    for (const kv_eviction& e : s.resend_evictions) {
      const std::optional<std::uint32_t> slot = c.table.find(e.id);
      if (slot && c.table[*slot].phase == request_phase::decoding &&
          c.table[*slot].kept_prompt == e.kept_tokens && !preempted_now(e.id)) {
        s.plan.evictions.push_back(e);
      }
    }
    s.resend_preemptions.clear();
    s.resend_swap_ins.clear();
    s.resend_evictions.clear();
  }

 private:
  // The slot behind the plan's i-th computed sequence (plan order: prefills, then decodes).
  static const plan_entry& entry_at(const backend_lane<Policy>& s, std::size_t i) noexcept {
    const std::size_t p = s.prefill_entries.size();
    return i < p ? s.prefill_entries[i] : s.decode_entries[i - p];
  }
};

}  // namespace rtlm
