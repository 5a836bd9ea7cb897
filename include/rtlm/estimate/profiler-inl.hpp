// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <string>

#include "rtlm/detail/validate.hpp"
#include "rtlm/estimate/profiler.hpp"

namespace rtlm {
namespace detail {

// Drives one backend, step by step, for the profiler.
class profiling_session {
 public:
  explicit profiling_session(model_backend& backend) : backend_(backend) {}

  request_id fresh_id() { return request_id{next_id_++}; }

  // Runs `plan`; throws when the step fails or a request finishes.
  seconds run(const step_plan& plan) {
    const step_status status = backend_.execute(plan, result_);
    if (status != step_status::ok) {
      throw error("backend", backend_.capabilities().name,
                  fmt::format("failed a profiling step: {}", backend_.last_error()));
    }
    for (const request_outcome& o : result_.outcomes) {
      if (o.finished) {
        throw error("backend", backend_.capabilities().name,
                    fmt::format("ended request {} during profiling; profile with end-of-sequence "
                                "disabled",
                                o.id));
      }
    }
    return result_.step_time;
  }

  void release(const std::vector<request_id>& ids) {
    step_plan plan;
    plan.releases = ids;
    run(plan);
  }

 private:
  model_backend& backend_;
  step_result result_;
  std::uint64_t next_id_ = std::uint64_t{1} << 62;  // far from ids a host would use
};

}  // namespace detail

RTLM_INLINE profile_grid profile_grid::standard(tokens max_tokens) {
  detail::require(max_tokens.count() >= 128, "profile_grid::standard.max_tokens", max_tokens,
                  "must be at least 128");
  profile_grid g;
  for (const tokens::rep n :
       {1,   2,   4,    8,    16,   24,   32,   48,   64,   96,    128,   192,   256,  384,
        512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288, 16384, 24576, 32768}) {
    if (n <= max_tokens.count()) g.prefill_lengths.emplace_back(n);
  }
  for (const tokens::rep k : {1024, 4096, 16384}) {
    for (const tokens::rep n : {128, 512, 2048}) {
      if (n + k <= max_tokens.count()) g.prefill_chunks.push_back({tokens(n), tokens(k)});
    }
  }
  g.decode_batch_sizes = {1, 2, 4, 8, 16, 32, 64};
  for (tokens::rep k = 128; k <= max_tokens.count(); k *= 2) g.decode_kv_lengths.emplace_back(k);
  return g;
}

RTLM_INLINE profile run_profiler(model_backend& backend, const profile_grid& grid,
                                 const profiler_options& options) {
  detail::require(options.warmup >= 0, "profiler_options.warmup", options.warmup, "must be >= 0");
  detail::require(options.repeats >= 1, "profiler_options.repeats", options.repeats,
                  "must be >= 1");
  const backend_capabilities& caps = backend.capabilities();
  detail::profiling_session session(backend);
  profile result;
  result.source = fmt::format("run_profiler on backend '{}'", caps.name);
  result.metadata["backend"] = caps.name;
  result.metadata["method"] =
      fmt::format("rtlm::run_profiler, {} warm-up and {} measured runs per shape", options.warmup,
                  options.repeats);
  std::string skipped;
  const auto skip = [&skipped](const std::string& what) {
    skipped += (skipped.empty() ? "" : " ") + what;
  };
  const int runs = options.warmup + options.repeats;

  for (const tokens n : grid.prefill_lengths) {
    detail::require(n.count() >= 1, "profile_grid.prefill_lengths", n, "must be >= 1");
    if (n > caps.kv_capacity) {
      skip(fmt::format("prefill:{}", n));
      continue;
    }
    profile_point point{.phase = step_phase::prefill, .new_tokens = n, .kv_lengths = {tokens(0)}};
    for (int r = 0; r < runs; ++r) {
      const request_id id = session.fresh_id();
      step_plan plan;
      plan.prefills = {{.id = id, .new_tokens = n, .computed_tokens = tokens(0)}};
      const seconds t = session.run(plan);
      if (r >= options.warmup) point.measurements.push_back(t);
      session.release({id});
    }
    result.points.push_back(std::move(point));
  }

  for (const prefill_chunk_shape& c : grid.prefill_chunks) {
    detail::require(c.new_tokens.count() >= 1 && c.cached_tokens.count() >= 1,
                    "profile_grid.prefill_chunks",
                    fmt::format("{} on {}", c.new_tokens, c.cached_tokens),
                    "must have at least 1 new and 1 cached token");
    if (!caps.can_chunk_prefill || c.new_tokens + c.cached_tokens > caps.kv_capacity) {
      skip(fmt::format("chunk:{}+{}", c.cached_tokens, c.new_tokens));
      continue;
    }
    profile_point point{
        .phase = step_phase::prefill, .new_tokens = c.new_tokens, .kv_lengths = {c.cached_tokens}};
    for (int r = 0; r < runs; ++r) {
      const request_id id = session.fresh_id();
      step_plan plan;
      plan.prefills = {{.id = id,
                        .new_tokens = c.cached_tokens,
                        .computed_tokens = tokens(0),
                        .final_chunk = false}};
      session.run(plan);
      plan.prefills = {{.id = id, .new_tokens = c.new_tokens, .computed_tokens = c.cached_tokens}};
      const seconds t = session.run(plan);
      if (r >= options.warmup) point.measurements.push_back(t);
      session.release({id});
    }
    result.points.push_back(std::move(point));
  }

  std::vector<std::vector<tokens>> decode_batches;
  for (const int b : grid.decode_batch_sizes) {
    detail::require(b >= 1, "profile_grid.decode_batch_sizes", b, "must be >= 1");
    for (const tokens k : grid.decode_kv_lengths) {
      decode_batches.emplace_back(static_cast<std::size_t>(b), k);
    }
  }
  decode_batches.insert(decode_batches.end(), grid.mixed_decode_batches.begin(),
                        grid.mixed_decode_batches.end());
  for (const std::vector<tokens>& batch : decode_batches) {
    detail::require(!batch.empty(), "profile_grid.mixed_decode_batches", "(empty batch)",
                    "must hold at least one sequence");
    tokens total;
    std::string shape = fmt::format("decode:{}x", batch.size());
    for (const tokens k : batch) {
      detail::require(k.count() >= 1, "profile_grid decode KV length", k, "must be >= 1");
      total += k + tokens(runs);
    }
    if (total > caps.kv_capacity ||
        (caps.max_batch_size > 0 && batch.size() > static_cast<std::size_t>(caps.max_batch_size))) {
      skip(shape + std::to_string(batch.front().count()));
      continue;
    }
    // Start each sequence half the runs early, so the measured steps straddle its KV length.
    const tokens lead(runs / 2);
    std::vector<request_id> ids;
    std::vector<tokens> kv;
    step_plan plan;
    for (const tokens k : batch) {
      ids.push_back(session.fresh_id());
      kv.push_back(std::max(tokens(1), k - lead));
      plan.prefills.push_back(
          {.id = ids.back(), .new_tokens = kv.back(), .computed_tokens = tokens(0)});
    }
    session.run(plan);
    profile_point point{.phase = step_phase::decode,
                        .new_tokens = tokens(static_cast<tokens::rep>(batch.size())),
                        .kv_lengths = batch};
    for (int r = 0; r < runs; ++r) {
      plan.clear();
      for (std::size_t i = 0; i < ids.size(); ++i)
        plan.decodes.push_back({.id = ids[i], .kv_length = kv[i]});
      const seconds t = session.run(plan);
      if (r >= options.warmup) point.measurements.push_back(t);
      for (tokens& k : kv) k += tokens(1);
    }
    session.release(ids);
    result.points.push_back(std::move(point));
  }
  if (!skipped.empty()) result.metadata["skipped"] = skipped;
  return result;
}

}  // namespace rtlm
