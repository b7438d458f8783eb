#include "data/dataset_lint.h"

#include <algorithm>

namespace llmft::data {
namespace {

// [begin, end) token ranges of the maximal runs of supervised labels.
std::vector<std::pair<std::size_t, std::size_t>> supervised_runs(const std::vector<int32_t>& labels) {
  std::vector<std::pair<std::size_t, std::size_t>> runs;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] == kIgnoreIndex) continue;
    if (runs.empty() || runs.back().second != i) runs.emplace_back(i, i);
    runs.back().second = i + 1;
  }
  return runs;
}

void note(LintFinding& finding, int64_t example) {
  ++finding.examples;
  if (!finding.first) finding.first = example;
}

std::string line(const LintFinding& finding, const std::string& source, const std::string& what,
                 const std::string& fix) {
  return source + ": " + what + ": " + std::to_string(finding.examples) + " example" +
         (finding.examples == 1 ? "" : "s") + " (first: " + source + ":" + std::to_string(*finding.first) + "); " + fix;
}

}  // namespace

LintRules lint_rules(const TemplateRenderer& renderer, const Tokenizer& tokenizer) {
  return {tokenizer.bos_id(), renderer.end_of_turn_ids(tokenizer)};
}

bool LintCounts::any() const {
  return doubled_bos.examples > 0 || missing_end_of_turn.examples > 0 || truncated_turn.examples > 0;
}

void lint_sample(const TokenizedSample& full, const TokenizedSample& kept, const LintRules& rules, int64_t example,
                 LintCounts& counts) {
  const auto& ids = full.input_ids;
  if (rules.bos_id && ids.size() >= 2 && ids[0] == *rules.bos_id && ids[1] == *rules.bos_id)
    note(counts.doubled_bos, example);
  const auto runs = supervised_runs(full.labels);
  // A turn is ended when an end id is among its supervised tokens: a custom format may write more
  // after the end token ("<|im_end|>\n"), and that is trained on too.
  auto is_end = [&](int32_t id) {
    return std::find(rules.end_of_turn_ids.begin(), rules.end_of_turn_ids.end(), id) != rules.end_of_turn_ids.end();
  };
  const bool unterminated = std::any_of(runs.begin(), runs.end(), [&](const auto& run) {
    return std::none_of(ids.begin() + std::ptrdiff_t(run.first), ids.begin() + std::ptrdiff_t(run.second), is_end);
  });
  if (unterminated) note(counts.missing_end_of_turn, example);
  // A turn cut short still shows as a run in `kept`; only turns with no token left are missing.
  if (supervised_runs(kept.labels).size() < runs.size()) note(counts.truncated_turn, example);
}

void merge_lint_counts(LintCounts& into, const LintCounts& from) {
  auto merge = [](LintFinding& a, const LintFinding& b) {
    a.examples += b.examples;
    if (b.first && (!a.first || *b.first < *a.first)) a.first = b.first;
  };
  merge(into.doubled_bos, from.doubled_bos);
  merge(into.missing_end_of_turn, from.missing_end_of_turn);
  merge(into.truncated_turn, from.truncated_turn);
}

std::vector<std::string> lint_warnings(const LintCounts& counts, const std::string& source) {
  std::vector<std::string> lines;
  if (counts.doubled_bos.examples > 0) {
    lines.push_back(line(counts.doubled_bos, source, "two BOS tokens at the start",
                         "the template already writes BOS, so it must not be added again (custom_template.bos: false)"));
  }
  if (counts.missing_end_of_turn.examples > 0) {
    lines.push_back(line(counts.missing_end_of_turn, source,
                         "an assistant turn not ended by EOS or the template's end-of-turn token",
                         "the model will not learn to stop: end the assistant format with the end-of-turn token"));
  }
  if (counts.truncated_turn.examples > 0) {
    lines.push_back(line(counts.truncated_turn, source, "assistant turns cut away entirely by truncation",
                         "raise data.max_seq_len or shorten the conversations"));
  }
  return lines;
}

}  // namespace llmft::data
