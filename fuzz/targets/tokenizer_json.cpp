// tokenizer_json: the bytes as a model directory's tokenizer.json (and, after the first NUL byte,
// its tokenizer_config.json) -> data::load_hf_tokenizer(dir), as every command that tokenizes
// loads it; then a short fixed text is encoded (with and without offsets) and decoded.
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "data/hf_tokenizer_json.h"
#include "fuzz/targets/common.h"
#include "io/error.h"

namespace llmft::fuzz {

void tokenizer_json(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto parts = split(bytes, '\0', 2);
  const std::filesystem::path dir = scratch_dir() / "tokenizer";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  write_scratch("tokenizer/tokenizer.json", reinterpret_cast<const uint8_t*>(parts[0].data()), parts[0].size());
  if (parts.size() > 1)
    write_scratch("tokenizer/tokenizer_config.json", reinterpret_cast<const uint8_t*>(parts[1].data()), parts[1].size());
  try {
    const auto tokenizer = data::load_hf_tokenizer(dir);
    const int32_t vocab = tokenizer->vocab_size();
    const std::string text = "Hello world! It's 2024: naïve café, 東京 <s> [INST] ok </s>\n\t  x";
    for (bool add_special : {true, false}) {
      const auto ids = tokenizer->encode(text, add_special);
      for (int32_t id : ids) {
        check(id >= 0 && id < vocab, "tokenizer.json: encode gave an id outside the vocabulary");
        (void)tokenizer->id_to_token(id);
        (void)tokenizer->token_kind(id);
      }
      (void)tokenizer->decode(ids);
      (void)tokenizer->decode(ids, /*skip_special=*/true);
    }
    std::vector<size_t> offsets;
    const auto ids = tokenizer->encode_with_offsets(text, /*parse_special=*/true, offsets);
    check(offsets.size() == ids.size(), "tokenizer.json: one offset per id");
    for (size_t i = 0; i < offsets.size(); ++i) {
      check(offsets[i] <= text.size(), "tokenizer.json: offset past the text");
      check(i == 0 || offsets[i] >= offsets[i - 1], "tokenizer.json: offsets decrease");
    }
    (void)tokenizer->fingerprint();
  } catch (const Error&) {
  }
}

}  // namespace llmft::fuzz
