// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <cstddef>
#include <exception>
#include <span>
#include <string_view>

namespace rtlm {

/// The narrow interface through which a host adds its own features to rtlm's length predictors:
/// a fixed-length vector per prompt, typically an embedding from a small model the host already
/// runs. rtlm appends it to the prompt's text features (see prompt_feature_extractor).
///
/// A host overrides two functions: dimension() and the private compute(). The public embed()
/// wraps compute(): it catches whatever compute() throws and rejects non-finite values, so a
/// failing source leaves the block at zero and prediction goes on from the text features alone.
/// rtlm calls embed() from the thread that extracts features; an implementation used from several
/// threads at once must be thread-safe itself.
///
/// A complete implementation over a hypothetical sentence encoder:
/// @code
/// class encoder_embeddings final : public rtlm::embedding_source {
///  public:
///   explicit encoder_embeddings(my_encoder& encoder) : encoder_(encoder) {}
///   std::size_t dimension() const noexcept override { return 384; }
///
///  private:
///   void compute(std::string_view prompt, std::span<double> out) const override {
///     const std::vector<float> v = encoder_.encode(std::string(prompt));  // 384 floats
///     std::copy(v.begin(), v.end(), out.begin());
///   }
///   my_encoder& encoder_;
/// };
/// @endcode
class embedding_source {
 public:
  virtual ~embedding_source() = default;
  embedding_source() = default;
  embedding_source(const embedding_source&) = delete;
  embedding_source& operator=(const embedding_source&) = delete;
  embedding_source(embedding_source&&) = delete;
  embedding_source& operator=(embedding_source&&) = delete;

  /// The number of values per prompt; constant for the source's lifetime. O(1).
  [[nodiscard]] virtual std::size_t dimension() const noexcept = 0;

  /// Writes the prompt's vector into `out` (size dimension()). Returns false, with `out` all
  /// zero, when `out` has the wrong size, compute() throws or yields a NaN or infinity. Never
  /// throws; allocates only as compute() does; as thread-safe as compute().
  bool embed(std::string_view prompt, std::span<double> out) const noexcept {
    bool ok = out.size() == dimension();
    if (ok) {
      for (double& v : out) v = 0.0;
      try {
        compute(prompt, out);
      } catch (...) {
        ok = false;
      }
    }
    for (double v : out) ok = ok && std::isfinite(v);
    if (!ok) {
      for (double& v : out) v = 0.0;
    }
    return ok;
  }

 private:
  /// The host's computation: fill all of `out` (already zeroed, size dimension()) for `prompt`.
  /// May throw on failure.
  virtual void compute(std::string_view prompt, std::span<double> out) const = 0;
};

}  // namespace rtlm
