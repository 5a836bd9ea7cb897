// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <Eigen/Core>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/config.hpp"

namespace rtlm {

// KV selection: which prompt positions' KV entries to keep when a prompt's cache is evicted at
// ratio alpha or to a kept-token budget. These are the CPU reference implementations of SnapKV,
// StreamingLLM and H2O: a host's GPU runtime usually scores on the device itself; CPU backends,
// tests and prototypes call these. docs/kv-selection.md shows how a host applies the positions.

namespace detail {
struct kv_selection_access;
}  // namespace detail

/// A row-major float matrix: the memory layout of a contiguous [heads, queries, keys] attention
/// tensor (PyTorch, ggml), so a host maps its buffer with Eigen::Map and passes it without a copy.
using attention_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// How much of a prompt's KV to keep: an eviction ratio alpha (keep floor((1 - alpha) length),
/// as kept_tokens_for_ratio) or an absolute kept-token budget (SnapKV's `max_capacity_prompt`).
/// Either counts every kept position, the always-kept window or sinks included. Validated at
/// construction (throws rtlm::error); then a trivially copyable value, O(1), no allocation.
class kv_budget {
 public:
  /// Evict the fraction `alpha` of the prompt; `alpha` must be in [0, 1] (0 keeps everything,
  /// 1 keeps nothing). Throws rtlm::error naming `kv_budget.ratio` otherwise (NaN included).
  [[nodiscard]] static kv_budget ratio(double alpha);
  /// Keep at most `capacity` positions (all of them when the prompt is no longer). Throws
  /// rtlm::error naming `kv_budget.kept` when `capacity` is negative.
  [[nodiscard]] static kv_budget kept(tokens capacity);

  /// The positions this budget keeps out of a prompt of `length` tokens, in [0, length]. O(1).
  [[nodiscard]] tokens kept_for(tokens length) const noexcept;

 private:
  kv_budget(double alpha, tokens capacity, bool by_ratio) noexcept
      : alpha_(alpha), capacity_(capacity), by_ratio_(by_ratio) {}
  double alpha_;     // the eviction ratio, when by_ratio_
  tokens capacity_;  // the kept-token budget, otherwise
  bool by_ratio_;
};

/// Query and KV head counts of an attention layer. With grouped-query attention (GQA) query head
/// h reads KV head h / (query_heads / kv_heads), as Hugging Face's `repeat_kv` lays them out; MHA
/// has kv_heads == query_heads, MQA kv_heads == 1. Both must be >= 1 and kv_heads must divide
/// query_heads (functions taking it throw rtlm::error naming `attention_heads.*` otherwise).
struct attention_heads {
  std::int64_t query_heads = 1;  ///< attention (query) heads of the layer
  std::int64_t kv_heads = 1;     ///< KV heads of the layer
};

/// SnapKV's 1-D smoothing of the window scores.
enum class snapkv_pooling {
  max,      ///< max over the kernel; padding never wins (PyTorch `max_pool1d`)
  average,  ///< mean over the kernel, padding counted as 0 (`avg_pool1d`, count_include_pad)
};

/// Where SnapKV selects under GQA.
enum class snapkv_gqa {
  /// One selection per KV head: the pooled scores of the query heads that share a KV head are
  /// averaged, as kvpress and SnapKV's GQA follow-ups do; this is what shrinks a GQA cache.
  kv_group_mean,
  /// One selection per query head, as the original SnapKV code (which repeats KV per query head).
  per_query_head,
};

/// SnapKV's settings. Defaults: window 32 (the SnapKV repository's `window_size`), kernel 5, max
/// pooling, selection per KV head. Plain aggregate; validated by the functions that take it.
struct snapkv_options {
  /// Observation window: the last `window` prompt queries score the prefix, and the last `window`
  /// positions are always kept. Must be >= 1 (`snapkv_options.window`).
  std::int64_t window = 32;
  /// Pooling kernel, in positions: odd and >= 1 (`snapkv_options.kernel`); 1 means no smoothing.
  /// Stride 1, padding kernel / 2, so the pooled scores keep the prefix length.
  std::int64_t kernel = 5;
  snapkv_pooling pooling = snapkv_pooling::max;  ///< how the window scores are smoothed
  snapkv_gqa gqa = snapkv_gqa::kv_group_mean;    ///< per KV head or per query head
};

/// StreamingLLM's settings: `sink` initial tokens (the attention sinks, default 4) are kept, the
/// rest of the budget goes to the most recent tokens. `sink` must be >= 0.
struct streaming_llm_options {
  std::int64_t sink = 4;  ///< initial tokens always kept (StreamingLLM's `start_size`)
};

/// H2O's settings: of a kept budget of C positions, floor(heavy_fraction * C) go to the heavy
/// hitters (highest accumulated attention) and the rest to the most recent positions. Default
/// 0.5, H2O's even split; must be in [0, 1] (`h2o_options.heavy_fraction`).
struct h2o_options {
  double heavy_fraction = 0.5;  ///< share of the kept budget given to heavy hitters
};

/// The kept prompt positions of one layer, per head, each head's ascending, every head keeping
/// the same number. A host gathers K and V rows at these positions (docs/kv-selection.md). Reuse
/// one object per thread across calls: a call allocates only when it needs more room than any
/// call before it on this object. Plain value type; not synchronized. Example:
///
///     rtlm::kv_selection kept;  // one per thread, reused
///     rtlm::select_snapkv(probabilities, {.query_heads = 32, .kv_heads = 8},
///                         rtlm::kv_budget::ratio(0.5), {}, kept);
///     for (std::int64_t g = 0; g < kept.head_count(); ++g) gather(g, kept.positions(g));
class kv_selection {
 public:
  /// Heads the selection is for (KV heads, query heads, or 1 when every head keeps the same).
  [[nodiscard]] std::int64_t head_count() const noexcept { return heads_; }
  /// Positions kept per head: kv_budget::kept_for(length). O(1).
  [[nodiscard]] tokens kept_per_head() const noexcept { return tokens(kept_); }
  /// The prompt length the selection was made for. O(1).
  [[nodiscard]] tokens length() const noexcept { return tokens(length_); }
  /// Head `head`'s kept positions, ascending, in [0, length). Precondition: `head` in
  /// [0, head_count()), unchecked like std::vector's operator[]. O(1), no allocation.
  [[nodiscard]] std::span<const std::int64_t> positions(std::int64_t head) const noexcept;
  /// Every head's positions, head-major: a [head_count, kept_per_head] index tensor, the layout a
  /// runtime's gather takes. O(1).
  [[nodiscard]] std::span<const std::int64_t> all_positions() const noexcept {
    return {positions_.data(), static_cast<std::size_t>(heads_ * kept_)};
  }

 private:
  friend struct detail::kv_selection_access;
  std::int64_t heads_ = 0;
  std::int64_t kept_ = 0;
  std::int64_t length_ = 0;
  std::vector<std::int64_t> positions_;
  // Scratch reused across calls so that the per-request path stops allocating after warm-up.
  std::vector<double> window_sum_;
  std::vector<double> score_;
  std::vector<std::int64_t> order_;
};

/// SnapKV selection for one layer from the attention probabilities of its observation window.
/// `window_probabilities` stacks the query heads: rows [h w, (h + 1) w) hold query head h's last
/// w = min(options.window, length) prompt queries (oldest first), one column per prompt position,
/// so length = cols() and rows() must be query_heads * w. Entries must be finite and >= 0 (the
/// softmax output, masked entries 0); snapkv_window_attention computes them from Q and K.
/// Each prefix position p < length - w scores sum over the w queries of P(query, p); the scores
/// are pooled (options.kernel, options.pooling), averaged over each KV group under
/// snapkv_gqa::kv_group_mean, and the top C - w prefix positions are kept with the last w, where
/// C = budget.kept_for(length). C >= length keeps everything; C <= w keeps the last C positions.
/// Ties go to the lower position. Throws rtlm::error naming the bad argument and its value.
/// O(query_heads (w length + length kernel) + heads (length + C log C)); allocates only to grow
/// `out`, plus a copy when the argument is not a row-major matrix with unit inner stride.
/// Reentrant.
void select_snapkv(const Eigen::Ref<const attention_matrix>& window_probabilities,
                   attention_heads heads, kv_budget budget, const snapkv_options& options,
                   kv_selection& out);

/// As the overload above, into a new kv_selection (allocates).
[[nodiscard]] kv_selection select_snapkv(
    const Eigen::Ref<const attention_matrix>& window_probabilities, attention_heads heads,
    kv_budget budget, const snapkv_options& options = {});

/// SnapKV selection from the window scores a runtime has already reduced on its device: row h
/// of `window_scores` holds, for each prompt position p (one column per position, so length =
/// cols()), query head h's attention probabilities of its last w = min(options.window, length)
/// prompt queries summed over those queries; rows() must be query_heads. Entries must be finite
/// and >= 0; columns of the window itself are not read. The selection is exactly select_snapkv's
/// on the probabilities whose window sums these are; a host ships query_heads x length floats
/// per layer off the GPU instead of query_heads x w x length. Throws rtlm::error naming the bad
/// argument and its value. O(query_heads length kernel + heads (length + C log C)); allocates
/// only to grow `out` (and for a copy when not row-major with unit inner stride). Reentrant.
void select_snapkv_from_window_scores(const Eigen::Ref<const attention_matrix>& window_scores,
                                      attention_heads heads, kv_budget budget,
                                      const snapkv_options& options, kv_selection& out);

/// As the overload above, into a new kv_selection (allocates).
[[nodiscard]] kv_selection select_snapkv_from_window_scores(
    const Eigen::Ref<const attention_matrix>& window_scores, attention_heads heads,
    kv_budget budget, const snapkv_options& options = {});

/// SnapKV's window attention: softmax(Q K^T / sqrt(d)) of each query head's last w prompt queries
/// against its KV head's keys, causally masked inside the window (window query j, at position
/// length - w + j, sees keys 0 .. length - w + j; later keys get probability 0). `queries` is
/// (query_heads w) x d, query head h's w queries in rows [h w, (h + 1) w); `keys` is
/// (kv_heads length) x d, KV head g's keys in rows [g length, (g + 1) length); both as the
/// attention uses them (after RoPE). w and length follow from the row counts; w <= length.
/// `probabilities` is resized to (query_heads w) x length, the layout select_snapkv takes.
/// Throws rtlm::error on bad shapes or non-finite inputs. O(query_heads w length d); allocates
/// when `probabilities` grows (and Eigen's matrix product may use scratch). Reentrant.
void snapkv_window_attention(const Eigen::Ref<const attention_matrix>& queries,
                             const Eigen::Ref<const attention_matrix>& keys, attention_heads heads,
                             attention_matrix& probabilities);

/// As the overload above, into a new matrix (allocates).
[[nodiscard]] attention_matrix snapkv_window_attention(
    const Eigen::Ref<const attention_matrix>& queries,
    const Eigen::Ref<const attention_matrix>& keys, attention_heads heads);

/// StreamingLLM selection: the first min(sink, C) positions plus the most recent C - sink, with
/// C = budget.kept_for(length); C >= length keeps everything. The same for every head and layer,
/// so `out` has head_count() 1. Throws rtlm::error naming `length` (negative) or
/// `streaming_llm_options.sink`. O(C); allocates only to grow `out`. Reentrant.
void select_streaming_llm(tokens length, kv_budget budget, const streaming_llm_options& options,
                          kv_selection& out);

/// As the overload above, into a new kv_selection (allocates).
[[nodiscard]] kv_selection select_streaming_llm(tokens length, kv_budget budget,
                                                const streaming_llm_options& options = {});

/// H2O selection per head from `accumulated_scores`, one row per head and one column per prompt
/// position (the attention each position has received, summed over queries; finite, >= 0).
/// With C = budget.kept_for(length), r = C - floor(heavy_fraction C) recent positions are kept
/// and the top C - r heavy hitters among the older ones; C >= length keeps everything. Ties go
/// to the lower position. Throws rtlm::error naming the bad argument and its value.
/// O(heads (length + C log C)); allocates only to grow `out` (and for a copy when the
/// argument is not row-major with unit inner stride). Reentrant.
void select_h2o(const Eigen::Ref<const attention_matrix>& accumulated_scores, kv_budget budget,
                const h2o_options& options, kv_selection& out);

/// As the overload above, into a new kv_selection (allocates).
[[nodiscard]] kv_selection select_h2o(const Eigen::Ref<const attention_matrix>& accumulated_scores,
                                      kv_budget budget, const h2o_options& options = {});

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/budget/kv_selection-inl.hpp"
#endif
