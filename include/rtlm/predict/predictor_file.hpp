// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>

#include "rtlm/detail/config.hpp"
#include "rtlm/predict/conformal_length_bound.hpp"
#include "rtlm/predict/length_predictor.hpp"

namespace rtlm {

/// The version of the length-predictor file format this build writes. Version 2 added the bucket
/// classifier's support guard (longest trained length, cue ranges); version-1 files still load
/// (a version-1 classifier predicts unguarded, as it did). A newer version is refused.
inline constexpr std::uint32_t length_predictor_file_version = 2;
/// The oldest version this build reads.
inline constexpr std::uint32_t length_predictor_file_oldest_version = 1;

/// Saves a trained predictor (any kind) in rtlm's versioned binary format: the magic bytes
/// "RTLMLENP", the format version, the predictor kind, the payload size and its FNV-1a checksum,
/// then the payload (little-endian integers and IEEE doubles). Throws rtlm::error naming `path`
/// when it cannot be written. O(model size); allocates.
void save_length_predictor(const length_predictor& predictor, const std::filesystem::path& path);
/// The same, to a stream opened in binary mode.
void save_length_predictor(const length_predictor& predictor, std::ostream& out);

/// Loads a predictor saved by save_length_predictor. A missing, truncated, corrupt (checksum) or
/// foreign file, an unknown version or kind, or inconsistent contents throws rtlm::error naming
/// `path` and what was wrong. O(file size); allocates.
[[nodiscard]] length_predictor_ptr load_length_predictor(const std::filesystem::path& path);
/// The same, from a stream; `source` names it in messages.
[[nodiscard]] length_predictor_ptr load_length_predictor(std::istream& in,
                                                         const std::string& source);

/// Saves a conformal bound's scores in the same format (kind 100). Throws like
/// save_length_predictor.
void save_conformal_bound(const conformal_length_bound& bound, const std::filesystem::path& path);
/// Loads a conformal bound saved by save_conformal_bound; throws like load_length_predictor.
[[nodiscard]] conformal_length_bound load_conformal_bound(const std::filesystem::path& path);
/// The same, from a stream; `source` names it in messages.
[[nodiscard]] conformal_length_bound load_conformal_bound(std::istream& in,
                                                          const std::string& source);

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/predict/predictor_file-inl.hpp"
#endif
