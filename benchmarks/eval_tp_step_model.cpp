// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// eval_tp_step_model: how well rtlm's tensor-parallel step model times Llama-70B steps on four
// H100s. The model is the estimator fitted to the project's own profile of ONE Llama-3.1-70B
// TP4 shard measured on one H100 (benchmarks/data/profiles/h100_llama-3.1-70b-tp4-shard.csv),
// plus modelled ring all-reduces over NVLink (tensor_parallel_estimator). It is scored against
// two third-party measurements of 70B at TP4 on H100s (benchmarks/data/third_party_profiles/):
// splitwise's whole-model runs of Llama2-70B, and LLMServingSim's per-operator Llama-3.1-70B
// shard profile (all-reduces excluded, so the shard alone is scored against it too). Prints the
// MAPE and the signed mean error per kind of step; --json PATH writes them as flat JSON.

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "flat_json.hpp"
#include "rtlm/estimate/estimator_fitting.hpp"
#include "rtlm/estimate/profile_csv.hpp"
#include "rtlm/estimate/tensor_parallel_estimator.hpp"
#include "rtlm/estimate/third_party_profiles.hpp"

namespace {

struct options {
  std::string shard_profile = RTLM_BENCHMARK_DATA_DIR "/profiles/h100_llama-3.1-70b-tp4-shard.csv";
  std::string splitwise =
      RTLM_BENCHMARK_DATA_DIR "/third_party_profiles/splitwise/perf_model_llama2-70b_h100_tp4.csv";
  std::string lss_layers = RTLM_BENCHMARK_DATA_DIR
      "/third_party_profiles/llmservingsim/h100_llama-3.1-70b_tp4_layers_excerpt.csv";
  std::string lss_attention = RTLM_BENCHMARK_DATA_DIR
      "/third_party_profiles/llmservingsim/h100_llama-3.1-70b_tp4_attention_excerpt.csv";
  double bandwidth_gbps = rtlm::interconnects::nvlink_h100().bus_bandwidth_bytes_per_second / 1e9;
  double latency_us = rtlm::interconnects::nvlink_h100().all_reduce_latency.count() * 1e6;
  double target = 0.10;
  bool points = false;
  std::string json_path;
};

void print_help() {
  fmt::print(
      "usage: eval_tp_step_model [--shard-profile FILE] [--splitwise FILE]\n"
      "                          [--llmservingsim-layers FILE] [--llmservingsim-attention FILE]\n"
      "                          [--bus-bandwidth GBPS] [--latency-us US] [--json PATH]\n"
      "\n"
      "Fits rtlm's estimator to a profile of one Llama-3.1-70B TP4 shard on one H100, adds\n"
      "modelled all-reduces (tensor_parallel_estimator) and scores the TP4 step times against\n"
      "third-party H100 TP4 measurements, per kind of step (docs/estimator.md).\n"
      "  --shard-profile FILE   rtlm profile of one shard (default: the bundled H100 one)\n"
      "  --splitwise FILE       splitwise perf_model.csv rows (Llama2-70B, h100-80gb, TP 4)\n"
      "  --llmservingsim-layers FILE, --llmservingsim-attention FILE\n"
      "                         LLMServingSim's Llama-3.1-70B TP4 layers.csv and attention.csv\n"
      "  --bus-bandwidth GBPS   all-reduce bus bandwidth (default {:g}, NVLink 4)\n"
      "  --latency-us US        fixed cost of one all-reduce (default {:g})\n"
      "  --points               also print every point: measured, shard and TP model times\n"
      "  --json PATH            also write the figures as a flat JSON object\n",
      options{}.bandwidth_gbps, options{}.latency_us);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      print_help();
      std::exit(EXIT_SUCCESS);
    } else if (arg == "--shard-profile") {
      o.shard_profile = value();
    } else if (arg == "--splitwise") {
      o.splitwise = value();
    } else if (arg == "--llmservingsim-layers") {
      o.lss_layers = value();
    } else if (arg == "--llmservingsim-attention") {
      o.lss_attention = value();
    } else if (arg == "--bus-bandwidth") {
      o.bandwidth_gbps = std::stod(value());
    } else if (arg == "--latency-us") {
      o.latency_us = std::stod(value());
    } else if (arg == "--points") {
      o.points = true;
    } else if (arg == "--json") {
      o.json_path = value();
    } else {
      throw std::invalid_argument("unknown option " + arg + " (see --help)");
    }
  }
  return o;
}

// Running sums of one kind of step's errors.
struct errors {
  double abs_sum = 0;
  double signed_sum = 0;
  std::size_t count = 0;
  void add(double relative) {
    abs_sum += std::abs(relative);
    signed_sum += relative;
    ++count;
  }
  [[nodiscard]] double mape() const {
    return count == 0 ? std::nan("") : abs_sum / static_cast<double>(count);
  }
  [[nodiscard]] double signed_mean() const {
    return count == 0 ? std::nan("") : signed_sum / static_cast<double>(count);
  }
};

// One row of the table: a kind of step (the unit of the 10% target) or a size range within it.
struct row {
  std::string kind;
  std::string range;  // empty for the whole kind
  errors tp;          // the TP model: shard + all-reduces
  errors shard;       // the shard alone
};

// The kind of step a point is and the size range it falls in.
std::pair<std::string, std::string> classify(const rtlm::profile_point& p) {
  if (p.phase == rtlm::step_phase::prefill) {
    if (p.batch() > 1) return {"batched prefill", fmt::format("{} prompts", p.batch())};
    const auto n = p.new_tokens.count();
    if (p.kv_lengths.front().count() > 0) return {"chunked prefill", ""};
    if (n <= 64) return {"prefill", "1-64 tokens"};
    if (n <= 512) return {"prefill", "65-512 tokens"};
    if (n <= 2048) return {"prefill", "513-2048 tokens"};
    return {"prefill", "2049-8192 tokens"};
  }
  const std::size_t b = p.batch();
  if (b == 1) {
    const auto kv = p.kv_lengths.front().count();
    if (kv <= 1024) return {"decode, batch 1", "KV <= 1024"};
    if (kv <= 8192) return {"decode, batch 1", "KV 1025-8192"};
    return {"decode, batch 1", "KV > 8192"};
  }
  if (b <= 16) return {"decode, batch > 1", "batch 2-16"};
  if (b <= 64) return {"decode, batch > 1", "batch 17-64"};
  return {"decode, batch > 1", "batch 65-256"};
}

// A point's step time under `e`: a prefill of several prompts is the sum of their prefills, as
// rtlm's scheduler and simulator plan a step.
double predict(const rtlm::step_time_estimator& e, const rtlm::profile_point& p) {
  if (p.phase == rtlm::step_phase::decode) return e.decode_time(p.kv_lengths).count();
  double sum = 0;
  for (const rtlm::tokens k : p.kv_lengths)
    sum += e.prefill_time(p.new_tokens_per_sequence(), k).count();
  return sum;
}

// Prints every point of `measured`: its shape, the measured median and both predictions.
void print_points(const rtlm::tensor_parallel_estimator& tp, const rtlm::profile& measured) {
  fmt::print("  {:<8} {:>6} {:>9} {:>10} {:>12} {:>10} {:>10}\n", "phase", "batch", "new", "KV",
             "measured ms", "shard ms", "TP ms");
  for (const rtlm::profile_point& p : measured.points) {
    fmt::print("  {:<8} {:>6} {:>9} {:>10} {:>12.3f} {:>10.3f} {:>10.3f}\n",
               p.phase == rtlm::step_phase::decode ? "decode" : "prefill", p.batch(),
               p.new_tokens_per_sequence().count(), p.kv_lengths.front().count(),
               p.median().count() * 1e3, predict(tp.shard(), p) * 1e3, predict(tp, p) * 1e3);
  }
}

// Scores `tp` (and its shard) on every point of `measured`, by kind and by range.
std::vector<row> score(const rtlm::tensor_parallel_estimator& tp, const rtlm::profile& measured) {
  std::vector<row> rows;
  const auto find = [&rows](const std::string& kind, const std::string& range) -> row& {
    for (row& r : rows) {
      if (r.kind == kind && r.range == range) return r;
    }
    rows.push_back({kind, range, {}, {}});
    return rows.back();
  };
  for (const rtlm::profile_point& p : measured.points) {
    const auto [kind, range] = classify(p);
    const double m = p.median().count();
    const double with_comm = predict(tp, p) / m - 1.0;
    const double shard_only = predict(tp.shard(), p) / m - 1.0;
    row& whole = find(kind, "");
    whole.tp.add(with_comm);
    whole.shard.add(shard_only);
    if (!range.empty()) {
      row& part = find(kind, range);
      part.tp.add(with_comm);
      part.shard.add(shard_only);
    }
  }
  // Kinds in a fixed order, each followed by its ranges in order of first appearance.
  std::vector<row> ordered;
  for (const char* kind :
       {"prefill", "chunked prefill", "batched prefill", "decode, batch 1", "decode, batch > 1"}) {
    for (const row& r : rows) {
      if (r.kind == kind && r.range.empty()) ordered.push_back(r);
    }
    for (const row& r : rows) {
      if (r.kind == kind && !r.range.empty()) ordered.push_back(r);
    }
  }
  return ordered;
}

std::string pct(double fraction) {
  return std::isnan(fraction) ? "n/a" : fmt::format("{:+.1f}%", 100 * fraction);
}
std::string abs_pct(double fraction) {
  return std::isnan(fraction) ? "n/a" : fmt::format("{:.1f}%", 100 * fraction);
}
std::string key_of(const std::string& text) {
  std::string k;
  for (const char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
      k.push_back(c);
    } else if (!k.empty() && k.back() != '_') {
      k.push_back('_');
    }
  }
  while (!k.empty() && k.back() == '_') k.pop_back();
  return k;
}

void report(const std::string& source, const std::string& title, const std::vector<row>& rows,
            const options& o, std::vector<std::pair<std::string, double>>& json) {
  fmt::print("\n{}\n", title);
  fmt::print("  {:<20} {:<18} {:>6} {:>9} {:>9} {:>9} {:>9}  {}\n", "kind of step", "range",
             "points", "TP MAPE", "TP mean", "shard", "shard", "TP target");
  fmt::print("  {:<20} {:<18} {:>6} {:>9} {:>9} {:>9} {:>9}\n", "", "", "", "", "signed", "MAPE",
             "signed");
  for (const row& r : rows) {
    const bool whole = r.range.empty();
    fmt::print("  {:<20} {:<18} {:>6} {:>9} {:>9} {:>9} {:>9}  {}\n", whole ? r.kind : "",
               whole ? "all" : r.range, r.tp.count, abs_pct(r.tp.mape()), pct(r.tp.signed_mean()),
               abs_pct(r.shard.mape()), pct(r.shard.signed_mean()),
               whole ? (r.tp.mape() <= o.target ? "met" : "missed") : "");
    // fmt, not operator+: GCC 12 warns falsely (-Wrestrict) on the chain at -O2.
    const std::string k = whole ? fmt::format("{}.{}", source, key_of(r.kind))
                                : fmt::format("{}.{}.{}", source, key_of(r.kind), key_of(r.range));
    json.emplace_back(k + ".points", static_cast<double>(r.tp.count));
    json.emplace_back(k + ".mape_tp", r.tp.mape());
    json.emplace_back(k + ".signed_mean_tp", r.tp.signed_mean());
    json.emplace_back(k + ".mape_shard", r.shard.mape());
    json.emplace_back(k + ".signed_mean_shard", r.shard.signed_mean());
  }
}

// Llama-2-70B (splitwise's model): Llama-3.1-70B's shape but for its 32,000-token vocabulary.
rtlm::model_config llama_2_70b() {
  rtlm::model_config c = rtlm::models::llama_3_1_70b();
  c.name = "llama-2-70b";
  c.vocab_size = 32000;
  return c;
}

int run(const options& o) {
  const rtlm::profile shard_profile = rtlm::load_profile_csv(o.shard_profile);
  const auto model = shard_profile.metadata.find("model");
  const auto tp_key = shard_profile.metadata.find("tensor_parallel");
  if (model == shard_profile.metadata.end() || model->second != "llama-3.1-70b" ||
      tp_key == shard_profile.metadata.end() || tp_key->second != "4") {
    throw std::runtime_error(
        o.shard_profile + ": expected a profile of one llama-3.1-70b shard at tensor_parallel 4");
  }
  rtlm::model_config config = rtlm::models::llama_3_1_70b();
  config.tensor_parallel = 4;
  const rtlm::model_shape shape(config);
  const rtlm::hardware_spec h100(rtlm::accelerators::h100_sxm_bf16());
  const rtlm::roofline_fit fit =
      rtlm::fit_roofline_estimator(rtlm::step_featurizer{shape, h100}, shard_profile);
  const rtlm::interconnect_config link{
      .name = fmt::format("{:g} GB/s bus bandwidth, {:g} us per all-reduce", o.bandwidth_gbps,
                          o.latency_us),
      .bus_bandwidth_bytes_per_second = o.bandwidth_gbps * 1e9,
      .all_reduce_latency = rtlm::seconds(o.latency_us * 1e-6)};
  const rtlm::tensor_parallel_estimator tp4(
      std::make_unique<rtlm::fitted_roofline_estimator>(fit.estimator), shape, link);

  // The same fitted efficiencies on Llama-2-70B's shape (a quarter of a 32,000-row LM head per
  // GPU instead of 128,256 rows), for splitwise's runs of that model.
  config = llama_2_70b();
  config.tensor_parallel = 4;
  const rtlm::model_shape llama2_shape(config);
  using rtlm::step_regime;
  const rtlm::tensor_parallel_estimator llama2_tp4(
      std::make_unique<rtlm::fitted_roofline_estimator>(
          rtlm::step_featurizer{llama2_shape, h100},
          fit.estimator.coefficients(step_regime::prefill),
          fit.estimator.coefficients(step_regime::chunked_prefill),
          fit.estimator.coefficients(step_regime::single_decode),
          fit.estimator.coefficients(step_regime::batched_decode)),
      llama2_shape, link);

  const auto gpu = shard_profile.metadata.find("gpu");
  fmt::print(
      "eval_tp_step_model: Llama-70B at TP4 on H100s = one shard's fitted step time + "
      "{} all-reduces per step\n",
      tp4.all_reduces_per_step());
  fmt::print("shard profile: {} ({} points, {})\n", o.shard_profile, shard_profile.points.size(),
             gpu == shard_profile.metadata.end() ? "unknown GPU" : gpu->second);
  fmt::print("interconnect: {}\n", link.name);
  const std::vector<rtlm::tokens> one{rtlm::tokens(1024)};
  fmt::print(
      "for scale: decode batch 1 at KV 1024 = {:.2f} ms shard + {:.2f} ms all-reduce; "
      "prefill 2048 = {:.1f} ms + {:.1f} ms\n",
      tp4.shard().decode_time(one).count() * 1e3,
      tp4.communication_time(rtlm::tokens(1)).count() * 1e3,
      tp4.shard().prefill_time(rtlm::tokens(2048), rtlm::tokens(0)).count() * 1e3,
      tp4.communication_time(rtlm::tokens(2048)).count() * 1e3);

  std::vector<std::pair<std::string, double>> json;
  const rtlm::profile splitwise = rtlm::load_splitwise_profile(
      o.splitwise, {.model = "llama2-70b", .hardware = "h100-80gb", .tensor_parallel = 4});
  report("splitwise",
         fmt::format("splitwise, Llama2-70B TP4 on H100-80GB: whole-model runs ({} points; "
                     "medians over repeats; decode = the run's mean step); model on "
                     "Llama-2-70B's shape",
                     splitwise.points.size()),
         score(llama2_tp4, splitwise), o, json);
  if (o.points) print_points(llama2_tp4, splitwise);
  const rtlm::profile lss = rtlm::load_llmservingsim_profile(
      o.lss_layers, {.layers = 80, .tensor_parallel = 4, .attention_path = o.lss_attention});
  report(
      "llmservingsim",
      fmt::format("LLMServingSim, Llama-3.1-70B TP4 shard on H100: sums of per-operator medians, "
                  "all-reduces excluded ({} points)",
                  lss.points.size()),
      score(tp4, lss), o, json);
  if (o.points) print_points(tp4, lss);
  fmt::print(
      "\nTP = the shard's fitted time + modelled all-reduces; shard = the fitted time "
      "alone. signed = mean of predicted / measured - 1. Target: MAPE <= {:.0f}% per kind "
      "of step.\n",
      100 * o.target);

  json.emplace_back("bus_bandwidth_gbps", o.bandwidth_gbps);
  json.emplace_back("all_reduce_latency_us", o.latency_us);
  json.emplace_back("target_mape", o.target);
  if (!o.json_path.empty()) {
    rtlm::bench::write_flat_json(o.json_path, json);
    fmt::print("wrote {}\n", o.json_path);
  }
  return EXIT_SUCCESS;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    fmt::print(stderr, "eval_tp_step_model: {}\n", e.what());
    return EXIT_FAILURE;
  }
}
