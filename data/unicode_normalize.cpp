#include "data/unicode_normalize.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/utf8.h>

#include "io/error.h"

namespace llmft::data {
namespace {

const icu::Normalizer2& nfc_instance() {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status) || nfc == nullptr) throw Error(std::string("ICU: no NFC normalizer: ") + u_errorName(status));
  return *nfc;
}

void identity_origins(NormalizedText& out, std::size_t base, std::size_t length) {
  for (std::size_t i = 0; i < length; ++i) out.origin.push_back(base + i);
}

}  // namespace

NormalizedText nfc_with_origins(std::string_view text) {
  const icu::Normalizer2& nfc = nfc_instance();
  NormalizedText out;
  out.origin.reserve(text.size() + 1);
  UErrorCode status = U_ZERO_ERROR;
  const icu::StringPiece whole(text.data(), int32_t(text.size()));
  // Most text is already NFC: then the text and its offsets are unchanged.
  if (nfc.isNormalizedUTF8(whole, status) && U_SUCCESS(status)) {
    out.text.assign(text);
    identity_origins(out, 0, text.size());
    out.origin.push_back(text.size());
    return out;
  }
  // Runs start at characters with a boundary before them in every context, so normalizing run by
  // run gives NFC of the whole while each run keeps a known origin.
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const auto length = int32_t(text.size());
  int32_t run_start = 0;
  auto flush = [&](int32_t run_end) {
    if (run_end <= run_start) return;
    const icu::StringPiece run(text.data() + run_start, run_end - run_start);
    UErrorCode run_status = U_ZERO_ERROR;
    std::string normalized;
    icu::StringByteSink<std::string> sink(&normalized);
    nfc.normalizeUTF8(0, run, sink, nullptr, run_status);
    if (U_FAILURE(run_status)) throw Error(std::string("ICU: NFC normalization failed: ") + u_errorName(run_status));
    out.text += normalized;
    out.origin.insert(out.origin.end(), normalized.size(), std::size_t(run_start));
    run_start = run_end;
  };
  for (int32_t pos = 0; pos < length;) {
    const int32_t char_start = pos;
    UChar32 c;
    U8_NEXT(bytes, pos, length, c);
    if (c >= 0 && char_start > run_start && nfc.hasBoundaryBefore(c)) flush(char_start);
  }
  flush(length);
  out.origin.push_back(text.size());
  return out;
}

}  // namespace llmft::data
