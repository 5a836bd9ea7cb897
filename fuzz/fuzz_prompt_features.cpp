// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0

// Prompt feature extraction over arbitrary bytes (invalid UTF-8, NULs, binary): the extractor
// promises to be total, so nothing may throw, and the vector it fills must be well formed.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_support.hpp"
#include "rtlm/predict/prompt_features.hpp"

namespace {

using rtlm::prompt_cue;
using rtlm::prompt_feature_extractor;
using rtlm::prompt_features;

// The default layout, a small one whose head and tail windows are short enough for fuzz inputs
// to cross, and one with the longest character n-grams and no word pairs.
const std::array<prompt_feature_extractor, 3>& extractors() {
  static const std::array<prompt_feature_extractor, 3> all{
      prompt_feature_extractor{},
      prompt_feature_extractor{{.hash_bits = 8, .char_ngram_size = 2, .scan_bytes = 64}},
      prompt_feature_extractor{{.hash_bits = 10,
                                .word_bigrams = false,
                                .position_words = false,
                                .char_ngram_size = 8,
                                .cue_weight = 0.0,
                                .scan_bytes = 100}}};
  return all;
}

std::vector<std::pair<std::uint32_t, double>> sorted_entries(const prompt_features& f) {
  std::vector<std::pair<std::uint32_t, double>> entries;
  for (std::size_t k = 0; k < f.size(); ++k) entries.emplace_back(f.indices()[k], f.values()[k]);
  std::sort(entries.begin(), entries.end());
  return entries;
}

void check_well_formed(const prompt_feature_extractor& extractor, const prompt_features& f,
                       std::string_view prompt) {
  RTLM_FUZZ_CHECK(f.dimension() == extractor.dimension());
  RTLM_FUZZ_CHECK(f.indices().size() == f.values().size());
  const auto entries = sorted_entries(f);
  for (std::size_t k = 0; k < entries.size(); ++k) {
    RTLM_FUZZ_CHECK(entries[k].first < f.dimension());
    RTLM_FUZZ_CHECK(k == 0 || entries[k].first != entries[k - 1].first);  // unique slots
    RTLM_FUZZ_CHECK(std::isfinite(entries[k].second));
  }
  for (std::size_t c = 0; c < rtlm::prompt_cue_count; ++c) {
    const double v = f.cue(static_cast<prompt_cue>(c));
    RTLM_FUZZ_CHECK(std::isfinite(v) && v >= 0.0);
  }
  for (const prompt_cue fraction :
       {prompt_cue::digit_fraction, prompt_cue::uppercase_fraction, prompt_cue::non_ascii_fraction,
        prompt_cue::invalid_utf8_fraction}) {
    RTLM_FUZZ_CHECK(f.cue(fraction) <= 1.0);
  }
  RTLM_FUZZ_CHECK(f.word_count() <= prompt.size());
  RTLM_FUZZ_CHECK(!f.has_embedding());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view prompt = rtlm::fuzz::as_text(data, size);
  // One vector reused across inputs and layouts, as a host reuses one per thread: what the
  // previous extraction left in it must not leak into this one.
  static prompt_features reused;
  for (const prompt_feature_extractor& extractor : extractors()) {
    const prompt_features fresh = extractor.extract(prompt);
    check_well_formed(extractor, fresh, prompt);
    extractor.extract(prompt, reused);
    RTLM_FUZZ_CHECK(sorted_entries(reused) == sorted_entries(fresh));
    RTLM_FUZZ_CHECK(reused.word_count() == fresh.word_count());
  }
  return 0;
}
