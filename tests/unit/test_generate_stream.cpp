// Streaming text: incomplete UTF-8 and possible stop-string starts are held back; a stop string
// ends the text and is never printed.
#include <string>
#include <vector>

#include "eval/generate_stream.h"
#include "tests/support/catch.h"

using llmft::eval::TextStream;

namespace {
// Pushes each piece and concatenates what the stream printed, then finish().
std::string printed(TextStream& s, const std::vector<std::string>& pieces) {
  std::string out;
  for (const std::string& p : pieces) out += s.push(p);
  return out + s.finish();
}
}  // namespace

TEST_CASE("generate stream: a character split across tokens is printed whole", "[generate][stream]") {
  TextStream s;
  // "é" is C3 A9; "€" is E2 82 AC
  CHECK(s.push("a\xC3") == "a");
  CHECK(s.push("\xA9") == "\xC3\xA9");
  CHECK(s.push("\xE2\x82") == "");
  CHECK(s.push("\xAC!") == "\xE2\x82\xAC!");
  CHECK(s.finish().empty());
}

TEST_CASE("generate stream: a stop string across tokens is cut and not printed", "[generate][stream]") {
  TextStream s({"</s>", "STOP"});
  CHECK(s.push("Hello <") == "Hello ");  // "<" may start "</s>"
  CHECK(s.push("/") == "");
  CHECK(s.push("s> more") == "");
  CHECK(s.stopped());
  CHECK(s.text() == "Hello ");
  CHECK(s.push("x").empty());
  CHECK(s.finish().empty());
}

TEST_CASE("generate stream: a held-back prefix is released when it does not continue", "[generate][stream]") {
  TextStream s({"STOP"});
  CHECK(printed(s, {"go ST", "ART", " now"}) == "go START now");
  CHECK_FALSE(s.stopped());
  TextStream t({"STOP"});
  CHECK(printed(t, {"end ST"}) == "end ST");  // finish() prints what was held back
}

TEST_CASE("generate stream: the stop string that starts first wins", "[generate][stream]") {
  TextStream s({"bc", "abcd"});
  CHECK(printed(s, {"xabcd"}) == "x");  // "abcd" starts before "bc"
  CHECK(s.text() == "x");
}

TEST_CASE("generate stream: ill-formed bytes print as U+FFFD", "[generate][stream]") {
  TextStream s;
  CHECK(printed(s, {"a", "\xA9", "\xE2\x82", "b"}) == "a\xEF\xBF\xBD\xEF\xBF\xBD" "b");
  CHECK(s.text() == "a\xEF\xBF\xBD\xEF\xBF\xBD" "b");
  CHECK(llmft::eval::valid_utf8("\xF0\x9F\x98\x80") == "\xF0\x9F\x98\x80");
  CHECK(llmft::eval::valid_utf8("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");
}
