// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <exception>

#include "rtlm/backend/model_backend.hpp"
#include "rtlm/detail/step_result_check.hpp"

namespace rtlm {
namespace detail {

// Why `plan` asks more than `caps` allows, or nullptr when it does not.
inline const char* unsupported_reason(const step_plan& plan, const backend_capabilities& caps) {
  // Malformed capabilities (backend_capabilities::validate() would throw): the result checks and
  // the KV arithmetic need both counts >= 1.
  if (caps.kv_block_size.count() < 1) return "backend_capabilities.kv_block_size is < 1";
  if (caps.max_tokens_per_outcome.count() < 1)
    return "backend_capabilities.max_tokens_per_outcome is < 1";
  if (!plan.evictions.empty() && !caps.can_evict_kv) return "KV eviction is not supported";
  for (const kv_eviction& e : plan.evictions) {
    if (!(e.eviction_ratio >= 0.0 && e.eviction_ratio < 1.0))
      return "an eviction ratio is outside [0, 1)";
  }
  for (const preemption& p : plan.preemptions) {
    if (p.mode == preemption_mode::recompute && !caps.can_preempt_recompute)
      return "preemption by recompute is not supported";
    if (p.mode == preemption_mode::swap && !caps.can_preempt_swap)
      return "preemption by swap is not supported";
  }
  if (!plan.swap_ins.empty() && !caps.can_preempt_swap) return "swap-in is not supported";
  tokens step_tokens(static_cast<tokens::rep>(plan.decodes.size()));
  for (const prefill_assignment& p : plan.prefills) {
    if (!caps.can_chunk_prefill && (p.computed_tokens.count() != 0 || !p.final_chunk))
      return "chunked prefill is not supported";
    step_tokens += p.new_tokens;
  }
  if (caps.max_batch_size > 0 && plan.computed() > static_cast<std::size_t>(caps.max_batch_size))
    return "the plan's batch exceeds max_batch_size";
  if (caps.max_step_tokens.count() > 0 && step_tokens > caps.max_step_tokens)
    return "the plan's new tokens exceed max_step_tokens";
  return nullptr;
}

}  // namespace detail

RTLM_INLINE step_status model_backend::fail(step_status status, const char* message) noexcept {
  try {
    last_error_ = message;
  } catch (...) {
    last_error_.clear();  // out of memory for the message; the status still tells what happened
  }
  return status;
}

RTLM_INLINE step_status model_backend::execute(const step_plan& plan,
                                               step_result& result) noexcept {
  result.clear();
  // The idle protocol: a step that does nothing is not the host's business, and takes no time.
  if (plan.empty()) {
    last_error_.clear();
    return step_status::ok;
  }
  const backend_capabilities& caps = capabilities();
  if (const char* why = detail::unsupported_reason(plan, caps)) {
    return fail(step_status::unsupported, why);
  }
  try {
    run_step(plan, result);
  } catch (const std::exception& e) {
    return fail(step_status::backend_failure, e.what());
  } catch (...) {
    return fail(step_status::backend_failure, "run_step threw a non-standard exception");
  }
  // Judged by the capabilities after the step: a host may change them in run_step (for example
  // when its KV shrinks), and the scheduler's complete_step() reads them after it too.
  if (const char* why =
          detail::invalid_result_reason(plan, result, capabilities().max_tokens_per_outcome)) {
    return fail(step_status::invalid_result, why);
  }
  last_error_.clear();
  return step_status::ok;
}

}  // namespace rtlm
