// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "rtlm/core/error.hpp"

namespace rtlm::detail {

/// Throws rtlm::error naming `path` (field `file`) unless it names a regular file, or a link to
/// one: a directory is said to be one, and a FIFO, socket or device is refused before it is
/// opened, since reading one could block forever. A path that does not exist passes (opening
/// it then fails). O(1): one stat.
inline void require_regular_file(const std::string& path) {
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st) || std::filesystem::is_regular_file(st)) return;
  if (std::filesystem::is_directory(st)) {
    throw error("file", path, "is a directory, not a file");
  }
  throw error("file", path,
              "is not a regular file (a FIFO, socket or device): rtlm reads only regular files");
}

/// Reads a text file line by line, keeping the line number for error messages. Skips a UTF-8
/// byte-order mark at the start of the file and strips a trailing '\r', so files written on
/// Windows read the same. Not thread-safe.
class line_reader {
 public:
  /// Opens `path`; throws rtlm::error naming the path when it cannot be read, is a directory,
  /// or is not a regular file (require_regular_file).
  explicit line_reader(std::string path) : path_(std::move(path)) {
    require_regular_file(path_);
    in_.open(path_);
    if (!in_) throw error("file", path_, "cannot be opened for reading");
  }

  /// Reads the next line into `line`; false at the end of the file.
  bool next(std::string& line) {
    if (!std::getline(in_, line)) return false;
    ++line_number_;
    if (line_number_ == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
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
