// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "rtlm/detail/config.hpp"
#include "rtlm/estimate/profile.hpp"

namespace rtlm {

/// The version of rtlm's profile CSV format that this build reads and writes.
inline constexpr int profile_csv_version = 1;

/// Reads a profile in rtlm's CSV format (docs/estimator.md). Layout:
/// @code
/// # rtlm-profile: 1
/// # gpu: NVIDIA H100 80GB HBM3
/// # model: llama-3.1-8b
/// phase,batch,new_tokens,kv_lengths,graph,repeat,seconds
/// prefill,1,2048,0,1,0,0.0545
/// decode,4,4,1024;1024;2048;4096,1,0,0.0071
/// @endcode
/// Comment lines `# key: value` before the column header become `metadata`. Each row is one
/// measurement; rows of the same (phase, new_tokens, kv_lengths) form one point, in order of
/// first appearance. `graph` is 1 for a CUDA-graph replay, 0 for an eager step, `-` when unknown.
/// Every value is checked at load: `batch` from 1 to max_profile_batch (2^16), `new_tokens` from
/// 1 to max_profile_tokens (2^24), each `kv_lengths` entry from 0 with the sequence's new tokens
/// at most max_profile_tokens, `seconds` finite, > 0 and <= max_profile_seconds (1e6). A UTF-8
/// byte-order mark at the start is skipped. Throws rtlm::error naming the file, line and column
/// of the first malformed line and its value (`p.csv:12 new_tokens = 4611686018427387904`), the
/// version when the file is of another format version, and a directory or a file that is not a
/// regular file (a FIFO) before reading it. O(file size).
profile load_profile_csv(const std::string& path);

/// Writes `p` in rtlm's CSV format, metadata first (a `rtlm-profile` key is written by this
/// function, not copied), one row per measurement with `graph` as `-`. Throws rtlm::error naming
/// the path when it cannot be written.
void save_profile_csv(const profile& p, const std::string& path);

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/estimate/profile_csv-inl.hpp"
#endif
