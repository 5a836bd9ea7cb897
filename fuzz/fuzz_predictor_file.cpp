// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0

// The saved-predictor parsers (load_length_predictor and load_conformal_bound, from a stream).
// Each input is read twice: as it is, and with its header's payload size and checksum set to
// match, so that mutations reach the predictors' deserializers instead of stopping at the
// checksum. Bad input must throw rtlm::error and nothing else; what loads must predict sanely
// and save and load again to the same bytes.

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "rtlm/core/error.hpp"
#include "rtlm/detail/binary_io.hpp"
#include "rtlm/predict/conformal_length_bound.hpp"
#include "rtlm/predict/length_distribution.hpp"
#include "rtlm/predict/predictor_file.hpp"
#include "rtlm/predict/prompt_features.hpp"

namespace {

constexpr std::string_view magic = "RTLMLENP";
constexpr std::size_t header_size = 32;  // magic, version, kind, payload size, checksum

// `bytes` with the header's payload size and checksum rewritten to match its payload.
std::string with_matching_checksum(std::string bytes) {
  if (bytes.size() < header_size || std::string_view(bytes).substr(0, magic.size()) != magic) {
    return bytes;
  }
  const std::string_view payload = std::string_view(bytes).substr(header_size);
  rtlm::detail::byte_writer fields;
  fields.u64(payload.size());
  fields.u64(rtlm::detail::checksum(payload));
  bytes.replace(16, 16, fields.data());
  return bytes;
}

void check_distribution(const rtlm::length_distribution& d) {
  RTLM_FUZZ_CHECK(std::isfinite(d.mean()) && d.mean() >= 0.0);
  RTLM_FUZZ_CHECK(std::isfinite(d.uncertainty()) && d.uncertainty() >= 0.0);
  RTLM_FUZZ_CHECK(d.quantile(0.9).count() >= 0);
  RTLM_FUZZ_CHECK(d.quantile(0.5) <= d.quantile(0.9));
  const double cdf = d.cdf(100.0);
  RTLM_FUZZ_CHECK(cdf >= 0.0 && cdf <= 1.0);
}

void check_predictor(rtlm::length_predictor& p) {
  // The extractor checks the loaded layout again: a predictor that loads must have a valid one.
  const rtlm::prompt_feature_extractor extractor(p.feature_config());
  const rtlm::prompt_features f = extractor.extract("Write a haiku about the sea, in 3 lines.");
  check_distribution(p.predict(f));
  // A state that loads must save and load back to the same bytes.
  std::ostringstream out;
  rtlm::save_length_predictor(p, out);
  std::istringstream in(out.str());
  const rtlm::length_predictor_ptr again = rtlm::load_length_predictor(in, "saved");
  RTLM_FUZZ_CHECK(again->kind() == p.kind());
  RTLM_FUZZ_CHECK(again->serialize() == p.serialize());
  // Online learning from the loaded state never throws and keeps predictions sane.
  p.learn(f, rtlm::tokens(42));
  check_distribution(p.predict(f));
}

void check_bound(const rtlm::conformal_length_bound& b) {
  rtlm::length_distribution d;
  const std::array<double, 3> edges{0.0, 50.0, 400.0};
  const std::array<double, 2> probabilities{0.7, 0.3};
  d.assign(edges, probabilities);
  for (const double coverage : {0.0, 0.5, 0.9, 1.0}) {
    const rtlm::length_bound l = b.bound(d, coverage);
    RTLM_FUZZ_CHECK(l.length.count() >= 1);
  }
  const std::string saved = b.serialize();
  RTLM_FUZZ_CHECK(rtlm::conformal_length_bound::deserialize(saved, "saved").serialize() == saved);
}

void load_both(const std::string& bytes) {
  rtlm::length_predictor_ptr predictor;
  try {
    std::istringstream in(bytes);
    predictor = rtlm::load_length_predictor(in, "fuzz input");
  } catch (const rtlm::error&) {  // bad input, reported as promised
  }
  if (predictor) check_predictor(*predictor);

  std::optional<rtlm::conformal_length_bound> bound;
  try {
    std::istringstream in(bytes);
    bound.emplace(rtlm::load_conformal_bound(in, "fuzz input"));
  } catch (const rtlm::error&) {
  }
  if (bound) check_bound(*bound);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(rtlm::fuzz::as_text(data, size));
  load_both(bytes);
  const std::string fixed = with_matching_checksum(bytes);
  if (fixed != bytes) load_both(fixed);
  return 0;
}
