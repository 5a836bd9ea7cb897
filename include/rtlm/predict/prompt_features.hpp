// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "rtlm/detail/config.hpp"
#include "rtlm/predict/embedding_source.hpp"

namespace rtlm {

/// The named dense features rtlm reads from a prompt's text, in the order they occupy the first
/// slots of the feature space. Counts enter as log(1 + n) scaled to about [0, 1]; cues as 0 or 1
/// (or a count when they can repeat). docs/length-prediction.md lists the words behind each cue.
enum class prompt_cue : std::uint8_t {
  // Length statistics (over the whole prompt, however long).
  log_chars,              ///< log(1 + Unicode code points) / 10
  log_words,              ///< log(1 + words) / 8
  log_lines,              ///< log(1 + non-empty lines) / 5
  log_sentences,          ///< log(1 + sentence ends . ! ? and line ends after text) / 5
  log_question_marks,     ///< log(1 + '?')
  log_list_lines,         ///< log(1 + lines that start with "-", "*", "•" or "N." / "N)")
  log_payload_words,      ///< log(1 + words after the first ':' or newline), / 8: the input text
  digit_fraction,         ///< ASCII digits / code points
  uppercase_fraction,     ///< ASCII capitals / code points
  non_ascii_fraction,     ///< non-ASCII code points / code points
  invalid_utf8_fraction,  ///< bytes that are not valid UTF-8 / bytes
  code_markup,            ///< the prompt holds code: a ``` fence, or braces, semicolons and '='
  quoted_text,            ///< the prompt quotes text ("...", “...”) of three words or more
  // Requested length or format.
  one_word,         ///< "in one word", "a single word", "yes or no", "true or false", "only the"
  one_sentence,     ///< "one sentence", "a single line", "one line"
  brief,            ///< "short", "brief(ly)", "concise(ly)", "succinct", "in short", "quick"
  long_form,        ///< "essay", "article", "blog post", "story", "in detail", "comprehensive"
  step_by_step,     ///< "step by step", "steps", "instructions", "how to", "walk me through"
  list_format,      ///< "bullet(s)", "bulleted", "numbered", "outline", "list"
  table_format,     ///< "table", "chart", "csv", "spreadsheet"
  short_artifact,   ///< "title", "slogan", "headline", "tweet", "tagline", "name for", "haiku"
  verse,            ///< "poem", "song", "lyrics", "rap", "limerick", "sonnet", "rhyme"
  letter,           ///< "email", "letter", "message", "memo"
  requested_words,  ///< log(1 + N) for "N words" (N digits or a number word), else 0
  requested_sentences,   ///< log(1 + N) for "N sentences" or "N lines"
  requested_paragraphs,  ///< log(1 + N) for "N paragraphs"
  requested_items,  ///< log(1 + N) for "N examples", "N tips", "N bullet points", "list of N"...
  // Task.
  task_write,      ///< "write", "compose", "draft", "create", "generate", "come up with"
  task_list,       ///< "list", "enumerate", "give me", "what are some", "provide"
  task_explain,    ///< "explain", "describe", "why", "how does", "tell me about", "discuss"
  task_translate,  ///< "translate", "translation", "into English/Spanish/..."
  task_classify,   ///< "classify", "categorize", "identify", "determine", "sentiment", "rate"
  task_code,       ///< "code", "function", "program", "python", "sql", "implement", "regex"
  task_rewrite,    ///< "rewrite", "paraphrase", "rephrase", "correct", "edit", "proofread"
  task_math,       ///< "calculate", "compute", "solve", "equation", "how many", "how much"
  task_summarize,  ///< "summarize", "summary", "tl;dr", "key points", "main points"
  task_compare,    ///< "compare", "contrast", "difference(s)", "versus", "pros and cons"
  task_recommend,  ///< "suggest", "recommend", "ideas", "advice", "tips"
  task_fact,       ///< "who", "when", "where", "what is the", "define", "meaning of"
  task_choose,     ///< "which", "choose", "select", "pick"
  task_roleplay,   ///< "pretend", "act as", "you are", "roleplay", "imagine you"
  greeting,        ///< the prompt opens with "hi", "hello", "hey", "dear"
  // Input uncertainty, as RT-LM uses it.
  open_ended,           ///< "what do you think", "how can i", "best way", "opinion", "thoughts"
  multi_part,           ///< log(1 + extra questions + "also", "additionally", "as well as"...)
  vague,                ///< count of "something", "stuff", "things", "maybe", "kind of", "etc"
  ambiguous_reference,  ///< opens with a pronoun ("it", "this", "they") or has under 4 words
  // Interaction: transformation tasks whose output scales with their input.
  transform_payload,  ///< log_payload_words when task_rewrite/translate/summarize fired, else 0
  count_,             ///< the number of cues (not a cue)
};

/// The number of named dense features.
inline constexpr std::size_t prompt_cue_count = static_cast<std::size_t>(prompt_cue::count_);

/// The snake_case name of a cue, as in the enum ("requested_words"). O(1); no allocation.
[[nodiscard]] std::string_view cue_name(prompt_cue cue) noexcept;

/// What prompt_feature_extractor reads from a prompt, and how strongly each block counts.
/// Aggregate: build it with designated initializers; the extractor validates it.
struct prompt_feature_config {
  int hash_bits = 14;             ///< the hashed n-gram block has 2^hash_bits slots; 8..24
                                  ///< (2^14: larger tables gained nothing on 800 prompts)
  bool word_unigrams = true;      ///< hashed lower-cased words
  bool word_bigrams = true;       ///< hashed pairs of adjacent words (within a sentence)
  bool position_words = true;     ///< the first word, the first two and the last word, hashed apart
  int char_ngram_size = 4;        ///< hashed character n-grams inside words (with boundary marks);
                                  ///< 0 turns them off, else 2..8
  double cue_weight = 1.0;        ///< scale of the named dense block
  double word_weight = 1.0;       ///< L2 norm of the word block (unigrams, bigrams, positions)
  double char_weight = 0.5;       ///< L2 norm of the character n-gram block
  double embedding_weight = 1.0;  ///< L2 norm of the host's embedding block
  std::size_t scan_bytes = 16384;  ///< n-grams and cues come from at most this many bytes at the
                                   ///< head of the prompt and as many at its tail (>= 64)
  std::size_t embedding_dimension = 0;  ///< size of the host's block; must match the source's
};

/// A prompt as a sparse vector over [0, dimension): the named cues at [0, prompt_cue_count), the
/// hashed n-grams after them, the host's embedding last. Filled by prompt_feature_extractor; keep
/// one per thread and reuse it, so extraction allocates nothing after the first prompts. Entries
/// are unique but unordered. Not synchronized.
class prompt_features {
 public:
  /// Slot of each non-zero entry. O(1).
  [[nodiscard]] std::span<const std::uint32_t> indices() const noexcept { return indices_; }
  /// Value of each non-zero entry, parallel to indices(). O(1).
  [[nodiscard]] std::span<const double> values() const noexcept { return values_; }
  /// Non-zero entries. O(1).
  [[nodiscard]] std::size_t size() const noexcept { return indices_.size(); }
  /// Size of the feature space the vector lives in. O(1).
  [[nodiscard]] std::size_t dimension() const noexcept { return dimension_; }
  /// The value of one named cue (before cue_weight). O(1).
  [[nodiscard]] double cue(prompt_cue c) const noexcept {
    return cues_[static_cast<std::size_t>(c)];
  }
  /// The number of words the prompt had (whole prompt). O(1).
  [[nodiscard]] std::size_t word_count() const noexcept { return word_count_; }
  /// Whether the host's embedding was requested and delivered. O(1).
  [[nodiscard]] bool has_embedding() const noexcept { return has_embedding_; }

  /// Dot product with a dense weight vector of size dimension(); slots past its end count as 0.
  /// O(size()); no allocation.
  [[nodiscard]] double dot(std::span<const double> weights) const noexcept {
    double sum = 0.0;
    for (std::size_t k = 0; k < indices_.size(); ++k) {
      if (indices_[k] < weights.size()) sum += weights[indices_[k]] * values_[k];
    }
    return sum;
  }

  /// Builds a vector directly, for tests and for features computed elsewhere. Throws rtlm::error
  /// when an index is >= dimension, repeats, or a value is not finite. O(n); allocates.
  static prompt_features from_entries(std::size_t dimension, std::span<const std::uint32_t> indices,
                                      std::span<const double> values);

 private:
  friend class prompt_feature_extractor;

  std::vector<std::uint32_t> indices_;
  std::vector<double> values_;
  std::array<double, prompt_cue_count> cues_{};
  std::size_t dimension_ = 0;
  std::size_t word_count_ = 0;
  bool has_embedding_ = false;
  // Scratch for the extractor: a dense accumulator over the hashed block, the slots it touched,
  // and the embedding buffer. Kept here so extraction is const and reentrant; copies of a
  // feature vector leave it behind (it is large and all zero between extractions).
  struct scratch {
    scratch() = default;
    ~scratch() = default;
    scratch(const scratch& /*other*/) {}
    scratch& operator=(const scratch& /*other*/) { return *this; }
    scratch(scratch&&) noexcept = default;
    scratch& operator=(scratch&&) noexcept = default;
    std::vector<double> accumulator;
    std::vector<std::uint32_t> touched;
    std::vector<double> embedding;
  };
  scratch scratch_;
};

/// Turns prompt text into prompt_features: the named cues (length statistics, requested length or
/// format, task, RT-LM-style uncertainty), hashed word and character n-grams, and optionally a
/// host's embedding. UTF-8 aware and total: any byte string is a valid prompt (empty, binary,
/// invalid UTF-8, megabytes); its cost is linear in the prompt's size, and n-grams and cues read
/// at most 2 * scan_bytes of it. Immutable after construction; extract() is const and thread-safe
/// (as far as the embedding source is). Move-only is not required: copies share the source.
class prompt_feature_extractor {
 public:
  /// Validates `config` (throws rtlm::error naming the field: hash_bits outside 8..24, a
  /// char_ngram_size of 1 or above 8, a negative or non-finite weight, scan_bytes below 64, an
  /// embedding_dimension that differs from the source's or is non-zero without a source).
  /// `embeddings`, when given, must outlive the extractor.
  explicit prompt_feature_extractor(prompt_feature_config config = {},
                                    const embedding_source* embeddings = nullptr);

  /// The validated configuration.
  [[nodiscard]] const prompt_feature_config& config() const noexcept { return config_; }
  /// Size of the feature space: cues + 2^hash_bits + embedding_dimension. O(1).
  [[nodiscard]] std::size_t dimension() const noexcept { return dimension_; }

  /// Writes the features of `prompt` into `out`, reusing its storage: O(prompt bytes) time; it
  /// allocates only while `out` grows to this extractor's sizes (the first prompts). Never throws
  /// except std::bad_alloc.
  void extract(std::string_view prompt, prompt_features& out) const;

  /// Convenience: the features of `prompt` in a new object. Allocates.
  [[nodiscard]] prompt_features extract(std::string_view prompt) const {
    prompt_features f;
    extract(prompt, f);
    return f;
  }

 private:
  prompt_feature_config config_;
  const embedding_source* embeddings_ = nullptr;
  std::size_t dimension_ = 0;
};

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/predict/prompt_features-inl.hpp"
#endif
