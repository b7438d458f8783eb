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

#include <nlohmann/json.hpp>

namespace llmft::data {

using JsonRecordVisitor = std::function<void(const nlohmann::json& record, int64_t line)>;

void for_each_json_record(std::string_view bytes, const std::string& source, const JsonRecordVisitor& visit);

}  // namespace llmft::data
