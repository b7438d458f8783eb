#include "data/tokenizer_loader.h"

#include "data/gguf_vocab.h"
#include "data/hf_tokenizer_json.h"
#include "data/sentencepiece_hf.h"
#include "io/error.h"
#include "io/gguf.h"

namespace llmft::data {

namespace fs = std::filesystem;

std::unique_ptr<Tokenizer> load_tokenizer(const fs::path& model_path) {
  if (!fs::exists(model_path)) throw Error(model_path.string() + ": no such file or directory");
  if (fs::is_directory(model_path)) return load_hf_tokenizer(model_path);
  if (model_path.extension() == ".gguf") return load_gguf_tokenizer(io::GgufFile::open(model_path));
  if (model_path.extension() == ".safetensors" || model_path.filename() == "tokenizer.json") {
    return load_hf_tokenizer(model_path.parent_path());
  }
  if (model_path.filename() == "tokenizer.model") return load_sentencepiece_dir(model_path.parent_path());
  throw Error(model_path.string() + ": not a model directory, .safetensors or .gguf file: cannot find its tokenizer");
}

}  // namespace llmft::data
