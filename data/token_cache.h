#pragma once
// Tokenized datasets on disk, so a second run (or a resume) of the same data skips tokenizing.
//
// One file per key in the cache folder: KEY.tokens, where KEY is the SHA-256 of everything that
// decides the tokens (the tokenizer's fingerprint, the data file's SHA-256, format, template and its
// text, masking, max_seq_len, truncation, bad-record policy, this file format's version). Written
// atomically (temporary file + rename), so a reader sees a whole file or none. Layout, little-endian:
//   "LLMFTTOK" | u32 version | u32 header bytes | header JSON (key, counts, stats, template)
//   | zero padding to 8 | i64 offsets[samples + 1] | i32 input_ids[tokens] | i32 labels[tokens]
// The file is memory-mapped and checked against its header before any of it is used.
#include <filesystem>
#include <optional>
#include <string>

#include "data/dataset.h"
#include "data/tokenizer.h"

namespace llmft::data {

// $LLMFT_CACHE_DIR/tokens, else $XDG_CACHE_HOME/llmft/tokens, else ~/.cache/llmft/tokens.
std::filesystem::path default_token_cache_dir();

// The key of `options` read with `tokenizer` from a file whose bytes hash to `content_sha256`,
// rendered with template `template_used`: 64 hex digits.
std::string token_cache_key(const DatasetOptions& options, const Tokenizer& tokenizer,
                            const std::string& content_sha256, const std::string& template_used);

std::filesystem::path token_cache_file(const std::filesystem::path& dir, const std::string& key);

// The cached dataset, or nullopt when there is no file for the key. A file that is truncated,
// corrupt or holds another key is ignored (nullopt, `problem` says why) and will be rewritten.
std::optional<TokenizedDataset> read_token_cache(const std::filesystem::path& file, const std::string& key,
                                                 std::string* problem = nullptr);

// Throws llmft::Error naming the file when it cannot be written (e.g. disk full).
void write_token_cache(const std::filesystem::path& file, const std::string& key, const TokenizedDataset& dataset);

}  // namespace llmft::data
