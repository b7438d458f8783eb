#pragma once
// libFuzzer targets for llmft's input parsers. Each function feeds one fuzz input to the entry point
// users hit and swallows only the failures the product reports cleanly (llmft::Error, plus the
// parse errors the product itself maps to one); anything else escaping (another exception, an
// InvariantViolation, a crash, a sanitizer report) is a finding.
//
// The fuzzer executables (fuzz/CMakeLists.txt, clang + -fsanitize=fuzzer) call these from
// LLVMFuzzerTestOneInput; tests/unit/test_fuzz_regressions.cpp replays the seed corpora and the
// regression inputs through the same functions in the normal test build.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace llmft::fuzz {

// A broken property of a successfully parsed input (e.g. a tensor view whose size disagrees with
// the header that validated it). Deliberately not an llmft::Error, so it escapes the targets.
class InvariantViolation : public std::logic_error {
 public:
  explicit InvariantViolation(const std::string& message) : std::logic_error(message) {}
};

void safetensors(const uint8_t* data, size_t size);     // io::SafetensorsFile::open + every tensor
void gguf(const uint8_t* data, size_t size);            // io::GgufFile::open, metadata, tensors, import
void hf_config(const uint8_t* data, size_t size);       // config.json -> model::parse_hf_config
void recipe(const uint8_t* data, size_t size);          // YAML recipe + key=value overrides
void jsonl(const uint8_t* data, size_t size);           // dataset JSONL/JSON array -> records -> examples
void tokenizer_json(const uint8_t* data, size_t size);  // tokenizer.json (+ tokenizer_config.json)
void chat_template(const uint8_t* data, size_t size);   // conversations under the built-in templates

struct Target {
  const char* name;  // also the folder under fuzz/corpus, fuzz/regressions and fuzz/dict
  void (*run)(const uint8_t* data, size_t size);
};
const std::vector<Target>& all_targets();

}  // namespace llmft::fuzz
