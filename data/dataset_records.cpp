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

// Chat templates (and the masks built from them) assume: an optional system message first, then
// user and assistant turns alternating, starting with user and ending with assistant. Anything else
// would be rendered in a way no template intends (or rejected by the model's own Jinja template).
void check_turn_order(const std::vector<ChatMessage>& messages, const char* list_key, const char* role_key,
                      const std::string& user_name, const std::string& assistant_name, const Where& where) {
  auto field = [&](std::size_t i) { return std::string(list_key) + "[" + std::to_string(i) + "]." + role_key; };
  std::size_t first_turn = !messages.empty() && messages[0].role == "system" ? 1 : 0;
  if (first_turn == messages.size()) where.fail(list_key, "has a system message but no " + user_name + " turn");
  for (std::size_t i = first_turn; i < messages.size(); ++i) {
    const bool user_expected = (i - first_turn) % 2 == 0;
    const std::string& role = messages[i].role;
    if (role == "system") where.fail(field(i), "is a system message after the first message");
    if (user_expected && role != "user") {
      where.fail(field(i), "is '" + assistant_name + "' where a '" + user_name +
                               "' turn is expected (turns must alternate, starting with " + user_name + ")");
    }
    if (!user_expected && role != "assistant") {
      where.fail(field(i), "is '" + user_name + "' where an '" + assistant_name +
                               "' turn is expected (turns must alternate)");
    }
  }
  if (messages.back().role != "assistant") {
    where.fail(field(messages.size() - 1), "is the last turn but not '" + assistant_name +
                                               "': nothing would be trained after it");
  }
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
      check_turn_order(out.messages, "messages", "role", "user", "assistant", where);
      break;
    case RecordFormat::kShareGpt:
      out.messages = read_turns(record, "conversations", "from", "value",
                                {{"system", "system"}, {"human", "user"}, {"gpt", "assistant"}}, where);
      check_turn_order(out.messages, "conversations", "from", "human", "gpt", where);
      break;
  }
  return out;
}

}  // namespace llmft::data
