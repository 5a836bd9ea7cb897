// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/config.hpp"

namespace rtlm::sim {

/// One request of a workload: when it arrives (seconds after the trace's first arrival), its
/// prompt length and its true output length. Plain data.
struct trace_request {
  double arrival = 0.0;  ///< seconds since the first arrival, >= 0, non-decreasing in a trace
  tokens prompt;         ///< prompt tokens, >= 0
  tokens output;         ///< true output tokens, >= 1
};

/// A workload: requests sorted by arrival. Plain data.
struct trace {
  std::string name;  ///< where it came from, for reports
  std::vector<trace_request> requests;
  /// The hashes of each request's prompt blocks, in prompt order (Mooncake's `hash_ids`): two
  /// requests whose lists share a leading run share that prefix. Empty when the trace has none;
  /// otherwise one list per request.
  std::vector<std::vector<std::uint32_t>> prefix_blocks;
  /// Prompt tokens per prefix block (512 in Mooncake); 0 without prefix blocks.
  tokens prefix_block_tokens{0};

  /// Seconds from the first to the last arrival (0 for fewer than two requests).
  [[nodiscard]] double span() const noexcept {
    return requests.size() < 2 ? 0.0 : requests.back().arrival - requests.front().arrival;
  }
  /// Mean arrivals per second over the span (0 when the span is 0).
  [[nodiscard]] double arrival_rate() const noexcept {
    return span() > 0.0 ? static_cast<double>(requests.size() - 1) / span() : 0.0;
  }
};

/// Reads an Azure LLM inference trace (Splitwise, 2023): a CSV with the header
/// `TIMESTAMP,ContextTokens,GeneratedTokens` and rows `2023-11-16 18:15:46.6805900,374,44`.
/// Arrivals are made relative to the first row. Throws rtlm::error naming `path:line` and the
/// column for a malformed row (a bad timestamp, a negative or non-numeric count, a row out of
/// time order, a generated count of 0), and for a missing file or header, a directory, or a
/// path that is not a regular file (a FIFO is refused before it is read, not waited on); nothing
/// is skipped silently. A UTF-8 byte-order mark at the start of the file is skipped. Values
/// echoed in errors are escaped and cut (rtlm::error).
[[nodiscard]] trace load_azure_trace(const std::string& path);

/// Reads a Mooncake trace (FAST 2025): JSON Lines with `timestamp` (milliseconds), `input_length`
/// and `output_length` per request, and `hash_ids` (its 512-token prompt blocks' hashes, into
/// prefix_blocks) where a line has them (other keys ignored). Keys are read at the top level of
/// each line's object only: a key of the same name nested in another member's object or array is
/// not read. Errors as load_azure_trace, and for a line that is not one JSON object or repeats
/// a top-level key (`path:line output_length`), or whose `hash_ids` is not an array of whole
/// numbers in [0, 2^32) (`path:line hash_ids`).
[[nodiscard]] trace load_mooncake_trace(const std::string& path);

/// Reads a trace of lengths and times as `benchmarks/data/mooncake/conversation_lengths.csv`
/// holds it: the header `timestamp_ms,input_length,output_length`, one request per row. Errors
/// as load_azure_trace.
[[nodiscard]] trace load_length_csv_trace(const std::string& path);

/// load_azure_trace (or, by its header, load_length_csv_trace) for a `.csv` path,
/// load_mooncake_trace for `.jsonl`; otherwise throws rtlm::error naming `trace`.
[[nodiscard]] trace load_trace(const std::string& path);

/// The same requests with every inter-arrival gap multiplied by `stretch` (> 1 lowers the load,
/// < 1 raises it): load scaling that keeps the trace's burst structure. Throws rtlm::error naming
/// `stretch` unless it is finite and > 0.
[[nodiscard]] trace stretch_arrivals(const trace& t, double stretch);

/// The requests that arrive within the first `seconds` of `t` (with their prefix blocks).
[[nodiscard]] trace first_seconds(const trace& t, double seconds);

}  // namespace rtlm::sim

#ifdef RTLM_HEADER_ONLY
#include "rtlm/sim/trace-inl.hpp"
#endif
