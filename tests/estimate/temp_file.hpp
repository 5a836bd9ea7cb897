// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "rtlm/core/error.hpp"

namespace rtlm::test {

/// A file in the test's own temporary directory, removed at destruction.
class temp_file {
 public:
  explicit temp_file(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              (std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
               name)) {}
  temp_file(const std::string& name, const std::string& contents) : temp_file(name) {
    std::ofstream(path_) << contents;
  }
  ~temp_file() { std::filesystem::remove(path_); }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  temp_file(temp_file&&) = delete;
  temp_file& operator=(temp_file&&) = delete;

  [[nodiscard]] std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

/// Runs `f` and returns the field of the rtlm::error it throws, or "" if it throws none.
template <class F>
std::string blamed_field(F&& f) {
  try {
    f();
  } catch (const rtlm::error& e) {
    return e.field();
  }
  return "";
}

}  // namespace rtlm::test
