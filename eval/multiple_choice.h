#pragma once
// Multiple-choice tasks scored by log-likelihood, as lm-evaluation-harness scores them.
//
// A task file is JSONL, one item per line: {"context": "...", "choices": ["...", ...], "gold": 0}.
// Each choice is scored as the continuation " " + choice (the harness's default target_delimiter)
// of the context:
//   ll(choice) = sum over the continuation's tokens of log p(token | context, earlier tokens)
//   acc        = [argmax_i ll(i) == gold]
//   acc_norm   = [argmax_i ll(i) / bytes(choice_i) == gold]   (bytes of the choice, without the delimiter)
// Tokenization follows the harness's _encode_pair: trailing spaces of the context move to the front
// of the continuation, then whole = encode(context + continuation), ctx = encode(context), and the
// continuation's tokens are whole[len(ctx):]; both without special tokens added (no BOS). An empty
// context is replaced by the BOS id (EOS when there is none), the harness's prefix token.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "model/llama.h"

namespace llmft::eval {

struct McItem {
  std::string context;
  std::vector<std::string> choices;  // at least 2
  int64_t gold = 0;                  // index into choices
};

// Throws llmft::Error naming the file, line and field.
std::vector<McItem> load_mc_task(const std::filesystem::path& path);

// True when the file's first non-empty line is a JSON object with "context", "choices" and "gold".
bool looks_like_mc_task(const std::filesystem::path& path);

// Context and continuation token ids of one (context, continuation) request, as described above.
struct EncodedPair {
  std::vector<int32_t> context;
  std::vector<int32_t> continuation;
};
EncodedPair encode_pair(const data::Tokenizer& tokenizer, const std::string& context, const std::string& continuation);

struct McItemScore {
  std::vector<double> loglikelihoods;      // per choice
  std::vector<int64_t> continuation_bytes;  // per choice: bytes of the choice text
  int64_t predicted = 0;                    // argmax of loglikelihoods (first on ties)
  int64_t predicted_norm = 0;               // argmax of loglikelihood / bytes
};

struct McResult {
  int64_t items = 0;
  int64_t correct = 0;       // acc numerator
  int64_t correct_norm = 0;  // acc_norm numerator
  std::vector<McItemScore> scores;  // per item, file order
  double acc() const { return items ? double(correct) / double(items) : 0.0; }
  double acc_norm() const { return items ? double(correct_norm) / double(items) : 0.0; }
};

struct McOptions {
  int64_t batch_size = 8;     // (item, choice) requests per forward
  int64_t max_seq_len = 2048; // inputs longer than this keep their last max_seq_len tokens (harness)
};

// Scores every choice of every item. `progress(done, total)` is called after each batch of requests.
McResult score_multiple_choice(model::LlamaForCausalLMImpl& model, const data::Tokenizer& tokenizer,
                               const std::vector<McItem>& items, const McOptions& options, c10::Device device,
                               const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace llmft::eval
