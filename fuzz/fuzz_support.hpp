// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

// What the fuzz targets share: decoding values from the fuzz input, checking invariants, and
// handing the input to parsers that only read files.

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace rtlm::fuzz {

/// Stops the process when an invariant fails: libFuzzer (or the replay driver's caller) records
/// it as a crash, with the failed condition on stderr.
#define RTLM_FUZZ_CHECK(condition) \
  ((condition) ? static_cast<void>(0) : ::rtlm::fuzz::check_failed(#condition, __FILE__, __LINE__))

[[noreturn]] inline void check_failed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n",  // NOLINT(*-vararg)
               condition, file, line);
  std::abort();
}

/// The fuzz input as a stream of values. Reads past the end give zeros, so every input decodes
/// to something and a short input is a short scenario, not a rejected one.
class byte_source {
 public:
  explicit byte_source(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  [[nodiscard]] bool empty() const noexcept { return offset_ >= bytes_.size(); }

  /// The next `n` bytes as a little-endian unsigned integer (n <= 8).
  std::uint64_t bits(std::size_t n) noexcept {
    std::uint64_t v = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const std::uint64_t byte = offset_ < bytes_.size() ? bytes_[offset_] : 0;
      ++offset_;
      v |= byte << (8U * k);
    }
    return v;
  }
  std::uint8_t u8() noexcept { return static_cast<std::uint8_t>(bits(1)); }
  bool flag() noexcept { return (u8() & 1U) != 0; }
  /// A value in [0, n), n >= 1.
  std::uint64_t below(std::uint64_t n) noexcept { return bits(4) % n; }
  /// Any double: NaN, infinities, negatives, denormals and huge values included.
  double any_double() noexcept { return std::bit_cast<double>(bits(8)); }
  /// Any signed 64-bit integer.
  std::int64_t any_int() noexcept { return std::bit_cast<std::int64_t>(bits(8)); }

  /// Mostly a plausible double from `plausible` (scaled by a byte), sometimes any double: a
  /// random bit pattern is almost always absurd, which would leave the usual paths unexplored.
  template <class Plausible>
  double mixed_double(Plausible&& plausible) noexcept {
    const std::uint8_t kind = u8();
    if (kind < 32) return any_double();
    return plausible(static_cast<double>(u8()) / 255.0);
  }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t offset_ = 0;
};

/// A file of this process's own in the temp directory, for parsers that only read paths; the
/// process id keeps parallel fuzzing jobs apart. Removed when the object goes.
class temp_input {
 public:
  explicit temp_input(const std::string& suffix)
      : path_(std::filesystem::temp_directory_path() /
              ("rtlm_fuzz_" + std::to_string(::getpid()) + suffix)) {}
  ~temp_input() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  temp_input(const temp_input&) = delete;
  temp_input& operator=(const temp_input&) = delete;
  temp_input(temp_input&&) = delete;
  temp_input& operator=(temp_input&&) = delete;

  /// Replaces the file's contents with `bytes` and returns its path.
  const std::string& write(std::string_view bytes) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    RTLM_FUZZ_CHECK(out.good());
    return path_string_ = path_.string();
  }

 private:
  std::filesystem::path path_;
  std::string path_string_;
};

/// The fuzz input as text.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) noexcept {
  return {reinterpret_cast<const char*>(data), size};  // NOLINT(*-reinterpret-cast)
}

}  // namespace rtlm::fuzz
