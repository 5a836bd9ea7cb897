// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// Output-length prediction accuracy (docs/length-prediction.md; docs/methods.md,
// 'Length-prediction evaluation'): per served model, 5-fold cross-validation over prompts (folds
// grouped by prompt, so a repeated prompt never sits on both sides), the rtlm predictor against
// same-run baselines, the calibrated 90% bound, online mode, leave-one-source-out with a static
// and an adaptive bound, and a drifting stream whose sources come in sequence.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "alpaca_eval_data.hpp"
#include "flat_json.hpp"
#include "rtlm/predict/adaptive_conformal_bound.hpp"
#include "rtlm/predict/bucketed_length_classifier.hpp"
#include "rtlm/predict/conformal_length_bound.hpp"
#include "rtlm/predict/cross_calibration.hpp"
#include "rtlm/predict/length_distribution.hpp"
#include "rtlm/predict/online_length_regressor.hpp"
#include "rtlm/predict/prompt_features.hpp"

#ifndef RTLM_ALPACA_EVAL_DIR
#define RTLM_ALPACA_EVAL_DIR "benchmarks/data/alpaca_eval"
#endif

namespace {

using rtlm::bench::length_row;
using rtlm::bench::read_lengths;
using rtlm::bench::read_prompts;

// ---------------------------------------------------------------------------------------------
// Metrics.

double kendall_tau_b(const std::vector<double>& x, const std::vector<double>& y) {
  double concordant = 0;
  double discordant = 0;
  double ties_x = 0;
  double ties_y = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    for (std::size_t j = i + 1; j < x.size(); ++j) {
      const double dx = x[i] - x[j];
      const double dy = y[i] - y[j];
      if (dx == 0 && dy == 0) continue;
      if (dx == 0) {
        ties_x += 1;
      } else if (dy == 0) {
        ties_y += 1;
      } else if ((dx > 0) == (dy > 0)) {
        concordant += 1;
      } else {
        discordant += 1;
      }
    }
  }
  const double denominator =
      std::sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y));
  return denominator > 0 ? (concordant - discordant) / denominator : 0.0;
}

struct point_metrics {
  double mae = 0, rmse = 0, r2 = 0, tau = 0;
};

point_metrics score(const std::vector<double>& predicted, const std::vector<double>& truth) {
  point_metrics m;
  const auto n = static_cast<double>(truth.size());
  const double mean = std::accumulate(truth.begin(), truth.end(), 0.0) / n;
  double ss_res = 0;
  double ss_tot = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    const double e = predicted[i] - truth[i];
    m.mae += std::abs(e);
    ss_res += e * e;
    ss_tot += (truth[i] - mean) * (truth[i] - mean);
  }
  m.mae /= n;
  m.rmse = std::sqrt(ss_res / n);
  m.r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : 0.0;
  m.tau = kendall_tau_b(predicted, truth);
  return m;
}

}  // namespace

namespace {

// ---------------------------------------------------------------------------------------------
// The evaluation.

struct options {
  std::string prompts = std::string(RTLM_ALPACA_EVAL_DIR) + "/instructions.tsv";
  std::string lengths = std::string(RTLM_ALPACA_EVAL_DIR) + "/token_lengths.csv";
  std::string json;
  std::string errors;               // --errors: out-of-fold predictions as CSV
  std::vector<std::string> models;  // empty: every generator in the lengths file
  std::uint64_t seed = 0;
  std::size_t folds = 5;
  bool duplicate = false;  // --duplicate: every prompt twice, row folds against prompt folds
  bool shift = true;       // leave-one-source-out and the drifting stream (--no-shift skips)
};

struct example {
  rtlm::prompt_features features;
  rtlm::tokens length;
  std::uint64_t group = 0;  // the prompt (its instruction_sha1)
  std::string source;       // the dataset it came from
};

// One prompt's out-of-fold rtlm prediction, for --errors.
struct prediction_error {
  rtlm::tokens truth;      // tokens the model generated
  double mean = 0;         // the regressor's mean
  rtlm::tokens bound_q90;  // the 90% bound calibrated inside the training folds
  double uncertainty = 0;  // the predicted distribution's uncertainty score
};

struct source_figures {
  std::string source;
  std::size_t prompts = 0;
  point_metrics rtlm;
  double coverage_q90 = 0;           // the bound calibrated on the other sources, held fixed
  double coverage_q90_adaptive = 0;  // the adaptive bound, updated as the source streams
  double width_q90 = 0, width_q90_adaptive = 0;
};

struct drift_figures {
  std::size_t prompts = 0;
  double coverage_q90 = 0;         // adaptive bound over the whole stream
  double coverage_q90_static = 0;  // the plain sliding-window conformal bound
  point_metrics rtlm;
  std::vector<std::pair<std::string, double>> by_source;  // adaptive coverage per segment
};

struct model_figures {
  std::size_t prompts = 0;
  std::vector<prediction_error> errors;  // per prompt, in the data's order
  point_metrics rtlm, timebill, mean, prompt_length, s3, proxy;
  double coverage_q90 = 0, width_q90 = 0, coverage_q99 = 0;
  double bucket_accuracy = 0;
  double online_tau = 0, online_r2 = 0, online_coverage_q90 = 0;
  double max_ratio = 0, timebill_max_ratio = 0;  // prediction / longest training answer
};

// The same fixed-seed permutation on every standard library (std::shuffle is not portable).
std::vector<std::size_t> permutation(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  return order;
}

// The library's default features (the Python LengthPredictor uses the same).
const rtlm::prompt_feature_config& feature_config() {
  static const rtlm::prompt_feature_config config{};
  return config;
}

rtlm::online_regressor_config regressor_config() { return {.features = feature_config()}; }

// A bucket classifier as the S3 (10 classes) and ProxyModel (5 classes) papers set theirs up:
// equal-width buckets up to the longest training output, on rtlm's features.
rtlm::bucketed_length_classifier baseline_classifier(std::size_t buckets,
                                                     const std::vector<rtlm::tokens>& lengths) {
  rtlm::tokens::rep longest = 1;
  for (rtlm::tokens l : lengths) longest = std::max(longest, l.count());
  const auto n = static_cast<rtlm::tokens::rep>(buckets);
  return rtlm::bucketed_length_classifier({.features = feature_config(),
                                           .bucket_width = rtlm::tokens((longest + n - 1) / n),
                                           .bucket_count = buckets,
                                           .label_spread = 0.0});
}

std::vector<std::uint64_t> groups_of(const std::vector<example>& data, bool by_row) {
  std::vector<std::uint64_t> groups;
  for (std::size_t i = 0; i < data.size(); ++i) groups.push_back(by_row ? i : data[i].group);
  return groups;
}

// Cross-validation with folds by prompt (or, `by_row`, by row as rtlm did before issue 28).
model_figures evaluate(const std::vector<example>& data, const options& opt, bool by_row) {
  const std::size_t n = data.size();
  model_figures fig;
  fig.prompts = n;
  fig.errors.resize(n);
  const std::vector<std::uint64_t> groups = groups_of(data, by_row);
  const std::vector<std::size_t> fold = rtlm::group_folds(groups, opt.folds, opt.seed);
  std::vector<rtlm::prompt_features> all_features;
  std::vector<rtlm::tokens> all_lengths;
  for (const example& e : data) {
    all_features.push_back(e.features);
    all_lengths.push_back(e.length);
  }
  // rtlm: the regressor, its bounds calibrated by grouped cross-fitting inside the training folds
  // (the library's cross_validate, which the Python helper runs too).
  const std::array<double, 2> coverages{0.9, 0.99};
  const std::vector<rtlm::out_of_fold_prediction> oof = rtlm::cross_validate(
      rtlm::online_length_regressor(regressor_config()),
      std::span<const rtlm::prompt_features>(all_features),
      std::span<const rtlm::tokens>(all_lengths), std::span<const std::uint64_t>(groups),
      std::span<const double>(coverages), opt.folds, opt.seed);

  std::vector<double> truth(n);
  std::vector<double> rtlm_mean(n);
  std::vector<double> timebill_mean(n);
  std::vector<double> mean(n);
  std::vector<double> by_length(n);
  std::vector<double> s3(n);
  std::vector<double> proxy(n);
  double covered90 = 0;
  double covered99 = 0;
  double width90 = 0;
  double bucket_hits = 0;
  rtlm::length_distribution d;
  for (std::size_t f = 0; f < opt.folds; ++f) {
    std::vector<rtlm::prompt_features> train;
    std::vector<rtlm::tokens> lengths;
    for (std::size_t i = 0; i < n; ++i) {
      if (fold[i] == f) continue;
      train.push_back(data[i].features);
      lengths.push_back(data[i].length);
    }
    const double longest =
        static_cast<double>(std::max_element(lengths.begin(), lengths.end())->count());
    // TimeBill-style: 512 buckets of 16 tokens.
    rtlm::bucketed_length_classifier timebill(
        rtlm::bucketed_classifier_config{.features = feature_config()});
    timebill.fit(train, lengths);
    rtlm::bucketed_length_classifier s3_model = baseline_classifier(10, lengths);
    s3_model.fit(train, lengths);
    rtlm::bucketed_length_classifier proxy_model = baseline_classifier(5, lengths);
    proxy_model.fit(train, lengths);
    // Global mean, and least squares on the prompt's word count.
    double sy = 0;
    double sx = 0;
    double sxx = 0;
    double sxy = 0;
    for (std::size_t k = 0; k < train.size(); ++k) {
      const auto x = static_cast<double>(train[k].word_count());
      const auto y = static_cast<double>(lengths[k].count());
      sy += y, sx += x, sxx += x * x, sxy += x * y;
    }
    const auto m = static_cast<double>(train.size());
    const double slope = (m * sxx - sx * sx) > 0 ? (m * sxy - sx * sy) / (m * sxx - sx * sx) : 0;
    const double intercept = (sy - slope * sx) / m;

    for (std::size_t i = 0; i < n; ++i) {
      if (fold[i] != f) continue;
      const rtlm::prompt_features& x = data[i].features;
      const auto y = static_cast<double>(data[i].length.count());
      truth[i] = y;
      const rtlm::out_of_fold_prediction& o = oof[i];
      rtlm_mean[i] = o.mean;
      fig.max_ratio = std::max(fig.max_ratio, o.mean / longest);
      const rtlm::length_bound b90 = o.bounds[0];
      fig.errors[i] = {.truth = data[i].length,
                       .mean = o.mean,
                       .bound_q90 = b90.length,
                       .uncertainty = o.uncertainty};
      covered90 += y <= static_cast<double>(b90.length.count()) ? 1 : 0;
      width90 += static_cast<double>(b90.length.count());
      covered99 += y <= static_cast<double>(o.bounds[1].length.count()) ? 1 : 0;
      timebill.predict(x, d);
      timebill_mean[i] = d.mean();
      fig.timebill_max_ratio = std::max(fig.timebill_max_ratio, d.mean() / longest);
      const auto p = d.probabilities();
      const auto best = static_cast<std::size_t>(std::max_element(p.begin(), p.end()) - p.begin());
      bucket_hits += best == timebill.bucket_of(data[i].length) ? 1 : 0;
      s3_model.predict(x, d);
      s3[i] = d.mean();
      proxy_model.predict(x, d);
      proxy[i] = d.mean();
      mean[i] = sy / m;
      by_length[i] = intercept + slope * static_cast<double>(x.word_count());
    }
  }
  const auto count = static_cast<double>(n);
  fig.rtlm = score(rtlm_mean, truth);
  fig.timebill = score(timebill_mean, truth);
  fig.mean = score(mean, truth);
  fig.prompt_length = score(by_length, truth);
  fig.s3 = score(s3, truth);
  fig.proxy = score(proxy, truth);
  fig.coverage_q90 = covered90 / count;
  fig.coverage_q99 = covered99 / count;
  fig.width_q90 = width90 / count;
  fig.bucket_accuracy = bucket_hits / count;

  // Online: prompts in a fixed shuffled order, predict then learn; figures over the second half.
  const std::vector<std::size_t> order = permutation(n, opt.seed);
  rtlm::online_length_regressor online(regressor_config());
  rtlm::conformal_length_bound online_bound;
  std::vector<double> online_truth;
  std::vector<double> online_mean;
  double online_covered = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const example& e = data[order[k]];
    online.predict(e.features, d);
    if (k >= n / 2) {
      online_truth.push_back(static_cast<double>(e.length.count()));
      online_mean.push_back(d.mean());
      online_covered += e.length <= online_bound.bound(d, 0.9).length ? 1 : 0;
    }
    online_bound.observe(d, e.length);
    online.learn(e.features, e.length);
  }
  const point_metrics o = score(online_mean, online_truth);
  fig.online_tau = o.tau;
  fig.online_r2 = o.r2;
  fig.online_coverage_q90 = online_covered / static_cast<double>(online_truth.size());
  return fig;
}

std::vector<std::string> sources_of(const std::vector<example>& data) {
  std::vector<std::string> sources;
  sources.reserve(data.size());
  for (const example& e : data) sources.push_back(e.source);
  std::sort(sources.begin(), sources.end());
  sources.erase(std::unique(sources.begin(), sources.end()), sources.end());
  return sources;
}

// Leave one source out: the regressor trained and cross-calibrated (grouped) on the other
// sources; the held-out source's prompts stream in a fixed shuffled order, each bounded by the
// static bound and by the adaptive one, which then observes the outcome (the predictor stays as
// trained, so both bounds judge the same predictions).
std::vector<source_figures> leave_one_source_out(const std::vector<example>& data,
                                                 const options& opt) {
  std::vector<source_figures> out;
  rtlm::length_distribution d;
  for (const std::string& held : sources_of(data)) {
    std::vector<rtlm::prompt_features> train;
    std::vector<rtlm::tokens> lengths;
    std::vector<std::uint64_t> groups;
    std::vector<std::size_t> test;
    for (std::size_t i = 0; i < data.size(); ++i) {
      if (data[i].source == held) {
        test.push_back(i);
        continue;
      }
      train.push_back(data[i].features);
      lengths.push_back(data[i].length);
      groups.push_back(data[i].group);
    }
    rtlm::online_length_regressor regressor(regressor_config());
    rtlm::conformal_length_bound bound;
    rtlm::fit_and_calibrate(regressor, std::span<const rtlm::prompt_features>(train),
                            std::span<const rtlm::tokens>(lengths),
                            std::span<const std::uint64_t>(groups), bound, opt.folds, opt.seed + 1);
    rtlm::adaptive_conformal_bound adaptive({}, bound);
    source_figures f;
    f.source = held;
    f.prompts = test.size();
    std::vector<double> truth;
    std::vector<double> predicted;
    const std::vector<std::size_t> order = permutation(test.size(), opt.seed);
    for (std::size_t k : order) {
      const example& e = data[test[k]];
      regressor.predict(e.features, d);
      const auto y = static_cast<double>(e.length.count());
      truth.push_back(y);
      predicted.push_back(d.mean());
      const rtlm::length_bound fixed = bound.bound(d, 0.9);
      const rtlm::length_bound adapted = adaptive.bound(d);
      f.coverage_q90 += e.length <= fixed.length ? 1 : 0;
      f.coverage_q90_adaptive += e.length <= adapted.length ? 1 : 0;
      f.width_q90 += static_cast<double>(fixed.length.count());
      f.width_q90_adaptive += static_cast<double>(adapted.length.count());
      adaptive.observe(d, e.length);
    }
    const auto m = static_cast<double>(test.size());
    f.coverage_q90 /= m, f.coverage_q90_adaptive /= m, f.width_q90 /= m, f.width_q90_adaptive /= m;
    f.rtlm = score(predicted, truth);
    out.push_back(std::move(f));
  }
  return out;
}

// The drifting stream: every prompt once, source after source (in name order, each shuffled), an
// online regressor from scratch (predict, then learn), bounded by the adaptive bound and, for
// comparison, by the plain sliding-window conformal bound; coverage over the whole stream.
drift_figures drifting_stream(const std::vector<example>& data, const options& opt) {
  drift_figures f;
  std::vector<std::size_t> stream;
  std::vector<std::size_t> segment_end;
  for (const std::string& s : sources_of(data)) {
    std::vector<std::size_t> members;
    for (std::size_t i = 0; i < data.size(); ++i) {
      if (data[i].source == s) members.push_back(i);
    }
    for (std::size_t k : permutation(members.size(), opt.seed)) stream.push_back(members[k]);
    segment_end.push_back(stream.size());
  }
  rtlm::online_length_regressor online(regressor_config());
  rtlm::adaptive_conformal_bound adaptive;
  rtlm::conformal_length_bound plain;
  rtlm::length_distribution d;
  std::vector<double> truth;
  std::vector<double> predicted;
  double covered = 0;
  double covered_plain = 0;
  double segment_covered = 0;
  std::size_t segment = 0;
  std::size_t segment_start = 0;
  const std::vector<std::string> sources = sources_of(data);
  for (std::size_t k = 0; k < stream.size(); ++k) {
    const example& e = data[stream[k]];
    online.predict(e.features, d);
    truth.push_back(static_cast<double>(e.length.count()));
    predicted.push_back(d.mean());
    const bool hit = e.length <= adaptive.bound(d).length;
    covered += hit ? 1 : 0;
    segment_covered += hit ? 1 : 0;
    covered_plain += e.length <= plain.bound(d, 0.9).length ? 1 : 0;
    adaptive.observe(d, e.length);
    plain.observe(d, e.length);
    online.learn(e.features, e.length);
    if (k + 1 == segment_end[segment]) {
      f.by_source.emplace_back(sources[segment],
                               segment_covered / static_cast<double>(k + 1 - segment_start));
      segment_covered = 0;
      segment_start = k + 1;
      ++segment;
    }
  }
  f.prompts = stream.size();
  f.coverage_q90 = covered / static_cast<double>(stream.size());
  f.coverage_q90_static = covered_plain / static_cast<double>(stream.size());
  f.rtlm = score(predicted, truth);
  return f;
}

void print_table(const std::string& model, const model_figures& f) {
  fmt::print("\n{} ({} prompts, {}-fold cross-validation)\n", model, f.prompts, 5);
  fmt::print("  {:<34} {:>8} {:>8} {:>8} {:>8}\n", "predictor", "tau", "R^2", "MAE", "RMSE");
  const auto row = [](const char* name, const point_metrics& m) {
    fmt::print("  {:<34} {:>8.3f} {:>8.3f} {:>8.1f} {:>8.1f}\n", name, m.tau, m.r2, m.mae, m.rmse);
  };
  row("rtlm regressor (mean)", f.rtlm);
  row("TimeBill-style 512x16 classifier", f.timebill);
  row("baseline: global mean", f.mean);
  row("baseline: prompt-length regression", f.prompt_length);
  row("baseline: S3-like 10 buckets", f.s3);
  row("baseline: ProxyModel-like 5 buckets", f.proxy);
  fmt::print("  90% bound: coverage {:.3f}, mean width {:.1f} tokens; 99% bound coverage {:.3f}\n",
             f.coverage_q90, f.width_q90, f.coverage_q99);
  fmt::print("  512x16 bucket accuracy {:.3f}\n", f.bucket_accuracy);
  fmt::print("  online (second half): tau {:.3f}, R^2 {:.3f}, 90% bound coverage {:.3f}\n",
             f.online_tau, f.online_r2, f.online_coverage_q90);
  fmt::print("  largest prediction / longest training answer: rtlm {:.2f}, TimeBill-style {:.2f}\n",
             f.max_ratio, f.timebill_max_ratio);
}

void print_shift(const std::vector<source_figures>& loso, const drift_figures& drift) {
  fmt::print("  leave one source out (train on the others, stream the held-out source):\n");
  fmt::print("  {:<14} {:>7} {:>8} {:>8} {:>10} {:>10} {:>10} {:>10}\n", "source", "prompts", "tau",
             "R^2", "cov q90", "adaptive", "width", "adapt. w");
  for (const source_figures& f : loso) {
    fmt::print("  {:<14} {:>7} {:>8.3f} {:>8.3f} {:>10.3f} {:>10.3f} {:>10.1f} {:>10.1f}\n",
               f.source, f.prompts, f.rtlm.tau, f.rtlm.r2, f.coverage_q90, f.coverage_q90_adaptive,
               f.width_q90, f.width_q90_adaptive);
  }
  fmt::print(
      "  drifting stream ({} prompts, sources in sequence, online): adaptive 90% coverage {:.3f}, "
      "sliding-window conformal {:.3f}; tau {:.3f}\n   by segment:",
      drift.prompts, drift.coverage_q90, drift.coverage_q90_static, drift.rtlm.tau);
  for (const auto& [source, c] : drift.by_source) fmt::print(" {} {:.3f}", source, c);
  fmt::print("\n");
}

// Writes `text` to `path`, replacing the file.
void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

void usage() {
  fmt::print(
      "usage: eval_length_predictor [--prompts FILE] [--lengths FILE] [--data DIR]\n"
      "                             [--model NAME]... [--seed N] [--json PATH] [--errors PATH]\n"
      "                             [--duplicate] [--no-shift]\n"
      "  --data DIR      DIR/instructions.tsv and DIR/token_lengths.csv (default: the bundled\n"
      "                  AlpacaEval data, {})\n"
      "  --prompts FILE  instruction_sha1<TAB>dataset<TAB>instruction, text escaped \\n \\t \\r "
      "\\\\\n"
      "  --lengths FILE  CSV with columns generator, output_tokens, instruction_sha1 (the first "
      "12\n"
      "                  hex digits of the SHA-1 of the instruction's UTF-8 bytes)\n"
      "  --model NAME    evaluate this generator only (repeatable; default: all)\n"
      "  --seed N        fold assignment and online order (default 0)\n"
      "  --duplicate     every prompt twice (as in request logs): figures with folds split by\n"
      "                  prompt, and, for comparison, by row\n"
      "  --no-shift      skip leave-one-source-out and the drifting stream\n"
      "  --json PATH     also write the figures as a flat JSON object\n"
      "  --errors PATH   also write each prompt's out-of-fold rtlm prediction as CSV:\n"
      "                  generator,true_tokens,predicted_mean,bound_q90,uncertainty\n",
      RTLM_ALPACA_EVAL_DIR);
}

int run(int argc, char** argv) {
  options opt;
  const std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t k = 0; k < args.size(); ++k) {
    const auto value = [&]() -> const std::string& {
      if (k + 1 >= args.size()) throw std::runtime_error(args[k] + " needs a value");
      return args[++k];
    };
    if (args[k] == "--prompts") {
      opt.prompts = value();
    } else if (args[k] == "--lengths") {
      opt.lengths = value();
    } else if (args[k] == "--data") {
      const std::string& dir = value();
      opt.prompts = dir + "/instructions.tsv";
      opt.lengths = dir + "/token_lengths.csv";
    } else if (args[k] == "--model") {
      opt.models.push_back(value());
    } else if (args[k] == "--seed") {
      opt.seed = std::stoull(value());
    } else if (args[k] == "--json") {
      opt.json = value();
    } else if (args[k] == "--errors") {
      opt.errors = value();
    } else if (args[k] == "--duplicate") {
      opt.duplicate = true;
    } else if (args[k] == "--no-shift") {
      opt.shift = false;
    } else if (args[k] == "--help" || args[k] == "-h") {
      usage();
      return 0;
    } else {
      usage();
      throw std::runtime_error("unknown option " + args[k]);
    }
  }
  const std::map<std::string, std::string> prompts = read_prompts(opt.prompts);
  const std::map<std::string, std::string> datasets =
      rtlm::bench::read_prompt_datasets(opt.prompts);
  const std::vector<length_row> rows = read_lengths(opt.lengths);
  std::vector<std::string> generators;
  for (const length_row& r : rows) {
    if (std::find(generators.begin(), generators.end(), r.generator) == generators.end()) {
      generators.push_back(r.generator);
    }
  }
  if (!opt.models.empty()) {
    for (const std::string& m : opt.models) {
      if (std::find(generators.begin(), generators.end(), m) == generators.end()) {
        throw std::runtime_error(fmt::format("{}: no generator '{}'", opt.lengths, m));
      }
    }
    generators = opt.models;
  }
  const rtlm::prompt_feature_extractor extractor(feature_config());
  fmt::print("eval_length_predictor: {} and {}, seed {}\n", opt.prompts, opt.lengths, opt.seed);
  std::vector<std::pair<std::string, double>> json;
  double macro_tau = 0;
  double macro_r2 = 0;
  double macro_cov = 0;
  double macro_width = 0;
  double macro_s3 = 0;
  double macro_proxy = 0;
  double macro_mean_r2 = 0;
  double macro_online = 0;
  double max_ratio = 0;
  double loso_min = 1;
  double loso_max = 0;
  double loso_static_min = 1;
  double loso_static_max = 0;
  double drift_min = 1;
  double drift_max = 0;
  std::string errors = "generator,true_tokens,predicted_mean,bound_q90,uncertainty\n";
  for (const std::string& g : generators) {
    std::vector<example> data;
    for (const length_row& r : rows) {
      if (r.generator != g) continue;
      const auto it = prompts.find(r.key);
      if (it == prompts.end()) {
        throw std::runtime_error(fmt::format(
            "{}: no prompt with instruction_sha1 {} (generator {})", opt.prompts, r.key, g));
      }
      data.push_back({extractor.extract(it->second), rtlm::tokens(r.output_tokens),
                      rtlm::bench::prompt_group(r.key), datasets.at(r.key)});
    }
    if (opt.duplicate) {
      const std::size_t once = data.size();
      for (std::size_t i = 0; i < once; ++i) data.push_back(data[i]);
    }
    if (data.size() < 2 * opt.folds) {
      throw std::runtime_error(
          fmt::format("generator {} has {} rows; need at least {}", g, data.size(), 2 * opt.folds));
    }
    const model_figures f = evaluate(data, opt, /*by_row=*/false);
    print_table(g, f);
    for (const prediction_error& e : f.errors) {
      errors +=
          fmt::format("{},{},{:.2f},{},{:.4f}\n", g, e.truth, e.mean, e.bound_q90, e.uncertainty);
    }
    const auto put = [&](const std::string& key, double v) {
      json.emplace_back(fmt::format("{}.{}", g, key), v);
    };
    put("kendall_tau", f.rtlm.tau);
    put("r2", f.rtlm.r2);
    put("mae", f.rtlm.mae);
    put("rmse", f.rtlm.rmse);
    put("coverage_q90", f.coverage_q90);
    put("width_q90", f.width_q90);
    put("coverage_q99", f.coverage_q99);
    put("online_kendall_tau", f.online_tau);
    put("online_r2", f.online_r2);
    put("online_coverage_q90", f.online_coverage_q90);
    put("timebill_kendall_tau", f.timebill.tau);
    put("timebill_r2", f.timebill.r2);
    put("bucket_accuracy", f.bucket_accuracy);
    put("baseline_mean_r2", f.mean.r2);
    put("baseline_prompt_length_r2", f.prompt_length.r2);
    put("baseline_prompt_length_kendall_tau", f.prompt_length.tau);
    put("baseline_s3_kendall_tau", f.s3.tau);
    put("baseline_s3_r2", f.s3.r2);
    put("baseline_proxy_kendall_tau", f.proxy.tau);
    put("baseline_proxy_r2", f.proxy.r2);
    put("max_prediction_ratio", f.max_ratio);
    put("timebill_max_prediction_ratio", f.timebill_max_ratio);
    max_ratio = std::max({max_ratio, f.max_ratio, f.timebill_max_ratio});
    if (opt.duplicate) {
      const model_figures by_rows = evaluate(data, opt, /*by_row=*/true);
      fmt::print(
          "  every prompt twice; folds by row (a copy of each test prompt in training):\n"
          "  tau {:.3f}, R^2 {:.3f}, 90% bound coverage {:.3f}   (by prompt: {:.3f}, "
          "{:.3f}, {:.3f})\n",
          by_rows.rtlm.tau, by_rows.rtlm.r2, by_rows.coverage_q90, f.rtlm.tau, f.rtlm.r2,
          f.coverage_q90);
      put("row_folds.kendall_tau", by_rows.rtlm.tau);
      put("row_folds.r2", by_rows.rtlm.r2);
      put("row_folds.coverage_q90", by_rows.coverage_q90);
    }
    if (opt.shift) {
      const std::vector<source_figures> loso = leave_one_source_out(data, opt);
      const drift_figures drift = drifting_stream(data, opt);
      print_shift(loso, drift);
      for (const source_figures& s : loso) {
        const std::string p = "loso." + s.source + ".";
        put(p + "prompts", static_cast<double>(s.prompts));
        put(p + "kendall_tau", s.rtlm.tau);
        put(p + "r2", s.rtlm.r2);
        put(p + "coverage_q90", s.coverage_q90);
        put(p + "coverage_q90_adaptive", s.coverage_q90_adaptive);
        put(p + "width_q90", s.width_q90);
        put(p + "width_q90_adaptive", s.width_q90_adaptive);
        loso_min = std::min(loso_min, s.coverage_q90_adaptive);
        loso_max = std::max(loso_max, s.coverage_q90_adaptive);
        loso_static_min = std::min(loso_static_min, s.coverage_q90);
        loso_static_max = std::max(loso_static_max, s.coverage_q90);
      }
      put("drift.coverage_q90", drift.coverage_q90);
      put("drift.coverage_q90_sliding_window", drift.coverage_q90_static);
      put("drift.kendall_tau", drift.rtlm.tau);
      for (const auto& [source, c] : drift.by_source) put("drift." + source + ".coverage_q90", c);
      drift_min = std::min(drift_min, drift.coverage_q90);
      drift_max = std::max(drift_max, drift.coverage_q90);
    }
    macro_tau += f.rtlm.tau, macro_r2 += f.rtlm.r2, macro_cov += f.coverage_q90;
    macro_width += f.width_q90, macro_s3 += f.s3.tau, macro_proxy += f.proxy.tau;
    macro_mean_r2 += f.mean.r2, macro_online += f.online_tau;
  }
  const auto models = static_cast<double>(generators.size());
  const std::vector<std::pair<std::string, double>> macro{
      {"macro.kendall_tau", macro_tau / models},
      {"macro.r2", macro_r2 / models},
      {"macro.coverage_q90", macro_cov / models},
      {"macro.width_q90", macro_width / models},
      {"macro.baseline_s3_kendall_tau", macro_s3 / models},
      {"macro.baseline_proxy_kendall_tau", macro_proxy / models},
      {"macro.baseline_mean_r2", macro_mean_r2 / models},
      {"macro.online_kendall_tau", macro_online / models},
      {"all.max_prediction_ratio", max_ratio}};
  fmt::print("\nmacro over {} models:\n", generators.size());
  for (const auto& [key, v] : macro) fmt::print("  {:<34} {:.3f}\n", key, v);
  json.insert(json.end(), macro.begin(), macro.end());
  if (opt.shift) {
    const std::vector<std::pair<std::string, double>> shift{
        {"all.loso.coverage_q90_adaptive_min", loso_min},
        {"all.loso.coverage_q90_adaptive_max", loso_max},
        {"all.loso.coverage_q90_min", loso_static_min},
        {"all.loso.coverage_q90_max", loso_static_max},
        {"all.drift.coverage_q90_min", drift_min},
        {"all.drift.coverage_q90_max", drift_max}};
    for (const auto& [key, v] : shift) fmt::print("  {:<34} {:.3f}\n", key, v);
    json.insert(json.end(), shift.begin(), shift.end());
  }
  if (!opt.json.empty()) rtlm::bench::write_flat_json(opt.json, json);
  if (!opt.errors.empty()) write_text(opt.errors, errors);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "eval_length_predictor: {}\n", e.what());
    return 1;
  }
}
