// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0

// Runs a fuzz target's LLVMFuzzerTestOneInput over files without libFuzzer, so the committed
// corpus and the regression inputs run as an ordinary test under any compiler (and under the
// sanitizers of an ASan/UBSan build). Arguments are files or directories (every regular file in
// one, in name order). A failed check aborts; an exception other than rtlm::error escapes the
// target and terminates: either way the test fails.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg(argv[i]);  // NOLINT(*-pointer-arithmetic)
    if (fs::is_directory(arg)) {
      std::vector<fs::path> files;
      for (const fs::directory_entry& e : fs::directory_iterator(arg)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
      inputs.insert(inputs.end(), files.begin(), files.end());
    } else if (fs::is_regular_file(arg)) {
      inputs.push_back(arg);
    } else {
      // A regression directory may not exist yet; anything else named is a mistake.
      std::fprintf(stderr, "skipping %s: no such file or directory\n",  // NOLINT(*-vararg)
                   arg.c_str());
    }
  }
  for (const fs::path& path : inputs) {
    const std::vector<std::uint8_t> bytes = read_file(path);
    // An empty vector's data() may be null; libFuzzer passes a valid pointer even for size 0.
    const std::uint8_t empty = 0;
    LLVMFuzzerTestOneInput(bytes.empty() ? &empty : bytes.data(), bytes.size());
  }
  std::printf("replayed %zu inputs\n", inputs.size());  // NOLINT(*-vararg)
  return inputs.empty() ? 1 : 0;
}
