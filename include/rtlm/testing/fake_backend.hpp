// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rtlm/backend/model_backend.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/estimate/hardware_spec.hpp"
#include "rtlm/estimate/model_shape.hpp"

namespace rtlm::testing {

/// Settings of a fake_backend. Aggregate.
struct fake_backend_config {
  /// What the fake declares; it enforces kv_capacity itself, in whole blocks of kv_block_size.
  backend_capabilities capabilities{.name = "fake",
                                    .kv_capacity = tokens(1 << 20),
                                    .can_chunk_prefill = true,
                                    .can_evict_kv = true,
                                    .can_preempt_recompute = true,
                                    .can_preempt_swap = true};
  /// Output length of a request with no set_output_length(): it finishes after this many tokens.
  tokens default_output_length = tokens(16);
  /// Output tokens each decode step emits for a request with no set_tokens_per_step(), as a
  /// speculative-decoding runtime would: 1 (the default) or up to
  /// capabilities.max_tokens_per_outcome; never past the request's output length. A final
  /// prefill chunk emits 1 token whatever this is.
  tokens tokens_per_step = tokens(1);
  /// The "measured" time of a step; by default 10 ms whatever the plan.
  std::function<seconds(const step_plan&)> step_time = [](const step_plan&) {
    return seconds(0.010);
  };
  /// The "measured" time of a step's prefills alone (step_result::prefill_time), asked only for
  /// steps with prefills; empty (the default): none, as from a host that times steps as a whole.
  std::function<std::optional<seconds>(const step_plan&)> prefill_time;
};

/// A model_backend with no model: it keeps each request's KV length and output count, finishes
/// a request after its scripted output length, enforces the step_plan contract (a prefill starts
/// where the request's KV ends, decodes only follow a finished prefill, KV stays within
/// capacity, counted in whole blocks of kv_block_size) and throws std::logic_error when a plan
/// breaks it, which execute() reports as step_status::backend_failure. It takes a repeated
/// control operation (what the scheduler sends again after a failed step) as a no-op: a release
/// of a request it does not hold, a preemption of one already preempted the same way, a swap-in
/// of one whose KV is on the device, an eviction to the prompt KV it already keeps. A decode
/// step may emit several tokens (tokens_per_step, set_tokens_per_step()), as speculative
/// decoding does. For hosts' and rtlm's own tests of scheduling logic. Not thread-safe, like
/// every backend.
class fake_backend final : public model_backend {
 public:
  /// Throws rtlm::error naming `fake_backend_config.tokens_per_step` when it is below 1, or
  /// above 1 and above capabilities.max_tokens_per_outcome. The capabilities themselves are not
  /// validated, so that tests can hand the scheduler a backend whose capabilities it refuses.
  explicit fake_backend(fake_backend_config config = {}) : config_(std::move(config)) {
    require_tokens_per_step("fake_backend_config.tokens_per_step", config_.tokens_per_step);
  }

  /// A step-time function that returns the roofline time of the plan's forward pass.
  static std::function<seconds(const step_plan&)> roofline_step_time(model_shape shape,
                                                                     hardware_spec hardware) {
    return [shape = std::move(shape), hardware = std::move(hardware)](const step_plan& plan) {
      std::vector<sequence_step> batch;
      batch.reserve(plan.computed());
      for (const prefill_assignment& p : plan.prefills)
        batch.push_back({p.new_tokens, p.computed_tokens, p.final_chunk});
      for (const decode_assignment& d : plan.decodes)
        batch.push_back({tokens(1), d.kv_length, true});
      return hardware.roofline(shape.work(batch)).time();
    };
  }

  const backend_capabilities& capabilities() const noexcept override {
    return config_.capabilities;
  }

  /// Scripts how many output tokens request `id` produces before it finishes.
  void set_output_length(request_id id, tokens length) { output_length_[id] = length; }
  /// Scripts how many output tokens each decode step of request `id` emits (fewer when its
  /// output length is nearer), overriding fake_backend_config::tokens_per_step. Throws
  /// rtlm::error naming `tokens_per_step` on the same terms as the constructor.
  void set_tokens_per_step(request_id id, tokens n) {
    require_tokens_per_step("tokens_per_step", n);
    tokens_per_step_[id] = n;
  }
  /// Makes the next step throw std::runtime_error(`message`), as a crashing runtime would.
  void fail_next_step(std::string message) { pending_failure_ = std::move(message); }

  /// KV entries the request holds on the device (0 when unknown or swapped out).
  [[nodiscard]] tokens kv_tokens(request_id id) const {
    const auto it = sequences_.find(id);
    return it == sequences_.end() || it->second.swapped ? tokens(0) : it->second.kv;
  }
  /// Output tokens the request has produced so far (0 when unknown).
  [[nodiscard]] tokens generated(request_id id) const {
    const auto it = sequences_.find(id);
    return it == sequences_.end() ? tokens(0) : it->second.generated;
  }
  /// Whether the fake holds state for the request (prefilled or swapped, not yet released).
  [[nodiscard]] bool holds(request_id id) const { return sequences_.contains(id); }
  /// KV entries in use on the device, over all requests. O(requests held); no allocation.
  [[nodiscard]] tokens kv_tokens_in_use() const {
    tokens sum;
    for (const auto& [id, s] : sequences_)
      if (!s.swapped) sum += s.kv;
    return sum;
  }
  /// KV in use on the device counted in whole blocks, in tokens: each request's entries rounded
  /// up to a multiple of kv_block_size (backend_capabilities::kv_footprint), summed; what the
  /// fake checks against kv_capacity. Equals kv_tokens_in_use() for 1-token blocks.
  /// O(requests held); no allocation.
  [[nodiscard]] tokens kv_footprint_in_use() const {
    tokens sum;
    for (const auto& [id, s] : sequences_)
      if (!s.swapped) sum += config_.capabilities.kv_footprint(s.kv);
    return sum;
  }
  /// Steps run successfully.
  [[nodiscard]] std::size_t steps_run() const noexcept { return steps_run_; }
  /// Sum of the step times of the steps run.
  [[nodiscard]] seconds busy_time() const noexcept { return busy_time_; }

 private:
  struct sequence {
    tokens kv;         // entries in its KV cache
    tokens prompt_kv;  // of which prompt entries (what eviction may shrink)
    tokens generated;
    bool prefilled = false;
    bool swapped = false;
    bool finished = false;
  };

  [[noreturn]] static void broken(const std::string& why) {
    throw std::logic_error("fake_backend: " + why);
  }

  void require_tokens_per_step(std::string_view field, tokens n) const {
    const tokens most = config_.capabilities.max_tokens_per_outcome;
    detail::require(
        n.count() >= 1 && (n.count() == 1 || n <= most), field, n,
        fmt::format("must be >= 1 and at most capabilities.max_tokens_per_outcome = {}", most));
  }

  sequence& known(request_id id, const char* what) {
    const auto it = sequences_.find(id);
    if (it == sequences_.end()) broken(fmt::format("{} of unknown request {}", what, id));
    return it->second;
  }

  tokens output_length(request_id id) const {
    const auto it = output_length_.find(id);
    return it == output_length_.end() ? config_.default_output_length : it->second;
  }

  tokens tokens_per_step(request_id id) const {
    const auto it = tokens_per_step_.find(id);
    return it == tokens_per_step_.end() ? config_.tokens_per_step : it->second;
  }

  // Emits up to `most` tokens (at least one), stopping at the output length; returns how many.
  tokens produce(request_id id, sequence& s, tokens most, step_result& result) {
    const tokens made = std::max(std::min(most, output_length(id) - s.generated), tokens(1));
    s.generated += made;
    s.finished = s.generated >= output_length(id);
    result.outcomes.push_back({.id = id, .generated = made, .finished = s.finished});
    return made;
  }

  void run_step(const step_plan& plan, step_result& result) override {
    if (pending_failure_) {
      const std::string message = std::move(*pending_failure_);
      pending_failure_.reset();
      throw std::runtime_error(message);
    }
    // Each control operation is idempotent: the scheduler sends those of a failed step again.
    // A release may name a request the fake never saw: one whose every step failed.
    for (request_id id : plan.releases) sequences_.erase(id);
    for (const preemption& p : plan.preemptions) {
      sequence& s = known(p.id, "preemption");
      if (p.mode == preemption_mode::swap) {
        s.swapped = true;  // already swapped out: stays so
      } else {
        s = sequence{.generated = s.generated};  // already dropped: stays so
      }
    }
    for (request_id id : plan.swap_ins) {
      sequence& s = known(id, "swap-in");
      if (!s.swapped && !s.prefilled && s.kv.count() == 0)
        broken(fmt::format("swap-in of request {}, which holds no KV to bring back", id));
      s.swapped = false;  // already on the device: a no-op
    }
    for (const kv_eviction& e : plan.evictions) {
      sequence& s = known(e.id, "eviction");
      if (!s.prefilled || e.kept_tokens > s.prompt_kv || e.kept_tokens.count() < 0)
        broken(fmt::format("eviction of request {} keeps {} of {} prompt entries", e.id,
                           e.kept_tokens, s.prompt_kv));
      s.kv -= s.prompt_kv - e.kept_tokens;  // already kept_tokens: a no-op
      s.prompt_kv = e.kept_tokens;
    }
    for (const prefill_assignment& p : plan.prefills) {
      sequence& s = sequences_[p.id];
      if (s.prefilled || s.swapped || p.computed_tokens != s.kv || p.new_tokens.count() < 0)
        broken(fmt::format("prefill of request {} starts at {} but its KV holds {}{}", p.id,
                           p.computed_tokens, s.kv,
                           s.prefilled ? " after a complete prefill" : ""));
      s.kv += p.new_tokens;
      s.prompt_kv += p.new_tokens;
      if (p.final_chunk) {
        s.prefilled = true;
        produce(p.id, s, tokens(1), result);
      } else {
        result.outcomes.push_back({.id = p.id, .generated = tokens(0), .finished = false});
      }
    }
    for (const decode_assignment& d : plan.decodes) {
      sequence& s = known(d.id, "decode");
      if (!s.prefilled || s.swapped || s.finished || d.kv_length != s.kv)
        broken(fmt::format("decode of request {} at KV length {} (fake holds {}, {})", d.id,
                           d.kv_length, s.kv,
                           !s.prefilled ? "not prefilled"
                           : s.swapped  ? "swapped out"
                           : s.finished ? "finished"
                                        : "length mismatch"));
      // The token fed back in and every accepted draft token are appended to the cache: as many
      // entries as tokens emitted.
      s.kv += produce(d.id, s, tokens_per_step(d.id), result);
    }
    const backend_capabilities& caps = config_.capabilities;
    if (caps.kv_block_size.count() > 1) {
      if (kv_footprint_in_use() > caps.usable_kv_capacity())
        broken(fmt::format("KV in use {} ({} in blocks of {}) exceeds capacity {} ({} blocks)",
                           kv_tokens_in_use(), kv_footprint_in_use(), caps.kv_block_size,
                           caps.kv_capacity,
                           caps.usable_kv_capacity().count() / caps.kv_block_size.count()));
    } else if (kv_tokens_in_use() > caps.kv_capacity) {
      broken(fmt::format("KV in use {} exceeds capacity {}", kv_tokens_in_use(), caps.kv_capacity));
    }
    result.step_time = config_.step_time(plan);
    if (config_.prefill_time && !plan.prefills.empty())
      result.prefill_time = config_.prefill_time(plan);
    busy_time_ += result.step_time;
    ++steps_run_;
  }

  fake_backend_config config_;
  std::unordered_map<request_id, sequence> sequences_;
  std::unordered_map<request_id, tokens> output_length_;
  std::unordered_map<request_id, tokens> tokens_per_step_;
  std::optional<std::string> pending_failure_;
  std::size_t steps_run_ = 0;
  seconds busy_time_{0};
};

}  // namespace rtlm::testing
