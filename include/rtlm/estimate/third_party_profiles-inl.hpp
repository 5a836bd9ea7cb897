// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "rtlm/core/error.hpp"
#include "rtlm/detail/csv.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/estimate/third_party_profiles.hpp"

namespace rtlm {
namespace detail {

// The largest time any column of a third-party profile may hold, in its own unit (ms or ns): a
// bound against corrupt values; the step times built from them are held to
// max_profile_seconds by uniform_point_builder.
inline constexpr double max_third_party_time = 1e15;
// max_profile_batch as a column's integer.
inline constexpr auto max_batch = static_cast<std::int64_t>(max_profile_batch);

// A CSV file whose first line names its columns, read by those names. The header must name
// every column of `wanted` (others are ignored); every data row must have as many fields as the
// header. Columns are addressed by their index in `wanted`. Errors name "path:line column".
class named_csv_reader {
 public:
  named_csv_reader(const std::string& path, std::span<const std::string_view> wanted,
                   std::string_view format)
      : in_(path), wanted_(wanted.begin(), wanted.end()) {
    std::string header;
    if (!in_.next(header)) {
      throw error(
          fmt::format("{}:1 {}", path, wanted_.front()), "(empty file)",
          fmt::format("is missing: a {} file starts with a header naming its columns", format));
    }
    // line_reader has skipped a UTF-8 byte-order mark: it is not part of the first column's name.
    split_csv(header, fields_);
    header_.assign(fields_.begin(), fields_.end());
    for (std::string_view name : wanted_) {
      const auto it = std::find(header_.begin(), header_.end(), name);
      if (it == header_.end()) {
        throw error(in_.where() + " " + std::string(name), "(missing)",
                    fmt::format("must be a column of the header of a {} file", format));
      }
      columns_.push_back(static_cast<std::size_t>(it - header_.begin()));
    }
  }

  // Reads the next non-empty data row; false at the end of the file.
  bool next() {
    while (in_.next(line_)) {
      if (line_.empty()) continue;
      split_csv(line_, fields_);
      if (fields_.size() < header_.size()) {
        throw error(in_.where() + " " + header_[fields_.size()], fmt::format("'{}'", line_),
                    fmt::format("is missing: the row has {} fields, the header {}", fields_.size(),
                                header_.size()));
      }
      if (fields_.size() > header_.size()) {
        throw error(in_.where(), fmt::format("'{}'", line_),
                    fmt::format("has {} fields, the header {}", fields_.size(), header_.size()));
      }
      return true;
    }
    return false;
  }

  // The text of wanted column `i` in the current row.
  [[nodiscard]] std::string_view text(std::size_t i) const { return fields_[columns_[i]]; }
  // "path:line" of the current row, for errors.
  [[nodiscard]] std::string where() const { return in_.where(); }
  // "path:line column" of wanted column `i` in the current row, for errors.
  [[nodiscard]] std::string field(std::size_t i) const {
    return in_.where() + " " + std::string(wanted_[i]);
  }
  // The current row, as read.
  [[nodiscard]] const std::string& line() const noexcept { return line_; }
  [[nodiscard]] const std::string& path() const noexcept { return in_.path(); }

  // Column `i` as an integer from `least` to `most`.
  [[nodiscard]] std::int64_t integer(std::size_t i, std::int64_t least,
                                     std::int64_t most = max_profile_tokens) const {
    const std::int64_t value = parse_integer(field(i), text(i));
    require(value >= least, field(i), fmt::format("'{}'", text(i)),
            fmt::format("must be at least {}", least));
    require(value <= most, field(i), fmt::format("'{}'", text(i)),
            fmt::format("must be at most {}", most));
    return value;
  }
  // Column `i` as a finite number >= 0 (> 0 when `positive`) and at most `most`.
  [[nodiscard]] double number(std::size_t i, bool positive = false,
                              double most = max_third_party_time) const {
    const double value = parse_double(field(i), text(i));
    require(positive ? value > 0 : value >= 0, field(i), fmt::format("'{}'", text(i)),
            positive ? "must be > 0" : "must be >= 0");
    require(value <= most, field(i), fmt::format("'{}'", text(i)),
            fmt::format("must be at most {:g}", most));
    return value;
  }
  // Column `i` as Python writes a bool: True or False.
  [[nodiscard]] bool boolean(std::size_t i) const {
    const std::string_view t = text(i);
    require(t == "True" || t == "False", field(i), fmt::format("'{}'", t), "must be True or False");
    return t == "True";
  }
  // Requires column `i` to hold the same text in every row that calls this: one file, one
  // model. `first` keeps the first row's text.
  void same_in_every_row(std::size_t i, std::optional<std::string>& first) const {
    if (!first) {
      first = std::string(text(i));
      return;
    }
    require(text(i) == *first, field(i), fmt::format("'{}'", text(i)),
            fmt::format("must be '{}' as in the rows before it: one file, one model", *first));
  }

 private:
  line_reader in_;
  std::vector<std::string_view> wanted_;
  std::vector<std::string> header_;
  std::vector<std::size_t> columns_;  // index in the row of each wanted column
  std::string line_;
  std::vector<std::string_view> fields_;
};

// Collects measurements into points of uniform step shapes (every sequence of a point has the
// same new and cached tokens), joining the measurements of equal shapes in order of first
// appearance.
class uniform_point_builder {
 public:
  explicit uniform_point_builder(profile& p) : profile_(&p) {}

  // Adds a measurement of `batch` sequences of `new_per_sequence` new tokens on `kv` cached
  // ones each (a decode step has new_per_sequence 1). Throws rtlm::error naming `where` (the
  // row, "path:line") unless the point is within validate_profile_point's limits, before
  // allocating anything for it.
  void add(std::string_view where, step_phase phase, std::int64_t batch,
           std::int64_t new_per_sequence, std::int64_t kv, seconds measured) {
    const auto field = [&](std::string_view name) { return fmt::format("{} {}", where, name); };
    require(batch >= 1 && batch <= static_cast<std::int64_t>(max_profile_batch), field("batch"),
            batch,
            fmt::format("must be from 1 to {} (rtlm::max_profile_batch)", max_profile_batch));
    require(new_per_sequence >= 1 && new_per_sequence <= max_profile_tokens / batch,
            field("new tokens"), fmt::format("{} x {}", batch, new_per_sequence),
            fmt::format("must be from 1 to {} in a step (rtlm::max_profile_tokens)",
                        max_profile_tokens));
    require(
        kv >= 0 && kv <= max_profile_tokens - new_per_sequence, field("cached tokens"), kv,
        fmt::format("must be from 0 to {}: with the sequence's {} new token(s), at most {} "
                    "(rtlm::max_profile_tokens)",
                    max_profile_tokens - new_per_sequence, new_per_sequence, max_profile_tokens));
    require(std::isfinite(measured.count()) && measured.count() > 0 &&
                measured.count() <= max_profile_seconds,
            field("step time"), fmt::format("{} s", measured.count()),
            fmt::format("must be finite, > 0 and <= {:g} s (rtlm::max_profile_seconds)",
                        max_profile_seconds));
    const auto [it, inserted] = index_.try_emplace(
        std::make_tuple(phase, batch, new_per_sequence, kv), profile_->points.size());
    if (inserted) {
      profile_->points.push_back(profile_point{
          .phase = phase,
          .new_tokens = tokens(batch * new_per_sequence),
          .kv_lengths = std::vector<tokens>(static_cast<std::size_t>(batch), tokens(kv))});
    }
    profile_->points[it->second].measurements.push_back(measured);
  }

 private:
  profile* profile_;
  std::map<std::tuple<step_phase, std::int64_t, std::int64_t, std::int64_t>, std::size_t> index_;
};

// The median of `values` (the mean of the middle two for an even count); `values` is non-empty.
inline double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

namespace splitwise {
enum column : std::size_t {
  model,
  hardware,
  tensor_parallel,
  prompt_size,
  batch_size,
  token_size,
  prompt_time,
  token_time,
};
inline constexpr std::array<std::string_view, 8> columns = {
    "model",      "hardware",   "tensor_parallel", "prompt_size",
    "batch_size", "token_size", "prompt_time",     "token_time"};
}  // namespace splitwise

namespace llmservingsim {
enum layers_column : std::size_t { layer_name, input, kv_cache, tp_size, latency_ns };
inline constexpr std::array<std::string_view, 5> layers_columns = {
    "layer_name", "input", "kv_cache", "tp_size", "latency(ns)"};

// The operators of one step of a Llama-family model, in the profiler's order, and whether each
// runs once per decoder layer (or once per step).
struct op {
  std::string_view name;
  bool per_layer;
};
inline constexpr std::array<op, 15> ops = {{
    {"embedding", false},
    {"input_layernorm", true},
    {"q_proj", true},
    {"k_proj", true},
    {"v_proj", true},
    {"rope", true},
    {"attn", true},
    {"o_proj", true},
    {"post_layernorm", true},
    {"gate_proj", true},
    {"up_proj", true},
    {"act_fn", true},
    {"down_proj", true},
    {"final_layernorm", false},
    {"lm_head", false},
}};
inline constexpr std::size_t attn_op = 6;

enum attention_column : std::size_t {
  prefill_median,
  decode_median,
  tp_workers,
  batch_size,
  chunk_size,
  kv_cache_size,
  is_prefill,
  n_embd,
  n_q_head,
  n_kv_head,
};
inline constexpr std::array<std::string_view, 10> attention_columns = {
    "time_stats.attn_prefill.median",
    "time_stats.attn_decode.median",
    "num_tensor_parallel_workers",
    "batch_size",
    "prefill_chunk_size",
    "kv_cache_size",
    "is_prefill",
    "n_embd",
    "n_q_head",
    "n_kv_head"};

// One (input, kv_cache) of layers.csv: every latency listed for each operator, in ns.
struct step_rows {
  std::int64_t input = 0;
  std::int64_t kv_cache = 0;
  std::array<std::vector<double>, ops.size()> latency_ns;
};

// A step's operator medians, summed in ns: once per step, and per layer without attention.
struct step_parts {
  double once_ns = 0;
  double layer_without_attn_ns = 0;
  double attn_ns = 0;
};
}  // namespace llmservingsim

namespace vidur {
// The operators of mlp.csv in the file's order; `emb` runs once per step, the rest per layer.
inline constexpr std::array<std::string_view, 10> mlp_ops = {
    "emb",         "input_layernorm", "attn_pre_proj",
    "attn_rope",   "attn_post_proj",  "post_attention_layernorm",
    "mlp_up_proj", "mlp_act",         "mlp_down_proj",
    "add"};
inline constexpr std::size_t emb_op = 0;
inline constexpr std::array<std::string_view, 10> mlp_median_columns = {
    "time_stats.emb.median",
    "time_stats.input_layernorm.median",
    "time_stats.attn_pre_proj.median",
    "time_stats.attn_rope.median",
    "time_stats.attn_post_proj.median",
    "time_stats.post_attention_layernorm.median",
    "time_stats.mlp_up_proj.median",
    "time_stats.mlp_act.median",
    "time_stats.mlp_down_proj.median",
    "time_stats.add.median"};
// Columns of mlp.csv after the operator medians, indexed from mlp_ops.size().
enum mlp_column : std::size_t {
  num_tokens = mlp_ops.size(),
  mlp_tp_workers,
  n_head,
  mlp_n_kv_head,
  mlp_n_embd,
  n_expanded_embd,
  vocab_size,
  use_gated_mlp,
};
inline constexpr std::array<std::string_view, 8> mlp_other_columns = {
    "num_tokens", "num_tensor_parallel_workers",
    "n_head",     "n_kv_head",
    "n_embd",     "n_expanded_embd",
    "vocab_size", "use_gated_mlp"};

enum attention_column : std::size_t {
  input_reshape,
  output_reshape,
  prefill_median,
  decode_median,
  tp_workers,
  batch_size,
  chunk_size,
  kv_cache_size,
  is_prefill,
  n_embd,
  n_q_head,
  n_kv_head,
  backend,
};
inline constexpr std::array<std::string_view, 13> attention_columns = {
    "time_stats.attn_input_reshape.median",
    "time_stats.attn_output_reshape.median",
    "time_stats.attn_prefill.median",
    "time_stats.attn_decode.median",
    "num_tensor_parallel_workers",
    "batch_size",
    "prefill_chunk_size",
    "kv_cache_size",
    "is_prefill",
    "n_embd",
    "n_q_head",
    "n_kv_head",
    "attention_backend"};
}  // namespace vidur

// Reads LLMServingSim's layers.csv rows of one TP degree, grouped by (input, kv_cache) in order
// of first appearance.
inline std::vector<llmservingsim::step_rows> read_llmservingsim_layers(const std::string& path,
                                                                       int tensor_parallel) {
  namespace l = llmservingsim;
  named_csv_reader in(path, l::layers_columns, "LLMServingSim layers.csv");
  std::vector<l::step_rows> steps;
  std::map<std::pair<std::int64_t, std::int64_t>, std::size_t> index;
  while (in.next()) {
    const std::string_view name = in.text(l::layer_name);
    std::size_t op = 0;
    while (op < l::ops.size() && l::ops[op].name != name) ++op;
    require(op < l::ops.size(), in.field(l::layer_name), fmt::format("'{}'", name),
            "must be an operator of a Llama-family layers.csv (embedding, input_layernorm, "
            "q_proj, k_proj, v_proj, rope, attn, o_proj, post_layernorm, gate_proj, up_proj, "
            "act_fn, down_proj, final_layernorm, lm_head)");
    const std::int64_t input = in.integer(l::input, 1);
    const std::int64_t kv = in.integer(l::kv_cache, 0);
    const std::int64_t tp = in.integer(l::tp_size, 1);
    const auto ns = static_cast<double>(
        in.integer(l::latency_ns, 0, static_cast<std::int64_t>(max_third_party_time)));
    if (tp != tensor_parallel) continue;
    const auto [it, inserted] = index.try_emplace(std::make_pair(input, kv), steps.size());
    if (inserted) steps.push_back(l::step_rows{.input = input, .kv_cache = kv, .latency_ns = {}});
    steps[it->second].latency_ns[op].push_back(ns);
  }
  require(!steps.empty(), path + " selection", fmt::format("tp_size {}", tensor_parallel),
          "matches no rows");
  return steps;
}

// Sums the operator medians of one step of layers.csv; every operator must be there.
inline llmservingsim::step_parts llmservingsim_parts(const std::string& path,
                                                     const llmservingsim::step_rows& step) {
  namespace l = llmservingsim;
  l::step_parts parts;
  for (std::size_t i = 0; i < l::ops.size(); ++i) {
    require(!step.latency_ns[i].empty(),
            fmt::format("{} input {} kv_cache {}", path, step.input, step.kv_cache),
            fmt::format("'{}'", l::ops[i].name), "is missing: every step needs all 15 operators");
    const double ns = median_of(step.latency_ns[i]);
    if (i == l::attn_op) {
      parts.attn_ns = ns;
    } else if (l::ops[i].per_layer) {
      parts.layer_without_attn_ns += ns;
    } else {
      parts.once_ns += ns;
    }
  }
  return parts;
}

}  // namespace detail

RTLM_INLINE profile load_splitwise_profile(const std::string& path,
                                           const splitwise_selection& selection) {
  namespace s = detail::splitwise;
  detail::require(selection.tensor_parallel >= 1, "splitwise_selection.tensor_parallel",
                  selection.tensor_parallel, "must be at least 1");
  detail::named_csv_reader in(path, s::columns, "splitwise perf_model.csv");
  profile result;
  result.source = path;
  result.metadata = {
      {"format", "splitwise perf_model.csv"},
      {"model", selection.model},
      {"gpu", selection.hardware},
      {"tensor_parallel", std::to_string(selection.tensor_parallel)},
      {"includes", "whole model step: prefill from prompt_time, decode from token_time"},
      {"notes",
       "token_time is the mean decode step of a run whose KV grows from prompt_size to "
       "prompt_size + token_size, recorded at KV prompt_size + token_size / 2; e2e_time is "
       "ignored; rows copied byte for byte are kept once"},
  };
  detail::uniform_point_builder points(result);
  std::set<std::string> rows_seen;
  while (in.next()) {
    // Every row is validated, selected or not: a malformed file fails whatever the selection.
    const std::int64_t tp = in.integer(s::tensor_parallel, 1);
    const std::int64_t prompt = in.integer(s::prompt_size, 1);
    const std::int64_t batch = in.integer(s::batch_size, 1, detail::max_batch);
    const std::int64_t generated = in.integer(s::token_size, 1);
    const double prompt_ms = in.number(s::prompt_time, /*positive=*/true);
    const double token_ms = in.number(s::token_time, /*positive=*/true);
    if (in.text(s::model) != selection.model || in.text(s::hardware) != selection.hardware ||
        tp != selection.tensor_parallel) {
      continue;
    }
    if (!rows_seen.insert(in.line()).second) continue;
    points.add(in.where(), step_phase::prefill, batch, prompt, 0, seconds(prompt_ms / 1e3));
    points.add(in.where(), step_phase::decode, batch, 1, prompt + generated / 2,
               seconds(token_ms / 1e3));
  }
  detail::require(!result.points.empty(), path + " selection",
                  fmt::format("model '{}', hardware '{}', tensor_parallel {}", selection.model,
                              selection.hardware, selection.tensor_parallel),
                  "matches no rows");
  return result;
}

RTLM_INLINE profile load_llmservingsim_profile(const std::string& layers_path,
                                               const llmservingsim_options& options) {
  namespace l = detail::llmservingsim;
  detail::require(options.layers >= 1, "llmservingsim_options.layers", options.layers,
                  "must be at least 1");
  detail::require(options.tensor_parallel >= 1, "llmservingsim_options.tensor_parallel",
                  options.tensor_parallel, "must be at least 1");
  const double layers = options.layers;
  profile result;
  result.source = layers_path;
  result.metadata = {
      {"format", "LLMServingSim layers.csv"},
      {"layers", std::to_string(options.layers)},
      {"tensor_parallel", std::to_string(options.tensor_parallel)},
      {"includes",
       "whole step from per-operator medians: embedding + final_layernorm + lm_head + layers x "
       "(input_layernorm, q_proj, k_proj, v_proj, rope, attn, o_proj, post_layernorm, "
       "gate_proj, up_proj, act_fn, down_proj)"},
      {"excludes",
       "tensor-parallel all-reduce, residual adds, sampling, framework overhead between "
       "operators"},
      {"notes",
       "layers.csv rows are prefills of `input` tokens on `kv_cache` cached ones; lm_head is "
       "timed over every input position (HuggingFace forward), not only the last"},
  };
  detail::uniform_point_builder points(result);

  const std::vector<l::step_rows> steps =
      detail::read_llmservingsim_layers(layers_path, options.tensor_parallel);
  // Non-attention parts of each plain prefill (kv_cache 0), by its input, for attention rows.
  std::map<std::int64_t, l::step_parts> plain;
  for (const l::step_rows& step : steps) {
    const l::step_parts parts = detail::llmservingsim_parts(layers_path, step);
    const double ns = parts.once_ns + layers * (parts.layer_without_attn_ns + parts.attn_ns);
    points.add(fmt::format("{} input {} kv_cache {}", layers_path, step.input, step.kv_cache),
               step_phase::prefill, 1, step.input, step.kv_cache, seconds(ns / 1e9));
    if (step.kv_cache == 0) plain.emplace(step.input, parts);
  }
  if (options.attention_path.empty()) return result;

  result.metadata["format"] = "LLMServingSim layers.csv and attention.csv";
  result.metadata["attention_file"] = options.attention_path;
  result.metadata["notes"] +=
      "; decode and chunked-prefill points take attention from attention.csv and the other "
      "operators from layers.csv at input = the step's new tokens; attention.csv's "
      "kv_cache_size holds the keys of the whole batch split evenly (kv_cache_size / "
      "batch_size each) and, for prefill, the chunk's own keys too";
  detail::named_csv_reader in(options.attention_path, l::attention_columns,
                              "LLMServingSim attention.csv");
  std::optional<std::string> n_embd;
  std::optional<std::string> n_q_head;
  std::optional<std::string> n_kv_head;
  bool selected_any = false;
  while (in.next()) {
    const std::int64_t tp = in.integer(l::tp_workers, 1);
    const std::int64_t batch = in.integer(l::batch_size, 1, detail::max_batch);
    const std::int64_t chunk = in.integer(l::chunk_size, 0);
    // The keys of the whole batch.
    const std::int64_t kv = in.integer(l::kv_cache_size, 0, detail::max_batch * max_profile_tokens);
    const bool prefill = in.boolean(l::is_prefill);
    const double attn_ms = in.number(prefill ? l::prefill_median : l::decode_median);
    if (prefill) {
      detail::require(batch == 1, in.field(l::batch_size), batch, "must be 1 in a prefill row");
      detail::require(chunk >= 1, in.field(l::chunk_size), chunk,
                      "must be at least 1 in a prefill row");
      detail::require(kv >= chunk, in.field(l::kv_cache_size), kv,
                      fmt::format("must be at least prefill_chunk_size ({}): the keys include "
                                  "the chunk's own",
                                  chunk));
    }
    if (tp != options.tensor_parallel) continue;
    selected_any = true;
    in.same_in_every_row(l::n_embd, n_embd);
    in.same_in_every_row(l::n_q_head, n_q_head);
    in.same_in_every_row(l::n_kv_head, n_kv_head);
    // New tokens of the step, and cached tokens of each sequence.
    const std::int64_t step_tokens = prefill ? chunk : batch;
    const std::int64_t cached = prefill ? kv - chunk : kv / batch;
    // A prefill with nothing cached was measured whole in layers.csv; a decode row with fewer
    // keys than sequences is no decode step.
    if (cached == 0) continue;
    const auto it = plain.find(step_tokens);
    detail::require(it != plain.end(), in.field(prefill ? l::chunk_size : l::batch_size),
                    step_tokens,
                    fmt::format("has no step of input {} and kv_cache 0 in {} to take the other "
                                "operators from",
                                step_tokens, layers_path));
    const l::step_parts& parts = it->second;
    // Sum in ns, as for the plain prefills; the attention file is in ms.
    const double ns = parts.once_ns + layers * (parts.layer_without_attn_ns + attn_ms * 1e6);
    if (prefill) {
      points.add(in.where(), step_phase::prefill, 1, chunk, cached, seconds(ns / 1e9));
    } else {
      points.add(in.where(), step_phase::decode, batch, 1, cached, seconds(ns / 1e9));
    }
  }
  detail::require(selected_any, options.attention_path + " selection",
                  fmt::format("num_tensor_parallel_workers {}", options.tensor_parallel),
                  "matches no rows");
  result.metadata["attention_shape"] =
      fmt::format("n_embd {}, n_q_head {}, n_kv_head {}", n_embd.value_or(""),
                  n_q_head.value_or(""), n_kv_head.value_or(""));
  return result;
}

RTLM_INLINE profile load_vidur_mlp_profile(const std::string& path,
                                           const vidur_selection& selection) {
  namespace v = detail::vidur;
  detail::require(selection.layers >= 1, "vidur_selection.layers", selection.layers,
                  "must be at least 1");
  detail::require(selection.tensor_parallel >= 1, "vidur_selection.tensor_parallel",
                  selection.tensor_parallel, "must be at least 1");
  std::array<std::string_view, v::mlp_median_columns.size() + v::mlp_other_columns.size()>
      columns{};
  std::copy(v::mlp_median_columns.begin(), v::mlp_median_columns.end(), columns.begin());
  std::copy(v::mlp_other_columns.begin(), v::mlp_other_columns.end(),
            columns.begin() + v::mlp_median_columns.size());
  detail::named_csv_reader in(path, columns, "Vidur mlp.csv");
  profile result;
  result.source = path;
  detail::uniform_point_builder points(result);
  // The model's shape, as the file states it, in the order of v::mlp_other_columns from n_head.
  std::array<std::optional<std::string>, v::use_gated_mlp - v::n_head + 1> shape;
  const double layers = selection.layers;
  while (in.next()) {
    std::array<double, v::mlp_ops.size()> ms{};
    for (std::size_t i = 0; i < ms.size(); ++i) ms[i] = in.number(i);
    const std::int64_t num_tokens = in.integer(v::num_tokens, 1);
    const std::int64_t tp = in.integer(v::mlp_tp_workers, 1);
    if (tp != selection.tensor_parallel) continue;
    for (std::size_t c = v::n_head; c <= v::use_gated_mlp; ++c) {
      in.same_in_every_row(c, shape[c - v::n_head]);
    }
    double per_layer_ms = 0;
    for (std::size_t i = 0; i < ms.size(); ++i) {
      if (i != v::emb_op) per_layer_ms += ms[i];
    }
    const double step_ms = ms[v::emb_op] + layers * per_layer_ms;
    points.add(in.where(), step_phase::prefill, 1, num_tokens, 0, seconds(step_ms / 1e3));
  }
  detail::require(!result.points.empty(), path + " selection",
                  fmt::format("num_tensor_parallel_workers {}", selection.tensor_parallel),
                  "matches no rows");
  result.metadata = {
      {"format", "Vidur mlp.csv"},
      {"layers", std::to_string(selection.layers)},
      {"tensor_parallel", std::to_string(selection.tensor_parallel)},
      {"model_shape",
       fmt::format("n_head {}, n_kv_head {}, n_embd {}, n_expanded_embd {}, vocab_size {}, "
                   "use_gated_mlp {}",
                   shape[0].value_or(""), shape[1].value_or(""), shape[2].value_or(""),
                   shape[3].value_or(""), shape[4].value_or(""), shape[5].value_or(""))},
      {"attention", "excluded"},
      {"includes",
       "non-attention part of a step from Vidur's operator medians: emb + layers x "
       "(input_layernorm, attn_pre_proj, attn_rope, attn_post_proj, post_attention_layernorm, "
       "mlp_up_proj, mlp_act, mlp_down_proj, add)"},
      {"excludes",
       "attention (kernel, reshapes, KV-cache writes), final norm, LM head, sampling, "
       "tensor-parallel all-reduce"},
      {"notes",
       "points are prefills of num_tokens tokens on an empty KV cache; without attention a "
       "decode batch of num_tokens sequences costs the same"},
  };
  return result;
}

RTLM_INLINE profile load_vidur_attention_profile(const std::string& path,
                                                 const vidur_selection& selection) {
  namespace v = detail::vidur;
  detail::require(selection.layers >= 1, "vidur_selection.layers", selection.layers,
                  "must be at least 1");
  detail::require(selection.tensor_parallel >= 1, "vidur_selection.tensor_parallel",
                  selection.tensor_parallel, "must be at least 1");
  detail::named_csv_reader in(path, v::attention_columns, "Vidur attention.csv");
  profile result;
  result.source = path;
  detail::uniform_point_builder points(result);
  std::optional<std::string> n_embd;
  std::optional<std::string> n_q_head;
  std::optional<std::string> n_kv_head;
  std::optional<std::string> backend;
  const double layers = selection.layers;
  while (in.next()) {
    const double reshape_ms = in.number(v::input_reshape) + in.number(v::output_reshape);
    const std::int64_t tp = in.integer(v::tp_workers, 1);
    const std::int64_t batch = in.integer(v::batch_size, 1, detail::max_batch);
    const std::int64_t chunk = in.integer(v::chunk_size, 0);
    const std::int64_t kv = in.integer(v::kv_cache_size, 0);
    const bool prefill = in.boolean(v::is_prefill);
    const double kernel_ms = in.number(prefill ? v::prefill_median : v::decode_median);
    if (prefill) {
      detail::require(batch == 1, in.field(v::batch_size), batch, "must be 1 in a prefill row");
      detail::require(chunk >= 1, in.field(v::chunk_size), chunk,
                      "must be at least 1 in a prefill row");
    }
    if (tp != selection.tensor_parallel) continue;
    in.same_in_every_row(v::n_embd, n_embd);
    in.same_in_every_row(v::n_q_head, n_q_head);
    in.same_in_every_row(v::n_kv_head, n_kv_head);
    in.same_in_every_row(v::backend, backend);
    const seconds measured((layers * (kernel_ms + reshape_ms)) / 1e3);
    if (prefill) {
      points.add(in.where(), step_phase::prefill, 1, chunk, kv, measured);
    } else {
      points.add(in.where(), step_phase::decode, batch, 1, kv, measured);
    }
  }
  detail::require(!result.points.empty(), path + " selection",
                  fmt::format("num_tensor_parallel_workers {}", selection.tensor_parallel),
                  "matches no rows");
  result.metadata = {
      {"format", "Vidur attention.csv"},
      {"layers", std::to_string(selection.layers)},
      {"tensor_parallel", std::to_string(selection.tensor_parallel)},
      {"attention_shape", fmt::format("n_embd {}, n_q_head {}, n_kv_head {}", n_embd.value_or(""),
                                      n_q_head.value_or(""), n_kv_head.value_or(""))},
      {"attention_backend", backend.value_or("")},
      {"includes",
       "attention only, from Vidur's medians: layers x (attn_input_reshape + attn_prefill or "
       "attn_decode + attn_output_reshape)"},
      {"excludes", "every other operator of the step (projections, MLP, norms, LM head, ...)"},
      {"notes",
       "kv_cache_size is each sequence's cached tokens (before the chunk, for prefill); times "
       "are kept to 1 microsecond in the file"},
  };
  return result;
}

}  // namespace rtlm
