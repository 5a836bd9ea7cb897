// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fstream>
#include <istream>
#include <iterator>
#include <memory>
#include <ostream>
#include <string_view>

#include "rtlm/core/error.hpp"
#include "rtlm/detail/binary_io.hpp"
#include "rtlm/detail/csv.hpp"
#include "rtlm/predict/bucketed_length_classifier.hpp"
#include "rtlm/predict/online_length_regressor.hpp"
#include "rtlm/predict/predictor_file.hpp"

namespace rtlm {
namespace detail {

inline constexpr std::string_view predictor_file_magic = "RTLMLENP";
inline constexpr std::uint32_t conformal_bound_kind = 100;

inline void write_predictor_file(std::ostream& out, std::uint32_t kind, const std::string& payload,
                                 const std::string& target) {
  byte_writer header;
  header.bytes(predictor_file_magic);
  header.u32(length_predictor_file_version);
  header.u32(kind);
  header.u64(payload.size());
  header.u64(checksum(payload));
  out.write(header.data().data(), static_cast<std::streamsize>(header.data().size()));
  out.write(payload.data(), static_cast<std::streamsize>(payload.size()));
  out.flush();
  if (!out) throw error("length predictor file", target, "could not be written");
}

struct predictor_file_contents {
  std::uint32_t kind = 0;
  std::string payload;
  std::uint32_t version = length_predictor_file_version;
};

inline predictor_file_contents read_predictor_file(std::istream& in, const std::string& source) {
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto refuse = [&source](std::string_view what) {
    throw error("length predictor file", source, what);
  };
  if (bytes.size() < predictor_file_magic.size() ||
      std::string_view(bytes).substr(0, predictor_file_magic.size()) != predictor_file_magic) {
    refuse("is not an rtlm length-predictor file (no RTLMLENP magic)");
  }
  if (bytes.size() < 32) refuse("is truncated (its header is incomplete)");
  byte_reader header(std::string_view(bytes).substr(8, 24), source);
  const std::uint32_t version = header.u32();
  const std::uint32_t kind = header.u32();
  const std::uint64_t size = header.u64();
  const std::uint64_t sum = header.u64();
  if (version < length_predictor_file_oldest_version || version > length_predictor_file_version) {
    refuse(fmt::format("has format version {}; this build reads versions {} to {}", version,
                       length_predictor_file_oldest_version, length_predictor_file_version));
  }
  if (size != bytes.size() - 32) {
    refuse(
        fmt::format("is truncated or padded: the header announces {} payload bytes, the file has "
                    "{}",
                    size, bytes.size() - 32));
  }
  predictor_file_contents c{kind, bytes.substr(32), version};
  if (checksum(c.payload) != sum) refuse("is corrupt (checksum mismatch)");
  return c;
}

}  // namespace detail

RTLM_INLINE void save_length_predictor(const length_predictor& predictor, std::ostream& out) {
  detail::write_predictor_file(out, static_cast<std::uint32_t>(predictor.kind()),
                               predictor.serialize(), "stream");
}

RTLM_INLINE void save_length_predictor(const length_predictor& predictor,
                                       const std::filesystem::path& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw error("length predictor file", path.string(), "cannot be opened for writing");
  detail::write_predictor_file(out, static_cast<std::uint32_t>(predictor.kind()),
                               predictor.serialize(), path.string());
}

RTLM_INLINE length_predictor_ptr load_length_predictor(std::istream& in,
                                                       const std::string& source) {
  detail::predictor_file_contents c = detail::read_predictor_file(in, source);
  switch (c.kind) {
    case static_cast<std::uint32_t>(length_predictor_kind::online_regressor):
      return std::make_unique<online_length_regressor>(
          online_length_regressor::deserialize(c.payload, source));
    case static_cast<std::uint32_t>(length_predictor_kind::bucketed_classifier):
      return std::make_unique<bucketed_length_classifier>(
          bucketed_length_classifier::deserialize(c.payload, source, c.version));
    default:
      break;
  }
  throw error("length predictor file", source,
              fmt::format("holds an unknown predictor kind {}", c.kind));
}

RTLM_INLINE length_predictor_ptr load_length_predictor(const std::filesystem::path& path) {
  detail::require_regular_file(path.string());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw error("length predictor file", path.string(), "cannot be opened");
  return load_length_predictor(in, path.string());
}

RTLM_INLINE void save_conformal_bound(const conformal_length_bound& bound,
                                      const std::filesystem::path& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw error("length predictor file", path.string(), "cannot be opened for writing");
  detail::write_predictor_file(out, detail::conformal_bound_kind, bound.serialize(), path.string());
}

RTLM_INLINE conformal_length_bound load_conformal_bound(std::istream& in,
                                                        const std::string& source) {
  detail::predictor_file_contents c = detail::read_predictor_file(in, source);
  if (c.kind != detail::conformal_bound_kind) {
    throw error("length predictor file", source,
                fmt::format("holds predictor kind {}, not a conformal bound", c.kind));
  }
  return conformal_length_bound::deserialize(c.payload, source);
}

RTLM_INLINE conformal_length_bound load_conformal_bound(const std::filesystem::path& path) {
  detail::require_regular_file(path.string());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw error("length predictor file", path.string(), "cannot be opened");
  return load_conformal_bound(in, path.string());
}

}  // namespace rtlm
