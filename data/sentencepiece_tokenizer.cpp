#include "data/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include <algorithm>

#include "data/byte_unicode.h"
#include "data/sha256.h"
#include "io/error.h"

namespace llmft::data {
namespace {

// Bump when a change to this file changes the ids any model encodes to.
constexpr const char* kSpmImplementationVersion = "llmft-spm-1";
constexpr std::string_view kMeta = "\xE2\x96\x81";  // "▁" U+2581, sentencepiece's space
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

std::string replace_meta(std::string_view piece) {
  std::string out;
  for (std::size_t pos = 0; pos < piece.size();) {
    if (piece.compare(pos, kMeta.size(), kMeta) == 0) {
      out.push_back(' ');
      pos += kMeta.size();
    } else {
      out.push_back(piece[pos++]);
    }
  }
  return out;
}

// "<0x0A>" -> 0x0A.
std::optional<unsigned char> byte_piece_value(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return std::nullopt;
  unsigned value = 0;
  for (char c : piece.substr(3, 2)) {
    value <<= 4;
    if (c >= '0' && c <= '9') value |= unsigned(c - '0');
    else if (c >= 'A' && c <= 'F') value |= unsigned(c - 'A' + 10);
    else if (c >= 'a' && c <= 'f') value |= unsigned(c - 'a' + 10);
    else return std::nullopt;
  }
  return static_cast<unsigned char>(value);
}

std::unique_ptr<sentencepiece::SentencePieceProcessor> load_processor(const std::string& proto,
                                                                      const std::string& source) {
  auto processor = std::make_unique<sentencepiece::SentencePieceProcessor>();
  const auto status = processor->LoadFromSerializedProto(proto);
  if (!status.ok()) throw Error(source + ": libsentencepiece cannot load the model: " + status.ToString());
  return processor;
}

bool starts_with_space(std::string_view text) {
  return (!text.empty() && text[0] == ' ') || text.substr(0, kMeta.size()) == kMeta;
}

}  // namespace

// Added and special tokens written in the text, by first byte, longest first.
struct SentencePieceTokenizer::Matcher {
  struct Entry {
    std::string text;
    int32_t id;
    bool control;
  };
  std::vector<Entry> by_byte[256];
  bool empty = true;

  void add(const std::string& text, int32_t id, bool control) {
    if (text.empty()) return;
    by_byte[static_cast<unsigned char>(text[0])].push_back({text, id, control});
    empty = false;
  }
  void sort() {
    for (auto& bucket : by_byte)
      std::stable_sort(bucket.begin(), bucket.end(),
                       [](const Entry& a, const Entry& b) { return a.text.size() > b.text.size(); });
  }
  const Entry* match(std::string_view text, std::size_t pos, bool parse_special) const {
    for (const Entry& entry : by_byte[static_cast<unsigned char>(text[pos])]) {
      if (entry.control && !parse_special) continue;
      if (text.compare(pos, entry.text.size(), entry.text) == 0) return &entry;
    }
    return nullptr;
  }
};

SentencePieceTokenizer::SentencePieceTokenizer(SpmTokenizerSpec spec)
    : Tokenizer(spec.specials), source_(std::move(spec.source)), options_(spec.options) {
  with_prefix_ = load_processor(spm_set_dummy_prefix(spec.model_proto, true, source_), source_);
  without_prefix_ = load_processor(spm_set_dummy_prefix(spec.model_proto, false, source_), source_);
  const std::vector<SpmPiece> model_pieces = read_spm_pieces(spec.model_proto, source_);
  if (int(model_pieces.size()) != with_prefix_->GetPieceSize()) {
    throw Error(source_ + ": read " + std::to_string(model_pieces.size()) + " pieces but libsentencepiece has " +
                std::to_string(with_prefix_->GetPieceSize()));
  }
  for (const SpmPiece& piece : model_pieces) {
    pieces_.push_back(piece.piece);
    kinds_.push_back(piece.kind);
  }
  std::vector<std::string> added_content(pieces_.size());
  std::stable_sort(spec.added.begin(), spec.added.end(),
                   [](const AddedTokenSpec& a, const AddedTokenSpec& b) { return a.id < b.id; });
  for (const AddedTokenSpec& added : spec.added) {
    const TokenKind kind = added.special ? TokenKind::Control : TokenKind::UserDefined;
    if (added.id >= 0 && std::size_t(added.id) < pieces_.size()) {
      if (kinds_[added.id] != TokenKind::Unknown) kinds_[added.id] = kind;  // unk stays unk
      added_content[added.id] = added.content;
    } else if (std::size_t(added.id) == pieces_.size()) {
      pieces_.push_back(added.content);
      kinds_.push_back(kind);
      added_content.push_back(added.content);
    } else {
      throw Error(source_ + ": added token '" + added.content + "' has id " + std::to_string(added.id) +
                  ", but the vocabulary has " + std::to_string(pieces_.size()) + " tokens (ids must follow on)");
    }
  }

  const auto n = int32_t(pieces_.size());
  auto check_special = [&](const std::optional<int32_t>& id, const char* what) {
    if (id && (*id < 0 || *id >= n)) {
      throw Error(source_ + ": " + what + " token id " + std::to_string(*id) + " is outside the vocabulary of " +
                  std::to_string(n) + " tokens");
    }
  };
  check_special(specials_.bos_id, "BOS");
  check_special(specials_.eos_id, "EOS");
  check_special(specials_.pad_id, "padding");
  check_special(specials_.unk_id, "unknown");

  matcher_ = std::make_unique<Matcher>();
  bytes_.resize(pieces_.size());
  for (int32_t id = 0; id < n; ++id) {
    const std::string& piece = pieces_[id];
    const TokenKind kind = kinds_[id];
    const std::string& text = added_content[id].empty() ? piece : added_content[id];
    index_.emplace(piece, id);
    switch (kind) {
      case TokenKind::Byte:
        if (auto value = byte_piece_value(piece)) bytes_[id] = std::string(1, char(*value));
        else bytes_[id] = piece;
        break;
      case TokenKind::Control:
      case TokenKind::Unknown:
        bytes_[id] = text;
        matcher_->add(text, id, /*control=*/true);
        break;
      case TokenKind::UserDefined:
        bytes_[id] = replace_meta(text);
        matcher_->add(text, id, /*control=*/false);
        break;
      default: bytes_[id] = replace_meta(piece);
    }
  }
  matcher_->sort();

  std::string blob;
  auto put = [&blob](std::string_view field) {
    blob += std::to_string(field.size());
    blob += ':';
    blob += field;
  };
  auto put_id = [&](const std::optional<int32_t>& id) { put(id ? std::to_string(*id) : "-"); };
  put(kSpmImplementationVersion);
  put(spec.model_proto);
  for (int32_t id = 0; id < n; ++id) {
    put(added_content[id]);
    put(std::to_string(int(kinds_[id])));
  }
  put(std::to_string(int(options_.prefix)));
  put(options_.prefix_unless_space ? "prefix_unless_space" : "-");
  put(options_.split_words ? "split_words" : "-");
  put_id(specials_.bos_id);
  put_id(specials_.eos_id);
  put_id(specials_.pad_id);
  put_id(specials_.unk_id);
  put(specials_.add_bos ? "add_bos" : "-");
  put(specials_.add_eos ? "add_eos" : "-");
  fingerprint_ = sha256_hex(blob);
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

void SentencePieceTokenizer::check_id(int32_t id) const {
  if (id < 0 || id >= vocab_size()) {
    throw Error(source_ + ": token id " + std::to_string(id) + " is outside the vocabulary of " +
                std::to_string(vocab_size()) + " tokens");
  }
}

std::vector<int32_t> SentencePieceTokenizer::encode(std::string_view text, bool add_special,
                                                    bool parse_special) const {
  return encode_impl(text, add_special, parse_special, nullptr);
}

std::vector<int32_t> SentencePieceTokenizer::encode_with_offsets(std::string_view text, bool parse_special,
                                                                 std::vector<std::size_t>& offsets) const {
  offsets.clear();
  std::vector<int32_t> ids = encode_impl(text, false, parse_special, &offsets);
  for (std::size_t& offset : offsets) offset = std::min(offset, text.size());
  return ids;
}

std::vector<int32_t> SentencePieceTokenizer::encode_impl(std::string_view text, bool add_special,
                                                         bool parse_special,
                                                         std::vector<std::size_t>* offsets) const {
  std::string repaired;
  if (!is_valid_utf8(text)) {  // read as Python and Rust strings would
    repaired = utf8_lossy(text);
    text = repaired;
  }
  std::vector<int32_t> out;
  if (add_special && specials_.add_bos && specials_.bos_id) out.push_back(*specials_.bos_id);
  std::size_t plain_start = 0;
  if (!matcher_->empty) {
    for (std::size_t pos = 0; pos < text.size();) {
      const Matcher::Entry* entry = matcher_->match(text, pos, parse_special);
      if (entry == nullptr) {
        ++pos;
        continue;
      }
      encode_segment(text.substr(plain_start, pos - plain_start), plain_start, plain_start == 0, out, offsets);
      out.push_back(entry->id);
      if (offsets) offsets->push_back(pos);
      pos += entry->text.size();
      plain_start = pos;
    }
  }
  encode_segment(text.substr(plain_start), plain_start, plain_start == 0, out, offsets);
  if (add_special && specials_.add_eos && specials_.eos_id) out.push_back(*specials_.eos_id);
  return out;
}

void SentencePieceTokenizer::encode_segment(std::string_view text, std::size_t base, bool at_start,
                                            std::vector<int32_t>& out, std::vector<std::size_t>* offsets) const {
  if (text.empty()) return;
  bool prefix = options_.prefix == SpacePrefix::kEvery || (options_.prefix == SpacePrefix::kFirst && at_start);
  if (options_.prefix_unless_space && starts_with_space(text)) prefix = false;
  if (!options_.split_words) {
    encode_spm(prefix ? *with_prefix_ : *without_prefix_, text, base, out, offsets);
    return;
  }
  // Metaspace's split: a word is a space and the text up to the next space.
  std::size_t word_start = 0;
  for (std::size_t pos = 1; pos <= text.size(); ++pos) {
    if (pos < text.size() && text[pos] != ' ') continue;
    const bool first = word_start == 0;
    encode_spm(first && prefix ? *with_prefix_ : *without_prefix_, text.substr(word_start, pos - word_start),
               base + word_start, out, offsets);
    word_start = pos;
  }
}

void SentencePieceTokenizer::encode_spm(const sentencepiece::SentencePieceProcessor& processor,
                                        std::string_view text, std::size_t base, std::vector<int32_t>& out,
                                        std::vector<std::size_t>* offsets) const {
  const std::string serialized = processor.EncodeAsSerializedProto(text);
  std::size_t previous_begin = std::string::npos, byte_index = 0;
  for (const SpmEncodedPiece& piece : read_spm_text(serialized, source_)) {
    out.push_back(piece.id);
    if (offsets == nullptr) continue;
    // The byte pieces of one character all report the character's start; each stands for the
    // next byte of it.
    const bool is_byte = piece.id >= 0 && std::size_t(piece.id) < kinds_.size() && kinds_[piece.id] == TokenKind::Byte;
    byte_index = is_byte && piece.begin == previous_begin ? byte_index + 1 : 0;
    previous_begin = is_byte ? piece.begin : std::string::npos;
    offsets->push_back(base + std::min<std::size_t>(piece.begin + byte_index, text.size()));
  }
}

std::string SentencePieceTokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string out;
  std::string byte_run;
  auto flush = [&] {
    if (is_valid_utf8(byte_run)) {
      out += byte_run;
    } else {
      for (std::size_t i = 0; i < byte_run.size(); ++i) out += kReplacement;
    }
    byte_run.clear();
  };
  for (const int32_t id : ids) {
    check_id(id);
    const TokenKind kind = kinds_[id];
    if (skip_special && (kind == TokenKind::Control || kind == TokenKind::Unknown)) continue;
    if (kind == TokenKind::Byte) {
      byte_run += bytes_[id];
      continue;
    }
    flush();
    out += bytes_[id];
  }
  flush();
  if (options_.prefix != SpacePrefix::kNone && !out.empty() && out[0] == ' ') out.erase(0, 1);
  return out;
}

std::string SentencePieceTokenizer::token_bytes(int32_t id) const {
  check_id(id);
  return bytes_[id];
}

std::optional<int32_t> SentencePieceTokenizer::token_to_id(std::string_view token) const {
  const auto it = index_.find(std::string(token));
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

const std::string& SentencePieceTokenizer::id_to_token(int32_t id) const {
  check_id(id);
  return pieces_[id];
}

TokenKind SentencePieceTokenizer::token_kind(int32_t id) const {
  check_id(id);
  return kinds_[id];
}

}  // namespace llmft::data
