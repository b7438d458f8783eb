#include "io/safetensors.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "io/error.h"
#include "io/mapped_file.h"
#include "tests/support/catch.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using namespace llmft::io;
using llmft::test::Contains;
using llmft::test::TempDir;

namespace {


// A file laid out by hand: 8-byte little-endian length, header text, data bytes.
void write_raw(const fs::path& p, const std::string& header, const std::string& data, uint64_t header_len) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(&header_len), 8);
  out << header << data;
}
void write_raw(const fs::path& p, const std::string& header, const std::string& data) {
  write_raw(p, header, data, header.size());
}

// Deterministic values of every dtype, built the same way by the inline Python scripts below so
// both sides can compare exactly. All are exactly representable in their dtype.
std::vector<NamedTensor> reference_tensors() {
  const auto d = torch::kDouble;
  return {
      {"f64", (torch::arange(6, d) / 3).reshape({2, 3})},
      {"f32", (torch::arange(24, d) / 4 - 3).reshape({2, 3, 4}).to(torch::kFloat)},
      {"f16", (torch::arange(8, d) / 8 - 0.5).to(torch::kHalf)},
      {"bf16", (torch::arange(6, d) * 1.5 - 4).reshape({3, 2}).to(torch::kBFloat16)},
      {"i64", (torch::arange(3, torch::kLong) * (int64_t(1) << 40) - 7)},
      {"i32", (torch::arange(4, torch::kInt) * 100000 - 150000).reshape({2, 2})},
      {"i16", (torch::arange(5, torch::kShort) * 1000 - 2000)},
      {"i8", torch::arange(-3, 3, torch::kChar)},
      {"u8", torch::arange(250, 256, torch::kLong).to(torch::kByte)},
      {"bool", (torch::arange(6, torch::kLong) % 2 == 0).reshape({2, 3})},
      {"scalar", torch::tensor(2.5, torch::kFloat)},
      {"empty", torch::zeros({0, 4}, torch::kFloat)},
  };
}

constexpr const char* kPythonReference = R"PY(
import torch
d = torch.float64
expected = {
    "f64": (torch.arange(6, dtype=d) / 3).reshape(2, 3),
    "f32": (torch.arange(24, dtype=d) / 4 - 3).reshape(2, 3, 4).to(torch.float32),
    "f16": (torch.arange(8, dtype=d) / 8 - 0.5).to(torch.float16),
    "bf16": (torch.arange(6, dtype=d) * 1.5 - 4).reshape(3, 2).to(torch.bfloat16),
    "i64": torch.arange(3, dtype=torch.int64) * (1 << 40) - 7,
    "i32": (torch.arange(4, dtype=torch.int32) * 100000 - 150000).reshape(2, 2),
    "i16": torch.arange(5, dtype=torch.int16) * 1000 - 2000,
    "i8": torch.arange(-3, 3, dtype=torch.int8),
    "u8": torch.arange(250, 256).to(torch.uint8),
    "bool": (torch.arange(6) % 2 == 0).reshape(2, 3),
    "scalar": torch.tensor(2.5, dtype=torch.float32),
    "empty": torch.zeros(0, 4, dtype=torch.float32),
}
)PY";

// Runs the project's Python on `script` with `arg`; returns (exit code, combined output).
std::pair<int, std::string> run_python(const fs::path& script, const fs::path& arg) {
  const fs::path python = fs::path(LLMFT_SOURCE_DIR) / ".venv" / "bin" / "python";
  REQUIRE(fs::exists(python));
  // Built with += : GCC 12 misreports `"literal" + std::string` here (-Wstringop-overflow).
  std::string command = "'";
  command += python.string() + "' '" + script.string() + "' '" + arg.string() + "' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

std::string expect_error(const fs::path& file) {
  try {
    SafetensorsFile::open(file);
  } catch (const llmft::Error& e) {
    return e.what();
  }
  FAIL("opening " << file << " should have failed");
  return {};
}

}  // namespace

TEST_CASE("safetensors round-trips every dtype with exact values, shapes, order and metadata", "[io][safetensors]") {
  TempDir tmp("llmft-safetensors");
  const fs::path file = tmp.path / "all.safetensors";
  const auto tensors = reference_tensors();
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"note", "round trip ✓"}};
  write_safetensors(file, tensors, metadata);

  const auto st = SafetensorsFile::open(file);
  REQUIRE(st.metadata() == metadata);
  REQUIRE(st.tensors().size() == tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, expected] = tensors[i];
    INFO(name);
    REQUIRE(st.tensors()[i].name == name);  // written in the given order
    const TensorInfo* info = st.find(name);
    REQUIRE(info != nullptr);
    REQUIRE(info->shape == expected.sizes().vec());
    REQUIRE(info->numel() == expected.numel());
    REQUIRE(info->nbytes() == expected.nbytes());
    const at::Tensor got = st.tensor(name);
    REQUIRE(got.scalar_type() == expected.scalar_type());
    REQUIRE(got.sizes() == expected.sizes());
    REQUIRE(torch::equal(got, expected));
  }
  REQUIRE(st.find("missing") == nullptr);
  REQUIRE_THROWS_WITH(st.tensor("missing"), Contains(file.string()) && Contains("'missing'"));
}

TEST_CASE("safetensors writer lays out the header as the format requires", "[io][safetensors]") {
  TempDir tmp("llmft-safetensors");
  const fs::path file = tmp.path / "layout.safetensors";
  // A transposed (non-contiguous) input must be written in logical row-major order.
  const auto base = torch::arange(6, torch::kFloat).reshape({2, 3});
  write_safetensors(file, {{"b", base.t()}, {"a", torch::ones({3}, torch::kShort)}}, {{"format", "pt"}});

  const std::string bytes = llmft::test::read_file_bytes(file);
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  REQUIRE(header_len % 8 == 0);
  REQUIRE(bytes.size() == 8 + header_len + 6 * 4 + 3 * 2);
  const auto header = nlohmann::json::parse(bytes.substr(8, header_len));
  REQUIRE(header["__metadata__"] == nlohmann::json{{"format", "pt"}});
  REQUIRE(header["b"]["dtype"] == "F32");
  REQUIRE(header["b"]["shape"] == nlohmann::json{3, 2});
  REQUIRE(header["b"]["data_offsets"] == nlohmann::json{0, 24});
  REQUIRE(header["a"]["dtype"] == "I16");
  REQUIRE(header["a"]["data_offsets"] == nlohmann::json{24, 30});
  REQUIRE(torch::equal(SafetensorsFile::open(file).tensor("b"), base.t()));

  write_safetensors(file, {{"x", torch::ones({1})}});  // no metadata → no __metadata__ key
  const std::string plain = llmft::test::read_file_bytes(file);
  REQUIRE(plain.find("__metadata__") == std::string::npos);
  REQUIRE(SafetensorsFile::open(file).metadata().empty());
}

TEST_CASE("safetensors tensors are zero-copy views that keep the mapping alive", "[io][safetensors]") {
  TempDir tmp("llmft-safetensors");
  const fs::path file = tmp.path / "view.safetensors";
  const auto expected = torch::arange(1024, torch::kFloat).reshape({32, 32});
  write_safetensors(file, {{"w", expected}, {"b", torch::arange(7, torch::kLong)}});

  at::Tensor w, b;
  {
    const auto st = SafetensorsFile::open(file);
    w = st.tensor("w");
    b = st.tensor("b");
    REQUIRE(st.mapping().contains(w.data_ptr(), w.nbytes()));
    REQUIRE(st.mapping().contains(b.data_ptr(), b.nbytes()));
    REQUIRE(st.mapping().size() == fs::file_size(file));
  }
  // The SafetensorsFile is gone; the views still read the mapped bytes.
  REQUIRE(torch::equal(w, expected));
  REQUIRE(torch::equal(b, torch::arange(7, torch::kLong)));
}

TEST_CASE("safetensors data misaligned by the header is copied into an aligned tensor", "[io][safetensors]") {
  TempDir tmp("llmft-safetensors");
  const fs::path file = tmp.path / "odd.safetensors";
  const std::string header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";  // 55 bytes
  REQUIRE(header.size() % 4 != 0);
  const float values[2] = {1.5f, -2.25f};
  write_raw(file, header, std::string(reinterpret_cast<const char*>(values), sizeof values));

  const auto st = SafetensorsFile::open(file);
  const at::Tensor x = st.tensor("x");
  REQUIRE(reinterpret_cast<uintptr_t>(x.data_ptr()) % 4 == 0);
  REQUIRE_FALSE(st.mapping().contains(x.data_ptr()));
  REQUIRE(torch::equal(x, torch::tensor({1.5f, -2.25f})));
}

TEST_CASE("safetensors files written by our writer load in the Python reference", "[io][safetensors][python]") {
  TempDir tmp("llmft-safetensors");
  const fs::path file = tmp.path / "ours.safetensors";
  write_safetensors(file, reference_tensors(), {{"format", "pt"}, {"origin", "llmft"}});
  const fs::path script = tmp.path / "check.py";
  std::ofstream(script) << kPythonReference << R"PY(
import sys
from safetensors import safe_open
from safetensors.torch import load_file
path = sys.argv[1]
got = load_file(path)
with safe_open(path, "pt") as f:
    assert f.metadata() == {"format": "pt", "origin": "llmft"}, f.metadata()
assert sorted(got) == sorted(expected), sorted(got)
for name, want in expected.items():
    t = got[name]
    assert t.dtype == want.dtype and t.shape == want.shape, (name, t.dtype, t.shape)
    assert torch.equal(t, want), (name, t, want)
print("ok")
)PY";
  const auto [code, output] = run_python(script, file);
  INFO(output);
  REQUIRE(code == 0);
  REQUIRE_THAT(output, Contains("ok"));
}

TEST_CASE("safetensors files written by the Python reference load here", "[io][safetensors][python]") {
  TempDir tmp("llmft-safetensors");
  const fs::path file = tmp.path / "theirs.safetensors";
  const fs::path script = tmp.path / "save.py";
  std::ofstream(script) << kPythonReference << R"PY(
import sys
from safetensors.torch import save_file
save_file(expected, sys.argv[1], metadata={"format": "pt", "origin": "python"})
)PY";
  const auto [code, output] = run_python(script, file);
  INFO(output);
  REQUIRE(code == 0);

  const auto st = SafetensorsFile::open(file);
  REQUIRE(st.metadata() == std::map<std::string, std::string>{{"format", "pt"}, {"origin", "python"}});
  const auto expected = reference_tensors();
  REQUIRE(st.tensors().size() == expected.size());
  for (const auto& [name, want] : expected) {
    INFO(name);
    const at::Tensor got = st.tensor(name);
    REQUIRE(got.scalar_type() == want.scalar_type());
    REQUIRE(got.sizes() == want.sizes());
    REQUIRE(torch::equal(got, want));
  }
}

TEST_CASE("safetensors rejects files too short for their header", "[io][safetensors]") {
  TempDir tmp("llmft-safetensors");
  const fs::path file = tmp.path / "bad.safetensors";

  std::ofstream(file, std::ios::binary) << "abcde";
  REQUIRE_THAT(expect_error(file), Contains(file.string()) && Contains("shorter than the 8-byte"));
  std::ofstream(file, std::ios::binary).close();  // empty
  REQUIRE_THAT(expect_error(file), Contains(file.string()) && Contains("shorter than the 8-byte"));

  write_raw(file, "{}", "", 1000);  // claims 1000 header bytes, has 2
  REQUIRE_THAT(expect_error(file), Contains(file.string()) && Contains("runs past the end of the file"));

  write_raw(file, "{}", "", ~uint64_t(0));
  REQUIRE_THAT(expect_error(file), Contains(file.string()) && Contains("exceeds the limit"));

  // Just above the bound, inside a (sparse) file large enough to hold it: the bound alone rejects it.
  write_raw(file, "{}", "", kMaxSafetensorsHeaderBytes + 1);
  fs::resize_file(file, 8 + kMaxSafetensorsHeaderBytes + 1);
  REQUIRE_THAT(expect_error(file), Contains(file.string()) && Contains("exceeds the limit"));
}

TEST_CASE("safetensors rejects malformed header JSON", "[io][safetensors]") {
  TempDir tmp("llmft-safetensors");
  const fs::path file = tmp.path / "bad.safetensors";
  write_raw(file, R"({"w": {"dtype": "F32", )", "");
  REQUIRE_THAT(expect_error(file), Contains(file.string()) && Contains("not valid JSON"));
  write_raw(file, R"([1, 2, 3])", "");
  REQUIRE_THAT(expect_error(file), Contains(file.string()) && Contains("must be a JSON object"));
  write_raw(file, R"({"w": [1]})", "");
  REQUIRE_THAT(expect_error(file), Contains(file.string()) && Contains("'w'") && Contains("must be an object"));
  write_raw(file, R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", std::string(4, '\0'));
  REQUIRE_THAT(expect_error(file), Contains("'w'") && Contains("dtype"));
  write_raw(file, R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", std::string(4, '\0'));
  REQUIRE_THAT(expect_error(file), Contains("'w'") && Contains("shape"));
  write_raw(file, R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})", std::string(4, '\0'));
  REQUIRE_THAT(expect_error(file), Contains("'w'") && Contains("data_offsets"));
  // Trailing spaces (the writer's padding) are fine.
  write_raw(file, R"({"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}   )", "x");
  REQUIRE(SafetensorsFile::open(file).tensor("w").item<uint8_t>() == 'x');
}

TEST_CASE("safetensors rejects unknown dtypes and bad shapes, naming the tensor", "[io][safetensors]") {
  TempDir tmp("llmft-safetensors");
  const fs::path file = tmp.path / "bad.safetensors";
  write_raw(file, R"({"layer.w": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}})", std::string(4, '\0'));
  REQUIRE_THAT(expect_error(file), Contains(file.string()) && Contains("'layer.w'") && Contains("F8_E4M3"));

  write_raw(file, R"({"layer.w": {"dtype": "F32", "shape": [-1, 2], "data_offsets": [0, 8]}})", std::string(8, '\0'));
  REQUIRE_THAT(expect_error(file), Contains(file.string()) && Contains("'layer.w'") && Contains("negative"));

  write_raw(file, R"({"layer.w": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}})", std::string(8, '\0'));
  REQUIRE_THAT(expect_error(file), Contains("'layer.w'") && Contains("non-negative integers"));

  write_raw(file, R"({"layer.w": {"dtype": "F32", "shape": [4294967296, 4294967296, 16], "data_offsets": [0, 8]}})",
            std::string(8, '\0'));
  REQUIRE_THAT(expect_error(file), Contains("'layer.w'") && Contains("too large"));
}

TEST_CASE("safetensors rejects offsets that disagree with dtype and shape or leave the data section",
          "[io][safetensors]") {
  TempDir tmp("llmft-safetensors");
  const fs::path file = tmp.path / "bad.safetensors";
  write_raw(file, R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", std::string(8, '\0'));
  REQUIRE_THAT(expect_error(file), Contains(file.string()) && Contains("'w'") && Contains("needs 12"));

  write_raw(file, R"({"w": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 16]}})", std::string(8, '\0'));
  REQUIRE_THAT(expect_error(file), Contains("'w'") && Contains("run past the data section"));

  write_raw(file, R"({"w": {"dtype": "U8", "shape": [0], "data_offsets": [4, 0]}})", std::string(4, '\0'));
  REQUIRE_THAT(expect_error(file), Contains("'w'") && Contains("begin > end"));

  write_raw(file, R"({"w": {"dtype": "U8", "shape": [1], "data_offsets": [-1, 0]}})", std::string(1, '\0'));
  REQUIRE_THAT(expect_error(file), Contains("'w'") && Contains("data_offsets"));
}

TEST_CASE("safetensors rejects overlapping tensors, holes and trailing bytes", "[io][safetensors]") {
  TempDir tmp("llmft-safetensors");
  const fs::path file = tmp.path / "bad.safetensors";
  write_raw(file,
            R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
            R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
            std::string(12, '\0'));
  REQUIRE_THAT(expect_error(file), Contains(file.string()) && Contains("'b'") && Contains("overlaps tensor 'a'"));

  // Same bytes claimed twice.
  write_raw(file,
            R"({"a": {"dtype": "I32", "shape": [1], "data_offsets": [0, 4]},)"
            R"( "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})",
            std::string(4, '\0'));
  REQUIRE_THAT(expect_error(file), Contains("overlaps"));

  write_raw(file,
            R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
            R"( "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})",
            std::string(12, '\0'));
  REQUIRE_THAT(expect_error(file), Contains(file.string()) && Contains("bytes 4..8") && Contains("'b'"));

  write_raw(file, R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", std::string(8, '\0'));
  REQUIRE_THAT(expect_error(file), Contains(file.string()) && Contains("4 trailing bytes"));

  // Zero-sized tensors take no bytes and may share an offset.
  write_raw(file,
            R"({"z1": {"dtype": "F32", "shape": [0, 3], "data_offsets": [4, 4]},)"
            R"( "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
            R"( "z2": {"dtype": "I64", "shape": [0], "data_offsets": [4, 4]}})",
            std::string(4, '\0'));
  const auto st = SafetensorsFile::open(file);
  REQUIRE(st.tensors().size() == 3);
  REQUIRE(st.tensors()[0].name == "a");  // file order is ascending offset
  REQUIRE(st.tensor("z1").sizes() == at::IntArrayRef({0, 3}));
}

TEST_CASE("safetensors rejects a tensor name given twice and bad metadata", "[io][safetensors]") {
  TempDir tmp("llmft-safetensors");
  const fs::path file = tmp.path / "bad.safetensors";
  write_raw(file,
            R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
            R"( "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
            std::string(8, '\0'));
  REQUIRE_THAT(expect_error(file), Contains(file.string()) && Contains("'w'") && Contains("more than once"));

  write_raw(file, R"({"w": {"dtype": "F32", "dtype": "F16", "shape": [1], "data_offsets": [0, 4]}})",
            std::string(4, '\0'));
  REQUIRE_THAT(expect_error(file), Contains("'w'") && Contains("repeats the key 'dtype'"));

  write_raw(file, R"({"__metadata__": {"format": 1}})", "");
  REQUIRE_THAT(expect_error(file), Contains(file.string()) && Contains("__metadata__") && Contains("'format'"));
  write_raw(file, R"({"__metadata__": ["pt"]})", "");
  REQUIRE_THAT(expect_error(file), Contains("__metadata__"));
}

TEST_CASE("safetensors open names the file when it cannot be read", "[io][safetensors]") {
  TempDir tmp("llmft-safetensors");
  const fs::path missing = tmp.path / "missing.safetensors";
  REQUIRE_THAT(expect_error(missing), Contains(missing.string()) && Contains("No such file"));
  REQUIRE_THAT(expect_error(tmp.path), Contains(tmp.path.string()) && Contains("directory"));

  const fs::path locked = tmp.path / "locked.safetensors";
  write_safetensors(locked, {{"w", torch::ones({1})}});
  fs::permissions(locked, fs::perms::none);
  if (::geteuid() != 0) {  // root reads regardless of permissions
    REQUIRE_THAT(expect_error(locked), Contains(locked.string()) && Contains("Permission denied"));
  }
}

TEST_CASE("safetensors writer refuses duplicate names and unsupported dtypes before writing", "[io][safetensors]") {
  TempDir tmp("llmft-safetensors");
  const fs::path file = tmp.path / "out.safetensors";
  auto error_of = [&](const std::vector<NamedTensor>& tensors) -> std::string {
    try {
      write_safetensors(file, tensors);
    } catch (const llmft::Error& e) {
      return e.what();
    }
    return "no error";
  };
  REQUIRE_THAT(error_of({{"a", torch::ones({1})}, {"a", torch::ones({2})}}),
               Contains(file.string()) && Contains("'a'") && Contains("twice"));
  REQUIRE_THAT(error_of({{"ok", torch::ones({1})}, {"c", torch::ones({2}, torch::kComplexFloat)}}),
               Contains(file.string()) && Contains("'c'") && Contains("ComplexFloat"));
  REQUIRE_THAT(error_of({{"u", at::Tensor()}}), Contains("'u'") && Contains("undefined"));
  REQUIRE_THAT(error_of({{"__metadata__", torch::ones({1})}}), Contains("__metadata__"));
  REQUIRE(fs::is_empty(tmp.path));  // nothing, not even a temporary, was left behind
}

TEST_CASE("safetensors open survives corrupted bytes: it loads or throws llmft::Error", "[io][safetensors]") {
  TempDir tmp("llmft-safetensors");
  const fs::path good = tmp.path / "good.safetensors";
  write_safetensors(good, {{"a", torch::arange(6, torch::kFloat).reshape({2, 3})},
                           {"b", torch::arange(3, torch::kShort)},
                           {"c", torch::zeros({0})}},
                    {{"format", "pt"}});
  const std::string original = llmft::test::read_file_bytes(good);
  const fs::path file = tmp.path / "mutated.safetensors";
  std::mt19937 rng(1234);
  int rejected = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string bytes = original;
    if (trial % 4 == 0) {
      bytes.resize(rng() % bytes.size());  // truncated anywhere
    } else {
      // Overwrite 1-3 bytes, mostly in the length field and header where the structure lives.
      for (unsigned k = 0, n = 1 + rng() % 3; k < n; ++k) {
        const std::size_t at = rng() % std::min<std::size_t>(bytes.size(), trial % 2 ? 16 : bytes.size());
        bytes[at] = static_cast<char>(rng() % 2 ? rng() % 256 : "{}[],:\"0123456789-"[rng() % 18]);
      }
    }
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
    try {
      const auto st = SafetensorsFile::open(file);
      for (const auto& info : st.tensors()) {
        const at::Tensor t = st.tensor(info.name);
        REQUIRE(static_cast<uint64_t>(t.nbytes()) == info.nbytes());
        (void)t.to(torch::kDouble).sum().item<double>();  // touches every byte
      }
    } catch (const llmft::Error& e) {
      REQUIRE_THAT(std::string(e.what()), Contains(file.string()));
      ++rejected;
    }
  }
  REQUIRE(rejected > 1000);  // the mutations do hit the validation
}
