#include "data/dataset_records.h"

#include "io/error.h"

namespace llmft::data {
namespace {

using nlohmann::json;

struct Where {
  const std::string& source;
  int64_t line;
  [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
    throw Error(source + ":" + std::to_string(line) + ": field '" + field + "' " + problem);
  }
};

std::string type_name(const json& value) { return value.type_name(); }

const json& require(const json& object, const std::string& key, const std::string& field, const Where& where) {
  if (!object.contains(key)) where.fail(field, "is missing");
  return object.at(key);
}

std::string require_string(const json& object, const std::string& key, const std::string& field, const Where& where) {
  const json& value = require(object, key, field, where);
  if (!value.is_string()) where.fail(field, "must be a string, not " + type_name(value));
  return value.get<std::string>();
}

std::string optional_string(const json& object, const std::string& key, const Where& where) {
  if (!object.contains(key) || object.at(key).is_null()) return {};
  return require_string(object, key, key, where);
}

// `roles` maps the record's role names to system/user/assistant.
std::vector<ChatMessage> read_turns(const json& record, const char* list_key, const char* role_key,
                                    const char* content_key,
                                    const std::vector<std::pair<std::string, std::string>>& roles, const Where& where) {
  const json& list = require(record, list_key, list_key, where);
  if (!list.is_array()) where.fail(list_key, "must be an array, not " + type_name(list));
  if (list.empty()) where.fail(list_key, "is empty");
  std::vector<ChatMessage> messages;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string prefix = std::string(list_key) + "[" + std::to_string(i) + "]";
    if (!list[i].is_object()) where.fail(prefix, "must be an object, not " + type_name(list[i]));
    const std::string role = require_string(list[i], role_key, prefix + "." + role_key, where);
    ChatMessage message;
    std::string expected;
    for (const auto& [name, normalised] : roles) {
      if (role == name) message.role = normalised;
      expected += (expected.empty() ? "" : ", ") + name;
    }
    if (message.role.empty()) where.fail(prefix + "." + role_key, "has unknown role '" + role + "' (expected " + expected + ")");
    message.content = require_string(list[i], content_key, prefix + "." + content_key, where);
    messages.push_back(std::move(message));
  }
  return messages;
}

}  // namespace

const char* format_name(RecordFormat format) {
  switch (format) {
    case RecordFormat::kText: return "text";
    case RecordFormat::kAlpaca: return "alpaca";
    case RecordFormat::kChat: return "chat";
    case RecordFormat::kShareGpt: return "sharegpt";
  }
  return "?";
}

DatasetRecord parse_record(const json& record, RecordFormat format, const std::string& source, int64_t line) {
  const Where where{source, line};
  if (!record.is_object()) {
    throw Error(source + ":" + std::to_string(line) + ": a " + format_name(format) + " record must be a JSON object, not " +
                type_name(record));
  }
  DatasetRecord out;
  switch (format) {
    case RecordFormat::kText:
      out.text = require_string(record, "text", "text", where);
      break;
    case RecordFormat::kAlpaca:
      out.instruction = require_string(record, "instruction", "instruction", where);
      out.input = optional_string(record, "input", where);
      out.output = require_string(record, "output", "output", where);
      break;
    case RecordFormat::kChat:
      out.messages = read_turns(record, "messages", "role", "content",
                                {{"system", "system"}, {"user", "user"}, {"assistant", "assistant"}}, where);
      break;
    case RecordFormat::kShareGpt:
      out.messages = read_turns(record, "conversations", "from", "value",
                                {{"system", "system"}, {"human", "user"}, {"gpt", "assistant"}}, where);
      break;
  }
  return out;
}

}  // namespace llmft::data
