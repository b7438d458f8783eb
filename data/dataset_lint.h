#pragma once
// Checks on tokenized training examples for template mistakes that train a model wrongly without
// failing: a doubled BOS (the template writes one and the tokenizer adds another), an assistant turn
// whose supervised tokens hold neither EOS nor the template's end-of-turn token (the model never
// learns to stop), and assistant turns cut away entirely by max_seq_len truncation.
//
// Use: rules = lint_rules(renderer, tokenizer) once; per example, lint_sample(full, kept, rules,
// line, counts) with `full` the example as tokenized with the prompt masked (train_on_prompt false)
// and before truncation, `kept` what truncation left of it; at the end lint_warnings(counts, file).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/batch.h"
#include "data/template_renderer.h"
#include "data/tokenizer.h"

namespace llmft::data {

struct LintRules {
  std::optional<int32_t> bos_id;
  std::vector<int32_t> end_of_turn_ids;  // EOS and the template's end-of-turn token(s)
};

LintRules lint_rules(const TemplateRenderer& renderer, const Tokenizer& tokenizer);

// How many examples show one problem, and the first of them (the `example` passed to lint_sample).
struct LintFinding {
  int64_t examples = 0;
  std::optional<int64_t> first;
};

struct LintCounts {
  LintFinding doubled_bos;          // the example starts with two BOS ids
  LintFinding missing_end_of_turn;  // an assistant turn's supervised ids hold no end-of-turn id
  LintFinding truncated_turn;       // truncation removed every token of at least one assistant turn
  bool any() const;
};

// An assistant turn is a maximal run of supervised labels (label != -100): `full` must have been
// tokenized with the prompt masked, or every token is one turn. `kept` is `full` after truncation
// (a prefix or a suffix of it; pass `full` again when it was not truncated).
void lint_sample(const TokenizedSample& full, const TokenizedSample& kept, const LintRules& rules, int64_t example,
                 LintCounts& counts);

// Adds `from` into `into` (counts summed, the smaller first example kept): for counts kept per thread.
void merge_lint_counts(LintCounts& into, const LintCounts& from);

// One line per problem found: "SOURCE: PROBLEM: N examples (first: SOURCE:EXAMPLE); FIX".
std::vector<std::string> lint_warnings(const LintCounts& counts, const std::string& source);

}  // namespace llmft::data
