#pragma once
// The two sentencepiece protobuf messages llmft exchanges with libsentencepiece, in protobuf wire
// format written and read here, so the build needs no protobuf headers (Debian ships none for
// sentencepiece) and works with every libsentencepiece version:
//  - ModelProto (sentencepiece_model.proto): built from a vocabulary that is not a .model file
//    (GGUF "llama" vocabularies, Llama-style tokenizer.json), read back for piece types, and
//    rewritten to switch the dummy prefix;
//  - SentencePieceText (sentencepiece.proto): the result of EncodeAsSerializedProto, whose pieces
//    carry their byte offsets in the input.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/tokenizer.h"

namespace llmft::data {

struct SpmPiece {
  std::string piece;  // "▁the", "<0x0A>", "<s>"
  float score = 0;    // BPE: higher merges first
  TokenKind kind = TokenKind::Normal;
};

// What a BPE ModelProto needs. The normalizer is the identity (no NFKC), spaces become "▁" and
// runs of spaces are kept, as in Llama's tokenizer.model.
struct SpmModelSpec {
  std::vector<SpmPiece> pieces;
  bool byte_fallback = false;
  bool add_dummy_prefix = true;
};

// Serialized ModelProto (model type BPE) for `spec`.
std::string build_spm_model_proto(const SpmModelSpec& spec);
// The pieces of a serialized ModelProto; throws llmft::Error naming `source` when it is malformed.
std::vector<SpmPiece> read_spm_pieces(std::string_view model_proto, const std::string& source);
// `model_proto` with normalizer_spec.add_dummy_prefix set to `add`.
std::string spm_set_dummy_prefix(std::string_view model_proto, bool add, const std::string& source);

struct SpmEncodedPiece {
  int32_t id = 0;
  uint32_t begin = 0;  // byte offsets in the encoded input of the text the piece covers
  uint32_t end = 0;
};
// The pieces of a serialized SentencePieceText.
std::vector<SpmEncodedPiece> read_spm_text(std::string_view serialized, const std::string& source);

}  // namespace llmft::data
