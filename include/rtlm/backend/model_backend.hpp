// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "rtlm/backend/backend_capabilities.hpp"
#include "rtlm/backend/step_plan.hpp"
#include "rtlm/backend/step_result.hpp"
#include "rtlm/detail/config.hpp"
#include "rtlm/detail/enum_names.hpp"

namespace rtlm {

/// How a step went. The per-step path reports failures as a status, never as an exception.
enum class step_status {
  ok,               ///< the plan ran and the result is well formed
  unsupported,      ///< the plan asked for something the capabilities do not declare; not run
  backend_failure,  ///< the host's run_step threw; last_error() holds its message
  invalid_result,   ///< run_step returned a result that breaks the contract; last_error() says how
};

/// The name of `s`, equal to its enumerator ("backend_failure"). O(1); no allocation; thread-safe.
[[nodiscard]] constexpr std::string_view to_string(step_status s) noexcept {
  return detail::enum_name(s, {"ok", "unsupported", "backend_failure", "invalid_result"});
}

/// The interface a host implements to let rtlm drive its model runtime (or the simulator's).
///
/// A host overrides two functions: capabilities() declares what the runtime can do, and the
/// private run_step() executes one step_plan. The public execute() wraps run_step(): it rejects
/// plans the capabilities do not allow, catches whatever run_step() throws, and checks the
/// result (one outcome per computed request in plan order, at most max_tokens_per_outcome tokens
/// each, finite non-negative step time), so a misbehaving host cannot corrupt the scheduler.
/// Not thread-safe: one thread drives a backend.
///
/// The idle protocol: run_step() is never called with an empty plan (step_plan::empty());
/// execute() answers such a plan itself, step_status::ok with no outcomes and a step time of 0.
///
/// Failure semantics: after step_status::ok every part of the plan took effect. After a failed
/// step (backend_failure, invalid_result) the scheduler assumes the forward pass computed
/// nothing (it plans that work again, from the KV lengths before the step) and does not know
/// which of the plan's releases, preemptions, swap-ins and evictions took effect; after an
/// unsupported plan none did (run_step() was not called). In both cases it sends every one of
/// them again in its next plan for this backend. So run_step() must treat them as idempotent: a
/// release of a request it holds nothing for, a preemption of a request already preempted the
/// same way (recompute: holds no KV; swap: its KV already in host memory), a swap-in of a request
/// whose KV is already on the device, and an eviction to the kept_tokens its prompt KV already
/// has are each a no-op. docs/backend.md, "Failure semantics", says more.
///
/// A complete implementation over a hypothetical engine API:
/// @code
/// class my_engine_backend final : public rtlm::model_backend {
///  public:
///   explicit my_engine_backend(my_engine& engine) : engine_(engine) {
///     caps_.name = "gpu0";
///     caps_.device = rtlm::device_kind::gpu;
///     caps_.kv_capacity = rtlm::tokens(engine.kv_cache_tokens());
///     caps_.kv_block_size = rtlm::tokens(engine.kv_block_tokens());  // e.g. 16 for a paged KV
///     caps_.max_batch_size = 256;
///     caps_.can_chunk_prefill = true;
///     caps_.can_preempt_recompute = true;
///   }
///   const rtlm::backend_capabilities& capabilities() const noexcept override { return caps_; }
///
///  private:
///   void run_step(const rtlm::step_plan& plan, rtlm::step_result& result) override {
///     // A repeated release or recompute preemption (after a failed step) frees nothing twice.
///     for (rtlm::request_id id : plan.releases) engine_.free_if_held(rtlm::to_integer(id));
///     for (const rtlm::preemption& p : plan.preemptions)
///       engine_.free_if_held(rtlm::to_integer(p.id));
///     my_engine::batch batch;
///     for (const rtlm::prefill_assignment& p : plan.prefills)
///       batch.add_prompt_chunk(rtlm::to_integer(p.id), p.computed_tokens.count(),
///                              p.new_tokens.count(), /*sample=*/p.final_chunk);
///     for (const rtlm::decode_assignment& d : plan.decodes)
///       batch.add_decode(rtlm::to_integer(d.id));
///     const my_engine::output out = engine_.forward(batch);  // blocks until the GPU is done
///     for (std::size_t i = 0; i < plan.computed(); ++i)
///       result.outcomes.push_back({.id = rtlm::request_id(out.seq_id[i]),
///                                  .generated = rtlm::tokens(out.tokens_sampled[i]),
///                                  .finished = out.hit_eos[i]});
///     result.step_time = rtlm::seconds(out.gpu_seconds);
///   }
///   my_engine& engine_;
///   rtlm::backend_capabilities caps_;
/// };
/// @endcode
/// rtlm::testing::fake_backend is a fuller example, and a test double for hosts' own tests.
class model_backend {
 public:
  virtual ~model_backend() = default;
  model_backend() = default;
  model_backend(const model_backend&) = delete;
  model_backend& operator=(const model_backend&) = delete;
  model_backend(model_backend&&) = delete;
  model_backend& operator=(model_backend&&) = delete;

  /// What the backend can do. Must stay valid for the backend's lifetime; it may change between
  /// steps (for example when the KV capacity shrinks). Called on every step: keep it O(1).
  [[nodiscard]] virtual const backend_capabilities& capabilities() const noexcept = 0;

  /// Runs one step: clears `result`; answers an empty `plan` with step_status::ok, no outcomes
  /// and a step time of 0, without calling run_step() (the idle protocol); otherwise checks
  /// `plan` against capabilities(), calls run_step() and checks what it returned (against
  /// capabilities().max_tokens_per_outcome among the rest). O(plan) plus run_step(). Never
  /// throws. Allocates only when the host's run_step does, when `result` grows past its
  /// capacity, or on failure (the message). Not thread-safe.
  step_status execute(const step_plan& plan, step_result& result) noexcept;

  /// The message of the last failed execute(); empty after a successful one.
  [[nodiscard]] const std::string& last_error() const noexcept { return last_error_; }

 private:
  /// The host's step: apply `plan` in the documented order and fill `result` with one outcome
  /// per computed request, in plan order, and the measured step time. Never called with an
  /// empty plan. Releases, preemptions, swap-ins and evictions must be idempotent (see the class
  /// comment): the scheduler sends those of a failed step again. May throw on failure.
  virtual void run_step(const step_plan& plan, step_result& result) = 0;

  step_status fail(step_status status, const char* message) noexcept;

  std::string last_error_;
};

/// Owning handle for a backend, as schedulers and simulators hold them.
using model_backend_ptr = std::unique_ptr<model_backend>;

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/backend/model_backend-inl.hpp"
#endif
