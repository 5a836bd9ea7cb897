// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <vector>

#include "rtlm/backend/model_backend.hpp"
#include "rtlm/detail/config.hpp"
#include "rtlm/estimate/profile.hpp"

namespace rtlm {

/// A chunk of a chunked prefill: `new_tokens` on top of `cached_tokens`.
struct prefill_chunk_shape {
  tokens new_tokens;
  tokens cached_tokens;
};

/// The step shapes a profiler measures. Aggregate.
struct profile_grid {
  std::vector<tokens> prefill_lengths;              ///< plain prefills of one sequence
  std::vector<prefill_chunk_shape> prefill_chunks;  ///< needs capabilities().can_chunk_prefill
  std::vector<int> decode_batch_sizes;              ///< crossed with decode_kv_lengths
  std::vector<tokens> decode_kv_lengths;
  std::vector<std::vector<tokens>> mixed_decode_batches;  ///< batches with given KV lengths

  /// A grid in the spirit of docs/methods.md, 'GPU profiling', up to `max_tokens`: dense
  /// prefills from 1 token, chunks at three sizes over three caches, decode batches 1..64 over
  /// KV lengths 128..max.
  static profile_grid standard(tokens max_tokens);
};

/// How the profiler measures. Aggregate.
struct profiler_options {
  int warmup = 3;    ///< unmeasured runs of each shape first
  int repeats = 20;  ///< measured runs of each shape
};

/// Measures step times by driving `backend` over `grid`, and returns them as a profile (save it
/// with save_profile_csv()). Each plain prefill or chunk runs on a fresh request that is released
/// afterwards. A decode shape prefills its batch once, then runs warm-up and measured decode
/// steps back to back; since each step appends one KV entry, the steps run at KV lengths
/// centred on the grid's (from k - (warmup + repeats) / 2 upwards), and the point records k.
/// Shapes whose KV would exceed capabilities().kv_capacity, and chunks on a backend that cannot
/// chunk prefills, are skipped and listed in the metadata key "skipped". The backend must not end
/// requests on its own while profiling (disable end-of-sequence). Throws rtlm::error when a step
/// fails, a request ends early, or the options are invalid. Not thread-safe; allocates.
profile run_profiler(model_backend& backend, const profile_grid& grid,
                     const profiler_options& options = {});

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/estimate/profiler-inl.hpp"
#endif
