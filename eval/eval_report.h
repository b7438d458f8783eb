#pragma once
// What `llmft eval` prints: a human-readable summary (one column per prompt variant) or one JSON
// object for scripts (--json).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/eval_loss.h"
#include "eval/eval_prompts.h"
#include "eval/multiple_choice.h"

namespace llmft::eval {

struct LossRun {
  PromptVariant variant;
  std::string template_used;  // resolved by data::load_dataset ("chatml", "alpaca", "none")
  int64_t truncated = 0;      // examples cut to --max-seq-len
  int64_t dropped = 0;        // examples left without a supervised token
  LossMetrics metrics;
};

// Rows: loss, perplexity, token accuracy, examples, supervised tokens; one column per run.
std::string format_loss_table(const std::vector<LossRun>& runs);
std::string format_mc_summary(const McResult& result);

// {"task": "loss", "results": [{"template", "system", "examples", "supervised_tokens", "correct",
//  "loss", "perplexity", "token_accuracy", "truncated", "dropped"}, ...]}
nlohmann::json loss_json(const std::vector<LossRun>& runs);
// {"task": "mc", "items", "correct", "correct_norm", "acc", "acc_norm",
//  "scores": [{"loglikelihoods": [...], "bytes": [...], "predicted", "predicted_norm"}, ...]}
nlohmann::json mc_json(const McResult& result);

}  // namespace llmft::eval
