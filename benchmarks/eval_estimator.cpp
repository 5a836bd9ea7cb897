// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// eval_estimator: the accuracy of rtlm's step-time model and of TimeBill's forms on measured
// profiles (docs/methods.md, 'Estimator evaluation'). Each profile is split into fit and held-out
// points (every 5th distinct size held out); both estimators are fitted and calibrated on the fit
// points only and scored on the held-out points. --transfer FIT:OTHER fits on all of one profile
// and scores on all of another (a second run, on another machine, at sizes off the first's grid).
// Prints a table; --json PATH writes the figures as flat JSON.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "flat_json.hpp"
#include "rtlm/estimate/estimator_fitting.hpp"
#include "rtlm/estimate/profile_csv.hpp"

namespace {

struct options {
  std::vector<std::string> profiles;
  std::vector<std::pair<std::string, std::string>> transfers;  // (fit on, score on)
  std::string json_path;
  double level = 0.99;
  double timebill_factor = 1.05;
};

void print_help() {
  fmt::print(
      "usage: eval_estimator [--profile FILE]... [--level L] [--timebill-factor K] [--json PATH]\n"
      "\n"
      "Fits rtlm's step-time model and TimeBill's forms on the fit points of each profile and\n"
      "scores them on its held-out points (every 5th distinct size; docs/methods.md,\n"
      "'Estimator evaluation').\n"
      "  --profile FILE        an rtlm profile CSV; repeatable. Default: the committed H100\n"
      "                        profiles of Llama-3.1-8B and Qwen2.5-7B in {}\n"
      "  --transfer FIT:OTHER  fit on every point of profile FIT, score on every point of\n"
      "                        profile OTHER (same model); FIT may join runs with '+'\n"
      "                        (a.csv+b.csv); repeatable\n"
      "  --level L             level of the calibrated upper bound (default 0.99)\n"
      "  --timebill-factor K   TimeBill-style hand-set margin: bound = K x estimate (default "
      "1.05)\n"
      "  --json PATH           also write the figures as a flat JSON object\n",
      RTLM_BENCHMARK_DATA_DIR "/profiles");
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
    } else if (arg == "--profile") {
      o.profiles.push_back(value());
    } else if (arg == "--transfer") {
      const std::string pair = value();
      const std::size_t colon = pair.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == pair.size())
        throw std::invalid_argument("--transfer '" + pair + "' must be FIT.csv:OTHER.csv");
      o.transfers.emplace_back(pair.substr(0, colon), pair.substr(colon + 1));
    } else if (arg == "--json") {
      o.json_path = value();
    } else if (arg == "--level") {
      o.level = std::stod(value());
    } else if (arg == "--timebill-factor") {
      o.timebill_factor = std::stod(value());
    } else {
      throw std::invalid_argument("unknown option " + arg + " (see --help)");
    }
  }
  if (o.profiles.empty() && o.transfers.empty()) {
    o.profiles = {RTLM_BENCHMARK_DATA_DIR "/profiles/h100_llama-3.1-8b.csv",
                  RTLM_BENCHMARK_DATA_DIR "/profiles/h100_qwen2.5-7b.csv"};
  }
  return o;
}

// Running sums of one figure.
struct mean_of {
  double sum = 0;
  std::size_t count = 0;
  void add(double x) {
    sum += x;
    ++count;
  }
  [[nodiscard]] double value() const {
    return count == 0 ? std::nan("") : sum / static_cast<double>(count);
  }
};

// The figures of one estimator over held-out points.
struct scores {
  mean_of prefill_ape;          // plain prefills (batch 1, no cache), point medians
  mean_of chunked_prefill_ape;  // prefills on top of a cache
  mean_of decode_ape;           // batch-1 decode steps
  mean_of batched_decode_ape;   // decode steps of batch > 1 (uniform and mixed KV)
  mean_of exceed;               // measurements above the calibrated bound
  mean_of slack;                // (bound - measured) / measured
  mean_of factor_exceed;        // measurements above the hand-set factor bound
  mean_of factor_slack;
  std::array<mean_of, rtlm::step_regime_count> regime_exceed;  // calibrated bound, by regime
  std::array<mean_of, rtlm::step_regime_count> regime_slack;
};

void score(const rtlm::step_time_estimator& e, const rtlm::profile& held_out, const options& o,
           scores& s) {
  for (const rtlm::profile_point& p : held_out.points) {
    if (p.batch() != 1 && p.phase == rtlm::step_phase::prefill) continue;  // no such points here
    const bool prefill = p.phase == rtlm::step_phase::prefill;
    const double predicted = prefill ? e.prefill_time(p.new_tokens, p.kv_lengths.front()).count()
                                     : e.decode_time(p.kv_lengths).count();
    const double bound =
        prefill ? e.prefill_upper_bound(p.new_tokens, p.kv_lengths.front(), o.level).count()
                : e.decode_upper_bound(p.kv_lengths, o.level).count();
    const double median = p.median().count();
    const double ape = std::abs(predicted - median) / median;
    if (prefill) {
      (p.kv_lengths.front().count() == 0 ? s.prefill_ape : s.chunked_prefill_ape).add(ape);
    } else {
      (p.batch() == 1 ? s.decode_ape : s.batched_decode_ape).add(ape);
    }
    const auto regime = static_cast<std::size_t>(rtlm::regime_of(p));
    for (const rtlm::seconds m : p.measurements) {
      s.exceed.add(m.count() > bound ? 1.0 : 0.0);
      s.slack.add((bound - m.count()) / m.count());
      s.regime_exceed[regime].add(m.count() > bound ? 1.0 : 0.0);
      s.regime_slack[regime].add((bound - m.count()) / m.count());
      const double factor_bound = predicted * o.timebill_factor;
      s.factor_exceed.add(m.count() > factor_bound ? 1.0 : 0.0);
      s.factor_slack.add((factor_bound - m.count()) / m.count());
    }
  }
}

void merge(scores& into, const scores& from) {
  const auto add = [](mean_of& a, const mean_of& b) {
    a.sum += b.sum;
    a.count += b.count;
  };
  add(into.prefill_ape, from.prefill_ape);
  add(into.chunked_prefill_ape, from.chunked_prefill_ape);
  add(into.decode_ape, from.decode_ape);
  add(into.batched_decode_ape, from.batched_decode_ape);
  add(into.exceed, from.exceed);
  add(into.slack, from.slack);
  add(into.factor_exceed, from.factor_exceed);
  add(into.factor_slack, from.factor_slack);
  for (std::size_t r = 0; r < rtlm::step_regime_count; ++r) {
    add(into.regime_exceed[r], from.regime_exceed[r]);
    add(into.regime_slack[r], from.regime_slack[r]);
  }
}

constexpr std::array<const char*, rtlm::step_regime_count> regime_names{
    "prefill", "chunked prefill", "batch-1 decode", "uniform batch decode",
    "mixed-KV batch decode"};
constexpr std::array<const char*, rtlm::step_regime_count> regime_keys{
    "prefill", "chunked_prefill", "single_decode", "batched_decode", "mixed_decode"};

std::string pct(double fraction) {
  return std::isnan(fraction) ? "n/a" : fmt::format("{:.2f}%", 100 * fraction);
}

void print_table(const std::string& title, const scores& tb, const scores& rt, const options& o) {
  fmt::print("\n{}\n", title);
  fmt::print("  {:<44} {:>10} {:>10}\n", "held-out figure", "TimeBill", "rtlm");
  const auto row = [](const char* name, double a, double b) {
    fmt::print("  {:<44} {:>10} {:>10}\n", name, pct(a), pct(b));
  };
  row("prefill MAPE (plain prefill)", tb.prefill_ape.value(), rt.prefill_ape.value());
  row("chunked-prefill MAPE", tb.chunked_prefill_ape.value(), rt.chunked_prefill_ape.value());
  row("decode-step MAPE (batch 1)", tb.decode_ape.value(), rt.decode_ape.value());
  row("batched-decode MAPE (batch > 1)", tb.batched_decode_ape.value(),
      rt.batched_decode_ape.value());
  row(fmt::format("bound exceedance, calibrated at {}", o.level).c_str(), tb.exceed.value(),
      rt.exceed.value());
  row(fmt::format("bound mean slack, calibrated at {}", o.level).c_str(), tb.slack.value(),
      rt.slack.value());
  row(fmt::format("bound exceedance, hand-set {} x estimate", o.timebill_factor).c_str(),
      tb.factor_exceed.value(), rt.factor_exceed.value());
  row(fmt::format("bound mean slack, hand-set {} x estimate", o.timebill_factor).c_str(),
      tb.factor_slack.value(), rt.factor_slack.value());
  fmt::print(
      "  held-out points: {} plain prefill, {} chunked, {} batch-1 decode, {} batched decode; "
      "{} measurements\n",
      rt.prefill_ape.count, rt.chunked_prefill_ape.count, rt.decode_ape.count,
      rt.batched_decode_ape.count, rt.exceed.count);
  fmt::print("  rtlm's calibrated bound by regime: exceedance, mean slack, measurements\n");
  for (std::size_t r = 0; r < rtlm::step_regime_count; ++r) {
    fmt::print("    {:<24} {:>8} {:>8} {:>6}\n", regime_names[r], pct(rt.regime_exceed[r].value()),
               pct(rt.regime_slack[r].value()), rt.regime_exceed[r].count);
  }
}

void add_json(std::map<std::string, double>& json, const std::string& prefix, const scores& tb,
              const scores& rt) {
  json[prefix + "prefill_mape_timebill"] = tb.prefill_ape.value();
  json[prefix + "prefill_mape_rtlm"] = rt.prefill_ape.value();
  json[prefix + "chunked_prefill_mape_timebill"] = tb.chunked_prefill_ape.value();
  json[prefix + "chunked_prefill_mape_rtlm"] = rt.chunked_prefill_ape.value();
  json[prefix + "decode_mape_timebill"] = tb.decode_ape.value();
  json[prefix + "decode_mape_rtlm"] = rt.decode_ape.value();
  json[prefix + "batched_decode_mape_timebill"] = tb.batched_decode_ape.value();
  json[prefix + "batched_decode_mape_rtlm"] = rt.batched_decode_ape.value();
  json[prefix + "wcet_exceedance_timebill"] = tb.exceed.value();
  json[prefix + "wcet_exceedance_rtlm"] = rt.exceed.value();
  json[prefix + "wcet_mean_slack_timebill"] = tb.slack.value();
  json[prefix + "wcet_mean_slack_rtlm"] = rt.slack.value();
  json[prefix + "factor_bound_exceedance_timebill"] = tb.factor_exceed.value();
  json[prefix + "factor_bound_mean_slack_timebill"] = tb.factor_slack.value();
  for (std::size_t r = 0; r < rtlm::step_regime_count; ++r) {
    const std::string key = fmt::format("{}regime.{}.", prefix, regime_keys[r]);
    json[key + "wcet_exceedance_rtlm"] = rt.regime_exceed[r].value();
    json[key + "wcet_mean_slack_rtlm"] = rt.regime_slack[r].value();
  }
}

// The profile at `path` with the model shape it was measured on.
struct loaded_profile {
  rtlm::profile points;
  std::string model;
  rtlm::step_featurizer featurizer;
};

loaded_profile load(const std::string& path) {
  rtlm::profile prof = rtlm::load_profile_csv(path);
  const auto model_name = prof.metadata.find("model");
  if (model_name == prof.metadata.end())
    throw std::runtime_error(path + " has no '# model:' header");
  std::optional<rtlm::model_config> config = rtlm::models::by_name(model_name->second);
  if (!config) throw std::runtime_error(path + ": unknown model '" + model_name->second + "'");
  // A profile of one tensor-parallel shard times the shape at its degree.
  if (const auto tp = prof.metadata.find("tensor_parallel"); tp != prof.metadata.end())
    config->tensor_parallel = std::stoi(tp->second);
  // The datasheet ceilings only scale the features; the fit absorbs the real efficiencies.
  const auto gpu = prof.metadata.find("gpu");
  const bool h200 = gpu != prof.metadata.end() && gpu->second.find("H200") != std::string::npos;
  rtlm::step_featurizer featurizer{rtlm::model_shape(*config),
                                   rtlm::hardware_spec(h200 ? rtlm::accelerators::h200_sxm_bf16()
                                                            : rtlm::accelerators::h100_sxm_bf16())};
  return {std::move(prof), model_name->second, std::move(featurizer)};
}

// Profiles joined by '+' (runs of one model, such as two processes on one machine) as one: a fit
// on them calibrates its bounds on the spread between runs as well as within each.
loaded_profile load_runs(const std::string& paths) {
  std::size_t start = 0;
  std::optional<loaded_profile> pooled;
  while (start <= paths.size()) {
    const std::size_t plus = std::min(paths.find('+', start), paths.size());
    const std::string path = paths.substr(start, plus - start);
    loaded_profile run = load(path);
    if (!pooled) {
      pooled.emplace(std::move(run));
    } else {
      if (run.model != pooled->model)
        throw std::runtime_error(
            fmt::format("{}: model {} is not {}", path, run.model, pooled->model));
      pooled->points.points.insert(pooled->points.points.end(), run.points.points.begin(),
                                   run.points.points.end());
    }
    start = plus + 1;
  }
  return std::move(*pooled);
}

std::string gpu_of(const rtlm::profile& p) {
  const auto gpu = p.metadata.find("gpu");
  return gpu == p.metadata.end() ? "unknown GPU" : gpu->second;
}

int run(const options& o) {
  scores all_tb;
  scores all_rt;
  std::map<std::string, double> json;
  fmt::print(
      "eval_estimator: fit on 4/5 of each profile's distinct sizes, score the held-out 1/5\n");
  for (const std::string& path : o.profiles) {
    const loaded_profile loaded = load(path);
    const rtlm::profile& prof = loaded.points;
    const rtlm::step_featurizer& featurizer = loaded.featurizer;
    const auto model_name = prof.metadata.find("model");
    const rtlm::profile_split split = rtlm::split_every_nth(prof);
    const rtlm::roofline_fit fit = rtlm::fit_roofline_estimator(featurizer, split.fit);
    const rtlm::timebill_estimator timebill = rtlm::fit_timebill_estimator(split.fit);
    scores tb;
    scores rt;
    score(timebill, split.held_out, o, tb);
    score(fit.estimator, split.held_out, o, rt);
    print_table(
        fmt::format("{} on {} ({} points: {} fit, {} held out)", model_name->second, gpu_of(prof),
                    prof.points.size(), split.fit.points.size(), split.held_out.points.size()),
        tb, rt, o);
    const auto names = [](const std::vector<rtlm::step_feature>& fs) {
      std::string s;
      for (const rtlm::step_feature f : fs)
        s += (s.empty() ? "" : " + ") + std::string(rtlm::to_string(f));
      return s;
    };
    fmt::print("  rtlm prefill features: {} (CV MAPE {})\n", names(fit.prefill.selected),
               pct(fit.prefill.cv_mape));
    fmt::print("  rtlm batch-1 decode features: {} (CV MAPE {})\n",
               names(fit.single_decode.selected), pct(fit.single_decode.cv_mape));
    fmt::print("  rtlm batched-decode features: {} (CV MAPE {})\n",
               names(fit.batched_decode.selected), pct(fit.batched_decode.cv_mape));
    fmt::print("  rtlm chunk correction features: {} (CV MAPE {})\n",
               names(fit.chunked_prefill.selected), pct(fit.chunked_prefill.cv_mape));
    add_json(json, model_name->second + ".", tb, rt);
    merge(all_tb, tb);
    merge(all_rt, rt);
  }
  if (!o.profiles.empty()) {
    print_table("all profiles pooled", all_tb, all_rt, o);
    add_json(json, "", all_tb, all_rt);
  }
  for (const auto& [fit_path, other_path] : o.transfers) {
    const loaded_profile fit_on = load_runs(fit_path);
    const loaded_profile other = load(other_path);
    if (fit_on.model != other.model)
      throw std::runtime_error(fmt::format("--transfer {}:{}: models differ ({} and {})", fit_path,
                                           other_path, fit_on.model, other.model));
    const rtlm::roofline_fit fit = rtlm::fit_roofline_estimator(fit_on.featurizer, fit_on.points);
    const rtlm::timebill_estimator timebill = rtlm::fit_timebill_estimator(fit_on.points);
    scores tb;
    scores rt;
    score(timebill, other.points, o, tb);
    score(fit.estimator, other.points, o, rt);
    print_table(fmt::format("{}: fitted on {} ({}), scored on {} ({}, {} points)", fit_on.model,
                            fit_path, gpu_of(fit_on.points), other_path, gpu_of(other.points),
                            other.points.points.size()),
                tb, rt, o);
    add_json(json, "transfer." + fit_on.model + ".", tb, rt);
  }
  json["bound_level"] = o.level;
  json["timebill_factor"] = o.timebill_factor;
  if (!o.json_path.empty()) {
    rtlm::bench::write_flat_json(o.json_path, {json.begin(), json.end()});
    fmt::print("\nwrote {}\n", o.json_path);
  }
  return EXIT_SUCCESS;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    fmt::print(stderr, "eval_estimator: {}\n", e.what());
    return EXIT_FAILURE;
  }
}
