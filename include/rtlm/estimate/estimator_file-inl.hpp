// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "rtlm/detail/csv.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/estimate/estimator_file.hpp"

namespace rtlm {
namespace detail {

inline constexpr std::array<std::string_view, step_regime_count> regime_names{
    "prefill", "chunked_prefill", "single_decode", "batched_decode", "mixed_decode"};

// Names are single words in the file.
inline std::string replace_spaces(std::string s) {
  std::replace(s.begin(), s.end(), ' ', '_');
  return s;
}

// "key=value ..." of a model shape, in a fixed order, doubles exact.
inline std::string describe_model(const model_config& c) {
  return fmt::format(
      "name={} layers={} hidden_size={} attention_heads={} kv_heads={} head_dim={} ffn_size={} "
      "mlp={} vocab_size={} qkv_bias={} bytes_per_weight={:.17g} bytes_per_kv_element={:.17g} "
      "tensor_parallel={}",
      replace_spaces(c.name), c.layers, c.hidden_size, c.attention_heads, c.kv_heads, c.head_dim,
      c.ffn_size, c.mlp == mlp_kind::gated ? "gated" : "plain", c.vocab_size, c.qkv_bias ? 1 : 0,
      c.bytes_per_weight, c.bytes_per_kv_element, c.tensor_parallel);
}

inline std::string describe_hardware(const hardware_config& h) {
  return fmt::format(
      "peak_flops_per_second={:.17g} memory_bandwidth_bytes_per_second={:.17g} "
      "multiprocessors={}",
      h.peak_flops_per_second, h.memory_bandwidth_bytes_per_second, h.multiprocessors);
}

inline void write_residuals(std::ofstream& out, const step_time_estimator& e) {
  for (std::size_t r = 0; r < step_regime_count; ++r) {
    const auto residuals = e.error_bound(static_cast<step_regime>(r)).residuals();
    out << "residuals " << regime_names[r] << ' ' << residuals.size();
    for (const double x : residuals) out << fmt::format(" {:.17g}", x);
    out << '\n';
  }
}

inline std::ofstream open_for_writing(const std::string& path) {
  std::ofstream out(path);
  if (!out) throw error("file", path, "cannot be opened for writing");
  return out;
}

// A saved estimator's lines, keyed by their first word, with their locations.
struct estimator_lines {
  std::string path;
  std::map<std::string, std::vector<std::string>> words;  // first word -> rest, per line
  std::map<std::string, std::string> where;               // first word -> "path:line"
};

inline std::vector<std::string> split_words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(std::move(w));
  return words;
}

inline estimator_lines read_estimator_lines(const std::string& path, std::string_view kind) {
  line_reader in(path);
  estimator_lines result{.path = path};
  std::string line;
  if (!in.next(line)) throw error(path, "(empty)", "is not an rtlm estimator file");
  const std::vector<std::string> magic = split_words(line);
  require(magic.size() == 2 && magic[0] == "rtlm-step-estimator", in.where(), line,
          "is not an rtlm estimator file (its first line must be 'rtlm-step-estimator 1')");
  require(magic[1] == std::to_string(estimator_file_version), in.where() + " format version",
          magic[1],
          fmt::format("is not one this build reads (version {})", estimator_file_version));
  while (in.next(line)) {
    std::vector<std::string> words = split_words(line);
    if (words.empty()) continue;
    std::string key = words.front();
    // Residual lines are keyed by their regime as well.
    if (key == "residuals" || key == "coefficients") {
      require(words.size() >= 2, in.where(), line, "must name a regime");
      key += ' ' + words[1];
      words.erase(words.begin());
    }
    words.erase(words.begin());
    require(!result.words.contains(key), in.where(), key, "appears twice");
    result.where[key] = in.where();
    result.words[key] = std::move(words);
  }
  const auto k = result.words.find("kind");
  require(k != result.words.end() && k->second.size() == 1, path + " kind", "(missing)",
          fmt::format("must be given as 'kind {}'", kind));
  require(k->second.front() == kind, result.where["kind"] + " kind", k->second.front(),
          fmt::format("must be '{}' for this loader", kind));
  return result;
}

inline const std::vector<std::string>& need(const estimator_lines& f, const std::string& key) {
  const auto it = f.words.find(key);
  if (it == f.words.end()) throw error(f.path + " " + key, "(missing)", "the line is required");
  return it->second;
}

// Checks that a "key=value ..." line equals `expected` word for word.
inline void require_same(const estimator_lines& f, const std::string& key,
                         const std::string& expected, std::string_view what) {
  const std::vector<std::string>& got = need(f, key);
  const std::vector<std::string> want = split_words(expected);
  for (std::size_t i = 0; i < want.size(); ++i) {
    const std::string field = want[i].substr(0, want[i].find('='));
    const std::string have = i < got.size() ? got[i] : "(missing)";
    require(have == want[i], fmt::format("{} {}.{}", f.where.at(key), key, field), have,
            fmt::format("must match the {} in use ({})", what, want[i]));
  }
  require(got.size() == want.size(), f.where.at(key) + " " + key, got.size(),
          fmt::format("must have {} fields", want.size()));
}

// Parses "name=value" words into doubles.
inline std::map<std::string, double> parse_assignments(const estimator_lines& f,
                                                       const std::string& key) {
  std::map<std::string, double> values;
  for (const std::string& w : need(f, key)) {
    const std::size_t eq = w.find('=');
    require(eq != std::string::npos, f.where.at(key) + " " + key, w, "must be name=value");
    values[w.substr(0, eq)] = parse_double(f.where.at(key) + " " + key + "." + w.substr(0, eq),
                                           std::string_view(w).substr(eq + 1));
  }
  return values;
}

inline void read_residuals(const estimator_lines& f, step_time_estimator& e) {
  for (std::size_t r = 0; r < step_regime_count; ++r) {
    const std::string key = "residuals " + std::string(regime_names[r]);
    const std::vector<std::string>& words = need(f, key);
    require(!words.empty(), f.where.at(key), key, "must give a count");
    const std::int64_t n = parse_integer(f.where.at(key) + " count", words[0]);
    require(n >= 0 && static_cast<std::size_t>(n) + 1 == words.size(), f.where.at(key) + " count",
            n,
            fmt::format("must equal the number of residuals that follow ({})", words.size() - 1));
    std::vector<double> residuals;
    residuals.reserve(static_cast<std::size_t>(n));
    for (std::size_t i = 1; i < words.size(); ++i) {
      const double x = parse_double(f.where.at(key) + " residual", words[i]);
      // measured / estimate - 1, and a measured time is positive.
      require(std::isfinite(x) && x > -1.0, f.where.at(key) + " residual", words[i],
              "must be a finite number > -1 (measured / estimated - 1)");
      residuals.push_back(x);
    }
    e.calibrate(static_cast<step_regime>(r), relative_error_bound(std::move(residuals)));
  }
}

}  // namespace detail

RTLM_INLINE void save_estimator(const fitted_roofline_estimator& estimator,
                                const std::string& path) {
  std::ofstream out = detail::open_for_writing(path);
  out << "rtlm-step-estimator " << estimator_file_version << "\nkind roofline\n";
  out << "model " << detail::describe_model(estimator.featurizer().shape().config()) << '\n';
  out << "hardware " << detail::describe_hardware(estimator.featurizer().hardware().config())
      << '\n';
  for (const step_regime r : {step_regime::prefill, step_regime::chunked_prefill,
                              step_regime::single_decode, step_regime::batched_decode}) {
    out << "coefficients " << detail::regime_names[static_cast<std::size_t>(r)];
    const step_feature_vector& c = estimator.coefficients(r);
    for (std::size_t i = 0; i < step_feature_count; ++i) {
      if (c[i] != 0)
        out << fmt::format(" {}={:.17g}", to_string(static_cast<step_feature>(i)), c[i]);
    }
    out << '\n';
  }
  detail::write_residuals(out, estimator);
  if (!out) throw error("file", path, "could not be written completely");
}

RTLM_INLINE void save_estimator(const timebill_estimator& estimator, const model_config& model,
                                const std::string& path) {
  std::ofstream out = detail::open_for_writing(path);
  const timebill_coefficients& c = estimator.coefficients();
  out << "rtlm-step-estimator " << estimator_file_version << "\nkind timebill\n";
  out << "model " << detail::describe_model(model) << '\n';
  out << fmt::format("timebill a={:.17g} b={:.17g} c={:.17g} p={:.17g} q={:.17g}\n", c.a, c.b, c.c,
                     c.p, c.q);
  detail::write_residuals(out, estimator);
  if (!out) throw error("file", path, "could not be written completely");
}

RTLM_INLINE fitted_roofline_estimator
load_roofline_estimator(const std::string& path, const model_shape& expected_model,
                        const hardware_spec& expected_hardware) {
  const detail::estimator_lines f = detail::read_estimator_lines(path, "roofline");
  detail::require_same(f, "model", detail::describe_model(expected_model.config()), "model shape");
  detail::require_same(f, "hardware", detail::describe_hardware(expected_hardware.config()),
                       "hardware spec");
  std::array<step_feature_vector, 4> coefficients{};
  const std::array<step_regime, 4> regimes{step_regime::prefill, step_regime::chunked_prefill,
                                           step_regime::single_decode, step_regime::batched_decode};
  for (std::size_t r = 0; r < regimes.size(); ++r) {
    const std::string key =
        "coefficients " + std::string(detail::regime_names[static_cast<std::size_t>(regimes[r])]);
    for (const auto& [name, value] : detail::parse_assignments(f, key)) {
      const std::optional<step_feature> feature = step_feature_from_string(name);
      detail::require(feature.has_value(), f.where.at(key) + " feature", name,
                      "is not a known feature");
      detail::require(value >= 0, f.where.at(key) + " " + name, value, "must be >= 0");
      coefficients[r][static_cast<std::size_t>(*feature)] = value;
    }
  }
  fitted_roofline_estimator e(step_featurizer(expected_model, expected_hardware), coefficients[0],
                              coefficients[1], coefficients[2], coefficients[3]);
  detail::read_residuals(f, e);
  return e;
}

RTLM_INLINE timebill_estimator load_timebill_estimator(const std::string& path,
                                                       const model_shape& expected_model) {
  const detail::estimator_lines f = detail::read_estimator_lines(path, "timebill");
  detail::require_same(f, "model", detail::describe_model(expected_model.config()), "model shape");
  std::map<std::string, double> v = detail::parse_assignments(f, "timebill");
  for (const char* name : {"a", "b", "c", "p", "q"}) {
    detail::require(v.contains(name), f.where.at("timebill") + " timebill", name, "is missing");
  }
  timebill_estimator e({.a = v["a"], .b = v["b"], .c = v["c"], .p = v["p"], .q = v["q"]});
  detail::read_residuals(f, e);
  return e;
}

}  // namespace rtlm
