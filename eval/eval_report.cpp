#include "eval/eval_report.h"

#include <algorithm>
#include <cstdio>

namespace llmft::eval {
namespace {

std::string fixed(double value, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, value);
  return buf;
}

std::string pad_left(const std::string& s, size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

std::string pad_right(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

}  // namespace

std::string format_loss_table(const std::vector<LossRun>& runs) {
  const std::vector<std::string> names = {"loss", "perplexity", "token accuracy", "examples", "supervised tokens"};
  std::vector<std::vector<std::string>> columns;  // [run][row]
  std::vector<std::string> headers;
  for (const auto& r : runs) {
    const LossMetrics& m = r.metrics;
    headers.push_back(r.variant.label() == "auto" ? r.template_used : r.variant.label());
    columns.push_back({fixed(m.loss, 4), fixed(m.perplexity(), 3), fixed(100.0 * m.token_accuracy(), 2) + "%",
                       std::to_string(m.examples), std::to_string(m.supervised_tokens)});
  }
  size_t label_width = 0;
  for (const auto& n : names) label_width = std::max(label_width, n.size());
  std::vector<size_t> widths;
  for (size_t c = 0; c < columns.size(); ++c) {
    size_t w = headers[c].size();
    for (const auto& cell : columns[c]) w = std::max(w, cell.size());
    widths.push_back(w);
  }
  std::string out = pad_right("", label_width);
  for (size_t c = 0; c < columns.size(); ++c) out += "  " + pad_left(headers[c], widths[c]);
  out += "\n";
  for (size_t row = 0; row < names.size(); ++row) {
    out += pad_right(names[row], label_width);
    for (size_t c = 0; c < columns.size(); ++c) out += "  " + pad_left(columns[c][row], widths[c]);
    out += "\n";
  }
  return out;
}

std::string format_mc_summary(const McResult& r) {
  return "items     " + std::to_string(r.items) + "\n" + "acc       " + fixed(r.acc(), 4) + "  (" +
         std::to_string(r.correct) + "/" + std::to_string(r.items) + ")\n" + "acc_norm  " + fixed(r.acc_norm(), 4) +
         "  (" + std::to_string(r.correct_norm) + "/" + std::to_string(r.items) + ")\n";
}

nlohmann::json loss_json(const std::vector<LossRun>& runs) {
  nlohmann::json results = nlohmann::json::array();
  for (const auto& r : runs) {
    const LossMetrics& m = r.metrics;
    results.push_back({{"template", r.template_used},
                       {"system", r.variant.system ? nlohmann::json(*r.variant.system) : nlohmann::json(nullptr)},
                       {"examples", m.examples},
                       {"supervised_tokens", m.supervised_tokens},
                       {"correct", m.correct},
                       {"loss", m.loss},
                       {"perplexity", m.perplexity()},
                       {"token_accuracy", m.token_accuracy()},
                       {"truncated", r.truncated},
                       {"dropped", r.dropped}});
  }
  return {{"task", "loss"}, {"results", results}};
}

nlohmann::json mc_json(const McResult& r) {
  nlohmann::json scores = nlohmann::json::array();
  for (const auto& s : r.scores)
    scores.push_back({{"loglikelihoods", s.loglikelihoods},
                      {"bytes", s.continuation_bytes},
                      {"predicted", s.predicted},
                      {"predicted_norm", s.predicted_norm}});
  return {{"task", "mc"},     {"items", r.items},         {"correct", r.correct}, {"correct_norm", r.correct_norm},
          {"acc", r.acc()},   {"acc_norm", r.acc_norm()}, {"scores", scores}};
}

}  // namespace llmft::eval
