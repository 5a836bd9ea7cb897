// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <cstddef>

#include "rtlm/backend/step_plan.hpp"
#include "rtlm/backend/step_result.hpp"
#include "rtlm/core/units.hpp"

namespace rtlm::detail {

// The longest step time a result may report: max_duration_seconds (about 31 years), so the
// scheduler's `now + step_time` stays inside the nanosecond timeline.
inline constexpr double max_step_seconds = max_duration_seconds;

// Why `result` breaks the contract for `plan`, or nullptr when it keeps it: one outcome per
// computed request in plan order, each with the tokens its step may emit at most
// (`max_tokens_per_outcome`, the backend's capability: 1 for plain decoding, more for
// speculative decoding; none, and no finish, for a non-final prefill chunk), and a finite step time
// in [0, max_step_seconds]. Shared by model_backend::execute() and the scheduler's complete_step(),
// so both judge alike. O(batch); no allocation.
inline const char* invalid_result_reason(const step_plan& plan, const step_result& result,
                                         tokens max_tokens_per_outcome = tokens(1)) noexcept {
  const double t = result.step_time.count();
  if (!std::isfinite(t) || t < 0) return "step_time is not a finite number >= 0";
  if (t > max_step_seconds) return "step_time is longer than 1e9 s";
  if (result.prefill_time.has_value()) {
    const double p = result.prefill_time->count();
    if (plan.prefills.empty()) return "prefill_time is given for a step without prefills";
    if (!std::isfinite(p) || p < 0) return "prefill_time is not a finite number >= 0";
    if (p > t) return "prefill_time is longer than step_time";
  }
  if (result.outcomes.size() != plan.computed())
    return "the number of outcomes differs from the number of computed requests";
  const auto tokens_ok = [max_tokens_per_outcome](const request_outcome& o,
                                                  bool may_emit) -> const char* {
    if (o.generated.count() < 0) return "an outcome generated a negative number of tokens";
    if (!may_emit && o.generated.count() != 0) return "a non-final prefill chunk generated tokens";
    // A request ends with its last prompt chunk at the earliest: a finish before that would end
    // it with part of its prompt never read.
    if (!may_emit && o.finished) return "a non-final prefill chunk says finished";
    // A step computes what the backend declared per sequence: more tokens would put the
    // scheduler's view of the request's KV and output length out of step with the backend's.
    if (o.generated > max_tokens_per_outcome)
      return "an outcome generated more tokens than max_tokens_per_outcome";
    return nullptr;
  };
  for (std::size_t i = 0; i < plan.prefills.size(); ++i) {
    const request_outcome& o = result.outcomes[i];
    if (o.id != plan.prefills[i].id) return "an outcome's id is out of plan order";
    if (const char* why = tokens_ok(o, plan.prefills[i].final_chunk)) return why;
  }
  for (std::size_t i = 0; i < plan.decodes.size(); ++i) {
    const request_outcome& o = result.outcomes[plan.prefills.size() + i];
    if (o.id != plan.decodes[i].id) return "an outcome's id is out of plan order";
    if (const char* why = tokens_ok(o, true)) return why;
  }
  return nullptr;
}

}  // namespace rtlm::detail
