#include "fuzz/targets/common.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <system_error>

#include <nlohmann/json.hpp>

#include "data/bpe_tokenizer.h"
#include "data/byte_unicode.h"
#include "data/hf_tokenizer_json.h"

namespace llmft::fuzz {
namespace fs = std::filesystem;

namespace {

struct ScratchDir {
  fs::path path;
  ScratchDir() {
    fs::path base;
    if (const char* tmpdir = std::getenv("TMPDIR"); tmpdir != nullptr && *tmpdir != '\0') {
      base = tmpdir;
    } else if (std::error_code ec; fs::is_directory("/dev/shm", ec)) {
      base = "/dev/shm";
    } else {
      base = fs::temp_directory_path();
    }
    path = base / ("llmft-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

}  // namespace

const fs::path& scratch_dir() {
  static const ScratchDir dir;
  return dir.path;
}

fs::path write_scratch(const std::string& relative, const uint8_t* data, size_t size) {
  const fs::path path = scratch_dir() / relative;
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) throw std::runtime_error("fuzz harness: cannot write " + path.string());
  return path;
}

void check(bool ok, const std::string& what) {
  if (!ok) throw InvariantViolation(what);
}

std::vector<std::string_view> split(std::string_view bytes, char separator, size_t max_pieces) {
  std::vector<std::string_view> pieces;
  while (pieces.size() + 1 < max_pieces) {
    const size_t at = bytes.find(separator);
    if (at == std::string_view::npos) break;
    pieces.push_back(bytes.substr(0, at));
    bytes.remove_prefix(at + 1);
  }
  pieces.push_back(bytes);
  return pieces;
}

const data::Tokenizer& fixture_tokenizer() {
  static const std::unique_ptr<data::Tokenizer> tokenizer = [] {
    using nlohmann::json;
    json vocab = json::object();
    int id = 0;
    for (int b = 0; b < 256; ++b) vocab[std::string(data::byte_spelling(static_cast<unsigned char>(b)))] = id++;
    const std::vector<std::pair<std::string, std::string>> merges = {
        {"Ġ", "t"}, {"h", "e"}, {"Ġt", "he"}, {"i", "n"}, {"a", "n"}, {"e", "r"}, {"o", "u"}, {"Ġ", "a"}};
    json merge_list = json::array();
    for (const auto& [a, b] : merges) {
      merge_list.push_back(a + " " + b);
      if (!vocab.contains(a + b)) vocab[a + b] = id++;
    }
    json added = json::array();
    for (const char* special : {"<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|end_of_text|>",
                                "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<s>", "</s>",
                                "[INST]", "[/INST]"}) {
      added.push_back({{"id", id}, {"content", special}, {"special", true}});
      vocab[special] = id++;
    }
    const json tokenizer_json = {
        {"version", "1.0"},
        {"normalizer", nullptr},
        {"added_tokens", added},
        {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
        {"post_processor", nullptr},
        {"decoder", {{"type", "ByteLevel"}}},
        {"model", {{"type", "BPE"}, {"ignore_merges", false}, {"vocab", vocab}, {"merges", merge_list}}}};
    const json config = {{"bos_token", "<s>"}, {"eos_token", "</s>"}, {"add_bos_token", false}};
    return std::make_unique<data::BpeTokenizer>(
        data::bpe_vocab_from_hf_json(tokenizer_json, config, "fuzz fixture tokenizer.json"));
  }();
  return *tokenizer;
}

const std::vector<Target>& all_targets() {
  static const std::vector<Target> targets = {
      {"safetensors", &safetensors}, {"gguf", &gguf},   {"hf_config", &hf_config},
      {"recipe", &recipe},           {"jsonl", &jsonl}, {"tokenizer_json", &tokenizer_json},
      {"chat_template", &chat_template}};
  return targets;
}

}  // namespace llmft::fuzz
