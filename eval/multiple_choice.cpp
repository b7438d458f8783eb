#include "eval/multiple_choice.h"

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>

#include "io/error.h"

namespace llmft::eval {
namespace {

std::string where(const std::filesystem::path& path, int64_t line) {
  return path.string() + ":" + std::to_string(line);
}

McItem parse_item(const std::string& text, const std::filesystem::path& path, int64_t line) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range 406 for a number like 1e400
    throw Error(where(path, line) + ": malformed JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw Error(where(path, line) + ": expected a JSON object with context, choices and gold");
  McItem item;
  if (!j.contains("context") || !j["context"].is_string())
    throw Error(where(path, line) + ": field 'context' must be a string");
  item.context = j["context"].get<std::string>();
  if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].size() < 2)
    throw Error(where(path, line) + ": field 'choices' must be an array of at least 2 strings");
  for (const auto& c : j["choices"]) {
    if (!c.is_string()) throw Error(where(path, line) + ": field 'choices' must hold strings only");
    item.choices.push_back(c.get<std::string>());
  }
  if (!j.contains("gold") || !j["gold"].is_number_integer())
    throw Error(where(path, line) + ": field 'gold' must be an integer index into choices");
  item.gold = j["gold"].get<int64_t>();
  if (item.gold < 0 || item.gold >= int64_t(item.choices.size()))
    throw Error(where(path, line) + ": field 'gold' = " + std::to_string(item.gold) + " is not an index into its " +
                std::to_string(item.choices.size()) + " choices");
  return item;
}

bool blank(const std::string& line) {
  return line.find_first_not_of(" \t\r\n") == std::string::npos;
}

// One (item, choice) scoring request: the model input and which of its last positions are scored.
struct Request {
  int64_t item = 0;
  int64_t choice = 0;
  std::vector<int32_t> input;         // (context + continuation)[-(max_len + 1):][:-1]
  std::vector<int32_t> continuation;  // targets of input's last continuation.size() positions
};

// Sum of log p(continuation) for each request of a batch. Shapes: B requests, T longest input.
std::vector<double> score_batch(model::LlamaForCausalLMImpl& model, const std::vector<const Request*>& batch,
                                int32_t pad_id, c10::Device device) {
  int64_t T = 0;
  for (const Request* r : batch) T = std::max<int64_t>(T, int64_t(r->input.size()));
  const int64_t B = int64_t(batch.size());
  at::Tensor ids = torch::full({B, T}, int64_t(pad_id), torch::kLong);  // right-padded
  at::Tensor mask = torch::zeros({B, T}, torch::kLong);
  for (int64_t b = 0; b < B; ++b) {
    const auto& in = batch[size_t(b)]->input;
    for (size_t t = 0; t < in.size(); ++t) ids[b][int64_t(t)] = int64_t(in[t]);
    mask[b].slice(0, 0, int64_t(in.size())).fill_(1);
  }
  const at::Tensor logits = model.forward({ids.to(device), mask.to(device)}).logits;  // [B, T, V]
  std::vector<double> out;
  for (int64_t b = 0; b < B; ++b) {
    const Request& r = *batch[size_t(b)];
    const int64_t L = int64_t(r.input.size()), n = int64_t(r.continuation.size());
    const at::Tensor logp = logits[b].slice(0, L - n, L).to(at::kFloat).log_softmax(-1);  // [n, V]
    const at::Tensor target = torch::tensor(std::vector<int64_t>(r.continuation.begin(), r.continuation.end()),
                                            torch::kLong).to(device);                     // [n]
    out.push_back(logp.gather(1, target.unsqueeze(1)).sum().item<double>());
  }
  return out;
}

int64_t argmax(const std::vector<double>& v) {
  return int64_t(std::max_element(v.begin(), v.end()) - v.begin());  // first maximum, as numpy
}

}  // namespace

std::vector<McItem> load_mc_task(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open the task file");
  std::vector<McItem> items;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (blank(line)) continue;
    items.push_back(parse_item(line, path, number));
  }
  if (items.empty()) throw Error(path.string() + ": no items (expected JSONL with context, choices and gold)");
  return items;
}

bool looks_like_mc_task(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  while (std::getline(in, line)) {
    if (blank(line)) continue;
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    return j.is_object() && j.contains("context") && j.contains("choices") && j.contains("gold");
  }
  return false;
}

EncodedPair encode_pair(const data::Tokenizer& tokenizer, const std::string& context, const std::string& continuation) {
  std::string ctx = context, cont = continuation;
  const size_t kept = ctx.find_last_not_of(" \t\n\r\f\v");
  const size_t end = kept == std::string::npos ? 0 : kept + 1;
  if (end < ctx.size()) {  // trailing whitespace belongs to the continuation
    cont = ctx.substr(end) + cont;
    ctx.resize(end);
  }
  const auto whole = tokenizer.encode(ctx + cont, /*add_special=*/false);
  EncodedPair pair;
  pair.context = tokenizer.encode(ctx, /*add_special=*/false);
  const size_t split = std::min(pair.context.size(), whole.size());
  pair.continuation.assign(whole.begin() + std::ptrdiff_t(split), whole.end());
  return pair;
}

McResult score_multiple_choice(model::LlamaForCausalLMImpl& model, const data::Tokenizer& tokenizer,
                               const std::vector<McItem>& items, const McOptions& options, c10::Device device,
                               const std::function<void(int64_t, int64_t)>& progress) {
  if (options.batch_size < 1) throw Error("--batch-size must be at least 1");
  if (options.max_seq_len < 2) throw Error("--max-seq-len must be at least 2");
  const auto prefix = tokenizer.bos_id() ? tokenizer.bos_id() : tokenizer.eos_id();
  const int32_t pad_id = tokenizer.pad_id().value_or(tokenizer.eos_id().value_or(0));

  std::vector<Request> requests;
  McResult result;
  result.items = int64_t(items.size());
  result.scores.resize(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    for (size_t c = 0; c < items[i].choices.size(); ++c) {
      const std::string& choice = items[i].choices[c];
      EncodedPair pair = encode_pair(tokenizer, items[i].context, " " + choice);
      if (pair.context.empty()) {
        if (!prefix) throw Error("item " + std::to_string(i + 1) + ": empty context and the tokenizer has no BOS or EOS");
        pair.context = {*prefix};
      }
      if (pair.continuation.empty())
        throw Error("item " + std::to_string(i + 1) + ", choice " + std::to_string(c) + ": the choice has no tokens");
      std::vector<int32_t> all = pair.context;
      all.insert(all.end(), pair.continuation.begin(), pair.continuation.end());
      const size_t keep = std::min(all.size(), size_t(options.max_seq_len) + 1);
      Request r{int64_t(i), int64_t(c), std::vector<int32_t>(all.end() - std::ptrdiff_t(keep), all.end() - 1),
                std::move(pair.continuation)};
      if (r.continuation.size() > r.input.size())  // continuation longer than the window: score what fits
        r.continuation.erase(r.continuation.begin(), r.continuation.end() - std::ptrdiff_t(r.input.size()));
      requests.push_back(std::move(r));
      result.scores[i].continuation_bytes.push_back(int64_t(choice.size()));
      result.scores[i].loglikelihoods.push_back(0.0);
    }
  }

  // Longest first, as the harness orders requests: similar lengths share a batch (less padding).
  std::vector<const Request*> order;
  for (const auto& r : requests) order.push_back(&r);
  std::stable_sort(order.begin(), order.end(),
                   [](const Request* a, const Request* b) { return a->input.size() > b->input.size(); });

  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  try {
    const int64_t total = int64_t(order.size());
    for (int64_t start = 0; start < total; start += options.batch_size) {
      const int64_t stop = std::min(total, start + options.batch_size);
      std::vector<const Request*> batch(order.begin() + start, order.begin() + stop);
      const auto lls = score_batch(model, batch, pad_id, device);
      for (size_t k = 0; k < batch.size(); ++k)
        result.scores[size_t(batch[k]->item)].loglikelihoods[size_t(batch[k]->choice)] = lls[k];
      if (progress) progress(stop, total);
    }
  } catch (...) {
    model.train(was_training);
    throw;
  }
  model.train(was_training);

  for (size_t i = 0; i < items.size(); ++i) {
    McItemScore& s = result.scores[i];
    std::vector<double> normed;
    for (size_t c = 0; c < s.loglikelihoods.size(); ++c)
      normed.push_back(s.loglikelihoods[c] / double(std::max<int64_t>(1, s.continuation_bytes[c])));
    s.predicted = argmax(s.loglikelihoods);
    s.predicted_norm = argmax(normed);
    result.correct += s.predicted == items[i].gold;
    result.correct_norm += s.predicted_norm == items[i].gold;
  }
  return result;
}

}  // namespace llmft::eval
