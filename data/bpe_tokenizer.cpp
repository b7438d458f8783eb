#include "data/bpe_tokenizer.h"

#include <algorithm>
#include <limits>

#include "data/byte_unicode.h"
#include "data/sha256.h"
#include "data/unicode_normalize.h"
#include "io/error.h"

namespace llmft::data {
namespace {

uint64_t pair_key(int32_t left, int32_t right) {
  return (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
}

// A possible merge of two adjacent symbols. The ids are kept so that an entry made stale by an
// earlier merge (either side changed or vanished) is recognised and dropped when popped.
// Bump when a change to this file changes the ids any vocabulary encodes to.
constexpr const char* kBpeImplementationVersion = "llmft-bpe-1";

// Everything in `vocab` that decides encode(), length-prefixed so no two vocabularies collide.
std::string vocab_fingerprint(const BpeVocab& vocab) {
  std::string blob;
  auto put = [&blob](std::string_view field) {
    blob += std::to_string(field.size());
    blob += ':';
    blob += field;
  };
  auto put_id = [&](const std::optional<int32_t>& id) { put(id ? std::to_string(*id) : "-"); };
  put(kBpeImplementationVersion);
  for (std::size_t i = 0; i < vocab.tokens.size(); ++i) {
    put(vocab.tokens[i]);
    put(std::to_string(i < vocab.kinds.size() ? int(vocab.kinds[i]) : 0));
  }
  put("merges");
  for (const auto& [left, right] : vocab.merges) {
    put(left);
    put(right);
  }
  put("pretokenizer");
  for (const std::string& pattern : vocab.pretokenizer) put(pattern);
  put(vocab.ignore_merges ? "ignore_merges" : "merges_always");
  if (vocab.nfc) put("normalizer:nfc");  // absent for vocabularies without one: their keys stay as they were
  put_id(vocab.specials.bos_id);
  put_id(vocab.specials.eos_id);
  put_id(vocab.specials.pad_id);
  put_id(vocab.specials.unk_id);
  put(vocab.specials.add_bos ? "add_bos" : "-");
  put(vocab.specials.add_eos ? "add_eos" : "-");
  return sha256_hex(blob);
}

struct Candidate {
  int32_t rank;
  int32_t left, right;  // symbol positions
  int32_t left_id, right_id, result;
};

// Heap order: lowest rank first, then leftmost (HF and llama.cpp break ties the same way).
bool later(const Candidate& a, const Candidate& b) {
  return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
}

struct Symbol {
  int32_t id;  // -1 once merged into its left neighbour
  int32_t prev, next;
};

}  // namespace

struct BpeTokenizer::Scratch {
  std::vector<TextPiece> pieces;
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
  std::vector<int32_t> word;
};

BpeTokenizer::BpeTokenizer(BpeVocab vocab)
    : Tokenizer(vocab.specials),
      source_(std::move(vocab.source)),
      fingerprint_(vocab_fingerprint(vocab)),
      tokens_(std::move(vocab.tokens)),
      kinds_(std::move(vocab.kinds)),
      ignore_merges_(vocab.ignore_merges),
      nfc_(vocab.nfc) {
  if (tokens_.empty()) throw Error(source_ + ": the tokenizer vocabulary is empty");
  if (tokens_.size() > std::size_t(std::numeric_limits<int32_t>::max())) {
    throw Error(source_ + ": the tokenizer vocabulary has " + std::to_string(tokens_.size()) + " tokens, too many for int32 ids");
  }
  if (kinds_.empty()) kinds_.assign(tokens_.size(), TokenKind::Normal);
  if (kinds_.size() != tokens_.size()) {
    throw Error(source_ + ": " + std::to_string(kinds_.size()) + " token types for " + std::to_string(tokens_.size()) +
                " tokens");
  }
  const int32_t n = vocab_size();
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

  bytes_.resize(tokens_.size());
  token_index_.reserve(tokens_.size());
  for (int32_t id = 0; id < n; ++id) {
    const std::string& token = tokens_[id];
    const TokenKind kind = kinds_[id];
    // Added tokens are stored as they are written; learned pieces in the byte alphabet. A piece
    // outside the alphabet stands for its own UTF-8 bytes, as in HF's ByteLevel decoder.
    std::optional<std::string> raw;
    if (kind != TokenKind::Control && kind != TokenKind::UserDefined) raw = byte_level_decode(token);
    bytes_[id] = raw ? std::move(*raw) : token;
    token_index_.insert_or_assign(token, id);
    if (kind == TokenKind::Control || kind == TokenKind::UserDefined) {
      if (!token.empty()) {
        specials_by_byte_[static_cast<unsigned char>(token[0])].push_back({token, id, kind == TokenKind::Control});
        has_specials_ = true;
      }
    }
  }
  for (auto& bucket : specials_by_byte_) {
    std::stable_sort(bucket.begin(), bucket.end(),
                     [](const SpecialToken& a, const SpecialToken& b) { return a.text.size() > b.text.size(); });
  }
  if (ignore_merges_) {
    // A pre-token is looked up by its byte-level spelling, so only entries whose spelling is that
    // of their bytes can be found this way.
    raw_index_.reserve(tokens_.size());
    for (int32_t id = 0; id < n; ++id) {
      if (byte_level_encode(bytes_[id]) == tokens_[id]) raw_index_.insert_or_assign(bytes_[id], id);
    }
  }
  for (unsigned b = 0; b < 256; ++b) {
    const auto it = token_index_.find(byte_spelling(static_cast<unsigned char>(b)));
    byte_token_[b] = it == token_index_.end() ? -1 : it->second;
  }

  merges_.reserve(vocab.merges.size());
  for (std::size_t rank = 0; rank < vocab.merges.size(); ++rank) {
    // Plain references, not a structured binding: clang before 16 cannot capture bindings in lambdas.
    const std::string& left = vocab.merges[rank].first;
    const std::string& right = vocab.merges[rank].second;
    auto find = [&](const std::string& piece) {
      const auto it = token_index_.find(piece);
      if (it == token_index_.end()) {
        throw Error(source_ + ": merge " + std::to_string(rank) + " '" + left + " " + right + "': '" + piece +
                    "' is not in the vocabulary");
      }
      return it->second;
    };
    const int32_t left_id = find(left);
    const int32_t right_id = find(right);
    const int32_t result = find(left + right);
    // A repeated pair keeps its first (best) rank.
    merges_.emplace(pair_key(left_id, right_id), MergeTarget{int32_t(rank), result});
  }
  pretokenizer_ = std::make_unique<BpePretokenizer>(std::move(vocab.pretokenizer), source_);
}

BpeTokenizer::~BpeTokenizer() = default;

void BpeTokenizer::check_id(int32_t id) const {
  if (id < 0 || id >= vocab_size()) {
    throw Error(source_ + ": token id " + std::to_string(id) + " is outside the vocabulary of " +
                std::to_string(vocab_size()) + " tokens");
  }
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  return encode_impl(text, add_special, parse_special, nullptr);
}

std::vector<int32_t> BpeTokenizer::encode_with_offsets(std::string_view text, bool parse_special,
                                                       std::vector<std::size_t>& offsets) const {
  offsets.clear();
  std::vector<int32_t> ids = encode_impl(text, false, parse_special, &offsets);
  // Repairing invalid UTF-8 can lengthen the text; offsets never point past the original.
  for (std::size_t& offset : offsets) offset = std::min(offset, text.size());
  return ids;
}

std::vector<int32_t> BpeTokenizer::encode_impl(std::string_view text, bool add_special, bool parse_special,
                                               std::vector<std::size_t>* offsets) const {
  // Text from a file may hold invalid UTF-8; read it as Python and Rust strings would.
  std::string repaired;
  if (!is_valid_utf8(text)) {
    repaired = utf8_lossy(text);
    text = repaired;
  }
  Scratch scratch;
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (add_special && specials_.add_bos && specials_.bos_id) out.push_back(*specials_.bos_id);
  std::size_t plain_start = 0;
  if (has_specials_) {
    for (std::size_t pos = 0; pos < text.size();) {
      const SpecialToken* special = match_special(text, pos, parse_special);
      if (special == nullptr) {
        ++pos;
        continue;
      }
      encode_plain(text.substr(plain_start, pos - plain_start), plain_start, scratch, out, offsets);
      out.push_back(special->id);
      if (offsets) offsets->push_back(pos);
      pos += special->text.size();
      plain_start = pos;
    }
  }
  encode_plain(text.substr(plain_start), plain_start, scratch, out, offsets);
  if (add_special && specials_.add_eos && specials_.eos_id) out.push_back(*specials_.eos_id);
  return out;
}

const BpeTokenizer::SpecialToken* BpeTokenizer::match_special(std::string_view text, std::size_t pos,
                                                              bool parse_special) const {
  for (const SpecialToken& special : specials_by_byte_[static_cast<unsigned char>(text[pos])]) {
    if (special.control && !parse_special) continue;
    if (text.compare(pos, special.text.size(), special.text) == 0) return &special;
  }
  return nullptr;
}

void BpeTokenizer::encode_plain(std::string_view text, std::size_t base, Scratch& scratch, std::vector<int32_t>& out,
                                std::vector<std::size_t>* offsets) const {
  if (text.empty()) return;
  NormalizedText normalized;
  if (nfc_) {
    normalized = nfc_with_origins(text);
    text = normalized.text;
  }
  // Where byte `pos` of the (normalized) text comes from in the caller's text.
  auto origin = [&](std::size_t pos) { return base + (nfc_ ? normalized.origin[pos] : pos); };
  pretokenizer_->split(text, scratch.pieces);
  for (const TextPiece& piece : scratch.pieces) {
    const std::size_t first = out.size();
    encode_piece(text.substr(piece.offset, piece.length), scratch, out);
    if (offsets == nullptr) continue;
    // Within a piece the tokens spell its bytes (bytes missing from the vocabulary are dropped,
    // so clamp to the piece).
    std::size_t pos = piece.offset;
    for (std::size_t i = first; i < out.size(); ++i) {
      offsets->push_back(origin(std::min(pos, piece.offset + piece.length)));
      pos += bytes_[out[i]].size();
    }
  }
}

void BpeTokenizer::encode_piece(std::string_view piece, Scratch& scratch, std::vector<int32_t>& out) const {
  if (piece.size() == 1 && byte_token_[static_cast<unsigned char>(piece[0])] >= 0) {
    out.push_back(byte_token_[static_cast<unsigned char>(piece[0])]);
    return;
  }
  const bool cacheable = piece.size() <= kMaxCachedPieceBytes;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    const auto it = cache_.find(piece);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  scratch.word.clear();
  merge_piece(piece, scratch, scratch.word);
  out.insert(out.end(), scratch.word.begin(), scratch.word.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.size() >= kCacheCapacity) cache_.clear();
    cache_.emplace(std::string(piece), scratch.word);
  }
}

void BpeTokenizer::merge_piece(std::string_view piece, Scratch& scratch, std::vector<int32_t>& out) const {
  if (ignore_merges_) {
    const auto it = raw_index_.find(piece);
    if (it != raw_index_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  // One symbol per byte. A byte the vocabulary cannot spell is dropped, as HF's BPE does when its
  // model has no unk_token, which GGUF cannot express (SmolLM2 lacks 21 byte tokens, among them
  // the control characters 0x04 and 0x1D; llama.cpp fails on those).
  auto& symbols = scratch.symbols;
  symbols.clear();
  for (char c : piece) {
    const int32_t id = byte_token_[static_cast<unsigned char>(c)];
    if (id < 0) continue;
    const auto index = int32_t(symbols.size());
    symbols.push_back({id, index - 1, index + 1});
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;

  auto& heap = scratch.heap;
  heap.clear();
  auto consider = [&](int32_t left, int32_t right) {
    const auto it = merges_.find(pair_key(symbols[left].id, symbols[right].id));
    if (it == merges_.end()) return;
    heap.push_back({it->second.rank, left, right, symbols[left].id, symbols[right].id, it->second.id});
    std::push_heap(heap.begin(), heap.end(), later);
  };
  for (int32_t i = 0; i + 1 < int32_t(symbols.size()); ++i) consider(i, i + 1);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const Candidate c = heap.back();
    heap.pop_back();
    Symbol& left = symbols[c.left];
    if (left.id != c.left_id || left.next != c.right || symbols[c.right].id != c.right_id) continue;
    Symbol& right = symbols[c.right];
    left.id = c.result;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = c.left;
    right.id = -1;
    if (left.prev >= 0) consider(left.prev, c.left);
    if (left.next >= 0) consider(c.left, left.next);
  }
  // The first symbol is never merged away (merges absorb the right-hand side).
  for (int32_t i = 0; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
}

std::string BpeTokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string raw;
  for (const int32_t id : ids) {
    check_id(id);
    if (skip_special && kinds_[id] == TokenKind::Control) continue;
    raw += bytes_[id];
  }
  return is_valid_utf8(raw) ? raw : utf8_lossy(raw);
}

std::string BpeTokenizer::token_bytes(int32_t id) const {
  check_id(id);
  return bytes_[id];
}

std::optional<int32_t> BpeTokenizer::token_to_id(std::string_view token) const {
  const auto it = token_index_.find(token);
  if (it == token_index_.end()) return std::nullopt;
  return it->second;
}

const std::string& BpeTokenizer::id_to_token(int32_t id) const {
  check_id(id);
  return tokens_[id];
}

TokenKind BpeTokenizer::token_kind(int32_t id) const {
  check_id(id);
  return kinds_[id];
}

}  // namespace llmft::data
