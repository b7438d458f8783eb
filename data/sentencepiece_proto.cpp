#include "data/sentencepiece_proto.h"

#include <cstring>

#include "io/error.h"

namespace llmft::data {
namespace {

// Field numbers from sentencepiece_model.proto and sentencepiece.proto.
namespace model_proto {
constexpr uint32_t kPieces = 1, kTrainerSpec = 2, kNormalizerSpec = 3;
}
namespace piece_field {
constexpr uint32_t kPiece = 1, kScore = 2, kType = 3;
}
namespace trainer_spec {
constexpr uint32_t kModelType = 3, kVocabSize = 4, kByteFallback = 35, kUnkId = 40, kBosId = 41, kEosId = 42,
                   kPadId = 43;
constexpr uint64_t kModelTypeBpe = 2;
}  // namespace trainer_spec
namespace normalizer_spec {
constexpr uint32_t kName = 1, kAddDummyPrefix = 3, kRemoveExtraWhitespaces = 4, kEscapeWhitespaces = 5;
}
namespace text_field {
constexpr uint32_t kPieces = 2;
constexpr uint32_t kId = 2, kBegin = 4, kEnd = 5;  // inside SentencePieceText.SentencePiece
}  // namespace text_field

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kBytes = 2, kFixed32 = 5 };

// ---- writing ----
void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(char(value | 0x80));
    value >>= 7;
  }
  out.push_back(char(value));
}
void put_tag(std::string& out, uint32_t field, WireType type) { put_varint(out, (uint64_t(field) << 3) | type); }
void put_int(std::string& out, uint32_t field, int64_t value) {  // int32/bool/enum: negative as 10 bytes
  put_tag(out, field, kVarint);
  put_varint(out, uint64_t(value));
}
void put_bytes(std::string& out, uint32_t field, std::string_view bytes) {
  put_tag(out, field, kBytes);
  put_varint(out, bytes.size());
  out.append(bytes);
}
void put_float(std::string& out, uint32_t field, float value) {
  put_tag(out, field, kFixed32);
  char raw[4];
  std::memcpy(raw, &value, 4);  // protobuf fixed32 is little-endian, as every supported host
  out.append(raw, 4);
}

// ---- reading ----
struct Field {
  uint32_t number = 0;
  WireType type;
  uint64_t value = 0;      // varint / fixed
  std::string_view bytes;  // length-delimited payload
  std::string_view raw;    // the whole field as encoded, tag included
};

class Reader {
 public:
  Reader(std::string_view data, const std::string& source) : data_(data), source_(source) {}
  bool next(Field& field) {
    if (pos_ >= data_.size()) return false;
    const std::size_t start = pos_;
    const uint64_t tag = varint();
    field.number = uint32_t(tag >> 3);
    field.type = WireType(tag & 7);
    field.bytes = {};
    switch (field.type) {
      case kVarint: field.value = varint(); break;
      case kFixed64: field.value = fixed(8); break;
      case kFixed32: field.value = fixed(4); break;
      case kBytes: {
        const uint64_t length = varint();
        if (length > data_.size() - pos_) fail();
        field.bytes = data_.substr(pos_, length);
        pos_ += length;
        break;
      }
      default: fail();
    }
    field.raw = data_.substr(start, pos_ - start);
    return true;
  }

 private:
  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) fail();
      const auto byte = uint8_t(data_[pos_++]);
      value |= uint64_t(byte & 0x7F) << shift;
      if (!(byte & 0x80)) return value;
    }
    fail();
  }
  uint64_t fixed(std::size_t size) {
    if (data_.size() - pos_ < size) fail();
    uint64_t value = 0;
    std::memcpy(&value, data_.data() + pos_, size);
    pos_ += size;
    return value;
  }
  [[noreturn]] void fail() const {
    throw Error(source_ + ": malformed sentencepiece protobuf data at byte " + std::to_string(pos_));
  }

  std::string_view data_;
  std::size_t pos_ = 0;
  const std::string& source_;
};

TokenKind kind_of_type(uint64_t type) {
  switch (type) {
    case 2: return TokenKind::Unknown;
    case 3: return TokenKind::Control;
    case 4: return TokenKind::UserDefined;
    case 5: return TokenKind::Unused;
    case 6: return TokenKind::Byte;
    default: return TokenKind::Normal;
  }
}

uint64_t type_of_kind(TokenKind kind) {  // sentencepiece's SentencePiece.Type values
  switch (kind) {
    case TokenKind::Normal: return 1;
    case TokenKind::Unknown: return 2;
    case TokenKind::Control: return 3;
    case TokenKind::UserDefined: return 4;
    case TokenKind::Unused: return 5;
    case TokenKind::Byte: return 6;
  }
  return 1;
}

}  // namespace

std::string build_spm_model_proto(const SpmModelSpec& spec) {
  std::string out;
  int64_t unk = -1, bos = -1, eos = -1;
  for (std::size_t id = 0; id < spec.pieces.size(); ++id) {
    const SpmPiece& p = spec.pieces[id];
    std::string piece;
    put_bytes(piece, piece_field::kPiece, p.piece);
    put_float(piece, piece_field::kScore, p.score);
    put_int(piece, piece_field::kType, int64_t(type_of_kind(p.kind)));
    put_bytes(out, model_proto::kPieces, piece);
    if (p.kind == TokenKind::Unknown && unk < 0) unk = int64_t(id);
    if (p.piece == "<s>" && bos < 0) bos = int64_t(id);
    if (p.piece == "</s>" && eos < 0) eos = int64_t(id);
  }
  // The trainer spec says how to encode (BPE, byte fallback) and where unk is; BOS/EOS only name
  // pieces (llmft adds them itself), -1 when absent.
  std::string trainer;
  put_int(trainer, trainer_spec::kModelType, int64_t(trainer_spec::kModelTypeBpe));
  put_int(trainer, trainer_spec::kVocabSize, int64_t(spec.pieces.size()));
  put_int(trainer, trainer_spec::kByteFallback, spec.byte_fallback);
  put_int(trainer, trainer_spec::kUnkId, unk < 0 ? 0 : unk);
  put_int(trainer, trainer_spec::kBosId, bos);
  put_int(trainer, trainer_spec::kEosId, eos);
  put_int(trainer, trainer_spec::kPadId, -1);
  put_bytes(out, model_proto::kTrainerSpec, trainer);
  std::string normalizer;
  put_bytes(normalizer, normalizer_spec::kName, "identity");
  put_int(normalizer, normalizer_spec::kAddDummyPrefix, spec.add_dummy_prefix);
  put_int(normalizer, normalizer_spec::kRemoveExtraWhitespaces, 0);
  put_int(normalizer, normalizer_spec::kEscapeWhitespaces, 1);
  put_bytes(out, model_proto::kNormalizerSpec, normalizer);
  return out;
}

std::vector<SpmPiece> read_spm_pieces(std::string_view proto, const std::string& source) {
  std::vector<SpmPiece> pieces;
  Reader reader(proto, source);
  for (Field field; reader.next(field);) {
    if (field.number != model_proto::kPieces || field.type != kBytes) continue;
    SpmPiece piece;
    Reader inner(field.bytes, source);
    for (Field f; inner.next(f);) {
      if (f.number == piece_field::kPiece && f.type == kBytes) piece.piece.assign(f.bytes);
      if (f.number == piece_field::kScore && f.type == kFixed32) {
        const auto bits = uint32_t(f.value);
        std::memcpy(&piece.score, &bits, 4);
      }
      if (f.number == piece_field::kType && f.type == kVarint) piece.kind = kind_of_type(f.value);
    }
    pieces.push_back(std::move(piece));
  }
  return pieces;
}

std::string spm_set_dummy_prefix(std::string_view proto, bool add, const std::string& source) {
  std::string out;
  bool seen = false;
  Reader reader(proto, source);
  for (Field field; reader.next(field);) {
    if (field.number != model_proto::kNormalizerSpec || field.type != kBytes) {
      out.append(field.raw);
      continue;
    }
    std::string normalizer;
    Reader inner(field.bytes, source);
    for (Field f; inner.next(f);)
      if (f.number != normalizer_spec::kAddDummyPrefix) normalizer.append(f.raw);
    put_int(normalizer, normalizer_spec::kAddDummyPrefix, add);
    put_bytes(out, model_proto::kNormalizerSpec, normalizer);
    seen = true;
  }
  if (!seen) {  // no normalizer_spec: every other field keeps its default
    std::string normalizer;
    put_int(normalizer, normalizer_spec::kAddDummyPrefix, add);
    put_bytes(out, model_proto::kNormalizerSpec, normalizer);
  }
  return out;
}

std::vector<SpmEncodedPiece> read_spm_text(std::string_view serialized, const std::string& source) {
  std::vector<SpmEncodedPiece> pieces;
  Reader reader(serialized, source);
  for (Field field; reader.next(field);) {
    if (field.number != text_field::kPieces || field.type != kBytes) continue;
    SpmEncodedPiece piece;
    Reader inner(field.bytes, source);
    for (Field f; inner.next(f);) {
      if (f.type != kVarint) continue;
      if (f.number == text_field::kId) piece.id = int32_t(f.value);
      if (f.number == text_field::kBegin) piece.begin = uint32_t(f.value);
      if (f.number == text_field::kEnd) piece.end = uint32_t(f.value);
    }
    pieces.push_back(piece);
  }
  return pieces;
}

}  // namespace llmft::data
