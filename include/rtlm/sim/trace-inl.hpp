// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rtlm/detail/csv.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/sim/trace.hpp"

namespace rtlm::sim {

namespace detail {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// Seconds since 1970 of "YYYY-MM-DD hh:mm:ss[.fraction]"; throws rtlm::error naming `field`.
inline double parse_timestamp(std::string_view field, std::string_view text) {
  const auto bad = [&] {
    return rtlm::error(std::string(field), fmt::format("'{}'", text),
                       "must be a time 'YYYY-MM-DD hh:mm:ss[.fraction]'");
  };
  if (text.size() < 19 || text[4] != '-' || text[7] != '-' || text[10] != ' ' || text[13] != ':' ||
      text[16] != ':') {
    throw bad();
  }
  const auto number = [&](std::size_t at, std::size_t n) {
    std::int64_t v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') throw bad();
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  const std::int64_t year = number(0, 4);
  const std::int64_t month = number(5, 2);
  const std::int64_t day = number(8, 2);
  const std::int64_t hour = number(11, 2);
  const std::int64_t minute = number(14, 2);
  const std::int64_t second = number(17, 2);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    throw bad();
  }
  double fraction = 0.0;
  if (text.size() > 19) {
    if (text[19] != '.' || text.size() == 20) throw bad();
    double scale = 0.1;
    for (std::size_t i = 20; i < text.size(); ++i, scale /= 10) {
      if (text[i] < '0' || text[i] > '9') throw bad();
      fraction += scale * (text[i] - '0');
    }
  }
  const std::int64_t days =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return static_cast<double>(days * 86400 + hour * 3600 + minute * 60 + second) + fraction;
}

// One member of a JSON object: its key as written between the quotes (escapes not decoded) and
// its value's text.
struct json_member {
  std::string_view key;
  std::string_view value;
};

// The whole numbers of the JSON array `value` (`[0, 1, 2]`), each in [0, 2^32). Throws
// rtlm::error naming `where` for anything else. O(value size).
inline std::vector<std::uint32_t> json_block_ids(std::string_view value, const std::string& where) {
  const auto fail = [&] {
    return rtlm::error(
        where, std::string(value),
        "must be an array of whole numbers in [0, 2^32) (the prompt's block hashes)");
  };
  if (value.size() < 2 || value.front() != '[' || value.back() != ']') throw fail();
  std::vector<std::uint32_t> ids;
  std::size_t i = 1;
  const auto skip_space = [&] {
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
  };
  skip_space();
  if (i + 1 == value.size()) return ids;  // "[]", "[ ]"
  for (;;) {
    skip_space();
    std::uint64_t v = 0;
    const std::size_t start = i;
    while (i < value.size() && value[i] >= '0' && value[i] <= '9' && i - start < 11) {
      v = v * 10 + static_cast<std::uint64_t>(value[i] - '0');
      ++i;
    }
    if (i == start || v > 0xffffffffULL) throw fail();
    ids.push_back(static_cast<std::uint32_t>(v));
    skip_space();
    if (value[i] == ']' && i + 1 == value.size()) return ids;
    if (value[i] != ',') throw fail();
    ++i;
  }
}

// The members at the top level of the JSON object that `line` holds, in order; nested objects
// and arrays are skipped whole, so a key inside them is never taken for a top-level one. Throws
// rtlm::error naming `where` unless `line` is one object (whitespace around it allowed) whose
// top-level keys are distinct. Scalars are not checked beyond being non-empty; the caller parses
// the values it reads. Iterative, so deep nesting cannot overflow the stack. O(line size).
inline std::vector<json_member> json_top_level_members(std::string_view line,
                                                       const std::string& where) {
  std::size_t i = 0;
  const auto fail = [&](std::string_view what) {
    return rtlm::error(where, std::string(line),
                       fmt::format("must be one JSON object per line ({} at byte {})", what, i));
  };
  const auto skip_space = [&] {
    while (i < line.size() &&
           (line[i] == ' ' || line[i] == '\t' || line[i] == '\n' || line[i] == '\r')) {
      ++i;
    }
  };
  // Skips the string starting at line[i] == '"'; returns its contents.
  const auto skip_string = [&] {
    const std::size_t start = ++i;
    while (i < line.size() && line[i] != '"') {
      if (static_cast<unsigned char>(line[i]) < 0x20) throw fail("a control character in a string");
      i += line[i] == '\\' ? std::size_t{2} : std::size_t{1};
    }
    if (i >= line.size()) throw fail("an unterminated string");
    return line.substr(start, i++ - start);
  };
  // Skips the value starting at line[i].
  const auto skip_value = [&] {
    if (i >= line.size()) throw fail("a missing value");
    if (line[i] == '"') {
      (void)skip_string();
      return;
    }
    if (line[i] == '{' || line[i] == '[') {
      std::string open;  // the brackets still open, innermost last
      while (i < line.size()) {
        const char c = line[i];
        if (c == '"') {
          (void)skip_string();
          continue;
        }
        if (c == '{' || c == '[') {
          open += c;
        } else if (c == '}' || c == ']') {
          if (open.back() != (c == '}' ? '{' : '[')) throw fail("a mismatched bracket");
          open.pop_back();
          if (open.empty()) {
            ++i;
            return;
          }
        }
        ++i;
      }
      throw fail("an unclosed object or array");
    }
    const std::size_t start = i;
    while (i < line.size() && line[i] != ',' && line[i] != '}' && line[i] != ']' &&
           line[i] != ' ' && line[i] != '\t') {
      ++i;
    }
    if (i == start) throw fail("a missing value");
  };

  std::vector<json_member> members;
  skip_space();
  if (i >= line.size() || line[i] != '{') throw fail("no '{'");
  ++i;
  skip_space();
  if (i < line.size() && line[i] == '}') {
    ++i;
  } else {
    while (true) {
      skip_space();
      if (i >= line.size() || line[i] != '"') throw fail("no key");
      const std::string_view key = skip_string();
      skip_space();
      if (i >= line.size() || line[i] != ':') throw fail("no ':' after a key");
      ++i;
      skip_space();
      const std::size_t value_start = i;
      skip_value();
      members.push_back({key, line.substr(value_start, i - value_start)});
      skip_space();
      if (i < line.size() && line[i] == ',') {
        ++i;
        continue;
      }
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      throw fail("no ',' or '}' after a value");
    }
  }
  skip_space();
  if (i != line.size()) throw fail("text after the object");
  // Sorted, a repeated key is next to itself: O(n log n) for a line of millions of keys.
  std::vector<std::string_view> keys;
  keys.reserve(members.size());
  for (const json_member& m : members) keys.push_back(m.key);
  std::sort(keys.begin(), keys.end());
  const auto twice = std::adjacent_find(keys.begin(), keys.end());
  if (twice != keys.end()) {
    throw rtlm::error(where + " " + std::string(*twice), std::string(line),
                      "appears twice at the top level of the object: a key must be unique");
  }
  return members;
}

// The number of top-level member `key` of `members`; throws rtlm::error naming `where key`.
inline double json_number(const std::vector<json_member>& members, std::string_view key,
                          const std::string& where) {
  for (const json_member& m : members) {
    if (m.key == key) return rtlm::detail::parse_double(where + " " + std::string(key), m.value);
  }
  throw rtlm::error(where + " " + std::string(key), "missing",
                    "every line needs this key at the top level of its object");
}

// Checks one parsed request and appends it; `where` is "path:line".
inline void add_request(trace& t, const std::string& where, double arrival, double prompt,
                        double output) {
  rtlm::detail::require(prompt >= 0 && prompt == std::floor(prompt) && prompt < 1e9,
                        where + " prompt tokens", prompt, "must be a whole number >= 0");
  rtlm::detail::require(output >= 1 && output == std::floor(output) && output < 1e9,
                        where + " output tokens", output, "must be a whole number >= 1");
  if (!t.requests.empty()) {
    rtlm::detail::require(arrival >= t.requests.back().arrival, where + " arrival", arrival,
                          "must not be before the previous line's (a trace is in time order)");
  }
  t.requests.push_back({.arrival = arrival,
                        .prompt = tokens(static_cast<tokens::rep>(prompt)),
                        .output = tokens(static_cast<tokens::rep>(output))});
}

// Makes arrivals relative to the first.
inline void rebase(trace& t) {
  if (t.requests.empty()) return;
  const double first = t.requests.front().arrival;
  for (trace_request& r : t.requests) r.arrival -= first;
}

}  // namespace detail

RTLM_INLINE trace load_length_csv_trace(const std::string& path) {
  rtlm::detail::line_reader in(path);
  trace t{.name = path, .requests = {}};
  std::string line;
  std::vector<std::string_view> fields;
  bool header = false;
  while (in.next(line)) {
    if (!header) {
      rtlm::detail::require(line == "timestamp_ms,input_length,output_length",
                            in.where() + " header", line,
                            "must be 'timestamp_ms,input_length,output_length'");
      header = true;
      continue;
    }
    if (line.empty()) continue;
    const std::string where = in.where();
    rtlm::detail::split_csv(line, fields);
    rtlm::detail::require(fields.size() == 3, where, line, "a row must have 3 fields");
    const double ms = rtlm::detail::parse_double(where + " timestamp_ms", fields[0]);
    rtlm::detail::require(ms >= 0, where + " timestamp_ms", ms, "must be >= 0");
    const double prompt = rtlm::detail::parse_double(where + " input_length", fields[1]);
    const double output = rtlm::detail::parse_double(where + " output_length", fields[2]);
    detail::add_request(t, where, ms / 1000.0, prompt, output);
  }
  rtlm::detail::require(header, path, "empty", "must start with its header");
  detail::rebase(t);
  return t;
}

RTLM_INLINE trace load_azure_trace(const std::string& path) {
  rtlm::detail::line_reader in(path);
  trace t{.name = path, .requests = {}};
  std::string line;
  std::vector<std::string_view> fields;
  bool header = false;
  while (in.next(line)) {
    if (!header) {
      rtlm::detail::require(line == "TIMESTAMP,ContextTokens,GeneratedTokens",
                            in.where() + " header", line,
                            "must be 'TIMESTAMP,ContextTokens,GeneratedTokens'");
      header = true;
      continue;
    }
    if (line.empty()) continue;
    const std::string where = in.where();
    rtlm::detail::split_csv(line, fields);
    rtlm::detail::require(fields.size() == 3, where, line, "a row must have 3 fields");
    const double arrival = detail::parse_timestamp(where + " TIMESTAMP", fields[0]);
    const double prompt = rtlm::detail::parse_double(where + " ContextTokens", fields[1]);
    const double output = rtlm::detail::parse_double(where + " GeneratedTokens", fields[2]);
    detail::add_request(t, where, arrival, prompt, output);
  }
  rtlm::detail::require(header, path, "empty", "must start with the Azure trace header");
  detail::rebase(t);
  return t;
}

RTLM_INLINE trace load_mooncake_trace(const std::string& path) {
  rtlm::detail::line_reader in(path);
  trace t{.name = path, .requests = {}};
  std::string line;
  while (in.next(line)) {
    if (line.empty()) continue;
    const std::string where = in.where();
    const std::vector<detail::json_member> members = detail::json_top_level_members(line, where);
    const double ms = detail::json_number(members, "timestamp", where);
    const double prompt = detail::json_number(members, "input_length", where);
    const double output = detail::json_number(members, "output_length", where);
    rtlm::detail::require(ms >= 0, where + " timestamp", ms, "must be >= 0 (milliseconds)");
    detail::add_request(t, where, ms / 1000.0, prompt, output);
    const auto ids = std::find_if(members.begin(), members.end(),
                                  [](const detail::json_member& m) { return m.key == "hash_ids"; });
    if (ids != members.end()) {
      t.prefix_blocks.resize(t.requests.size() - 1);  // lines before without hash_ids: none
      t.prefix_blocks.push_back(detail::json_block_ids(ids->value, where + " hash_ids"));
      t.prefix_block_tokens = tokens(512);
    }
  }
  if (!t.prefix_blocks.empty()) t.prefix_blocks.resize(t.requests.size());
  detail::rebase(t);
  return t;
}

RTLM_INLINE trace load_trace(const std::string& path) {
  const auto ends_with = [&](std::string_view suffix) {
    return path.size() >= suffix.size() &&
           path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".csv")) {
    // Two CSV layouts, told apart by the header.
    rtlm::detail::line_reader in(path);
    std::string header;
    in.next(header);
    if (header == "timestamp_ms,input_length,output_length") return load_length_csv_trace(path);
    return load_azure_trace(path);
  }
  if (ends_with(".jsonl")) return load_mooncake_trace(path);
  throw rtlm::error("trace", path, "must be an Azure .csv or a Mooncake .jsonl file");
}

RTLM_INLINE trace stretch_arrivals(const trace& t, double stretch) {
  rtlm::detail::require_positive_finite("stretch", stretch);
  trace out = t;
  for (trace_request& r : out.requests) r.arrival *= stretch;
  return out;
}

RTLM_INLINE trace first_seconds(const trace& t, double seconds) {
  trace out{.name = t.name, .requests = {}};
  for (const trace_request& r : t.requests) {
    if (r.arrival > seconds) break;
    out.requests.push_back(r);
  }
  if (!t.prefix_blocks.empty()) {
    out.prefix_blocks.assign(
        t.prefix_blocks.begin(),
        t.prefix_blocks.begin() + static_cast<std::ptrdiff_t>(out.requests.size()));
    out.prefix_block_tokens = t.prefix_block_tokens;
  }
  return out;
}

}  // namespace rtlm::sim
