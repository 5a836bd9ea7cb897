// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "rtlm/core/units.hpp"

namespace rtlm::detail {

/// A fixed-capacity map from request_id to a slot number: open addressing with linear probing
/// and backward-shift deletion, sized once, so that lookups, inserts and erases allocate nothing
/// (std::unordered_map allocates a node per insert). The table stays at most half full.
/// Not thread-safe.
class request_index {
 public:
  explicit request_index(std::size_t max_entries)
      : mask_(std::bit_ceil(std::max<std::size_t>(2 * max_entries, 2)) - 1),
        entries_(mask_ + 1),
        max_entries_(max_entries) {}

  /// The slot of `id`, if present. O(1) expected.
  [[nodiscard]] std::optional<std::uint32_t> find(request_id id) const noexcept {
    for (std::size_t i = home(id);; i = (i + 1) & mask_) {
      const entry& e = entries_[i];
      if (e.slot == empty) return std::nullopt;
      if (e.id == id) return e.slot;
    }
  }

  /// Adds `id` -> `slot`; false when `id` is present already or the index is full.
  bool insert(request_id id, std::uint32_t slot) noexcept {
    if (size_ >= max_entries_) return false;
    std::size_t i = home(id);
    for (; entries_[i].slot != empty; i = (i + 1) & mask_) {
      if (entries_[i].id == id) return false;
    }
    entries_[i] = {id, slot};
    ++size_;
    return true;
  }

  /// Removes `id`; false when it is absent.
  bool erase(request_id id) noexcept {
    std::size_t i = home(id);
    for (;; i = (i + 1) & mask_) {
      if (entries_[i].slot == empty) return false;
      if (entries_[i].id == id) break;
    }
    // Backward shift: pull later entries of the probe run into the hole, so no tombstones pile
    // up and lookups stay short however many ids come and go.
    for (std::size_t j = (i + 1) & mask_; entries_[j].slot != empty; j = (j + 1) & mask_) {
      const std::size_t h = home(entries_[j].id);
      // Entry j may move to i only if its home is not in the cyclic range (i, j].
      const bool home_between = i <= j ? (h > i && h <= j) : (h > i || h <= j);
      if (!home_between) {
        entries_[i] = entries_[j];
        i = j;
      }
    }
    entries_[i] = entry{};
    --size_;
    return true;
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  static constexpr std::uint32_t empty = ~std::uint32_t{0};
  struct entry {
    request_id id{};
    std::uint32_t slot = empty;
  };

  [[nodiscard]] std::size_t home(request_id id) const noexcept {
    // SplitMix64's finalizer: hosts often use consecutive ids, which would cluster unmixed.
    std::uint64_t x = to_integer(id);
    x = (x ^ (x >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27U)) * 0x94d049bb133111ebULL;
    x ^= x >> 31U;
    return static_cast<std::size_t>(x) & mask_;
  }

  std::size_t mask_;
  std::vector<entry> entries_;
  std::size_t max_entries_;
  std::size_t size_ = 0;
};

}  // namespace rtlm::detail
