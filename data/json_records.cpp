#include "data/json_records.h"

#include "io/error.h"

namespace llmft::data {
namespace {

using nlohmann::json;

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Line and column (1-based) of byte `offset` of `bytes`.
std::pair<int64_t, int64_t> position_of(std::string_view bytes, std::size_t offset) {
  int64_t line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < offset && i < bytes.size(); ++i) {
    if (bytes[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return {line, static_cast<int64_t>(offset - line_start) + 1};
}

[[noreturn]] void fail_at(std::string_view bytes, std::size_t offset, const std::string& source,
                          const std::string& message) {
  const auto [line, column] = position_of(bytes, offset);
  throw Error(source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": malformed JSON: " + message);
}

// nlohmann's message without its "[json.exception.parse_error.101] parse error at line 1, column 7: " prefix.
std::string short_message(const json::parse_error& e) {
  std::string what = e.what();
  const std::size_t colon = what.find(": ");
  return colon == std::string::npos ? what : what.substr(colon + 2);
}

// The same for other nlohmann exceptions: without the "[json.exception.out_of_range.406] " prefix.
std::string short_message(const json::exception& e) {
  std::string what = e.what();
  const std::size_t bracket = what.find("] ");
  return bracket == std::string::npos ? what : what.substr(bracket + 2);
}

// Parses one record's span; errors point into the whole file. The line and column are counted from
// the span's start (its line is known), so reporting an error never rescans the file.
json parse_value(std::string_view bytes, const JsonSpan& span, const std::string& source) {
  try {
    return json::parse(bytes.substr(span.begin, span.end - span.begin));
  } catch (const json::parse_error& e) {
    // e.byte is the 1-based index of the byte where parsing failed, within the value.
    std::size_t at = span.begin + (e.byte > 0 ? e.byte - 1 : 0);
    at = std::min(at, span.end > span.begin ? span.end - 1 : span.begin);
    int64_t line = span.line;
    // An array element may start mid-line: the column counts from the line's real start.
    const std::size_t newline = bytes.substr(0, span.begin).rfind('\n');
    std::size_t line_start = newline == std::string_view::npos ? 0 : newline + 1;
    for (std::size_t i = span.begin; i < at; ++i) {
      if (bytes[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    }
    throw Error(source + ":" + std::to_string(line) + ":" + std::to_string(at - line_start + 1) +
                ": malformed JSON: " + short_message(e));
  } catch (const json::out_of_range& e) {
    // A number outside double's range ("1e400", error 406) carries no position: name the record's start.
    const std::size_t newline = bytes.substr(0, span.begin).rfind('\n');
    const std::size_t line_start = newline == std::string_view::npos ? 0 : newline + 1;
    throw Error(source + ":" + std::to_string(span.line) + ":" + std::to_string(span.begin - line_start + 1) +
                ": malformed JSON: " + short_message(e));
  }
}

using SpanVisitor = std::function<void(const JsonSpan&)>;

void read_jsonl(std::string_view bytes, std::size_t start, const SpanVisitor& visit) {
  int64_t line = 1;
  std::size_t begin = start;
  while (begin < bytes.size()) {
    std::size_t end = bytes.find('\n', begin);
    if (end == std::string_view::npos) end = bytes.size();
    bool blank = true;
    for (std::size_t i = begin; i < end && blank; ++i) blank = is_blank(bytes[i]);
    if (!blank) visit(JsonSpan{begin, end, line});
    begin = end + 1;
    ++line;
  }
}

// The end (one past) of the array element starting at `begin`: the ',' or ']' at depth 0 after it.
std::size_t element_end(std::string_view bytes, std::size_t begin, const std::string& source) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = begin; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0) return i;
      --depth;
    } else if (c == ',' && depth == 0) {
      return i;
    }
  }
  fail_at(bytes, bytes.size(), source, "unexpected end of file inside the top-level array");
}

void read_array(std::string_view bytes, std::size_t open, const std::string& source, const SpanVisitor& visit) {
  std::size_t i = open + 1;
  // Line numbers are counted incrementally: each element's start is after the previous one's.
  int64_t line = position_of(bytes, open).first;
  std::size_t counted = open;
  auto line_at = [&](std::size_t offset) {
    for (; counted < offset; ++counted) line += bytes[counted] == '\n';
    return line;
  };
  auto skip_blank = [&] {
    while (i < bytes.size() && is_blank(bytes[i])) ++i;
  };
  skip_blank();
  if (i < bytes.size() && bytes[i] == ']') {
    ++i;
  } else {
    while (true) {
      skip_blank();
      if (i >= bytes.size()) fail_at(bytes, i, source, "unexpected end of file inside the top-level array");
      const std::size_t begin = i;
      const std::size_t end = element_end(bytes, begin, source);
      visit(JsonSpan{begin, end, line_at(begin)});
      i = end + 1;
      if (bytes[end] == ']') break;
    }
  }
  skip_blank();
  if (i < bytes.size()) fail_at(bytes, i, source, "unexpected content after the top-level array");
}

void for_each_span(std::string_view bytes, const std::string& source, const SpanVisitor& visit) {
  std::size_t start = bytes.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  std::size_t first = start;
  while (first < bytes.size() && is_blank(bytes[first])) ++first;
  if (first < bytes.size() && bytes[first] == '[') {
    read_array(bytes, first, source, visit);
  } else {
    read_jsonl(bytes, start, visit);
  }
}

}  // namespace

void for_each_json_record(std::string_view bytes, const std::string& source, const JsonRecordVisitor& visit) {
  for_each_span(bytes, source,
                [&](const JsonSpan& span) { visit(parse_value(bytes, span, source), span.line); });
}

std::vector<JsonSpan> json_record_spans(std::string_view bytes, const std::string& source) {
  std::vector<JsonSpan> spans;
  for_each_span(bytes, source, [&](const JsonSpan& span) { spans.push_back(span); });
  return spans;
}

json parse_json_span(std::string_view bytes, const JsonSpan& span, const std::string& source) {
  return parse_value(bytes, span, source);
}

}  // namespace llmft::data
