// dataset_lint: doubled BOS, assistant turns without an end-of-turn id, turns lost to truncation,
// counted per example with the first one named, and the warnings they become.
#include <string>
#include <vector>

#include "data/dataset_lint.h"
#include "tests/support/catch.h"

using namespace llmft::data;
using llmft::test::Contains;

namespace {

constexpr int32_t kBos = 1, kEos = 2, kEot = 3, M = kIgnoreIndex;
const LintRules kRules{kBos, {kEot, kEos}};

TokenizedSample sample(std::vector<int32_t> ids, std::vector<int32_t> labels) { return {std::move(ids), std::move(labels)}; }

}  // namespace

TEST_CASE("lint_sample: a clean two-turn example has no findings", "[data]") {
  // BOS user A1 EOT user A2 EOT, the answers and their EOT supervised.
  const TokenizedSample s = sample({kBos, 10, 20, kEot, 11, 21, kEot}, {M, M, 20, kEot, M, 21, kEot});
  LintCounts counts;
  lint_sample(s, s, kRules, 1, counts);
  CHECK(!counts.any());
  CHECK(lint_warnings(counts, "d.jsonl").empty());
}

TEST_CASE("lint_sample: each problem counted once per example, first example kept", "[data]") {
  LintCounts counts;
  const TokenizedSample doubled = sample({kBos, kBos, 10, 20, kEos}, {M, M, M, 20, kEos});
  lint_sample(doubled, doubled, kRules, 4, counts);
  // The second turn ends with a content token: the model would never learn to stop.
  const TokenizedSample open = sample({kBos, 10, 20, kEot, 11, 21, 22}, {M, M, 20, kEot, M, 21, 22});
  lint_sample(open, open, kRules, 7, counts);
  lint_sample(open, open, kRules, 9, counts);
  // Right truncation to 4 tokens keeps the first turn whole and nothing of the second.
  const TokenizedSample full = sample({kBos, 10, 20, kEot, 11, 21, kEot}, {M, M, 20, kEot, M, 21, kEot});
  const TokenizedSample cut = sample({kBos, 10, 20, kEot}, {M, M, 20, kEot});
  lint_sample(full, cut, kRules, 12, counts);
  // Cutting into a turn (it keeps some tokens) is not losing it.
  const TokenizedSample partial = sample({kBos, 10, 20, kEot, 11, 21}, {M, M, 20, kEot, M, 21});
  lint_sample(full, partial, kRules, 13, counts);

  CHECK(counts.doubled_bos.examples == 1);
  CHECK(counts.doubled_bos.first == 4);
  CHECK(counts.missing_end_of_turn.examples == 2);
  CHECK(counts.missing_end_of_turn.first == 7);
  CHECK(counts.truncated_turn.examples == 1);
  CHECK(counts.truncated_turn.first == 12);

  const std::vector<std::string> lines = lint_warnings(counts, "d.jsonl");
  REQUIRE(lines.size() == 3);
  CHECK_THAT(lines[0], Contains("d.jsonl: two BOS tokens at the start: 1 example (first: d.jsonl:4)"));
  CHECK_THAT(lines[1], Contains("an assistant turn not ended by EOS or the template's end-of-turn token: 2 examples"));
  CHECK_THAT(lines[2], Contains("assistant turns cut away entirely by truncation: 1 example (first: d.jsonl:12)"));
  for (const std::string& line : lines) CHECK(line.find('\n') == std::string::npos);
}

TEST_CASE("lint_sample: a left-truncated example keeps its last turn", "[data]") {
  const TokenizedSample full = sample({kBos, 10, 20, kEot, 11, 21, kEot}, {M, M, 20, kEot, M, 21, kEot});
  const TokenizedSample tail = sample({11, 21, kEot}, {M, 21, kEot});
  LintCounts counts;
  lint_sample(full, tail, kRules, 2, counts);
  CHECK(counts.truncated_turn.examples == 1);
  CHECK(counts.doubled_bos.examples == 0);
  CHECK(counts.missing_end_of_turn.examples == 0);
}

TEST_CASE("merge_lint_counts sums counts and keeps the earliest example", "[data]") {
  const TokenizedSample doubled = sample({kBos, kBos, 20, kEos}, {M, M, 20, kEos});
  LintCounts a, b;
  lint_sample(doubled, doubled, kRules, 30, a);
  lint_sample(doubled, doubled, kRules, 5, b);
  lint_sample(doubled, doubled, kRules, 8, b);
  merge_lint_counts(a, b);
  CHECK(a.doubled_bos.examples == 3);
  CHECK(a.doubled_bos.first == 5);
  CHECK(!a.truncated_turn.first);
}
