#pragma once
// Helpers shared by the fuzz targets (fuzz/targets/*.cpp).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "data/tokenizer.h"
#include "fuzz/targets/targets.h"

namespace llmft::fuzz {

// A directory private to this process (under $TMPDIR, else /dev/shm, else the system temp dir),
// created on first use and removed at normal exit.
const std::filesystem::path& scratch_dir();

// Writes `size` bytes to scratch_dir() / relative (creating parent folders) and returns the path.
std::filesystem::path write_scratch(const std::string& relative, const uint8_t* data, size_t size);

// Throws InvariantViolation("<what>") when `ok` is false.
void check(bool ok, const std::string& what);

// A small byte-level BPE tokenizer built in-process (once) with the special tokens every built-in
// chat template needs: <|im_start|> <|im_end|> <|begin_of_text|> <|end_of_text|> <|start_header_id|>
// <|end_header_id|> <|eot_id|> <s> </s> [INST] [/INST]; BOS <s>, EOS </s>.
const data::Tokenizer& fixture_tokenizer();

// Splits fuzz bytes into pieces at `separator` (at most `max_pieces`; the last one keeps the rest).
std::vector<std::string_view> split(std::string_view bytes, char separator, size_t max_pieces);

}  // namespace llmft::fuzz
