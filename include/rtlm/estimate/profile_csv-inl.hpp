// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <tuple>
#include <vector>

#include "rtlm/detail/csv.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/estimate/profile_csv.hpp"

namespace rtlm {
namespace detail {

inline constexpr std::string_view profile_csv_columns =
    "phase,batch,new_tokens,kv_lengths,graph,repeat,seconds";

// Parses "k1;k2;..." into `out`: at most `batch` lengths (the caller checks there are exactly
// that many), each from 0 to `most`.
inline void parse_kv_lengths(const std::string& where, std::string_view text, std::int64_t batch,
                             std::int64_t most, std::vector<tokens>& out) {
  out.clear();
  const std::string field = where + " kv_lengths";
  std::size_t start = 0;
  while (true) {
    const std::size_t semi = text.find(';', start);
    const std::string_view item =
        text.substr(start, semi == std::string_view::npos ? semi : semi - start);
    const std::int64_t k = parse_integer(field, item);
    require(k >= 0 && k <= most, field, k,
            fmt::format("must be from 0 to {}: a sequence's new and cached tokens are at most {} "
                        "(rtlm::max_profile_tokens)",
                        most, max_profile_tokens));
    require(static_cast<std::int64_t>(out.size()) < batch, field, text,
            fmt::format("must list one length per sequence (batch {})", batch));
    out.emplace_back(k);
    if (semi == std::string_view::npos) return;
    start = semi + 1;
  }
}

}  // namespace detail

RTLM_INLINE profile load_profile_csv(const std::string& path) {
  using detail::require;
  detail::line_reader in(path);
  profile result;
  result.source = path;
  std::string line;
  bool have_version = false;
  bool have_columns = false;
  // Key of a point -> its index, so repeats join their point wherever they appear.
  std::map<std::tuple<step_phase, tokens::rep, std::vector<tokens>>, std::size_t> index;
  std::vector<std::string_view> fields;
  std::vector<tokens> kv;
  while (in.next(line)) {
    if (line.empty()) continue;
    if (line.front() == '#') {
      require(!have_columns, in.where(), line, "comment lines must come before the column header");
      const std::size_t colon = line.find(':');
      require(line.size() > 2 && line[1] == ' ' && colon != std::string::npos, in.where(), line,
              "a header line must read '# key: value'");
      std::string key = line.substr(2, colon - 2);
      std::string value = line.substr(std::min(line.size(), colon + 2));
      if (!have_version) {
        require(key == "rtlm-profile", in.where(), line,
                "the first line must be '# rtlm-profile: 1'");
        require(value == std::to_string(profile_csv_version), in.where() + " rtlm-profile", value,
                fmt::format("is a format version this build cannot read (it reads version {})",
                            profile_csv_version));
        have_version = true;
        continue;
      }
      result.metadata[std::move(key)] = std::move(value);
      continue;
    }
    if (!have_columns) {
      require(have_version, in.where(), line, "the first line must be '# rtlm-profile: 1'");
      require(line == detail::profile_csv_columns, in.where() + " column header", line,
              fmt::format("must be '{}'", detail::profile_csv_columns));
      have_columns = true;
      continue;
    }
    detail::split_csv(line, fields);
    const std::string where = in.where();
    require(fields.size() == 7, where, line, "a row must have 7 comma-separated fields");
    step_phase phase = step_phase::prefill;
    if (fields[0] == "decode") {
      phase = step_phase::decode;
    } else {
      require(fields[0] == "prefill", where + " phase", fields[0], "must be 'prefill' or 'decode'");
    }
    const std::int64_t batch = detail::parse_integer(where + " batch", fields[1]);
    require(batch >= 1 && batch <= static_cast<std::int64_t>(max_profile_batch), where + " batch",
            batch,
            fmt::format("must be from 1 to {} (rtlm::max_profile_batch)", max_profile_batch));
    const std::int64_t new_tokens = detail::parse_integer(where + " new_tokens", fields[2]);
    require(new_tokens >= 1 && new_tokens <= max_profile_tokens, where + " new_tokens", new_tokens,
            fmt::format("must be from 1 to {} (rtlm::max_profile_tokens)", max_profile_tokens));
    // Each sequence's new tokens; with its cached ones at most max_profile_tokens.
    const std::int64_t per_sequence =
        phase == step_phase::decode ? 1 : std::max<std::int64_t>(1, new_tokens / batch);
    detail::parse_kv_lengths(where, fields[3], batch, max_profile_tokens - per_sequence, kv);
    require(static_cast<std::int64_t>(kv.size()) == batch, where + " kv_lengths", fields[3],
            fmt::format("must list one length per sequence (batch {})", batch));
    if (phase == step_phase::decode) {
      require(new_tokens == batch, where + " new_tokens", new_tokens,
              fmt::format("must equal the batch ({}) in a decode row", batch));
    } else {
      require(new_tokens % batch == 0, where + " new_tokens", new_tokens,
              fmt::format("must split evenly over the batch ({})", batch));
    }
    require(fields[4] == "0" || fields[4] == "1" || fields[4] == "-", where + " graph", fields[4],
            "must be 0, 1 or -");
    const std::int64_t repeat = detail::parse_integer(where + " repeat", fields[5]);
    require(repeat >= 0, where + " repeat", repeat, "must be >= 0");
    const double secs = detail::parse_double(where + " seconds", fields[6]);
    require(
        secs > 0 && secs <= max_profile_seconds, where + " seconds", fields[6],
        fmt::format("must be > 0 and <= {:g} (rtlm::max_profile_seconds)", max_profile_seconds));

    auto key = std::make_tuple(phase, new_tokens, kv);
    auto [it, inserted] = index.try_emplace(std::move(key), result.points.size());
    if (inserted) {
      result.points.push_back(
          profile_point{.phase = phase, .new_tokens = tokens(new_tokens), .kv_lengths = kv});
    }
    result.points[it->second].measurements.emplace_back(secs);
  }
  require(have_version, path, "(empty)",
          "is not an rtlm profile: it has no '# rtlm-profile: 1' line");
  require(have_columns, path, "(no column header)", "has no column header");
  require(!result.points.empty(), path, "(no rows)", "has no measurements");
  return result;
}

RTLM_INLINE void save_profile_csv(const profile& p, const std::string& path) {
  std::ofstream out(path);
  if (!out) throw error("file", path, "cannot be opened for writing");
  out << "# rtlm-profile: " << profile_csv_version << '\n';
  for (const auto& [key, value] : p.metadata) {
    if (key != "rtlm-profile") out << "# " << key << ": " << value << '\n';
  }
  out << detail::profile_csv_columns << '\n';
  for (const profile_point& point : p.points) {
    std::string kv;
    for (std::size_t i = 0; i < point.kv_lengths.size(); ++i) {
      if (i > 0) kv += ';';
      kv += std::to_string(point.kv_lengths[i].count());
    }
    const char* phase = point.phase == step_phase::prefill ? "prefill" : "decode";
    for (std::size_t r = 0; r < point.measurements.size(); ++r) {
      out << fmt::format("{},{},{},{},-,{},{:.9g}\n", phase, point.batch(), point.new_tokens, kv, r,
                         point.measurements[r].count());
    }
  }
  if (!out) throw error("file", path, "could not be written completely");
}

}  // namespace rtlm
