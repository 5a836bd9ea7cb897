// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string_view>

#include "rtlm/detail/validate.hpp"
#include "rtlm/predict/prompt_features.hpp"

namespace rtlm {
namespace detail::text {

/// FNV-1a over bytes, with ASCII letters lower-cased.
constexpr std::uint64_t fnv1a(std::string_view s) noexcept {
  std::uint64_t h = 14695981039346656037ULL;
  for (char c : s) {
    const auto b = static_cast<unsigned char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
    h = (h ^ b) * 1099511628211ULL;
  }
  return h;
}

/// splitmix64's finalizer: spreads a 64-bit hash over all bits.
constexpr std::uint64_t mix(std::uint64_t x) noexcept {
  x ^= x >> 30U;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27U;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31U;
  return x;
}

/// How a matched cue pattern changes its cue: set it to 1, or add 1 (cues that count).
enum class cue_mode : std::uint8_t { set, add, opening };

/// A cue pattern: up to four words that must appear in a row, within one sentence.
struct cue_pattern {
  std::array<std::uint64_t, 4> words{};  // hashes, first word first
  std::uint8_t length = 0;
  prompt_cue cue = prompt_cue::count_;
  cue_mode mode = cue_mode::set;
};

constexpr cue_pattern pattern(std::string_view phrase, prompt_cue cue,
                              cue_mode mode = cue_mode::set) {
  cue_pattern p;
  p.cue = cue;
  p.mode = mode;
  std::size_t start = 0;
  while (start <= phrase.size() && p.length < 4) {
    const std::size_t space = std::min(phrase.find(' ', start), phrase.size());
    p.words[p.length++] = fnv1a(phrase.substr(start, space - start));
    start = space + 1;
  }
  return p;
}

// The phrases behind each cue, lower-case, split into words the way the tokenizer splits them
// (hyphens and other punctuation separate words, apostrophes stay inside them). std::to_array
// rather than std::array's deduction guide: the guide's fold expression over ~400 elements
// passes clang's nesting limit of 256.
// clang-format off
constexpr auto cue_patterns_unsorted = std::to_array<cue_pattern>({
    // Requested length or format.
    pattern("one word", prompt_cue::one_word), pattern("single word", prompt_cue::one_word),
    pattern("in a word", prompt_cue::one_word), pattern("yes or no", prompt_cue::one_word),
    pattern("true or false", prompt_cue::one_word), pattern("only the answer", prompt_cue::one_word),
    pattern("just the answer", prompt_cue::one_word), pattern("answer only", prompt_cue::one_word),
    pattern("only answer", prompt_cue::one_word), pattern("only the name", prompt_cue::one_word),
    pattern("only output", prompt_cue::one_word), pattern("only respond", prompt_cue::one_word),
    pattern("only reply", prompt_cue::one_word), pattern("just say", prompt_cue::one_word),
    pattern("only the number", prompt_cue::one_word), pattern("only the letter", prompt_cue::one_word),
    pattern("one sentence", prompt_cue::one_sentence), pattern("single sentence", prompt_cue::one_sentence),
    pattern("a sentence", prompt_cue::one_sentence), pattern("one line", prompt_cue::one_sentence),
    pattern("single line", prompt_cue::one_sentence), pattern("one liner", prompt_cue::one_sentence),
    pattern("short", prompt_cue::brief), pattern("shorter", prompt_cue::brief),
    pattern("brief", prompt_cue::brief), pattern("briefly", prompt_cue::brief),
    pattern("concise", prompt_cue::brief), pattern("concisely", prompt_cue::brief),
    pattern("succinct", prompt_cue::brief), pattern("succinctly", prompt_cue::brief),
    pattern("in short", prompt_cue::brief), pattern("quick", prompt_cue::brief),
    pattern("quickly", prompt_cue::brief), pattern("few words", prompt_cue::brief),
    pattern("essay", prompt_cue::long_form), pattern("article", prompt_cue::long_form),
    pattern("blog", prompt_cue::long_form), pattern("story", prompt_cue::long_form),
    pattern("detailed", prompt_cue::long_form), pattern("in detail", prompt_cue::long_form),
    pattern("comprehensive", prompt_cue::long_form), pattern("elaborate", prompt_cue::long_form),
    pattern("thorough", prompt_cue::long_form), pattern("thoroughly", prompt_cue::long_form),
    pattern("lengthy", prompt_cue::long_form), pattern("report", prompt_cue::long_form),
    pattern("guide", prompt_cue::long_form), pattern("tutorial", prompt_cue::long_form),
    pattern("speech", prompt_cue::long_form), pattern("screenplay", prompt_cue::long_form),
    pattern("chapter", prompt_cue::long_form), pattern("plan", prompt_cue::long_form),
    pattern("proposal", prompt_cue::long_form), pattern("itinerary", prompt_cue::long_form),
    pattern("curriculum", prompt_cue::long_form), pattern("in depth", prompt_cue::long_form),
    pattern("extensive", prompt_cue::long_form), pattern("biography", prompt_cue::long_form),
    pattern("dialogue", prompt_cue::long_form), pattern("conversation", prompt_cue::long_form),
    pattern("paper", prompt_cue::long_form), pattern("review", prompt_cue::long_form),
    pattern("step by step", prompt_cue::step_by_step), pattern("steps", prompt_cue::step_by_step),
    pattern("instructions", prompt_cue::step_by_step), pattern("how to", prompt_cue::step_by_step),
    pattern("how do i", prompt_cue::step_by_step), pattern("how can i", prompt_cue::step_by_step),
    pattern("walk me through", prompt_cue::step_by_step), pattern("procedure", prompt_cue::step_by_step),
    pattern("process", prompt_cue::step_by_step), pattern("recipe", prompt_cue::step_by_step),
    pattern("bullet", prompt_cue::list_format), pattern("bullets", prompt_cue::list_format),
    pattern("bulleted", prompt_cue::list_format), pattern("numbered", prompt_cue::list_format),
    pattern("outline", prompt_cue::list_format), pattern("list", prompt_cue::list_format),
    pattern("checklist", prompt_cue::list_format),
    pattern("table", prompt_cue::table_format), pattern("chart", prompt_cue::table_format),
    pattern("csv", prompt_cue::table_format), pattern("spreadsheet", prompt_cue::table_format),
    pattern("columns", prompt_cue::table_format),
    pattern("title", prompt_cue::short_artifact), pattern("titles", prompt_cue::short_artifact),
    pattern("slogan", prompt_cue::short_artifact), pattern("slogans", prompt_cue::short_artifact),
    pattern("headline", prompt_cue::short_artifact), pattern("headlines", prompt_cue::short_artifact),
    pattern("tweet", prompt_cue::short_artifact), pattern("tagline", prompt_cue::short_artifact),
    pattern("caption", prompt_cue::short_artifact), pattern("subject line", prompt_cue::short_artifact),
    pattern("name for", prompt_cue::short_artifact), pattern("names for", prompt_cue::short_artifact),
    pattern("hashtag", prompt_cue::short_artifact), pattern("hashtags", prompt_cue::short_artifact),
    pattern("haiku", prompt_cue::short_artifact), pattern("riddle", prompt_cue::short_artifact),
    pattern("joke", prompt_cue::short_artifact), pattern("pun", prompt_cue::short_artifact),
    pattern("acronym", prompt_cue::short_artifact), pattern("motto", prompt_cue::short_artifact),
    pattern("emoji", prompt_cue::short_artifact), pattern("nickname", prompt_cue::short_artifact),
    pattern("synonym", prompt_cue::short_artifact), pattern("synonyms", prompt_cue::short_artifact),
    pattern("antonym", prompt_cue::short_artifact), pattern("antonyms", prompt_cue::short_artifact),
    pattern("word for", prompt_cue::short_artifact),
    pattern("poem", prompt_cue::verse), pattern("poems", prompt_cue::verse),
    pattern("poetry", prompt_cue::verse), pattern("song", prompt_cue::verse),
    pattern("lyrics", prompt_cue::verse), pattern("rap", prompt_cue::verse),
    pattern("limerick", prompt_cue::verse), pattern("sonnet", prompt_cue::verse),
    pattern("verse", prompt_cue::verse), pattern("rhyme", prompt_cue::verse),
    pattern("rhymes", prompt_cue::verse), pattern("rhyming", prompt_cue::verse),
    pattern("ballad", prompt_cue::verse), pattern("haiku", prompt_cue::verse),
    pattern("email", prompt_cue::letter), pattern("e mail", prompt_cue::letter),
    pattern("letter", prompt_cue::letter), pattern("message", prompt_cue::letter),
    pattern("memo", prompt_cue::letter), pattern("cover letter", prompt_cue::letter),
    // Task.
    pattern("write", prompt_cue::task_write), pattern("compose", prompt_cue::task_write),
    pattern("draft", prompt_cue::task_write), pattern("create", prompt_cue::task_write),
    pattern("generate", prompt_cue::task_write), pattern("craft", prompt_cue::task_write),
    pattern("produce", prompt_cue::task_write), pattern("design", prompt_cue::task_write),
    pattern("develop", prompt_cue::task_write), pattern("come up with", prompt_cue::task_write),
    pattern("invent", prompt_cue::task_write), pattern("brainstorm", prompt_cue::task_write),
    pattern("list", prompt_cue::task_list), pattern("enumerate", prompt_cue::task_list),
    pattern("give me", prompt_cue::task_list), pattern("what are some", prompt_cue::task_list),
    pattern("provide", prompt_cue::task_list), pattern("name some", prompt_cue::task_list),
    pattern("examples of", prompt_cue::task_list), pattern("list of", prompt_cue::task_list),
    pattern("explain", prompt_cue::task_explain), pattern("describe", prompt_cue::task_explain),
    pattern("why", prompt_cue::task_explain), pattern("how does", prompt_cue::task_explain),
    pattern("how do", prompt_cue::task_explain), pattern("how is", prompt_cue::task_explain),
    pattern("how are", prompt_cue::task_explain), pattern("tell me about", prompt_cue::task_explain),
    pattern("discuss", prompt_cue::task_explain), pattern("clarify", prompt_cue::task_explain),
    pattern("teach", prompt_cue::task_explain), pattern("help me understand", prompt_cue::task_explain),
    pattern("overview", prompt_cue::task_explain),
    pattern("translate", prompt_cue::task_translate), pattern("translation", prompt_cue::task_translate),
    pattern("translated", prompt_cue::task_translate), pattern("into english", prompt_cue::task_translate),
    pattern("into spanish", prompt_cue::task_translate), pattern("into french", prompt_cue::task_translate),
    pattern("into german", prompt_cue::task_translate), pattern("into chinese", prompt_cue::task_translate),
    pattern("into japanese", prompt_cue::task_translate), pattern("into italian", prompt_cue::task_translate),
    pattern("to english", prompt_cue::task_translate), pattern("to spanish", prompt_cue::task_translate),
    pattern("to french", prompt_cue::task_translate), pattern("to german", prompt_cue::task_translate),
    pattern("classify", prompt_cue::task_classify), pattern("categorize", prompt_cue::task_classify),
    pattern("categorise", prompt_cue::task_classify), pattern("category", prompt_cue::task_classify),
    pattern("categories", prompt_cue::task_classify), pattern("label", prompt_cue::task_classify),
    pattern("identify", prompt_cue::task_classify), pattern("determine", prompt_cue::task_classify),
    pattern("detect", prompt_cue::task_classify), pattern("sentiment", prompt_cue::task_classify),
    pattern("rate", prompt_cue::task_classify), pattern("rating", prompt_cue::task_classify),
    pattern("decide", prompt_cue::task_classify), pattern("whether", prompt_cue::task_classify),
    pattern("true or false", prompt_cue::task_classify), pattern("is this", prompt_cue::task_classify),
    pattern("code", prompt_cue::task_code), pattern("function", prompt_cue::task_code),
    pattern("program", prompt_cue::task_code), pattern("programming", prompt_cue::task_code),
    pattern("python", prompt_cue::task_code), pattern("javascript", prompt_cue::task_code),
    pattern("java", prompt_cue::task_code), pattern("typescript", prompt_cue::task_code),
    pattern("sql", prompt_cue::task_code), pattern("query", prompt_cue::task_code),
    pattern("script", prompt_cue::task_code), pattern("implement", prompt_cue::task_code),
    pattern("algorithm", prompt_cue::task_code), pattern("regex", prompt_cue::task_code),
    pattern("regular expression", prompt_cue::task_code), pattern("html", prompt_cue::task_code),
    pattern("css", prompt_cue::task_code), pattern("bash", prompt_cue::task_code),
    pattern("latex", prompt_cue::task_code), pattern("api", prompt_cue::task_code),
    pattern("json", prompt_cue::task_code), pattern("debug", prompt_cue::task_code),
    pattern("c", prompt_cue::task_code), pattern("rust", prompt_cue::task_code),
    pattern("golang", prompt_cue::task_code), pattern("react", prompt_cue::task_code),
    pattern("array", prompt_cue::task_code), pattern("loop", prompt_cue::task_code),
    pattern("rewrite", prompt_cue::task_rewrite), pattern("re write", prompt_cue::task_rewrite),
    pattern("paraphrase", prompt_cue::task_rewrite), pattern("rephrase", prompt_cue::task_rewrite),
    pattern("reword", prompt_cue::task_rewrite), pattern("correct", prompt_cue::task_rewrite),
    pattern("edit", prompt_cue::task_rewrite), pattern("fix", prompt_cue::task_rewrite),
    pattern("proofread", prompt_cue::task_rewrite), pattern("improve", prompt_cue::task_rewrite),
    pattern("revise", prompt_cue::task_rewrite), pattern("convert", prompt_cue::task_rewrite),
    pattern("grammar", prompt_cue::task_rewrite), pattern("grammatical", prompt_cue::task_rewrite),
    pattern("spelling", prompt_cue::task_rewrite), pattern("make it", prompt_cue::task_rewrite),
    pattern("polish", prompt_cue::task_rewrite), pattern("shorten", prompt_cue::task_rewrite),
    pattern("simplify", prompt_cue::task_rewrite), pattern("more formal", prompt_cue::task_rewrite),
    pattern("more professional", prompt_cue::task_rewrite),
    pattern("calculate", prompt_cue::task_math), pattern("compute", prompt_cue::task_math),
    pattern("solve", prompt_cue::task_math), pattern("equation", prompt_cue::task_math),
    pattern("equations", prompt_cue::task_math), pattern("math", prompt_cue::task_math),
    pattern("arithmetic", prompt_cue::task_math), pattern("sum", prompt_cue::task_math),
    pattern("multiply", prompt_cue::task_math), pattern("divide", prompt_cue::task_math),
    pattern("integral", prompt_cue::task_math), pattern("derivative", prompt_cue::task_math),
    pattern("probability", prompt_cue::task_math), pattern("how many", prompt_cue::task_math),
    pattern("how much", prompt_cue::task_math), pattern("percent", prompt_cue::task_math),
    pattern("percentage", prompt_cue::task_math), pattern("average", prompt_cue::task_math),
    pattern("formula", prompt_cue::task_math), pattern("prime", prompt_cue::task_math),
    pattern("evaluate", prompt_cue::task_math),
    pattern("summarize", prompt_cue::task_summarize), pattern("summarise", prompt_cue::task_summarize),
    pattern("summary", prompt_cue::task_summarize), pattern("tl dr", prompt_cue::task_summarize),
    pattern("tldr", prompt_cue::task_summarize), pattern("key points", prompt_cue::task_summarize),
    pattern("main points", prompt_cue::task_summarize), pattern("main idea", prompt_cue::task_summarize),
    pattern("gist", prompt_cue::task_summarize), pattern("in a nutshell", prompt_cue::task_summarize),
    pattern("compare", prompt_cue::task_compare), pattern("comparison", prompt_cue::task_compare),
    pattern("contrast", prompt_cue::task_compare), pattern("difference", prompt_cue::task_compare),
    pattern("differences", prompt_cue::task_compare), pattern("versus", prompt_cue::task_compare),
    pattern("vs", prompt_cue::task_compare), pattern("pros and cons", prompt_cue::task_compare),
    pattern("advantages", prompt_cue::task_compare), pattern("disadvantages", prompt_cue::task_compare),
    pattern("similarities", prompt_cue::task_compare), pattern("better", prompt_cue::task_compare),
    pattern("suggest", prompt_cue::task_recommend), pattern("suggestions", prompt_cue::task_recommend),
    pattern("recommend", prompt_cue::task_recommend),
    pattern("recommendations", prompt_cue::task_recommend),
    pattern("ideas", prompt_cue::task_recommend), pattern("idea", prompt_cue::task_recommend),
    pattern("advice", prompt_cue::task_recommend), pattern("tips", prompt_cue::task_recommend),
    pattern("help me", prompt_cue::task_recommend), pattern("should i", prompt_cue::task_recommend),
    pattern("who", prompt_cue::task_fact), pattern("when", prompt_cue::task_fact),
    pattern("where", prompt_cue::task_fact), pattern("what is the", prompt_cue::task_fact),
    pattern("what year", prompt_cue::task_fact), pattern("how old", prompt_cue::task_fact),
    pattern("how long", prompt_cue::task_fact), pattern("how far", prompt_cue::task_fact),
    pattern("capital", prompt_cue::task_fact), pattern("population", prompt_cue::task_fact),
    pattern("what does", prompt_cue::task_fact), pattern("define", prompt_cue::task_fact),
    pattern("definition", prompt_cue::task_fact), pattern("meaning of", prompt_cue::task_fact),
    pattern("stand for", prompt_cue::task_fact), pattern("what is a", prompt_cue::task_fact),
    pattern("what is an", prompt_cue::task_fact),
    pattern("which", prompt_cue::task_choose), pattern("choose", prompt_cue::task_choose),
    pattern("select", prompt_cue::task_choose), pattern("pick", prompt_cue::task_choose),
    pattern("multiple choice", prompt_cue::task_choose),
    pattern("one of the following", prompt_cue::task_choose),
    pattern("pretend", prompt_cue::task_roleplay), pattern("act as", prompt_cue::task_roleplay),
    pattern("you are", prompt_cue::task_roleplay), pattern("role play", prompt_cue::task_roleplay),
    pattern("roleplay", prompt_cue::task_roleplay), pattern("imagine you", prompt_cue::task_roleplay),
    pattern("play the role", prompt_cue::task_roleplay), pattern("in the style of", prompt_cue::task_roleplay),
    pattern("you're", prompt_cue::task_roleplay),
    pattern("hi", prompt_cue::greeting, cue_mode::opening),
    pattern("hello", prompt_cue::greeting, cue_mode::opening),
    pattern("hey", prompt_cue::greeting, cue_mode::opening),
    pattern("dear", prompt_cue::greeting, cue_mode::opening),
    pattern("greetings", prompt_cue::greeting, cue_mode::opening),
    // Input uncertainty.
    pattern("what do you think", prompt_cue::open_ended, cue_mode::add),
    pattern("your opinion", prompt_cue::open_ended, cue_mode::add),
    pattern("your thoughts", prompt_cue::open_ended, cue_mode::add),
    pattern("thoughts on", prompt_cue::open_ended, cue_mode::add),
    pattern("how can i", prompt_cue::open_ended, cue_mode::add),
    pattern("how can we", prompt_cue::open_ended, cue_mode::add),
    pattern("how should", prompt_cue::open_ended, cue_mode::add),
    pattern("what should", prompt_cue::open_ended, cue_mode::add),
    pattern("best way", prompt_cue::open_ended, cue_mode::add),
    pattern("ideas for", prompt_cue::open_ended, cue_mode::add),
    pattern("opinion", prompt_cue::open_ended, cue_mode::add),
    pattern("imagine", prompt_cue::open_ended, cue_mode::add),
    pattern("what would", prompt_cue::open_ended, cue_mode::add),
    pattern("what if", prompt_cue::open_ended, cue_mode::add),
    pattern("why do", prompt_cue::open_ended, cue_mode::add),
    pattern("why is", prompt_cue::open_ended, cue_mode::add),
    pattern("why are", prompt_cue::open_ended, cue_mode::add),
    pattern("explore", prompt_cue::open_ended, cue_mode::add),
    pattern("reflect", prompt_cue::open_ended, cue_mode::add),
    pattern("also", prompt_cue::multi_part, cue_mode::add),
    pattern("additionally", prompt_cue::multi_part, cue_mode::add),
    pattern("as well as", prompt_cue::multi_part, cue_mode::add),
    pattern("and then", prompt_cue::multi_part, cue_mode::add),
    pattern("furthermore", prompt_cue::multi_part, cue_mode::add),
    pattern("moreover", prompt_cue::multi_part, cue_mode::add),
    pattern("in addition", prompt_cue::multi_part, cue_mode::add),
    pattern("secondly", prompt_cue::multi_part, cue_mode::add),
    pattern("finally", prompt_cue::multi_part, cue_mode::add),
    pattern("something", prompt_cue::vague, cue_mode::add),
    pattern("anything", prompt_cue::vague, cue_mode::add),
    pattern("stuff", prompt_cue::vague, cue_mode::add),
    pattern("things", prompt_cue::vague, cue_mode::add),
    pattern("thing", prompt_cue::vague, cue_mode::add),
    pattern("some", prompt_cue::vague, cue_mode::add),
    pattern("maybe", prompt_cue::vague, cue_mode::add),
    pattern("perhaps", prompt_cue::vague, cue_mode::add),
    pattern("kind of", prompt_cue::vague, cue_mode::add),
    pattern("sort of", prompt_cue::vague, cue_mode::add),
    pattern("etc", prompt_cue::vague, cue_mode::add),
    pattern("whatever", prompt_cue::vague, cue_mode::add),
    pattern("somehow", prompt_cue::vague, cue_mode::add),
    pattern("general", prompt_cue::vague, cue_mode::add),
    pattern("generally", prompt_cue::vague, cue_mode::add),
    pattern("various", prompt_cue::vague, cue_mode::add),
    pattern("and so on", prompt_cue::vague, cue_mode::add),
    pattern("it", prompt_cue::ambiguous_reference, cue_mode::opening),
    pattern("this", prompt_cue::ambiguous_reference, cue_mode::opening),
    pattern("that", prompt_cue::ambiguous_reference, cue_mode::opening),
    pattern("they", prompt_cue::ambiguous_reference, cue_mode::opening),
    pattern("these", prompt_cue::ambiguous_reference, cue_mode::opening),
    pattern("those", prompt_cue::ambiguous_reference, cue_mode::opening),
    pattern("he", prompt_cue::ambiguous_reference, cue_mode::opening),
    pattern("she", prompt_cue::ambiguous_reference, cue_mode::opening),
    pattern("and", prompt_cue::ambiguous_reference, cue_mode::opening),
    pattern("but", prompt_cue::ambiguous_reference, cue_mode::opening),
    pattern("so", prompt_cue::ambiguous_reference, cue_mode::opening),
});
// clang-format on

/// The patterns sorted by their last word's hash, so a word finds the patterns it can end.
constexpr auto sorted_cue_patterns() {
  auto sorted = cue_patterns_unsorted;
  std::sort(sorted.begin(), sorted.end(), [](const cue_pattern& a, const cue_pattern& b) {
    return a.words[a.length - 1] < b.words[b.length - 1];
  });
  return sorted;
}
inline constexpr auto cue_patterns = sorted_cue_patterns();

/// What a number counts when a unit word follows it.
enum class unit_kind : std::uint8_t { words, sentences, paragraphs, items };

struct keyed_value {
  std::uint64_t hash = 0;
  double value = 0;
};

template <std::size_t N>
constexpr std::array<keyed_value, N> sorted_by_hash(std::array<keyed_value, N> table) {
  std::sort(table.begin(), table.end(),
            [](const keyed_value& a, const keyed_value& b) { return a.hash < b.hash; });
  return table;
}

constexpr keyed_value kv(std::string_view word, double value) { return {fnv1a(word), value}; }

// clang-format off
inline constexpr auto number_words = sorted_by_hash(std::array{
    kv("one", 1), kv("two", 2), kv("three", 3), kv("four", 4), kv("five", 5), kv("six", 6),
    kv("seven", 7), kv("eight", 8), kv("nine", 9), kv("ten", 10), kv("eleven", 11),
    kv("twelve", 12), kv("fifteen", 15), kv("twenty", 20), kv("thirty", 30), kv("forty", 40),
    kv("fifty", 50), kv("hundred", 100), kv("thousand", 1000), kv("couple", 2), kv("few", 3),
    kv("several", 4), kv("dozen", 12), kv("single", 1)});

inline constexpr auto unit_words = sorted_by_hash(std::array{
    kv("word", 0), kv("words", 0), kv("sentence", 1), kv("sentences", 1), kv("line", 1),
    kv("lines", 1), kv("paragraph", 2), kv("paragraphs", 2), kv("item", 3), kv("items", 3),
    kv("point", 3), kv("points", 3), kv("bullet", 3), kv("bullets", 3), kv("example", 3),
    kv("examples", 3), kv("idea", 3), kv("ideas", 3), kv("tip", 3), kv("tips", 3),
    kv("reason", 3), kv("reasons", 3), kv("way", 3), kv("ways", 3), kv("question", 3),
    kv("questions", 3), kv("step", 3), kv("steps", 3), kv("name", 3), kv("names", 3),
    kv("thing", 3), kv("things", 3), kv("option", 3), kv("options", 3), kv("suggestion", 3),
    kv("suggestions", 3), kv("fact", 3), kv("facts", 3), kv("title", 3), kv("titles", 3),
    kv("benefit", 3), kv("benefits", 3), kv("strategies", 3), kv("methods", 3), kv("books", 3),
    kv("movies", 3), kv("films", 3), kv("places", 3), kv("cities", 3), kv("countries", 3),
    kv("activities", 3), kv("recipes", 3), kv("synonyms", 3), kv("slogans", 3),
    kv("alternatives", 3), kv("quotes", 3), kv("songs", 3), kv("games", 3), kv("products", 3),
    kv("features", 3), kv("tools", 3), kv("characters", 3), kv("jokes", 3), kv("stanzas", 3),
    kv("verses", 3), kv("keywords", 3)});
// clang-format on

/// What a word means to the cue matcher, found in one probe of word_lookup.
struct word_info {
  std::uint16_t first_pattern = 0;  ///< cue_patterns[first_pattern, + pattern_count) end with it
  std::uint8_t pattern_count = 0;
  std::int8_t unit = -1;     ///< its unit_kind as a unit word, or -1
  std::uint16_t number = 0;  ///< its value as a number word, or 0
};

/// An open-addressed hash table over the words that end a cue pattern, name a number or count a
/// unit, built at compile time: one probe per word instead of three binary searches. Keys are the
/// words' fnv1a hashes; 0 marks an empty slot (no listed word hashes to 0: checked below).
struct word_table {
  static constexpr unsigned bits = 10;
  static constexpr std::size_t capacity = std::size_t{1} << bits;

  std::array<std::uint64_t, capacity> keys{};
  std::array<word_info, capacity> info{};
  std::size_t size = 0;
  bool well_formed = true;  // no key is 0, no word is listed twice as a number or a unit

  static constexpr std::size_t home(std::uint64_t hash) noexcept {
    return static_cast<std::size_t>((hash * 0x9e3779b97f4a7c15ULL) >> (64U - bits));
  }

  /// The entry of `hash`: nullptr when it is not listed. O(1) expected; no allocation.
  [[nodiscard]] constexpr const word_info* find(std::uint64_t hash) const noexcept {
    for (std::size_t i = home(hash);; i = (i + 1) & (capacity - 1)) {
      if (keys[i] == hash) return hash != 0 ? &info[i] : nullptr;
      if (keys[i] == 0) return nullptr;
    }
  }

  /// The entry of `hash`, added when it is new (compile time only; the table is half empty).
  constexpr word_info& insert(std::uint64_t hash) noexcept {
    if (hash == 0) well_formed = false;
    std::size_t i = home(hash);
    while (keys[i] != 0 && keys[i] != hash) i = (i + 1) & (capacity - 1);
    if (keys[i] == 0) ++size;
    keys[i] = hash;
    return info[i];
  }
};

constexpr word_table make_word_table() noexcept {
  word_table t;
  const auto last_word = [](const cue_pattern& p) { return p.words[p.length - 1]; };
  std::uint16_t run_start = 0;
  for (std::size_t i = 0; i < cue_patterns.size(); ++i) {
    // cue_patterns is sorted by last word: each word's patterns are one run.
    if (i > 0 && last_word(cue_patterns[i]) == last_word(cue_patterns[i - 1])) {
      ++t.insert(last_word(cue_patterns[run_start])).pattern_count;
      continue;
    }
    run_start = static_cast<std::uint16_t>(i);
    word_info& w = t.insert(last_word(cue_patterns[i]));
    w.first_pattern = run_start;
    w.pattern_count = 1;
  }
  for (const keyed_value& e : number_words) {
    word_info& w = t.insert(e.hash);
    if (w.number != 0 || e.value != static_cast<double>(static_cast<std::uint16_t>(e.value)))
      t.well_formed = false;
    w.number = static_cast<std::uint16_t>(e.value);
  }
  for (const keyed_value& e : unit_words) {
    word_info& w = t.insert(e.hash);
    if (w.unit != -1) t.well_formed = false;
    w.unit = static_cast<std::int8_t>(e.value);
  }
  return t;
}
inline constexpr word_table word_lookup = make_word_table();
static_assert(word_lookup.well_formed && word_lookup.size <= word_table::capacity / 2);

/// Decodes one UTF-8 code point of `s` at `pos`; returns its length, or 0 when the bytes there
/// are not valid UTF-8 (overlong forms, surrogates and values past U+10FFFF included).
inline std::size_t decode_utf8(std::string_view s, std::size_t pos, char32_t& cp) noexcept {
  const auto byte = [s, pos](std::size_t k) { return static_cast<unsigned char>(s[pos + k]); };
  const unsigned char b0 = byte(0);
  if (b0 < 0x80U) {
    cp = b0;
    return 1;
  }
  std::size_t n = 0;
  char32_t min = 0;
  if ((b0 & 0xE0U) == 0xC0U) {
    n = 2;
    cp = b0 & 0x1FU;
    min = 0x80;
  } else if ((b0 & 0xF0U) == 0xE0U) {
    n = 3;
    cp = b0 & 0x0FU;
    min = 0x800;
  } else if ((b0 & 0xF8U) == 0xF0U) {
    n = 4;
    cp = b0 & 0x07U;
    min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() - pos < n) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(k) & 0xC0U) != 0x80U) return 0;
    cp = (cp << 6U) | (byte(k) & 0x3FU);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

/// Scripts written without spaces: each code point is a word of its own.
constexpr bool is_unspaced_script(char32_t cp) noexcept {
  return (cp >= 0x2E80 && cp <= 0x9FFF) || (cp >= 0xAC00 && cp <= 0xD7AF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x2FA1F);
}

/// Non-ASCII punctuation and spaces that separate words.
constexpr bool is_unicode_separator(char32_t cp) noexcept {
  return (cp >= 0x80 && cp <= 0xBF) || cp == 0xD7 || cp == 0xF7 || (cp >= 0x2000 && cp <= 0x2BFF) ||
         (cp >= 0x3000 && cp <= 0x303F) || (cp >= 0xFE30 && cp <= 0xFE4F) ||
         (cp >= 0xFF00 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) || cp == 0xFEFF;
}

/// Classes of bytes for the ASCII word reader: letters and digits make words; an apostrophe
/// continues one. Bytes 0x80 and up are class 0 (the UTF-8 path reads them).
enum ascii_class : std::uint8_t {
  ascii_upper = 1U,
  ascii_digit = 2U,
  ascii_letter_or_digit = 4U,
  ascii_apostrophe = 8U,
};

inline constexpr std::array<std::uint8_t, 256> ascii_classes = [] {
  std::array<std::uint8_t, 256> t{};
  for (std::size_t b = 0; b < 128; ++b) {
    const bool upper = b >= 'A' && b <= 'Z';
    const bool lower = b >= 'a' && b <= 'z';
    const bool digit = b >= '0' && b <= '9';
    std::uint8_t c = 0;
    if (upper) c |= ascii_upper;
    if (digit) c |= ascii_digit;
    if (upper || lower || digit) c |= ascii_letter_or_digit;
    if (b == '\'') c |= ascii_apostrophe;
    t[b] = c;
  }
  return t;
}();

constexpr std::uint64_t fnv_offset_basis = 14695981039346656037ULL;
constexpr std::uint64_t fnv_prime = 1099511628211ULL;

constexpr std::uint64_t unigram_salt = 0x9e3779b97f4a7c15ULL;
constexpr std::uint64_t bigram_salt = 0xc2b2ae3d27d4eb4fULL;
constexpr std::uint64_t first_salt = 0x165667b19e3779f9ULL;
constexpr std::uint64_t first_two_salt = 0x27d4eb2f165667c5ULL;
constexpr std::uint64_t last_salt = 0x85ebca77c2b2ae63ULL;
constexpr std::uint64_t char_salt = 0xff51afd7ed558ccdULL;

/// The streaming state of one extraction: statistics over the whole prompt, and n-grams and cues
/// over the scanned head and tail.
class feature_scanner {
 public:
  feature_scanner(const prompt_feature_config& config, std::array<double, prompt_cue_count>& cues,
                  std::vector<double>& accumulator, std::vector<std::uint32_t>& touched) noexcept
      : config_(config),
        cues_(cues),
        accumulator_(accumulator),
        touched_(touched),
        word_slots_(config.char_ngram_size > 0 ? hashed_slots(config) / 2 : hashed_slots(config)),
        char_offset_(word_slots_),
        char_slots_(hashed_slots(config) - word_slots_) {}

  void run(std::string_view text) noexcept {
    const std::size_t n = text.size();
    text_ = text;
    head_end_ = n <= 2 * config_.scan_bytes ? n : config_.scan_bytes;
    tail_begin_ = n <= 2 * config_.scan_bytes ? n : n - config_.scan_bytes;
    bytes_ = n;
    std::size_t pos = 0;
    while (pos < n) {
      const auto b = static_cast<unsigned char>(text[pos]);
      if (b < 0x80U) {
        // ASCII, the common case: a run of word bytes at once, else one separator.
        const std::uint8_t c = ascii_classes[b];
        if ((c & ascii_letter_or_digit) != 0 || ((c & ascii_apostrophe) != 0 && word_len_ > 0)) {
          pos = read_ascii_word(pos);
          continue;
        }
        ++code_points_;
        end_word(pos);
        on_ascii_separator(static_cast<char>(b), pos);
        ++pos;
        continue;
      }
      char32_t cp = 0;
      const std::size_t len = decode_utf8(text, pos, cp);
      if (len == 0) {
        ++invalid_bytes_;
        end_word(pos);
        ++pos;
        continue;
      }
      ++code_points_;
      on_non_ascii(cp, text.substr(pos, len), pos);
      pos += len;
    }
    end_word(n);
    end_line();
  }

  void finish() noexcept {
    auto& c = cues_;
    const auto set = [&c](prompt_cue cue, double v) { c[static_cast<std::size_t>(cue)] = v; };
    const auto get = [&c](prompt_cue cue) { return c[static_cast<std::size_t>(cue)]; };
    const auto cps = static_cast<double>(std::max<std::size_t>(code_points_, 1));
    set(prompt_cue::log_chars, std::log1p(static_cast<double>(code_points_)) / 10.0);
    set(prompt_cue::log_words, std::log1p(static_cast<double>(words_)) / 8.0);
    set(prompt_cue::log_lines, std::log1p(static_cast<double>(lines_)) / 5.0);
    set(prompt_cue::log_sentences, std::log1p(static_cast<double>(sentences_)) / 5.0);
    set(prompt_cue::log_question_marks, std::log1p(static_cast<double>(questions_)));
    set(prompt_cue::log_list_lines, std::log1p(static_cast<double>(list_lines_)));
    set(prompt_cue::log_payload_words, std::log1p(static_cast<double>(payload_words_)) / 8.0);
    set(prompt_cue::digit_fraction, static_cast<double>(digits_) / cps);
    set(prompt_cue::uppercase_fraction, static_cast<double>(uppercase_) / cps);
    set(prompt_cue::non_ascii_fraction, static_cast<double>(non_ascii_) / cps);
    set(prompt_cue::invalid_utf8_fraction,
        bytes_ == 0 ? 0.0 : static_cast<double>(invalid_bytes_) / static_cast<double>(bytes_));
    const bool code = fences_ >= 1 || (braces_ >= 2 && semicolons_ >= 2);
    set(prompt_cue::code_markup, code ? 1.0 : 0.0);
    set(prompt_cue::quoted_text, quoted_ ? 1.0 : 0.0);
    if (words_ < 4) set(prompt_cue::ambiguous_reference, 1.0);
    const double extra_questions = questions_ > 1 ? static_cast<double>(questions_ - 1) : 0.0;
    set(prompt_cue::multi_part, std::log1p(get(prompt_cue::multi_part) + extra_questions));
    set(prompt_cue::open_ended, std::log1p(get(prompt_cue::open_ended)));
    set(prompt_cue::vague, std::log1p(get(prompt_cue::vague)));
    const bool transform = get(prompt_cue::task_rewrite) > 0 ||
                           get(prompt_cue::task_translate) > 0 ||
                           get(prompt_cue::task_summarize) > 0;
    const double payload =
        payload_words_ > 0 ? get(prompt_cue::log_payload_words) : get(prompt_cue::log_words);
    set(prompt_cue::transform_payload, transform ? payload : 0.0);
    if (config_.position_words && first_word_ != 0) {
      add_word_feature(mix(first_word_ ^ first_salt));
      if (second_word_ != 0)
        add_word_feature(mix((first_word_ * 31U + second_word_) ^ first_two_salt));
      add_word_feature(mix(last_word_ ^ last_salt));
    }
  }

  [[nodiscard]] std::size_t words() const noexcept { return words_; }
  [[nodiscard]] std::size_t char_offset() const noexcept { return char_offset_; }

 private:
  static constexpr std::size_t max_word_bytes = 48;

  /// The size of the hashed block: word slots, then character slots.
  static std::size_t hashed_slots(const prompt_feature_config& config) noexcept {
    return std::size_t{1} << static_cast<unsigned>(config.hash_bits);
  }

  /// Reads the ASCII letters, digits and apostrophes from `pos` on into the word being read;
  /// returns the position after them. `pos` holds a letter or digit, or an apostrophe inside a
  /// word.
  std::size_t read_ascii_word(std::size_t pos) noexcept {
    const std::size_t start = pos;
    if (word_len_ == 0) {
      word_start_ = pos;
      word_hash_ = fnv_offset_basis;
      word_is_number_ = true;
      if (!line_has_text_) {
        const std::uint8_t c = ascii_classes[static_cast<unsigned char>(text_[pos])];
        line_digits_only_ = (c & ascii_digit) != 0;
      }
    }
    std::uint64_t h = word_hash_;
    std::size_t len = word_len_;
    std::size_t digits = 0;
    std::size_t upper = 0;
    // Any letter, digit or apostrophe continues the word: it is not empty past its first byte.
    constexpr std::uint8_t word_byte = ascii_letter_or_digit | ascii_apostrophe;
    for (; pos < bytes_; ++pos) {
      const auto b = static_cast<unsigned char>(text_[pos]);
      const std::uint8_t c = ascii_classes[b];
      if ((c & word_byte) == 0) break;
      const auto lower = static_cast<unsigned char>((c & ascii_upper) != 0 ? b - 'A' + 'a' : b);
      h = (h ^ lower) * fnv_prime;
      if (len < max_word_bytes) word_[1 + len] = lower;
      ++len;
      digits += static_cast<std::size_t>((c & ascii_digit) >> 1U);
      upper += static_cast<std::size_t>(c & ascii_upper);
    }
    const std::size_t count = pos - start;
    code_points_ += count;
    digits_ += digits;
    uppercase_ += upper;
    if (digits != count) {
      word_is_number_ = false;
      line_digits_only_ = false;
    }
    word_hash_ = h;
    word_len_ = len;
    backticks_ = 0;
    line_has_text_ = true;
    return pos;
  }

  void on_non_ascii(char32_t cp, std::string_view bytes, std::size_t pos) noexcept {
    ++non_ascii_;
    if (cp == 0x2019 && word_len_ > 0) {  // ’ inside a word is an apostrophe
      append_to_word("'", pos);
      return;
    }
    if (is_unspaced_script(cp)) {
      end_word(pos);
      append_to_word(bytes, pos);
      end_word(pos);
      line_has_text_ = true;
      return;
    }
    if (is_unicode_separator(cp)) {
      end_word(pos);
      if (cp == 0x201C) open_quote();
      if (cp == 0x201D) close_quote();
      if (cp == 0x2022 && !line_has_text_) list_marker_ = true;
      if (cp == 0x3002 || cp == 0xFF01 || cp == 0xFF1F) end_sentence(cp == 0xFF1F);
      return;
    }
    append_to_word(bytes, pos);
    line_has_text_ = true;
  }

  void on_ascii_separator(char c, std::size_t pos) noexcept {
    switch (c) {
      case '\n':
        end_sentence(false);
        end_line();
        if (words_ > 0 && !payload_started_) payload_started_ = true;
        break;
      case '?':
        end_sentence(true);
        break;
      case '!':
        end_sentence(false);
        break;
      case '.':
        // A full stop ends a sentence only before a space or the end ("3.5" and "e.g.x" do not).
        if (pos + 1 >= bytes_ || text_[pos + 1] == ' ' || text_[pos + 1] == '\n' ||
            text_[pos + 1] == '\t' || text_[pos + 1] == '\r') {
          end_sentence(false);
        }
        if (line_digits_only_) list_marker_ = true;
        break;
      case ':':
        if (words_ > 0 && !payload_started_) payload_started_ = true;
        break;
      case '"':
        if (in_quote_) {
          close_quote();
        } else {
          open_quote();
        }
        break;
      case '`':
        ++backticks_;
        if (backticks_ == 3) ++fences_;
        return;
      case '{':
      case '}':
        ++braces_;
        break;
      case ';':
        ++semicolons_;
        break;
      case '-':
      case '*':
        if (!line_has_text_) list_marker_ = true;
        break;
      case ')':
        if (line_digits_only_) list_marker_ = true;
        break;
      default:
        break;
    }
    backticks_ = 0;
    if (c != ' ' && c != '\t' && c != '\r') line_digits_only_ = false;
  }

  /// Appends the bytes of a non-ASCII code point (or the apostrophe that stands for ’) to the
  /// word being read. Neither is a digit, and neither holds an ASCII capital to lower-case.
  void append_to_word(std::string_view bytes, std::size_t pos) noexcept {
    if (word_len_ == 0) {
      word_start_ = pos;
      word_hash_ = fnv_offset_basis;
    }
    backticks_ = 0;
    word_is_number_ = false;
    line_digits_only_ = false;
    for (const char c : bytes) {
      const auto b = static_cast<unsigned char>(c);
      word_hash_ = (word_hash_ ^ b) * fnv_prime;
      if (word_len_ < max_word_bytes) word_[1 + word_len_] = b;
      ++word_len_;
    }
  }

  void open_quote() noexcept {
    in_quote_ = true;
    quote_words_ = 0;
  }
  void close_quote() noexcept {
    if (in_quote_ && quote_words_ >= 3) quoted_ = true;
    in_quote_ = false;
  }

  void end_sentence(bool question) noexcept {
    if (question) ++questions_;
    if (words_in_sentence_ > 0) ++sentences_;
    words_in_sentence_ = 0;
    reset_context();
  }

  void end_line() noexcept {
    if (line_has_text_) {
      ++lines_;
      if (words_in_sentence_ > 0) ++sentences_;
      if (list_marker_) ++list_lines_;
    }
    words_in_sentence_ = 0;
    line_has_text_ = false;
    line_digits_only_ = false;
    list_marker_ = false;
  }

  void reset_context() noexcept {
    ring_ = {};
    ring_size_ = 0;
    pending_number_ = 0;
  }

  [[nodiscard]] bool scanned(std::size_t pos) const noexcept {
    return pos < head_end_ || pos >= tail_begin_;
  }

  void end_word(std::size_t pos) noexcept {
    (void)pos;
    if (word_len_ == 0) return;
    ++words_;
    ++words_in_sentence_;
    if (in_quote_) ++quote_words_;
    if (payload_started_) ++payload_words_;
    if (scanned(word_start_)) {
      const int region = word_start_ < head_end_ ? 0 : 1;
      if (region != region_) {
        reset_context();
        region_ = region;
      }
      on_word();
    }
    word_len_ = 0;
  }

  void add_word_feature(std::uint64_t h) noexcept {
    if (word_slots_ == 0) return;
    add_slot(static_cast<std::uint32_t>(h & (word_slots_ - 1)));  // a power of two
  }
  void add_slot(std::uint32_t slot) noexcept {
    double& a = accumulator_[slot];
    if (a == 0.0) touched_.push_back(slot);
    a += 1.0;
  }

  void on_word() noexcept {
    const std::uint64_t h = word_hash_;
    if (first_word_ == 0) {
      first_word_ = h;
    } else if (second_word_ == 0 && words_ == 2) {
      second_word_ = h;
    }
    last_word_ = h;
    if (config_.word_unigrams) add_word_feature(mix(h ^ unigram_salt));
    if (config_.word_bigrams && ring_size_ > 0) {
      add_word_feature(mix((ring_[0] * 0x100000001b3ULL + h) ^ bigram_salt));
    }
    if (config_.char_ngram_size > 0) add_char_ngrams();
    // Shift the context ring: ring_[0] is the previous word.
    ring_[3] = ring_[2];
    ring_[2] = ring_[1];
    ring_[1] = ring_[0];
    ring_[0] = h;
    ring_size_ = std::min<std::size_t>(ring_size_ + 1, ring_.size());
    const word_info* info = word_lookup.find(h);
    if (info != nullptr) match_cues(*info);
    match_numbers(info);
  }

  void add_char_ngrams() noexcept {
    const std::size_t len = std::min(word_len_, max_word_bytes);
    const auto n = static_cast<std::size_t>(config_.char_ngram_size);
    // The word with boundary marks: '<' word '>' (word_[0] is always '<').
    word_[len + 1] = '>';
    const std::size_t total = len + 2;
    const std::size_t grams = total >= n ? total - n + 1 : 1;
    const std::size_t width = std::min(n, total);
    const std::size_t mask = char_slots_ - 1;
    for (std::size_t i = 0; i < grams; ++i) {
      std::uint64_t g = char_salt;
      for (std::size_t k = 0; k < width; ++k) g = (g ^ word_[i + k]) * fnv_prime;
      add_slot(static_cast<std::uint32_t>(char_offset_ + (mix(g) & mask)));
    }
  }

  void fire(prompt_cue cue, cue_mode mode) noexcept {
    double& v = cues_[static_cast<std::size_t>(cue)];
    if (mode == cue_mode::add) {
      v += 1.0;
    } else {
      v = 1.0;
    }
  }

  void match_cues(const word_info& info) noexcept {
    const std::size_t end = std::size_t{info.first_pattern} + info.pattern_count;
    for (std::size_t i = info.first_pattern; i < end; ++i) {
      const cue_pattern& p = cue_patterns[i];
      if (p.length > ring_size_) continue;
      if (p.mode == cue_mode::opening && words_ != 1) continue;
      bool match = true;
      // ring_[k] is the word k positions back, ring_[0] the current one.
      for (std::size_t k = 0; k < p.length && match; ++k) {
        match = ring_[k] == p.words[p.length - 1 - k];
      }
      if (match) fire(p.cue, p.mode);
    }
  }

  void set_count_cue(prompt_cue cue, double n) noexcept {
    double& v = cues_[static_cast<std::size_t>(cue)];
    v = std::max(v, std::log1p(n));
  }

  /// `info`: the current word's entry in word_lookup, or nullptr.
  void match_numbers(const word_info* info) noexcept {
    static constexpr std::uint64_t top = fnv1a("top");
    static constexpr std::uint64_t list = fnv1a("list");
    static constexpr std::uint64_t of = fnv1a("of");
    double number = 0;
    if (word_is_number_ && word_len_ <= 7) {
      for (std::size_t k = 0; k < word_len_; ++k) number = number * 10 + (word_[1 + k] - '0');
    } else if (info != nullptr) {
      number = info->number;
    }
    if (number > 0) {
      // "top 5", "list of 10": the number itself counts items.
      if ((ring_size_ >= 2 && ring_[1] == top) ||
          (ring_size_ >= 3 && ring_[1] == of && ring_[2] == list)) {
        set_count_cue(prompt_cue::requested_items, number);
      }
      pending_number_ = number;
      pending_distance_ = 0;
      return;
    }
    if (pending_number_ <= 0) return;
    if (info != nullptr && info->unit >= 0) {
      switch (static_cast<unit_kind>(info->unit)) {
        case unit_kind::words:
          set_count_cue(prompt_cue::requested_words, pending_number_);
          break;
        case unit_kind::sentences:
          set_count_cue(prompt_cue::requested_sentences, pending_number_);
          break;
        case unit_kind::paragraphs:
          set_count_cue(prompt_cue::requested_paragraphs, pending_number_);
          break;
        case unit_kind::items:
          set_count_cue(prompt_cue::requested_items, pending_number_);
          break;
      }
      pending_number_ = 0;
      return;
    }
    // One or two adjectives may stand between: "5 short paragraphs", "three main reasons".
    if (++pending_distance_ > 2) pending_number_ = 0;
  }

  const prompt_feature_config& config_;
  std::array<double, prompt_cue_count>& cues_;
  std::vector<double>& accumulator_;
  std::vector<std::uint32_t>& touched_;
  std::size_t word_slots_ = 0;
  std::size_t char_offset_ = 0;
  std::size_t char_slots_ = 0;
  std::size_t head_end_ = 0;
  std::size_t tail_begin_ = 0;
  std::size_t bytes_ = 0;
  int region_ = 0;
  std::string_view text_;

  // The word being read, lower-cased, after a '<' boundary mark: word_[1 + k] is its byte k (up
  // to max_word_bytes), with room for the closing '>' mark.
  std::array<unsigned char, max_word_bytes + 2> word_{'<'};
  std::size_t word_len_ = 0;
  std::size_t word_start_ = 0;
  std::uint64_t word_hash_ = 0;
  bool word_is_number_ = false;

  // Context within the sentence.
  std::array<std::uint64_t, 4> ring_{};
  std::size_t ring_size_ = 0;
  double pending_number_ = 0;
  int pending_distance_ = 0;
  std::uint64_t first_word_ = 0;
  std::uint64_t second_word_ = 0;
  std::uint64_t last_word_ = 0;

  // Whole-prompt statistics.
  std::size_t code_points_ = 0;
  std::size_t invalid_bytes_ = 0;
  std::size_t non_ascii_ = 0;
  std::size_t digits_ = 0;
  std::size_t uppercase_ = 0;
  std::size_t words_ = 0;
  std::size_t words_in_sentence_ = 0;
  std::size_t sentences_ = 0;
  std::size_t lines_ = 0;
  std::size_t list_lines_ = 0;
  std::size_t questions_ = 0;
  std::size_t payload_words_ = 0;
  std::size_t quote_words_ = 0;
  std::size_t backticks_ = 0;
  std::size_t fences_ = 0;
  std::size_t braces_ = 0;
  std::size_t semicolons_ = 0;
  bool payload_started_ = false;
  bool in_quote_ = false;
  bool quoted_ = false;
  bool line_has_text_ = false;
  bool line_digits_only_ = false;
  bool list_marker_ = false;
};

}  // namespace detail::text

RTLM_INLINE std::string_view cue_name(prompt_cue cue) noexcept {
  switch (cue) {
    case prompt_cue::log_chars:
      return "log_chars";
    case prompt_cue::log_words:
      return "log_words";
    case prompt_cue::log_lines:
      return "log_lines";
    case prompt_cue::log_sentences:
      return "log_sentences";
    case prompt_cue::log_question_marks:
      return "log_question_marks";
    case prompt_cue::log_list_lines:
      return "log_list_lines";
    case prompt_cue::log_payload_words:
      return "log_payload_words";
    case prompt_cue::digit_fraction:
      return "digit_fraction";
    case prompt_cue::uppercase_fraction:
      return "uppercase_fraction";
    case prompt_cue::non_ascii_fraction:
      return "non_ascii_fraction";
    case prompt_cue::invalid_utf8_fraction:
      return "invalid_utf8_fraction";
    case prompt_cue::code_markup:
      return "code_markup";
    case prompt_cue::quoted_text:
      return "quoted_text";
    case prompt_cue::one_word:
      return "one_word";
    case prompt_cue::one_sentence:
      return "one_sentence";
    case prompt_cue::brief:
      return "brief";
    case prompt_cue::long_form:
      return "long_form";
    case prompt_cue::step_by_step:
      return "step_by_step";
    case prompt_cue::list_format:
      return "list_format";
    case prompt_cue::table_format:
      return "table_format";
    case prompt_cue::short_artifact:
      return "short_artifact";
    case prompt_cue::verse:
      return "verse";
    case prompt_cue::letter:
      return "letter";
    case prompt_cue::requested_words:
      return "requested_words";
    case prompt_cue::requested_sentences:
      return "requested_sentences";
    case prompt_cue::requested_paragraphs:
      return "requested_paragraphs";
    case prompt_cue::requested_items:
      return "requested_items";
    case prompt_cue::task_write:
      return "task_write";
    case prompt_cue::task_list:
      return "task_list";
    case prompt_cue::task_explain:
      return "task_explain";
    case prompt_cue::task_translate:
      return "task_translate";
    case prompt_cue::task_classify:
      return "task_classify";
    case prompt_cue::task_code:
      return "task_code";
    case prompt_cue::task_rewrite:
      return "task_rewrite";
    case prompt_cue::task_math:
      return "task_math";
    case prompt_cue::task_summarize:
      return "task_summarize";
    case prompt_cue::task_compare:
      return "task_compare";
    case prompt_cue::task_recommend:
      return "task_recommend";
    case prompt_cue::task_fact:
      return "task_fact";
    case prompt_cue::task_choose:
      return "task_choose";
    case prompt_cue::task_roleplay:
      return "task_roleplay";
    case prompt_cue::greeting:
      return "greeting";
    case prompt_cue::open_ended:
      return "open_ended";
    case prompt_cue::multi_part:
      return "multi_part";
    case prompt_cue::vague:
      return "vague";
    case prompt_cue::ambiguous_reference:
      return "ambiguous_reference";
    case prompt_cue::transform_payload:
      return "transform_payload";
    case prompt_cue::count_:
      return "count_";
  }
  return "unknown";
}

RTLM_INLINE prompt_features prompt_features::from_entries(std::size_t dimension,
                                                          std::span<const std::uint32_t> indices,
                                                          std::span<const double> values) {
  detail::require(indices.size() == values.size(), "prompt_features.values", values.size(),
                  fmt::format("must have one value per index ({})", indices.size()));
  prompt_features f;
  f.dimension_ = dimension;
  std::vector<std::uint32_t> seen(indices.begin(), indices.end());
  std::sort(seen.begin(), seen.end());
  detail::require(std::adjacent_find(seen.begin(), seen.end()) == seen.end(),
                  "prompt_features.indices", "a repeated index", "must be unique");
  for (std::size_t k = 0; k < indices.size(); ++k) {
    detail::require(indices[k] < dimension, "prompt_features.indices", indices[k],
                    fmt::format("must be < dimension ({})", dimension));
    detail::require(std::isfinite(values[k]), "prompt_features.values", values[k],
                    "must be finite");
    if (indices[k] < prompt_cue_count) f.cues_[indices[k]] = values[k];
  }
  f.indices_.assign(indices.begin(), indices.end());
  f.values_.assign(values.begin(), values.end());
  return f;
}

RTLM_INLINE prompt_feature_extractor::prompt_feature_extractor(prompt_feature_config config,
                                                               const embedding_source* embeddings)
    : config_(config), embeddings_(embeddings) {
  using detail::require;
  const prompt_feature_config& c = config_;
  require(c.hash_bits >= 8 && c.hash_bits <= 24, "prompt_feature_config.hash_bits", c.hash_bits,
          "must be in 8..24");
  require(c.char_ngram_size == 0 || (c.char_ngram_size >= 2 && c.char_ngram_size <= 8),
          "prompt_feature_config.char_ngram_size", c.char_ngram_size, "must be 0 (off) or 2..8");
  detail::require_non_negative_finite("prompt_feature_config.cue_weight", c.cue_weight);
  detail::require_non_negative_finite("prompt_feature_config.word_weight", c.word_weight);
  detail::require_non_negative_finite("prompt_feature_config.char_weight", c.char_weight);
  detail::require_non_negative_finite("prompt_feature_config.embedding_weight", c.embedding_weight);
  require(c.scan_bytes >= 64, "prompt_feature_config.scan_bytes", c.scan_bytes, "must be >= 64");
  if (embeddings_ == nullptr) {
    require(c.embedding_dimension == 0, "prompt_feature_config.embedding_dimension",
            c.embedding_dimension, "must be 0 without an embedding source");
  } else {
    require(
        c.embedding_dimension == embeddings_->dimension(),
        "prompt_feature_config.embedding_dimension", c.embedding_dimension,
        fmt::format("must equal the embedding source's dimension ({})", embeddings_->dimension()));
  }
  dimension_ = prompt_cue_count + (std::size_t{1} << static_cast<unsigned>(c.hash_bits)) +
               c.embedding_dimension;
}

RTLM_INLINE void prompt_feature_extractor::extract(std::string_view prompt,
                                                   prompt_features& out) const {
  const std::size_t hashed = std::size_t{1} << static_cast<unsigned>(config_.hash_bits);
  out.indices_.clear();
  out.values_.clear();
  out.cues_ = {};
  out.dimension_ = dimension_;
  out.has_embedding_ = false;
  if (out.scratch_.accumulator.size() != hashed) out.scratch_.accumulator.assign(hashed, 0.0);
  out.scratch_.touched.clear();

  detail::text::feature_scanner scanner(config_, out.cues_, out.scratch_.accumulator,
                                        out.scratch_.touched);
  scanner.run(prompt);
  scanner.finish();
  out.word_count_ = scanner.words();

  // The named cues.
  for (std::size_t k = 0; k < prompt_cue_count; ++k) {
    const double v = out.cues_[k] * config_.cue_weight;
    if (v != 0.0) {
      out.indices_.push_back(static_cast<std::uint32_t>(k));
      out.values_.push_back(v);
    }
  }
  // The hashed blocks: log(1 + count), each block scaled to its configured L2 norm.
  const std::size_t split = scanner.char_offset();
  double word_norm = 0.0;
  double char_norm = 0.0;
  // Counts are small integers: a table spares a log1p per slot.
  static constexpr std::size_t tabled = 16;
  static const std::array<double, tabled> log1p_table = [] {
    std::array<double, tabled> t{};
    for (std::size_t k = 0; k < tabled; ++k) t[k] = std::log1p(static_cast<double>(k));
    return t;
  }();
  for (std::uint32_t slot : out.scratch_.touched) {
    double& a = out.scratch_.accumulator[slot];
    const double v =
        a < static_cast<double>(tabled) ? log1p_table[static_cast<std::size_t>(a)] : std::log1p(a);
    a = v;
    (slot < split ? word_norm : char_norm) += v * v;
  }
  const double word_scale = word_norm > 0 ? config_.word_weight / std::sqrt(word_norm) : 0.0;
  const double char_scale = char_norm > 0 ? config_.char_weight / std::sqrt(char_norm) : 0.0;
  for (std::uint32_t slot : out.scratch_.touched) {
    const double v = out.scratch_.accumulator[slot] * (slot < split ? word_scale : char_scale);
    out.scratch_.accumulator[slot] = 0.0;
    if (v == 0.0) continue;
    out.indices_.push_back(static_cast<std::uint32_t>(prompt_cue_count + slot));
    out.values_.push_back(v);
  }
  out.scratch_.touched.clear();
  // The host's embedding, scaled to its configured L2 norm.
  if (embeddings_ != nullptr && config_.embedding_dimension > 0) {
    out.scratch_.embedding.resize(config_.embedding_dimension);
    out.has_embedding_ = embeddings_->embed(prompt, out.scratch_.embedding);
    double norm = 0.0;
    for (double v : out.scratch_.embedding) norm += v * v;
    if (out.has_embedding_ && norm > 0.0) {
      const double scale = config_.embedding_weight / std::sqrt(norm);
      const std::size_t base = prompt_cue_count + hashed;
      for (std::size_t k = 0; k < out.scratch_.embedding.size(); ++k) {
        if (out.scratch_.embedding[k] == 0.0) continue;
        out.indices_.push_back(static_cast<std::uint32_t>(base + k));
        out.values_.push_back(out.scratch_.embedding[k] * scale);
      }
    }
  }
}

}  // namespace rtlm
