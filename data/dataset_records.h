#pragma once
// One dataset record (a parsed JSON object) -> the fields its format defines, validated. Errors
// name SOURCE:LINE and the field ("messages[2].role").
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/chat_template.h"
#include "data/dataset.h"

namespace llmft::data {

struct DatasetRecord {
  std::vector<ChatMessage> messages;  // chat, sharegpt (roles normalised to system/user/assistant)
  std::string instruction, input, output;  // alpaca
  std::string text;                        // text
};

DatasetRecord parse_record(const nlohmann::json& record, RecordFormat format, const std::string& source, int64_t line);

const char* format_name(RecordFormat format);

}  // namespace llmft::data
