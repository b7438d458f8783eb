#pragma once
// The JSON objects of a dataset file, one at a time, with the line each starts on (for errors):
//  - JSONL: one value per line; blank lines (only whitespace) are skipped;
//  - a top-level JSON array (first non-blank byte '['): its elements, found by a scan that tracks
//    strings and nesting and parsed one by one, so no document-sized tree is ever built.
// A UTF-8 byte order mark is skipped. Malformed JSON throws llmft::Error
// "SOURCE:LINE:COLUMN: malformed JSON: ..." (1-based; the column counts bytes).
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace llmft::data {

using JsonRecordVisitor = std::function<void(const nlohmann::json& record, int64_t line)>;

void for_each_json_record(std::string_view bytes, const std::string& source, const JsonRecordVisitor& visit);

// Where one record's JSON text lies in the file: bytes [begin, end), starting on line `line`.
struct JsonSpan {
  std::size_t begin = 0;
  std::size_t end = 0;
  int64_t line = 0;
};

// The records' spans without parsing them (a scan that tracks strings and nesting), so records can
// be parsed on several threads. Structural errors of a top-level array throw as above.
std::vector<JsonSpan> json_record_spans(std::string_view bytes, const std::string& source);

// Parses one span; malformed JSON throws "SOURCE:LINE:COLUMN: malformed JSON: ...".
nlohmann::json parse_json_span(std::string_view bytes, const JsonSpan& span, const std::string& source);

}  // namespace llmft::data
