// jsonl: the bytes as a dataset file (JSONL, or one top-level JSON array) -> the record scanner
// (json_record_spans + parse_json_span, and for_each_json_record, which must agree) -> each record
// as every format (data::parse_record) -> rendered under the templates that format allows ->
// tokenized with loss labels (data::tokenize_example), as `llmft train` / `llmft data` prepare it.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset_records.h"
#include "data/json_records.h"
#include "data/template_renderer.h"
#include "fuzz/targets/common.h"
#include "fuzz/targets/render_check.h"
#include "io/error.h"

namespace llmft::fuzz {
namespace {

using data::RecordFormat;

const data::TemplateRenderer& renderer(const std::string& name) {
  static std::map<std::string, data::TemplateRenderer> renderers;
  auto it = renderers.find(name);
  if (it == renderers.end())
    it = renderers.emplace(name, data::make_renderer(name, std::nullopt, fixture_tokenizer(), "data.jsonl")).first;
  return it->second;
}

std::vector<std::string> templates_for(RecordFormat format) {
  switch (format) {
    case RecordFormat::kText: return {"none"};
    case RecordFormat::kAlpaca: return {"alpaca", "chatml", "llama3"};
    case RecordFormat::kChat:
    case RecordFormat::kShareGpt: return {"chatml", "llama3", "llama2", "mistral"};
  }
  return {};
}

void use_record(const nlohmann::json& record, int64_t line) {
  const std::string where = "data.jsonl:" + std::to_string(line);
  for (RecordFormat format : {RecordFormat::kText, RecordFormat::kAlpaca, RecordFormat::kChat, RecordFormat::kShareGpt}) {
    data::DatasetRecord parsed;
    try {
      parsed = data::parse_record(record, format, "data.jsonl", line);
    } catch (const Error&) {  // not a record of this format (on_error: skip reports it and moves on)
      continue;
    }
    for (const std::string& name : templates_for(format)) {
      try {
        const data::RenderedExample example = renderer(name).render(parsed, format, where);
        check_rendered(example, fixture_tokenizer(), where + " (" + data::format_name(format) + ", " + name + ")");
      } catch (const Error&) {  // e.g. roles that do not alternate under llama2/mistral
      }
    }
  }
}

}  // namespace

void jsonl(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::string source = "data.jsonl";

  // The two-phase path (spans, then records, as the threaded loader uses it).
  std::vector<data::JsonSpan> spans;
  std::vector<nlohmann::json> records;
  bool all_parsed = true;
  try {
    spans = data::json_record_spans(bytes, source);
  } catch (const Error&) {
    all_parsed = false;
  }
  int64_t previous_line = 0;
  for (const data::JsonSpan& span : spans) {
    check(span.begin <= span.end && span.end <= bytes.size(), "JSON span outside the file");
    check(span.line >= previous_line && span.line >= 1, "JSON span lines out of order");
    previous_line = span.line;
    try {
      records.push_back(data::parse_json_span(bytes, span, source));
    } catch (const Error&) {
      all_parsed = false;
      records.emplace_back();  // keep positions aligned with spans
      continue;
    }
    use_record(records.back(), span.line);
  }

  // The one-pass path must see the same records when the file is well formed.
  std::vector<std::pair<nlohmann::json, int64_t>> visited;
  bool visited_all = true;
  try {
    data::for_each_json_record(bytes, source, [&](const nlohmann::json& record, int64_t line) {
      visited.emplace_back(record, line);
    });
  } catch (const Error&) {
    visited_all = false;
  }
  check(all_parsed == visited_all, "json_record_spans/parse_json_span and for_each_json_record disagree on failure");
  if (all_parsed) {
    check(visited.size() == spans.size(), "for_each_json_record visits a different number of records");
    for (size_t i = 0; i < spans.size(); ++i) {
      check(visited[i].second == spans[i].line, "for_each_json_record reports another line");
      check(visited[i].first == records[i], "for_each_json_record parses another value");
    }
  }
}

}  // namespace llmft::fuzz
