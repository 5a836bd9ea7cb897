// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rtlm/backend/model_backend.hpp"
#include "rtlm/estimate/hardware_spec.hpp"
#include "rtlm/estimate/model_shape.hpp"

namespace rtlm::testing {

/// Settings of a fake_backend. Aggregate.
struct fake_backend_config {
  /// What the fake declares; it enforces kv_capacity itself.
  backend_capabilities capabilities{.name = "fake",
                                    .kv_capacity = tokens(1 << 20),
                                    .can_chunk_prefill = true,
                                    .can_evict_kv = true,
                                    .can_preempt_recompute = true,
                                    .can_preempt_swap = true};
  /// Output length of a request with no set_output_length(): it finishes after this many tokens.
  tokens default_output_length = tokens(16);
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
/// capacity) and throws std::logic_error when a plan breaks it, which execute() reports as
/// step_status::backend_failure. For hosts' and rtlm's own tests of scheduling logic.
/// Not thread-safe, like every backend.
class fake_backend final : public model_backend {
 public:
  explicit fake_backend(fake_backend_config config = {}) : config_(std::move(config)) {}

  /// A step-time function that returns the roofline time of the plan's forward pass.
  static std::function<seconds(const step_plan&)> roofline_step_time(model_shape shape,
                                                                     hardware_spec hardware) {
    return [shape = std::move(shape), hardware = std::move(hardware)](const step_plan& plan) {
      std::vector<sequence_step> batch;
      batch.reserve(plan.computed());
      for (const prefill_assignment& p : plan.prefills)
        batch.push_back({p.new_tokens, p.cached_tokens, p.final_chunk});
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
  /// KV entries in use on the device, over all requests.
  [[nodiscard]] tokens kv_tokens_in_use() const {
    tokens sum;
    for (const auto& [id, s] : sequences_)
      if (!s.swapped) sum += s.kv;
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

  sequence& known(request_id id, const char* what) {
    const auto it = sequences_.find(id);
    if (it == sequences_.end()) broken(fmt::format("{} of unknown request {}", what, id));
    return it->second;
  }

  tokens output_length(request_id id) const {
    const auto it = output_length_.find(id);
    return it == output_length_.end() ? config_.default_output_length : it->second;
  }

  void produce(request_id id, sequence& s, step_result& result) {
    s.generated += tokens(1);
    s.finished = s.generated >= output_length(id);
    result.outcomes.push_back({.id = id, .generated = tokens(1), .finished = s.finished});
  }

  void run_step(const step_plan& plan, step_result& result) override {
    if (pending_failure_) {
      const std::string message = std::move(*pending_failure_);
      pending_failure_.reset();
      throw std::runtime_error(message);
    }
    // A release may name a request the fake never saw: one whose every step failed.
    for (request_id id : plan.releases) sequences_.erase(id);
    for (const preemption& p : plan.preemptions) {
      sequence& s = known(p.id, "preemption");
      if (p.mode == preemption_mode::swap) {
        s.swapped = true;
      } else {
        s = sequence{.generated = s.generated};
      }
    }
    for (request_id id : plan.swap_ins) {
      sequence& s = known(id, "swap-in");
      if (!s.swapped) broken(fmt::format("swap-in of request {}, which is not swapped out", id));
      s.swapped = false;
    }
    for (const kv_eviction& e : plan.evictions) {
      sequence& s = known(e.id, "eviction");
      if (!s.prefilled || e.kept_tokens > s.prompt_kv || e.kept_tokens.count() < 0)
        broken(fmt::format("eviction of request {} keeps {} of {} prompt entries", e.id,
                           e.kept_tokens, s.prompt_kv));
      s.kv -= s.prompt_kv - e.kept_tokens;
      s.prompt_kv = e.kept_tokens;
    }
    for (const prefill_assignment& p : plan.prefills) {
      sequence& s = sequences_[p.id];
      if (s.prefilled || s.swapped || p.cached_tokens != s.kv || p.new_tokens.count() < 0)
        broken(fmt::format("prefill of request {} starts at {} but its KV holds {}{}", p.id,
                           p.cached_tokens, s.kv, s.prefilled ? " after a complete prefill" : ""));
      s.kv += p.new_tokens;
      s.prompt_kv += p.new_tokens;
      if (p.final_chunk) {
        s.prefilled = true;
        produce(p.id, s, result);
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
      s.kv += tokens(1);  // the token fed back in is appended to the cache
      produce(d.id, s, result);
    }
    if (kv_tokens_in_use() > config_.capabilities.kv_capacity)
      broken(fmt::format("KV in use {} exceeds capacity {}", kv_tokens_in_use(),
                         config_.capabilities.kv_capacity));
    result.step_time = config_.step_time(plan);
    if (config_.prefill_time && !plan.prefills.empty())
      result.prefill_time = config_.prefill_time(plan);
    busy_time_ += result.step_time;
    ++steps_run_;
  }

  fake_backend_config config_;
  std::unordered_map<request_id, sequence> sequences_;
  std::unordered_map<request_id, tokens> output_length_;
  std::optional<std::string> pending_failure_;
  std::size_t steps_run_ = 0;
  seconds busy_time_{0};
};

}  // namespace rtlm::testing
