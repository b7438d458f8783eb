#include "recipes/model_export.h"

#include "data/gguf_vocab.h"
#include "data/hf_tokenizer_export.h"
#include "io/atomic_file.h"
#include "io/error.h"
#include "io/gguf.h"
#include "io/hf_checkpoint.h"
#include "model/hf_config.h"

namespace llmft::recipes {
namespace fs = std::filesystem;

void write_tokenizer_files(const fs::path& out_dir, const fs::path& source_model, const model::LlamaConfig& config) {
  if (source_model.extension() == ".gguf") {
    const io::GgufFile gguf = io::GgufFile::open(source_model);
    const data::BpeVocab vocab = data::read_gguf_bpe_vocab(gguf);
    nlohmann::json generation = {{"_from_model_config", true}};
    if (config.bos_token_id) generation["bos_token_id"] = *config.bos_token_id;
    if (!config.eos_token_ids.empty()) generation["eos_token_id"] = config.eos_token_ids.front();
    if (vocab.specials.pad_id) generation["pad_token_id"] = *vocab.specials.pad_id;
    io::write_file_atomically(out_dir / "generation_config.json", generation.dump(2) + "\n");
    io::write_file_atomically(out_dir / "tokenizer.json", data::hf_tokenizer_json(vocab).dump(2) + "\n");
    io::write_file_atomically(out_dir / "tokenizer_config.json",
                              data::hf_tokenizer_config_json(vocab, config.max_position_embeddings).dump(2) + "\n");
    return;
  }
  const fs::path source_dir = fs::is_directory(source_model) ? source_model : source_model.parent_path();
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
                           "generation_config.json", "chat_template.jinja"}) {
    const fs::path from = source_dir / name;
    if (!fs::exists(from)) continue;
    std::error_code ec;
    fs::copy_file(from, out_dir / name, fs::copy_options::overwrite_existing, ec);
    if (ec) throw Error((out_dir / name).string() + ": cannot copy from " + from.string() + ": " + ec.message());
  }
}

void write_hf_model(const fs::path& out_dir, const std::vector<io::NamedTensor>& tensors,
                    const model::LlamaConfig& config, const fs::path& source_model, uint64_t max_shard_bytes) {
  fs::create_directories(out_dir);
  io::write_hf_checkpoint(out_dir, tensors, max_shard_bytes, {{"format", "pt"}});
  io::write_file_atomically(out_dir / "config.json", model::to_hf_config_json(config).dump(2) + "\n");
  write_tokenizer_files(out_dir, source_model, config);
}

}  // namespace llmft::recipes
