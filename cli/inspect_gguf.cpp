#include "cli/inspect_gguf.h"

#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/format.h"
#include "io/shape_text.h"
#include "io/gguf.h"
#include "model/gguf_import.h"
#include "model/load.h"

namespace llmft::cli {
namespace {

constexpr std::size_t kArrayPreview = 5;     // elements shown of a long array
constexpr std::size_t kStringPreview = 100;  // characters shown of a long string (chat templates)

std::string quote(const std::string& s) {
  std::string out(1, '"');
  for (char c : s.substr(0, kStringPreview)) {
    if (c == '\n') out += "\\n";
    else if (c == '"') out += "\\\"";
    else out += c;
  }
  if (s.size() > kStringPreview) out += "...(" + std::to_string(s.size()) + " chars)";
  return out + "\"";
}

std::string format_value(const io::GgufValue& v) {
  struct Visitor {
    std::string operator()(int64_t x) const { return std::to_string(x); }
    std::string operator()(uint64_t x) const { return std::to_string(x); }
    std::string operator()(double x) const {
      std::ostringstream s;
      s << x;
      return s.str();
    }
    std::string operator()(bool x) const { return x ? "true" : "false"; }
    std::string operator()(const std::string& x) const { return quote(x); }
    std::string operator()(const std::shared_ptr<io::GgufArray>& a) const {
      std::ostringstream out;
      out << '[' << a->size() << " items: ";
      for (std::size_t i = 0; i < a->size() && i < kArrayPreview; ++i)
        out << (i ? ", " : "") << std::visit(Visitor{}, (*a)[i].value);
      out << (a->size() > kArrayPreview ? ", ...]" : "]");
      return out.str();
    }
  };
  return std::visit(Visitor{}, v.value);
}

}  // namespace

int inspect_gguf(const std::filesystem::path& path) {
  const io::GgufFile gguf = io::GgufFile::open(path);
  std::cout << "checkpoint: " << path.string() << "\n"
            << "format: GGUF v" << gguf.version() << ", alignment " << gguf.alignment() << ", "
            << gguf.metadata().size() << " metadata keys, " << gguf.tensors().size() << " tensors\n";

  std::cout << "metadata:\n";
  std::vector<std::vector<std::string>> meta_rows;
  for (const auto& [key, value] : gguf.metadata()) meta_rows.push_back({key, format_value(value)});
  std::cout << format_table(meta_rows);

  std::map<std::string, std::pair<int64_t, uint64_t>> type_usage;  // type -> (tensors, bytes)
  int64_t total_params = 0;
  std::vector<std::vector<std::string>> rows = {{"name", "shape (torch order)", "type", "bytes", "HF name"}};
  for (const auto& t : gguf.tensors()) {
    const std::string type = io::ggml_type_name(t.type);
    type_usage[type].first += 1;
    type_usage[type].second += t.nbytes;
    total_params += t.numel();
    rows.push_back({t.name, io::shape_text(t.torch_shape()), type, format_bytes(t.nbytes),
                    model::hf_name_for_gguf(t.name).value_or("(none)")});
  }
  std::cout << "parameters: " << format_count(total_params) << " (" << format_short_count(total_params) << ")\n";
  std::cout << "tensor types:\n";
  std::vector<std::vector<std::string>> type_rows;
  for (const auto& [type, usage] : type_usage)
    type_rows.push_back({type, std::to_string(usage.first) + " tensors", format_bytes(usage.second)});
  std::cout << format_table(type_rows);
  std::cout << "tensors (" << gguf.tensors().size() << "):\n" << format_table(rows);

  // The HF model this file becomes, and whether every tensor fits it.
  const model::LlamaConfig config = model::config_from_gguf(gguf);
  std::cout << "maps to: " << model::architecture_name(config.architecture) << " (hidden " << config.hidden_size
            << ", layers " << config.num_hidden_layers << ", heads " << config.num_attention_heads << "/"
            << config.num_key_value_heads << ", head_dim " << config.head_dim << ", vocab " << config.vocab_size
            << ", tied embeddings " << (config.tie_word_embeddings ? "yes" : "no") << ")\n";
  const auto problems = model::check_gguf_tensors(config, model::map_gguf_tensors(gguf));
  if (problems.empty()) {
    std::cout << "consistency: OK\n";
    return 0;
  }
  std::cout << "consistency: " << problems.size() << " problem(s)\n";
  std::cout.flush();
  for (const auto& p : problems) std::fprintf(stderr, "llmft: error: %s: %s\n", path.string().c_str(), p.c_str());
  return 2;
}

}  // namespace llmft::cli
