// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#include "rtlm/predict/prompt_features.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "rtlm/core/error.hpp"

namespace {

using rtlm::prompt_cue;

const rtlm::prompt_feature_extractor& extractor() {
  static const rtlm::prompt_feature_extractor e;
  return e;
}

double cue(std::string_view prompt, prompt_cue c) { return extractor().extract(prompt).cue(c); }

struct cue_case {
  const char* prompt;
  prompt_cue cue;
  double value;  // expected value (1 for a fired flag)
};

// Each cue on a prompt written to trigger it.
const std::vector<cue_case>& positive_cases() {
  static const std::vector<cue_case> cases{
      {"Answer in one word: what colour is the sky?", prompt_cue::one_word, 1},
      {"Is Paris in France? Yes or no.", prompt_cue::one_word, 1},
      {"Describe the ocean in one sentence.", prompt_cue::one_sentence, 1},
      {"Give a brief answer about tides.", prompt_cue::brief, 1},
      {"Write an essay on the causes of the French Revolution.", prompt_cue::long_form, 1},
      {"Explain in detail how vaccines work.", prompt_cue::long_form, 1},
      {"Explain step by step how to bake bread.", prompt_cue::step_by_step, 1},
      {"Summarize the plot as bullet points.", prompt_cue::list_format, 1},
      {"Put the planets and their moons in a table.", prompt_cue::table_format, 1},
      {"Suggest a slogan for a bakery.", prompt_cue::short_artifact, 1},
      {"Write a poem about autumn.", prompt_cue::verse, 1},
      {"Draft an email to my landlord about the heating.", prompt_cue::letter, 1},
      {"Describe a cat in 100 words.", prompt_cue::requested_words, std::log1p(100.0)},
      {"Tell me about Rome in three sentences.", prompt_cue::requested_sentences, std::log1p(3.0)},
      {"Write 2 short paragraphs on rain.", prompt_cue::requested_paragraphs, std::log1p(2.0)},
      {"Give me 3 bullet points on saving money.", prompt_cue::requested_items, std::log1p(3.0)},
      {"What are the top 10 movies of 1999?", prompt_cue::requested_items, std::log1p(10.0)},
      {"Write a cover story for the magazine.", prompt_cue::task_write, 1},
      {"List the primary colours.", prompt_cue::task_list, 1},
      {"Explain photosynthesis.", prompt_cue::task_explain, 1},
      {"Translate into French: good morning", prompt_cue::task_translate, 1},
      {"Classify the sentiment of this review: great food", prompt_cue::task_classify, 1},
      {"Write a Python function that reverses a string.", prompt_cue::task_code, 1},
      {"Rewrite this sentence more politely: give it back", prompt_cue::task_rewrite, 1},
      {"Calculate 17 times 23.", prompt_cue::task_math, 1},
      {"Summarize the following article: rain fell", prompt_cue::task_summarize, 1},
      {"Compare cats and dogs as pets.", prompt_cue::task_compare, 1},
      {"Can you recommend a good novel?", prompt_cue::task_recommend, 1},
      {"Who painted the Mona Lisa?", prompt_cue::task_fact, 1},
      {"Which is heavier, iron or gold?", prompt_cue::task_choose, 1},
      {"Pretend to be a pirate and greet me.", prompt_cue::task_roleplay, 1},
      {"Hello there, I need a hand with my garden.", prompt_cue::greeting, 1},
      {"What do you think about remote work?", prompt_cue::open_ended, std::log1p(1.0)},
      {"It keeps failing when I start the engine.", prompt_cue::ambiguous_reference, 1},
      {"Tell me something about stuff.", prompt_cue::vague, std::log1p(2.0)},
      {"Name a river. Also name a lake.", prompt_cue::multi_part, std::log1p(1.0)},
      {"What is a dog? What is a cat? Why?", prompt_cue::multi_part, std::log1p(2.0)},
      {"Sort this: ```x = [3, 1]```", prompt_cue::code_markup, 1},
      {"Fix the grammar in \"me and him goes home\"", prompt_cue::quoted_text, 1},
  };
  return cases;
}

// Prompts that should fire none of the requested-format, task or uncertainty cues above.
const std::vector<const char*>& neutral_prompts() {
  static const std::vector<const char*> prompts{
      "The weather in the valley turned cold last night.",
      "My neighbour planted tomatoes near the fence in April.",
  };
  return prompts;
}

TEST(prompt_features, each_cue_fires_on_its_prompt) {
  for (const cue_case& c : positive_cases()) {
    EXPECT_NEAR(cue(c.prompt, c.cue), c.value, 1e-12)
        << rtlm::cue_name(c.cue) << " on \"" << c.prompt << "\"";
  }
}

TEST(prompt_features, cues_stay_silent_on_neutral_prompts) {
  for (const char* prompt : neutral_prompts()) {
    const rtlm::prompt_features f = extractor().extract(prompt);
    for (std::size_t k = static_cast<std::size_t>(prompt_cue::code_markup);
         k < rtlm::prompt_cue_count; ++k) {
      EXPECT_EQ(f.cue(static_cast<prompt_cue>(k)), 0.0)
          << rtlm::cue_name(static_cast<prompt_cue>(k)) << " on \"" << prompt << "\"";
    }
  }
}

TEST(prompt_features, cues_need_their_whole_phrase) {
  // Near misses: the words apart, in another order, or split by a sentence end.
  EXPECT_EQ(cue("One of the words here is long.", prompt_cue::one_word), 0.0);
  EXPECT_EQ(cue("Step on it. By the way, step aside.", prompt_cue::step_by_step), 0.0);
  EXPECT_EQ(cue("I saw 100 birds and many words.", prompt_cue::requested_words), 0.0);
  EXPECT_EQ(cue("He walked 3 miles to see the points.", prompt_cue::requested_items), 0.0);
  EXPECT_EQ(cue("The greeting said hello.", prompt_cue::greeting), 0.0);  // not the opening
  EXPECT_EQ(cue("Describe the lake; it is calm.", prompt_cue::ambiguous_reference), 0.0);
}

TEST(prompt_features, length_statistics) {
  const rtlm::prompt_features f =
      extractor().extract("Rewrite the text below.\nThe cat sat.\n- one\n- two\n3. three\n");
  EXPECT_EQ(f.word_count(), 11U);
  EXPECT_NEAR(f.cue(prompt_cue::log_lines), std::log1p(5.0) / 5.0, 1e-12);
  EXPECT_NEAR(f.cue(prompt_cue::log_list_lines), std::log1p(3.0), 1e-12);
  EXPECT_NEAR(f.cue(prompt_cue::log_payload_words), std::log1p(7.0) / 8.0, 1e-12);
  EXPECT_NEAR(f.cue(prompt_cue::transform_payload), std::log1p(7.0) / 8.0, 1e-12);
  EXPECT_GT(f.cue(prompt_cue::digit_fraction), 0.0);
  EXPECT_EQ(f.cue(prompt_cue::non_ascii_fraction), 0.0);
}

TEST(prompt_features, utf8_text_is_read_as_code_points_and_words) {
  // Four CJK characters are four words; accented Latin letters stay inside their word.
  const rtlm::prompt_features cjk =
      extractor().extract("\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c");
  EXPECT_EQ(cjk.word_count(), 4U);
  EXPECT_NEAR(cjk.cue(prompt_cue::non_ascii_fraction), 1.0, 1e-12);
  EXPECT_NEAR(cjk.cue(prompt_cue::log_chars), std::log1p(4.0) / 10.0, 1e-12);
  const rtlm::prompt_features latin = extractor().extract("caf\xc3\xa9 cr\xc3\xa8me");
  EXPECT_EQ(latin.word_count(), 2U);
  EXPECT_EQ(latin.cue(prompt_cue::invalid_utf8_fraction), 0.0);
}

TEST(prompt_features, any_bytes_are_a_valid_prompt) {
  const rtlm::prompt_features empty = extractor().extract("");
  EXPECT_EQ(empty.word_count(), 0U);
  EXPECT_EQ(empty.cue(prompt_cue::ambiguous_reference), 1.0);  // under four words
  std::string garbage;
  for (int k = 0; k < 4096; ++k) garbage.push_back(static_cast<char>((k * 131 + 7) % 256));
  const rtlm::prompt_features g = extractor().extract(garbage);
  EXPECT_GT(g.cue(prompt_cue::invalid_utf8_fraction), 0.0);
  for (double v : g.values()) EXPECT_TRUE(std::isfinite(v));
  // Truncated and overlong sequences, lone surrogates, bytes past U+10FFFF.
  const rtlm::prompt_features bad =
      extractor().extract("\xc3 \xe0\x80\x80 \xed\xa0\x80 \xf4\x90\x80\x80 ok");
  EXPECT_EQ(bad.word_count(), 1U);
  EXPECT_GT(bad.cue(prompt_cue::invalid_utf8_fraction), 0.0);
}

TEST(prompt_features, megabyte_prompt_is_counted_whole_and_scanned_at_its_ends) {
  std::string big;
  while (big.size() < (1U << 20U)) big += "lorem ipsum dolor sit amet ";
  big += "Answer in one word.";
  const rtlm::prompt_features f = extractor().extract(big);
  EXPECT_EQ(f.word_count(), (big.size() - 19) / 27 * 5 + 4);
  EXPECT_EQ(f.cue(prompt_cue::one_word), 1.0);  // in the scanned tail
  EXPECT_LT(f.size(), 4000U);                   // n-grams come from at most 2 * scan_bytes
}

TEST(prompt_features, entries_are_unique_in_range_and_reuse_is_exact) {
  rtlm::prompt_features f;
  extractor().extract("Write a long story about a dragon, a knight and a dragon.", f);
  const std::vector<std::uint32_t> first(f.indices().begin(), f.indices().end());
  const std::vector<double> first_values(f.values().begin(), f.values().end());
  std::vector<std::uint32_t> sorted = first;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
  for (std::uint32_t i : first) EXPECT_LT(i, extractor().dimension());
  extractor().extract("Something else entirely.", f);
  extractor().extract("Write a long story about a dragon, a knight and a dragon.", f);
  EXPECT_EQ(std::vector<std::uint32_t>(f.indices().begin(), f.indices().end()), first);
  EXPECT_EQ(std::vector<double>(f.values().begin(), f.values().end()), first_values);
  const rtlm::prompt_features copy = f;  // a copy is a plain feature vector
  EXPECT_EQ(copy.size(), f.size());
  EXPECT_EQ(copy.dot(std::vector<double>(extractor().dimension(), 1.0)),
            f.dot(std::vector<double>(extractor().dimension(), 1.0)));
}

TEST(prompt_features, bad_configuration_names_the_field) {
  const auto field = [](rtlm::prompt_feature_config c) -> std::string {
    try {
      const rtlm::prompt_feature_extractor e(c);
    } catch (const rtlm::error& e) {
      return e.field();
    }
    return "";
  };
  EXPECT_EQ(field({.hash_bits = 7}), "prompt_feature_config.hash_bits");
  EXPECT_EQ(field({.char_ngram_size = 1}), "prompt_feature_config.char_ngram_size");
  EXPECT_EQ(field({.word_weight = -1.0}), "prompt_feature_config.word_weight");
  EXPECT_EQ(field({.scan_bytes = 10}), "prompt_feature_config.scan_bytes");
  EXPECT_EQ(field({.embedding_dimension = 3}), "prompt_feature_config.embedding_dimension");
  EXPECT_EQ(field({}), "");
}

TEST(prompt_features, from_entries_checks_its_input) {
  const std::vector<std::uint32_t> idx{0, 5};
  const std::vector<double> val{1.0, 2.0};
  const rtlm::prompt_features f = rtlm::prompt_features::from_entries(10, idx, val);
  EXPECT_EQ(f.cue(prompt_cue::log_chars), 1.0);
  EXPECT_THROW((void)rtlm::prompt_features::from_entries(5, idx, val), rtlm::error);
  const std::vector<std::uint32_t> repeated{1, 1};
  EXPECT_THROW((void)rtlm::prompt_features::from_entries(10, repeated, val), rtlm::error);
  const std::vector<double> nan{1.0, std::nan("")};
  EXPECT_THROW((void)rtlm::prompt_features::from_entries(10, idx, nan), rtlm::error);
}

class fixed_embeddings final : public rtlm::embedding_source {
 public:
  explicit fixed_embeddings(bool fail) : fail_(fail) {}
  [[nodiscard]] std::size_t dimension() const noexcept override { return 3; }

 private:
  void compute(std::string_view prompt, std::span<double> out) const override {
    if (fail_) throw std::runtime_error("encoder down");
    out[0] = 3.0;
    out[1] = static_cast<double>(prompt.size());
    out[2] = 0.0;
  }
  bool fail_;
};

TEST(prompt_features, host_embedding_is_appended_and_a_failing_source_is_contained) {
  const fixed_embeddings good(false);
  const rtlm::prompt_feature_extractor e({.embedding_weight = 1.0, .embedding_dimension = 3},
                                         &good);
  const rtlm::prompt_features f = e.extract("abcd");
  EXPECT_TRUE(f.has_embedding());
  const std::size_t base = e.dimension() - 3;
  std::vector<double> w(e.dimension(), 0.0);
  w[base] = 1.0;
  EXPECT_NEAR(f.dot(w), 3.0 / 5.0, 1e-12);  // (3, 4, 0) scaled to unit norm
  const fixed_embeddings bad(true);
  const rtlm::prompt_feature_extractor e2({.embedding_dimension = 3}, &bad);
  const rtlm::prompt_features g = e2.extract("abcd");
  EXPECT_FALSE(g.has_embedding());
  for (std::uint32_t i : g.indices()) EXPECT_LT(i, base);
}

}  // namespace
