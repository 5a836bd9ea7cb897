// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "rtlm/core/error.hpp"

namespace rtlm::detail {

/// Reads a text file line by line, keeping the line number for error messages. Strips a
/// trailing '\r' so files written on Windows read the same. Not thread-safe.
class line_reader {
 public:
  /// Opens `path`; throws rtlm::error naming the path when it cannot be read.
  explicit line_reader(std::string path) : path_(std::move(path)), in_(path_) {
    if (!in_) throw error("file", path_, "cannot be opened for reading");
  }

  /// Reads the next line into `line`; false at the end of the file.
  bool next(std::string& line) {
    if (!std::getline(in_, line)) return false;
    ++line_number_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  }

  /// "path:line", the location of the last line read, for error fields.
  [[nodiscard]] std::string where() const { return fmt::format("{}:{}", path_, line_number_); }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] std::size_t line_number() const noexcept { return line_number_; }

 private:
  std::string path_;
  std::ifstream in_;
  std::size_t line_number_ = 0;
};

/// Splits one CSV line on commas into `fields` (views into `line`). Fields are not unquoted:
/// rtlm's formats and the profiles it reads have no quoted commas.
inline void split_csv(std::string_view line, std::vector<std::string_view>& fields) {
  fields.clear();
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = line.find(',', start);
    if (comma == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return;
    }
    fields.push_back(line.substr(start, comma - start));
    start = comma + 1;
  }
}

/// Parses a finite double; throws rtlm::error naming `field` (e.g. "file.csv:12 seconds") and
/// the text when the whole of `text` is not one.
inline double parse_double(std::string_view field, std::string_view text) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) {
    throw error(std::string(field), fmt::format("'{}'", text), "must be a finite number");
  }
  return value;
}

/// Parses a whole signed 64-bit integer; throws rtlm::error naming `field` and the text otherwise.
inline std::int64_t parse_integer(std::string_view field, std::string_view text) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) {
    throw error(std::string(field), fmt::format("'{}'", text), "must be a whole number");
  }
  return value;
}

}  // namespace rtlm::detail
