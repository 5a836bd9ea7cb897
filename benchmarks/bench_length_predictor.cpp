// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// How long output-length prediction takes per request: it runs when a request is admitted
// (features, predict, bound) and when it completes (one online update).

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "rtlm/predict/bucketed_length_classifier.hpp"
#include "rtlm/predict/conformal_length_bound.hpp"
#include "rtlm/predict/online_length_regressor.hpp"
#include "rtlm/predict/prompt_features.hpp"

namespace {

// A 2,000-character prompt of ordinary instruction text.
const std::string& prompt_2000() {
  static const std::string text = [] {
    const std::string sentence =
        "Please explain, step by step and in plain words, how a small bakery can plan its weekly "
        "orders, keep waste low and still have fresh bread on the shelves every morning. ";
    std::string t;
    while (t.size() + sentence.size() <= 2000) t += sentence;
    t.append(2000 - t.size(), 'x');
    return t;
  }();
  return text;
}

const rtlm::prompt_feature_config& features() {
  static const rtlm::prompt_feature_config config{.hash_bits = 14};
  return config;
}

// Training prompts: varied word mixes, so the models have dense, realistic weights.
struct training_set {
  std::vector<rtlm::prompt_features> x;
  std::vector<rtlm::tokens> y;
};

const training_set& training() {
  static const training_set set = [] {
    const rtlm::prompt_feature_extractor e(features());
    const std::vector<std::string> words{
        "write", "list",      "explain", "code",  "poem",    "brief", "essay", "three",
        "steps", "translate", "summary", "table", "compare", "why",   "how",   "email"};
    training_set s;
    for (std::size_t i = 0; i < 400; ++i) {
      std::string p;
      for (std::size_t k = 0; k < 12; ++k)
        p += words[(i * 7 + k * 13 + i / 5) % words.size()] + " ";
      s.x.push_back(e.extract(p));
      s.y.emplace_back(static_cast<rtlm::tokens::rep>(20 + (i * 37) % 900));
    }
    return s;
  }();
  return set;
}

void extract_2000_chars(benchmark::State& state) {
  const rtlm::prompt_feature_extractor e(features());
  rtlm::prompt_features f;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    e.extract(prompt_2000(), f);
    benchmark::DoNotOptimize(f.size());
  }
}
BENCHMARK(extract_2000_chars);

// The whole admission path of the default predictor: features, distribution, 90% bound.
void predict_2000_chars(benchmark::State& state) {
  const rtlm::prompt_feature_extractor e(features());
  rtlm::online_length_regressor r({.features = features()});
  r.fit(training().x, training().y);
  rtlm::conformal_length_bound bound;
  for (int k = 0; k < 2000; ++k) bound.observe_score(0.001 * k - 1.0);
  rtlm::prompt_features f;
  rtlm::length_distribution d;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    e.extract(prompt_2000(), f);
    r.predict(f, d);
    benchmark::DoNotOptimize(bound.bound(d, 0.9));
  }
}
BENCHMARK(predict_2000_chars);

// The TimeBill-style classifier (512 buckets of 16 tokens), features included.
void classifier_predict_2000_chars(benchmark::State& state) {
  const rtlm::prompt_feature_extractor e(features());
  rtlm::bucketed_length_classifier c({.features = features(), .epochs = 2});
  c.fit(training().x, training().y);
  rtlm::prompt_features f;
  rtlm::length_distribution d;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    e.extract(prompt_2000(), f);
    c.predict(f, d);
    benchmark::DoNotOptimize(d.mean());
  }
}
BENCHMARK(classifier_predict_2000_chars);

// One online update when a request completes: the regressor's learn() and the bound's observe(),
// on the 2,000-character prompt's features (extracted at admission, so not timed here).
void online_update(benchmark::State& state) {
  const rtlm::prompt_feature_extractor e(features());
  rtlm::online_length_regressor r({.features = features()});
  r.fit(training().x, training().y);
  rtlm::conformal_length_bound bound;
  for (int k = 0; k < 2000; ++k) bound.observe_score(0.001 * k - 1.0);
  const rtlm::prompt_features f = e.extract(prompt_2000());
  rtlm::length_distribution d;
  r.predict(f, d);
  rtlm::tokens::rep length = 1;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    r.learn(f, rtlm::tokens(length));
    bound.observe(d, rtlm::tokens(length));
    length = length % 1000 + 1;
  }
}
BENCHMARK(online_update);

void classifier_online_update(benchmark::State& state) {
  const rtlm::prompt_feature_extractor e(features());
  rtlm::bucketed_length_classifier c({.features = features(), .epochs = 2});
  c.fit(training().x, training().y);
  const rtlm::prompt_features f = e.extract(prompt_2000());
  rtlm::tokens::rep length = 1;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library idiom
    c.learn(f, rtlm::tokens(length));
    length = length % 1000 + 1;
  }
}
BENCHMARK(classifier_online_update);

}  // namespace

BENCHMARK_MAIN();
