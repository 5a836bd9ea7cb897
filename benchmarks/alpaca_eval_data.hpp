// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

// Readers of the bundled AlpacaEval files (benchmarks/data/alpaca_eval, CC BY-NC 4.0: evaluation
// only), shared by the evaluation programs. Errors throw std::runtime_error naming file and line.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rtlm::bench {

// ---------------------------------------------------------------------------------------------
// Data files.

[[noreturn]] inline void fail(const std::string& file, std::size_t line, const std::string& what) {
  throw std::runtime_error(fmt::format("{}:{}: {}", file, line, what));
}

inline std::string sha1_hex(std::string_view text) {
  std::array<std::uint32_t, 5> h{0x67452301U, 0xEFCDAB89U, 0x98BADCFEU, 0x10325476U, 0xC3D2E1F0U};
  std::string m(text);
  const std::uint64_t bits = static_cast<std::uint64_t>(text.size()) * 8U;
  m.push_back(static_cast<char>(0x80));
  while (m.size() % 64 != 56) m.push_back('\0');
  for (int k = 7; k >= 0; --k)
    m.push_back(static_cast<char>((bits >> (8U * static_cast<unsigned>(k))) & 0xFFU));
  const auto rotl = [](std::uint32_t x, unsigned n) { return (x << n) | (x >> (32U - n)); };
  for (std::size_t chunk = 0; chunk < m.size(); chunk += 64) {
    std::array<std::uint32_t, 80> w{};
    for (std::size_t t = 0; t < 16; ++t) {
      w[t] = 0;
      for (std::size_t b = 0; b < 4; ++b) {
        w[t] = (w[t] << 8U) | static_cast<unsigned char>(m[chunk + 4 * t + b]);
      }
    }
    for (std::size_t t = 16; t < 80; ++t)
      w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
    std::uint32_t a = h[0];
    std::uint32_t b = h[1];
    std::uint32_t c = h[2];
    std::uint32_t d = h[3];
    std::uint32_t e = h[4];
    for (std::size_t t = 0; t < 80; ++t) {
      std::uint32_t f = 0;
      std::uint32_t k = 0;
      if (t < 20) {
        f = (b & c) | (~b & d), k = 0x5A827999U;
      } else if (t < 40) {
        f = b ^ c ^ d, k = 0x6ED9EBA1U;
      } else if (t < 60) {
        f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDCU;
      } else {
        f = b ^ c ^ d, k = 0xCA62C1D6U;
      }
      const std::uint32_t temp = rotl(a, 5) + f + e + k + w[t];
      e = d, d = c, c = rotl(b, 30), b = a, a = temp;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
  }
  std::string out;
  for (std::uint32_t v : h) out += fmt::format("{:08x}", v);
  return out;
}

inline std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open", path));
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

inline std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t at = s.find(sep, start);
    out.emplace_back(
        s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return out;
}

// A CSV line with optional double-quoted fields ("" inside quotes is a quote).
inline std::vector<std::string> split_csv(std::string_view s, const std::string& file,
                                          std::size_t line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted) {
      if (c == '"' && i + 1 < s.size() && s[i + 1] == '"') {
        out.back().push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back().push_back(c);
      }
    } else if (c == '"' && out.back().empty()) {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else {
      out.back().push_back(c);
    }
  }
  if (quoted) fail(file, line, "unterminated quoted field");
  return out;
}

inline std::string unescape(std::string_view s, const std::string& file, std::size_t line) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out.push_back(s[i]);
      continue;
    }
    if (++i == s.size()) fail(file, line, "a backslash at the end of a field");
    switch (s[i]) {
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case '\\':
        out.push_back('\\');
        break;
      default:
        fail(file, line, fmt::format("unknown escape \\{}", s[i]));
    }
  }
  return out;
}

// instructions.tsv: instruction_sha1 <TAB> dataset <TAB> instruction (escaped \n \t \r \\).
inline std::map<std::string, std::string> read_prompts(const std::string& path) {
  const std::vector<std::string> lines = read_lines(path);
  if (lines.empty() || lines[0] != "instruction_sha1\tdataset\tinstruction") {
    fail(path, 1, "expected the header 'instruction_sha1<TAB>dataset<TAB>instruction'");
  }
  std::map<std::string, std::string> prompts;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    const std::vector<std::string> f = split(lines[i], '\t');
    if (f.size() != 3)
      fail(path, i + 1, fmt::format("expected 3 tab-separated fields, got {}", f.size()));
    std::string text = unescape(f[2], path, i + 1);
    const std::string key = sha1_hex(text).substr(0, 12);
    if (f[0] != key) {
      fail(path, i + 1,
           fmt::format("instruction_sha1 {} does not match the text (sha1 {})", f[0], key));
    }
    if (!prompts.emplace(key, std::move(text)).second) fail(path, i + 1, "a repeated instruction");
  }
  return prompts;
}

// instructions.tsv's dataset column (the prompt's source: helpful_base, koala, oasst,
// selfinstruct, vicuna), by instruction_sha1. The file is checked by read_prompts.
inline std::map<std::string, std::string> read_prompt_datasets(const std::string& path) {
  const std::vector<std::string> lines = read_lines(path);
  std::map<std::string, std::string> datasets;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    const std::vector<std::string> f = split(lines[i], '\t');
    if (f.size() != 3)
      fail(path, i + 1, fmt::format("expected 3 tab-separated fields, got {}", f.size()));
    datasets[f[0]] = f[1];
  }
  return datasets;
}

// The prompt group of an instruction_sha1 (12 hex digits): the number it spells, so every copy
// of a prompt has the same group.
inline std::uint64_t prompt_group(const std::string& key) {
  std::uint64_t g = 0;
  for (char c : key) {
    const int v = c >= '0' && c <= '9'   ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                         : -1;
    if (v < 0 || g > (~std::uint64_t{0} >> 4U)) {
      throw std::runtime_error(fmt::format("instruction_sha1 '{}' is not hexadecimal", key));
    }
    g = (g << 4U) | static_cast<std::uint64_t>(v);
  }
  return g;
}

struct length_row {
  std::string generator;
  std::string key;
  std::int64_t output_tokens = 0;
  std::int64_t prompt_tokens = -1;  // instruction_tokens; -1 when the file has no such column
};

// token_lengths.csv: needs the columns generator, output_tokens and instruction_sha1; reads
// instruction_tokens when present.
inline std::vector<length_row> read_lengths(const std::string& path) {
  const std::vector<std::string> lines = read_lines(path);
  if (lines.empty()) fail(path, 1, "empty file");
  const std::vector<std::string> header = split_csv(lines[0], path, 1);
  const auto column = [&](const char* name) {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) fail(path, 1, fmt::format("no column '{}'", name));
    return static_cast<std::size_t>(it - header.begin());
  };
  const std::size_t gen = column("generator");
  const std::size_t out = column("output_tokens");
  const std::size_t key = column("instruction_sha1");
  const auto prompt_column = std::find(header.begin(), header.end(), "instruction_tokens");
  std::vector<length_row> rows;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    const std::vector<std::string> f = split_csv(lines[i], path, i + 1);
    if (f.size() != header.size()) {
      fail(path, i + 1, fmt::format("expected {} fields, got {}", header.size(), f.size()));
    }
    length_row r{f[gen], f[key], 0, -1};
    const auto count = [&](const std::string& field, const char* name) {
      std::size_t used = 0;
      std::int64_t v = -1;
      try {
        v = std::stoll(field, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != field.size() || v < 0) {
        fail(path, i + 1, fmt::format("{} '{}' is not an integer >= 0", name, field));
      }
      return v;
    };
    r.output_tokens = count(f[out], "output_tokens");
    if (prompt_column != header.end()) {
      r.prompt_tokens =
          count(f[static_cast<std::size_t>(prompt_column - header.begin())], "instruction_tokens");
    }
    if (r.generator.empty()) fail(path, i + 1, "empty generator");
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace rtlm::bench
