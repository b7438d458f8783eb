#include "io/hf_checkpoint.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "io/error.h"
#include "tests/support/catch.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using namespace llmft::io;
using llmft::test::Contains;
using llmft::test::TempDir;
using Json = nlohmann::json;

namespace {

Json read_json(const fs::path& p) {
  std::ifstream in(p);
  return Json::parse(in);
}

void write_text(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

// F32 tensors of the given element counts, named t0, t1, ..., each with distinct values.
std::vector<NamedTensor> float_tensors(const std::vector<int64_t>& numels) {
  std::vector<NamedTensor> out;
  for (std::size_t i = 0; i < numels.size(); ++i) {
    std::string name = "t";  // not "t" + ...: GCC 12 misreports that here (-Wstringop-overflow)
    name += std::to_string(i);
    out.push_back({name, torch::arange(numels[i], torch::kFloat) + 1000.0 * double(i)});
  }
  return out;
}

std::string open_error(const fs::path& p) {
  try {
    HfCheckpoint::open(p);
  } catch (const llmft::Error& e) {
    return e.what();
  }
  FAIL("opening " << p << " should have failed");
  return {};
}

// Two shards with one tensor each, and an index written by hand (`weight_map` given).
fs::path make_sharded_dir(const fs::path& dir, const Json& weight_map) {
  fs::create_directories(dir);
  write_safetensors(dir / "a.safetensors", {{"x", torch::ones({2})}});
  write_safetensors(dir / "b.safetensors", {{"y", torch::zeros({3})}});
  write_text(dir / "model.safetensors.index.json",
             Json{{"metadata", {{"total_size", 20}}}, {"weight_map", weight_map}}.dump());
  return dir / "model.safetensors.index.json";
}

}  // namespace

TEST_CASE("hf checkpoint below the shard limit is one model.safetensors", "[io][hf_checkpoint]") {
  TempDir tmp("llmft-hfckpt");
  const auto tensors = float_tensors({4, 6, 2});
  write_hf_checkpoint(tmp.path, tensors, 1 << 20);
  REQUIRE(fs::exists(tmp.path / "model.safetensors"));
  REQUIRE_FALSE(fs::exists(tmp.path / "model.safetensors.index.json"));

  const auto ckpt = HfCheckpoint::open(tmp.path);
  REQUIRE(ckpt.root() == tmp.path);
  REQUIRE(ckpt.names() == std::vector<std::string>{"t0", "t1", "t2"});
  REQUIRE(ckpt.shards().size() == 1);
  REQUIRE(ckpt.shards()[0].metadata() == std::map<std::string, std::string>{{"format", "pt"}});
  for (const auto& [name, t] : tensors) {
    REQUIRE(ckpt.contains(name));
    REQUIRE(ckpt.info(name).shape == t.sizes().vec());
    REQUIRE(ckpt.shard_of(name) == tmp.path / "model.safetensors");
    REQUIRE(torch::equal(ckpt.tensor(name), t));
  }
  REQUIRE_FALSE(ckpt.contains("t3"));
  REQUIRE_THROWS_WITH(ckpt.info("t3"), Contains("'t3'") && Contains(tmp.path.string()));
  REQUIRE_THROWS_WITH(ckpt.tensor("t3"), Contains("'t3'"));
  REQUIRE_THROWS_WITH(ckpt.shard_of("t3"), Contains("'t3'"));

  // A single file can be opened directly; its directory is the root.
  const auto single = HfCheckpoint::open(tmp.path / "model.safetensors");
  REQUIRE(single.root() == tmp.path);
  REQUIRE(torch::equal(single.tensor("t1"), tensors[1].tensor));
}

TEST_CASE("hf checkpoint above the shard limit is sharded with HF naming and an index", "[io][hf_checkpoint]") {
  TempDir tmp("llmft-hfckpt");
  // Bytes: 16, 16, 32, 400 (over the limit: own shard), 8, 24 with a 40-byte limit →
  // [t0 t1] [t2] [t3] [t4 t5]; total 496.
  const auto tensors = float_tensors({4, 4, 8, 100, 2, 6});
  write_hf_checkpoint(tmp.path, tensors, 40, {{"format", "pt"}});

  REQUIRE_FALSE(fs::exists(tmp.path / "model.safetensors"));
  const Json index = read_json(tmp.path / "model.safetensors.index.json");
  REQUIRE(index["metadata"]["total_size"] == 496);
  const Json expected_map = {{"t0", "model-00001-of-00004.safetensors"}, {"t1", "model-00001-of-00004.safetensors"},
                             {"t2", "model-00002-of-00004.safetensors"}, {"t3", "model-00003-of-00004.safetensors"},
                             {"t4", "model-00004-of-00004.safetensors"}, {"t5", "model-00004-of-00004.safetensors"}};
  REQUIRE(index["weight_map"] == expected_map);
  const auto ckpt = HfCheckpoint::open(tmp.path);
  REQUIRE(ckpt.shards().size() == 4);
  for (int k = 1; k <= 4; ++k) {
    std::string file = "model-0000";
    file += std::to_string(k) + "-of-00004.safetensors";
    REQUIRE(ckpt.shards()[k - 1].path() == tmp.path / file);  // shards in file-name order
  }
  REQUIRE(ckpt.names().size() == tensors.size());
  for (const auto& [name, t] : tensors) {
    INFO(name);
    REQUIRE(ckpt.shard_of(name) == tmp.path / expected_map[name].get<std::string>());
    REQUIRE(torch::equal(ckpt.tensor(name), t));
  }
  // Tensors keep their order inside a shard.
  const auto last = SafetensorsFile::open(tmp.path / "model-00004-of-00004.safetensors");
  REQUIRE(last.tensors()[0].name == "t4");
  REQUIRE(last.tensors()[1].name == "t5");
  REQUIRE(last.metadata().at("format") == "pt");

  // Saving again into the same directory in the single-file layout drops the stale index.
  write_hf_checkpoint(tmp.path, float_tensors({1}), 40);
  REQUIRE_FALSE(fs::exists(tmp.path / "model.safetensors.index.json"));
  REQUIRE(HfCheckpoint::open(tmp.path).names() == std::vector<std::string>{"t0"});
}

TEST_CASE("hf checkpoint sharding matches huggingface_hub's greedy packing", "[io][hf_checkpoint][python]") {
  TempDir tmp("llmft-hfckpt");
  const std::vector<int64_t> numels = {10, 30, 25, 5, 40, 1, 1, 60, 3};  // none over the limit
  const uint64_t limit = 60 * 4;
  write_hf_checkpoint(tmp.path, float_tensors(numels), limit);

  const fs::path script = tmp.path / "split.py";
  std::ofstream(script) << R"PY(
import json, sys, torch
from huggingface_hub import split_torch_state_dict_into_shards
numels = [10, 30, 25, 5, 40, 1, 1, 60, 3]
sd = {f"t{i}": torch.zeros(n, dtype=torch.float32) for i, n in enumerate(numels)}
split = split_torch_state_dict_into_shards(sd, max_shard_size=60 * 4)
print(json.dumps(split.tensor_to_filename, sort_keys=True))
)PY";
  const fs::path python = fs::path(LLMFT_SOURCE_DIR) / ".venv" / "bin" / "python";
  REQUIRE(fs::exists(python));
  std::string command = "'";
  command += python.string() + "' '" + script.string() + "' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  const int status = ::pclose(pipe);
  INFO(output);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);

  // The JSON is the last line; anything before it would be a library's warning.
  const auto trimmed = output.substr(0, output.find_last_not_of("\n") + 1);
  const Json reference = Json::parse(trimmed.substr(trimmed.find_last_of('\n') + 1));
  REQUIRE(reference.size() == numels.size());
  REQUIRE(read_json(tmp.path / "model.safetensors.index.json")["weight_map"] == reference);
}

TEST_CASE("hf checkpoint index may not point outside the model directory", "[io][hf_checkpoint]") {
  TempDir tmp("llmft-hfckpt");
  const fs::path dir = tmp.path / "model";
  write_safetensors(tmp.path / "x.safetensors", {{"x", torch::ones({2})}});  // a file outside `dir`

  auto index = make_sharded_dir(dir, {{"x", "../x.safetensors"}, {"y", "b.safetensors"}});
  REQUIRE_THAT(open_error(dir), Contains(index.string()) && Contains("'x'") && Contains("../x.safetensors") &&
                                    Contains(".."));

  index = make_sharded_dir(dir, {{"x", "sub/../../x.safetensors"}, {"y", "b.safetensors"}});
  REQUIRE_THAT(open_error(dir), Contains(index.string()) && Contains("sub/../../x.safetensors"));

  const std::string absolute = (tmp.path / "x.safetensors").string();
  index = make_sharded_dir(dir, {{"x", absolute}, {"y", "b.safetensors"}});
  REQUIRE_THAT(open_error(dir), Contains(index.string()) && Contains(absolute) && Contains("relative"));

  index = make_sharded_dir(dir, {{"x", ""}, {"y", "b.safetensors"}});
  REQUIRE_THAT(open_error(dir), Contains(index.string()) && Contains("empty"));
}

TEST_CASE("hf checkpoint index must agree with its shards", "[io][hf_checkpoint]") {
  TempDir tmp("llmft-hfckpt");
  const fs::path dir = tmp.path / "model";

  auto index = make_sharded_dir(dir, {{"x", "a.safetensors"}, {"y", "b.safetensors"}});
  {
    const auto ckpt = HfCheckpoint::open(dir);  // the consistent case opens
    REQUIRE(ckpt.names() == std::vector<std::string>{"x", "y"});
    REQUIRE(ckpt.shard_of("y") == dir / "b.safetensors");
    REQUIRE(torch::equal(ckpt.tensor("y"), torch::zeros({3})));
  }

  make_sharded_dir(dir, {{"x", "a.safetensors"}, {"y", "c.safetensors"}});
  REQUIRE_THAT(open_error(dir), Contains(index.string()) && Contains("c.safetensors") && Contains("not found"));

  make_sharded_dir(dir, {{"x", "a.safetensors"}, {"y", "b.safetensors"}, {"z", "b.safetensors"}});
  REQUIRE_THAT(open_error(dir), Contains(index.string()) && Contains("'z'") && Contains("does not contain"));

  make_sharded_dir(dir, {{"x", "a.safetensors"}});  // b.safetensors is never opened
  REQUIRE(HfCheckpoint::open(dir).names() == std::vector<std::string>{"x"});

  make_sharded_dir(dir, {{"x", "a.safetensors"}, {"y", "b.safetensors"}});
  write_safetensors(dir / "b.safetensors", {{"y", torch::zeros({3})}, {"extra", torch::ones({1})}});
  REQUIRE_THAT(open_error(dir), Contains(index.string()) && Contains("'extra'") && Contains("not in weight_map"));

  write_safetensors(dir / "b.safetensors", {{"y", torch::zeros({3})}, {"x", torch::ones({2})}});
  REQUIRE_THAT(open_error(dir), Contains(index.string()) && Contains("'x'") && Contains("two shards"));
}

TEST_CASE("hf checkpoint reports malformed indexes and missing weights", "[io][hf_checkpoint]") {
  TempDir tmp("llmft-hfckpt");
  const fs::path dir = tmp.path / "model";
  fs::create_directories(dir);
  REQUIRE_THAT(open_error(dir), Contains(dir.string()) && Contains("model.safetensors") &&
                                    Contains("model.safetensors.index.json"));
  REQUIRE_THAT(open_error(tmp.path / "nope"), Contains((tmp.path / "nope").string()));

  const fs::path index = dir / "model.safetensors.index.json";
  write_text(index, "{\"weight_map\": {");
  REQUIRE_THAT(open_error(dir), Contains(index.string()) && Contains("not valid JSON"));
  write_text(index, "[]");
  REQUIRE_THAT(open_error(dir), Contains(index.string()) && Contains("object"));
  write_text(index, R"({"metadata": {}})");
  REQUIRE_THAT(open_error(dir), Contains(index.string()) && Contains("weight_map"));
  write_text(index, R"({"weight_map": {"x": 3}})");
  REQUIRE_THAT(open_error(dir), Contains(index.string()) && Contains("'x'"));

  // A corrupt shard's error names the shard.
  write_text(dir / "a.safetensors", "junk");
  write_text(index, R"({"weight_map": {"x": "a.safetensors"}})");
  REQUIRE_THAT(open_error(dir), Contains((dir / "a.safetensors").string()));
}

TEST_CASE("hf checkpoint writer refuses a name given twice across shards", "[io][hf_checkpoint]") {
  TempDir tmp("llmft-hfckpt");
  std::vector<NamedTensor> tensors = float_tensors({4, 4});
  tensors[1].name = "t0";
  REQUIRE_THROWS_WITH(write_hf_checkpoint(tmp.path, tensors, 16), Contains("'t0'") && Contains("twice"));
  REQUIRE(fs::is_empty(tmp.path));
}
