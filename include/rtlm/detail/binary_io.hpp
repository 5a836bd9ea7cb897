// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "rtlm/core/error.hpp"

namespace rtlm::detail {

/// FNV-1a, 64 bits, over raw bytes: the checksum of rtlm's binary files.
inline std::uint64_t checksum(std::string_view bytes) noexcept {
  std::uint64_t h = 14695981039346656037ULL;
  for (char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return h;
}

/// Appends little-endian integers and IEEE doubles to a byte string, whatever the host's order.
class byte_writer {
 public:
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void f64(double v) { put(std::bit_cast<std::uint64_t>(v), 8); }
  void f64s(const std::vector<double>& v) {
    u64(v.size());
    for (double x : v) f64(x);
  }
  void bytes(std::string_view s) { bytes_.append(s); }
  [[nodiscard]] const std::string& data() const noexcept { return bytes_; }

 private:
  void put(std::uint64_t v, int n) {
    for (int k = 0; k < n; ++k)
      bytes_.push_back(static_cast<char>((v >> (8U * static_cast<unsigned>(k))) & 0xFFU));
  }
  std::string bytes_;
};

/// Reads what byte_writer wrote, checking every bound: a short or malformed input throws
/// rtlm::error naming `source` and the byte offset.
class byte_reader {
 public:
  byte_reader(std::string_view bytes, std::string source)
      : bytes_(bytes), source_(std::move(source)) {}

  std::uint32_t u32() { return static_cast<std::uint32_t>(get(4)); }
  std::uint64_t u64() { return get(8); }
  double f64() { return std::bit_cast<double>(get(8)); }
  /// A length-prefixed array of doubles of at most `max_size` values.
  std::vector<double> f64s(std::uint64_t max_size) {
    const std::uint64_t n = u64();
    if (n > max_size || n > (bytes_.size() - offset_) / 8) fail("an array size out of range");
    std::vector<double> v(static_cast<std::size_t>(n));
    for (double& x : v) x = f64();
    return v;
  }
  /// Bytes not read yet. O(1).
  [[nodiscard]] std::size_t remaining() const noexcept { return bytes_.size() - offset_; }
  /// Throws unless every byte was read.
  void expect_end() const {
    if (offset_ != bytes_.size()) fail("bytes after the end of the data");
  }
  /// Throws rtlm::error naming the source and the current offset.
  [[noreturn]] void fail(std::string_view what) const {
    throw error(source_, "byte " + std::to_string(offset_), std::string(what));
  }

 private:
  std::uint64_t get(int n) {
    if (bytes_.size() - offset_ < static_cast<std::size_t>(n)) fail("the data ends early");
    std::uint64_t v = 0;
    for (int k = 0; k < n; ++k) {
      v |= static_cast<std::uint64_t>(
               static_cast<unsigned char>(bytes_[offset_ + static_cast<std::size_t>(k)]))
           << (8U * static_cast<unsigned>(k));
    }
    offset_ += static_cast<std::size_t>(n);
    return v;
  }

  std::string_view bytes_;
  std::string source_;
  std::size_t offset_ = 0;
};

}  // namespace rtlm::detail
