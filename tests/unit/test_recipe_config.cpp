// YAML recipe + overrides -> Recipe: defaults, a full recipe, every error's message (file, key, line,
// suggestion), override precedence and typing, and the resolved recipe's round trip through YAML.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "io/error.h"
#include "recipes/recipe_config.h"
#include "tests/support/catch.h"
#include "tests/support/temp_dir.h"

using namespace llmft::recipes;
#if LLMFT_CATCH2_V3
using Catch::Approx;  // v2 has it at global scope
#endif
using llmft::test::Contains;

namespace {

const char* kMinimal = "data:\n  path: train.jsonl\n";

Recipe parse(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return parse_recipe(text, "r.yaml", overrides);
}

// Every key set to a non-default value.
const char* kFull = R"(# a full recipe
model:
  path: /models/llama-3.2-1b
  dtype: fp16
  device: cuda:1
method: lora
lora:
  rank: 8
  alpha: 16
  dropout: 0.1
  target_modules: [q_proj, k_proj, v_proj, o_proj]
  use_rslora: true
  init: gaussian
  modules_to_save: [lm_head]
data:
  path: data/alpaca.json
  format: alpaca
  template: alpaca
  max_seq_len: 1024
  packing: true
  train_on_prompt: true
  eval_split: 0.05
train:
  batch_size: 2
  grad_accum_steps: 8
  max_steps: 1000
  lr: 1.0e-4
  weight_decay: 0.01
  betas: [0.9, 0.95]
  eps: 1e-6
  lr_scheduler: linear
  warmup_steps: 50
  max_grad_norm: 0.5
  activation_checkpointing: false
  seed: 7
output:
  dir: runs/llama-lora
  save_every_steps: 100
  keep_last_n: 2
  log_every_steps: 5
eval:
  every_steps: 50
  max_batches: 20
)";

}  // namespace

TEST_CASE("recipe defaults are the documented ones", "[recipe]") {
  Recipe r = parse(kMinimal);
  CHECK(r.model.path == "smollm2-135m");
  CHECK(r.model.dtype == DType::kBF16);
  CHECK(r.model.device == Device{});
  CHECK(r.method == Method::kLora);
  CHECK(r.lora.rank == 16);
  CHECK(r.lora.alpha == 32.0);
  CHECK(r.lora.dropout == Approx(0.05));
  CHECK(r.lora.target_modules == std::vector<std::string>{"all-linear"});
  CHECK_FALSE(r.lora.use_rslora);
  CHECK(r.lora.init == LoraInit::kDefault);
  CHECK(r.lora.modules_to_save.empty());
  CHECK(r.data.path == "train.jsonl");
  CHECK(r.data.format == DataFormat::kChat);
  CHECK(r.data.template_name == "auto");
  CHECK(r.data.max_seq_len == 2048);
  CHECK_FALSE(r.data.packing);
  CHECK_FALSE(r.data.pad_to_multiple_of.has_value());
  CHECK_FALSE(r.data.train_on_prompt);
  CHECK_FALSE(r.data.eval_split.has_value());
  CHECK_FALSE(r.data.eval_path.has_value());
  CHECK(r.train.batch_size == 4);
  CHECK(r.train.grad_accum_steps == 4);
  CHECK_FALSE(r.train.max_steps.has_value());
  CHECK(r.train.epochs == 1);
  CHECK(r.train.lr == Approx(2e-4));
  CHECK(r.train.weight_decay == 0.0);
  CHECK(r.train.betas[0] == Approx(0.9));
  CHECK(r.train.betas[1] == Approx(0.999));
  CHECK(r.train.eps == Approx(1e-8));
  CHECK(r.train.lr_scheduler == LrScheduler::kCosine);
  CHECK_FALSE(r.train.warmup_steps.has_value());
  CHECK(r.train.warmup_ratio == Approx(0.03));
  CHECK(r.train.max_grad_norm == 1.0);
  CHECK(r.train.activation_checkpointing);
  CHECK(r.train.seed == 42);
  CHECK(r.output.dir == "out");
  CHECK(r.output.save_every_steps == 500);
  CHECK(r.output.keep_last_n == 3);
  CHECK(r.output.log_every_steps == 10);
  CHECK(r.eval.every_steps == 200);
  CHECK(r.eval.max_batches == 0);

  SECTION("full fine-tuning defaults to a lower learning rate unless lr is set") {
    CHECK(parse(kMinimal, {"method=full"}).train.lr == Approx(2e-5));
    CHECK(parse(kMinimal, {"method=full", "train.lr=3e-4"}).train.lr == Approx(3e-4));
  }
}

TEST_CASE("a full recipe sets every key", "[recipe]") {
  Recipe r = parse(kFull);
  CHECK(r.model.path == "/models/llama-3.2-1b");
  CHECK(r.model.dtype == DType::kFP16);
  CHECK(r.model.device == Device{Device::Kind::kCuda, 1});
  CHECK(r.lora.rank == 8);
  CHECK(r.lora.alpha == 16.0);
  CHECK(r.lora.dropout == Approx(0.1));
  CHECK(r.lora.target_modules == std::vector<std::string>{"q_proj", "k_proj", "v_proj", "o_proj"});
  CHECK(r.lora.use_rslora);
  CHECK(r.lora.init == LoraInit::kGaussian);
  CHECK(r.lora.modules_to_save == std::vector<std::string>{"lm_head"});
  CHECK(r.data.path == "data/alpaca.json");
  CHECK(r.data.format == DataFormat::kAlpaca);
  CHECK(r.data.template_name == "alpaca");
  CHECK(r.data.max_seq_len == 1024);
  CHECK(r.data.packing);
  CHECK(r.data.train_on_prompt);
  CHECK(r.data.eval_split == Approx(0.05));
  CHECK(r.train.batch_size == 2);
  CHECK(r.train.grad_accum_steps == 8);
  CHECK(r.train.max_steps == 1000);
  CHECK_FALSE(r.train.epochs.has_value());  // max_steps replaces the default epochs
  CHECK(r.train.lr == Approx(1e-4));
  CHECK(r.train.weight_decay == Approx(0.01));
  CHECK(r.train.betas[1] == Approx(0.95));
  CHECK(r.train.eps == Approx(1e-6));
  CHECK(r.train.lr_scheduler == LrScheduler::kLinear);
  CHECK(r.train.warmup_steps == 50);
  CHECK_FALSE(r.train.warmup_ratio.has_value());  // warmup_steps replaces the default ratio
  CHECK(r.train.max_grad_norm == Approx(0.5));
  CHECK_FALSE(r.train.activation_checkpointing);
  CHECK(r.train.seed == 7);
  CHECK(r.output.dir == "runs/llama-lora");
  CHECK(r.output.save_every_steps == 100);
  CHECK(r.output.keep_last_n == 2);
  CHECK(r.output.log_every_steps == 5);
  CHECK(r.eval.every_steps == 50);
  CHECK(r.eval.max_batches == 20);
}

TEST_CASE("load_recipe reads a file and names it in errors", "[recipe]") {
  llmft::test::TempDir dir;
  auto path = dir.path / "r.yaml";
  std::ofstream(path) << kMinimal << "train:\n  lr: 3e-4\n";
  CHECK(load_recipe(path, {"lora.rank=4"}).lora.rank == 4);
  CHECK(load_recipe(path, {}).train.lr == Approx(3e-4));

  std::ofstream(path) << kMinimal << "train:\n  lr: abc\n";
  REQUIRE_THROWS_WITH(load_recipe(path, {}), Contains(path.string() + ":4:3: train.lr"));
  REQUIRE_THROWS_WITH(load_recipe(dir.path / "missing.yaml", {}),
                      Contains("missing.yaml") && Contains("cannot open"));
}

TEST_CASE("recipe errors name the file, key, line and fix", "[recipe]") {
  SECTION("malformed YAML gives line and column") {
    REQUIRE_THROWS_WITH(parse("data:\n  path: [a, b\ntrain: {lr: 1}\n"),
                        Contains("r.yaml:") && Contains("invalid YAML"));
    REQUIRE_THROWS_WITH(parse("model:\n  path: x\n   dtype: bf16\n"),
                        Contains("r.yaml:3:") && Contains("invalid YAML"));
  }
  SECTION("unknown keys suggest the nearest valid key") {
    REQUIRE_THROWS_WITH(parse(std::string(kMinimal) + "train:\n  lrr: 1e-4\n"),
                        Contains("r.yaml:4:3") && Contains("unknown key 'train.lrr'") &&
                            Contains("did you mean 'train.lr'?"));
    REQUIRE_THROWS_WITH(parse(std::string(kMinimal) + "lora:\n  rnak: 8\n"),
                        Contains("did you mean 'lora.rank'?"));
    REQUIRE_THROWS_WITH(parse(std::string(kMinimal) + "train:\n  rank: 8\n"),
                        Contains("did you mean 'lora.rank'?"));
    REQUIRE_THROWS_WITH(parse(std::string(kMinimal) + "trian:\n  lr: 1\n"),
                        Contains("r.yaml:3:1") && Contains("unknown key 'trian'") && Contains("did you mean 'train'?"));
    REQUIRE_THROWS_WITH(parse(std::string(kMinimal) + "lr: 1e-4\n"), Contains("did you mean 'train.lr'?"));
  }
  SECTION("wrong types name key, line and the expected type") {
    REQUIRE_THROWS_WITH(parse(std::string(kMinimal) + "train:\n  lr: abc\n"),
                        Contains("r.yaml:4:3: train.lr: expected a number, got 'abc'"));
    REQUIRE_THROWS_WITH(parse(std::string(kMinimal) + "lora:\n  rank: 8.5\n"),
                        Contains("r.yaml:4:3: lora.rank: expected an integer, got '8.5'"));
    REQUIRE_THROWS_WITH(parse("data:\n  path: x\n  packing: maybe\n"),
                        Contains("r.yaml:3:3: data.packing: expected true or false, got 'maybe'"));
    REQUIRE_THROWS_WITH(parse("data:\n  path: [a, b]\n"),
                        Contains("data.path: expected a string, got a list"));
    REQUIRE_THROWS_WITH(parse(std::string(kMinimal) + "train:\n  betas: [0.9]\n"),
                        Contains("train.betas: expected a list of two numbers"));
    REQUIRE_THROWS_WITH(parse(std::string(kMinimal) + "lora:\n  target_modules: q_proj\n"),
                        Contains("lora.target_modules: expected a list of module names or 'all-linear'"));
    REQUIRE_THROWS_WITH(parse(std::string(kMinimal) + "train: 5\n"),
                        Contains("r.yaml:3:8: train: expected a mapping of keys"));
    REQUIRE_THROWS_WITH(parse("- a\n- b\n"), Contains("r.yaml:1:1") && Contains("expected a mapping"));
    REQUIRE_THROWS_WITH(parse(std::string(kMinimal) + "train:\n  lr:\n"),
                        Contains("train.lr: expected a number, got nothing"));
  }
  SECTION("invalid enum values list the allowed ones") {
    REQUIRE_THROWS_WITH(parse(std::string(kMinimal) + "model:\n  dtype: bf32\n"),
                        Contains("r.yaml:4:3: model.dtype: invalid value 'bf32' (allowed: bf16, fp16, fp32)"));
    REQUIRE_THROWS_WITH(parse(std::string(kMinimal) + "method: qlora\n"),
                        Contains("method: invalid value 'qlora' (allowed: lora, full)"));
    REQUIRE_THROWS_WITH(parse(std::string(kMinimal) + "train:\n  lr_scheduler: step\n"),
                        Contains("(allowed: cosine, linear, constant)"));
    REQUIRE_THROWS_WITH(parse(std::string(kMinimal) + "model:\n  device: gpu\n"),
                        Contains("model.device: invalid value 'gpu' (allowed: auto, cpu, cuda, cuda:N)"));
  }
  SECTION("out-of-range values") {
    auto with = [](const std::string& extra) { return std::string(kMinimal) + extra; };
    REQUIRE_THROWS_WITH(parse(with("lora:\n  rank: 0\n")),
                        Contains("r.yaml:4:3: lora.rank must be > 0, got 0"));
    REQUIRE_THROWS_WITH(parse(with("lora:\n  dropout: 1\n")),
                        Contains("lora.dropout must be in [0, 1), got 1"));
    REQUIRE_THROWS_WITH(parse(with("lora:\n  alpha: -2\n")), Contains("lora.alpha must be > 0"));
    REQUIRE_THROWS_WITH(parse(with("train:\n  lr: 0\n")), Contains("train.lr must be > 0, got 0"));
    REQUIRE_THROWS_WITH(parse(with("train:\n  lr: .nan\n")), Contains("train.lr must be > 0"));
    REQUIRE_THROWS_WITH(parse(with("train:\n  batch_size: -1\n")),
                        Contains("train.batch_size must be > 0, got -1"));
    REQUIRE_THROWS_WITH(parse(with("train:\n  warmup_ratio: 1.5\n")),
                        Contains("train.warmup_ratio must be in [0, 1), got 1.5"));
    REQUIRE_THROWS_WITH(parse(with("train:\n  betas: [0.9, 1.0]\n")),
                        Contains("train.betas must be in [0, 1)"));
    REQUIRE_THROWS_WITH(parse(with("train:\n  max_steps: 0\n")), Contains("train.max_steps must be > 0"));
    REQUIRE_THROWS_WITH(parse(with("train:\n  zero_stage: 3\n")),
                        Contains("train.zero_stage must be 0, 1 or 2") && Contains("got 3"));
    REQUIRE_THROWS_WITH(parse("data:\n  path: x\n  max_seq_len: 0\n"),
                        Contains("r.yaml:3:3: data.max_seq_len must be > 0, got 0"));
    REQUIRE_THROWS_WITH(parse("data:\n  path: x\n  pad_to_multiple_of: 0\n"),
                        Contains("r.yaml:3:3: data.pad_to_multiple_of must be > 0 (or null), got 0"));
    REQUIRE_THROWS_WITH(parse("data:\n  path: x\n  eval_split: 1\n"),
                        Contains("data.eval_split must be in (0, 1)"));
    REQUIRE_THROWS_WITH(parse(with("output:\n  log_every_steps: 0\n")),
                        Contains("output.log_every_steps must be > 0"));
    REQUIRE_THROWS_WITH(parse(with("lora:\n  target_modules: [all-linear, q_proj]\n")),
                        Contains("all-linear cannot be combined"));
    REQUIRE_THROWS_WITH(parse(with("lora:\n  target_modules: []\n")), Contains("at least one module"));
    REQUIRE_THROWS_WITH(parse(with("lora:\n  target_modules: [q_proj, q_proj]\n")),
                        Contains("'q_proj' is listed twice"));
  }
  SECTION("data.path is required") {
    REQUIRE_THROWS_WITH(parse(""), Contains("r.yaml: data.path is required"));
  }
  SECTION("mutually exclusive keys") {
    REQUIRE_THROWS_WITH(parse(std::string(kMinimal) + "train:\n  max_steps: 10\n  epochs: 2\n"),
                        Contains("r.yaml:4:3: train.max_steps and train.epochs (line 5) are mutually exclusive"));
    REQUIRE_THROWS_WITH(parse(std::string(kMinimal) + "train:\n  warmup_ratio: 0.1\n  warmup_steps: 5\n"),
                        Contains("train.warmup_steps and train.warmup_ratio (line 4) are mutually exclusive"));
    REQUIRE_THROWS_WITH(parse("data:\n  path: x\n  eval_split: 0.1\n  eval_path: e.jsonl\n"),
                        Contains("data.eval_split and data.eval_path (line 4) are mutually exclusive"));
    REQUIRE_THROWS_WITH(parse(kMinimal, {"train.max_steps=5", "train.epochs=2"}),
                        Contains("override 'train.max_steps=5': train.max_steps and train.epochs "
                                 "(override 'train.epochs=2') are mutually exclusive"));
  }
  SECTION("duplicate keys") {
    REQUIRE_THROWS_WITH(parse("data:\n  path: a\n  path: b\n"),
                        Contains("r.yaml:3:3: duplicate key 'data.path' (first set at r.yaml:2:3)"));
    REQUIRE_THROWS_WITH(parse(std::string(kMinimal) + "data:\n  packing: true\n"),
                        Contains("r.yaml:3:1: duplicate key 'data' (first set at r.yaml:1:1)"));
  }
}

TEST_CASE("overrides are typed and win over the file", "[recipe]") {
  const std::string file = std::string(kMinimal) + "train:\n  lr: 3e-4\n  epochs: 3\nlora:\n  rank: 32\n";
  Recipe r = parse(file, {"train.lr=1e-4", "lora.rank=8", "lora.target_modules=[q_proj,v_proj]",
                          "train.betas=[0.9, 0.95]", "model.device=cuda:0", "data.packing=true"});
  CHECK(r.train.lr == Approx(1e-4));
  CHECK(r.lora.rank == 8);
  CHECK(r.lora.target_modules == std::vector<std::string>{"q_proj", "v_proj"});
  CHECK(r.train.betas[1] == Approx(0.95));
  CHECK(r.model.device == Device{Device::Kind::kCuda, 0});
  CHECK(r.data.packing);
  CHECK(r.train.epochs == 3);

  SECTION("later overrides win over earlier ones") {
    CHECK(parse(file, {"lora.rank=4", "lora.rank=2"}).lora.rank == 2);
  }
  SECTION("an override of one exclusive key replaces the file's other one") {
    Recipe s = parse(file, {"train.max_steps=100"});
    CHECK(s.train.max_steps == 100);
    CHECK_FALSE(s.train.epochs.has_value());
    Recipe w = parse(std::string(kMinimal) + "train:\n  warmup_steps: 10\n", {"train.warmup_ratio=0.1"});
    CHECK_FALSE(w.train.warmup_steps.has_value());
    CHECK(w.train.warmup_ratio == Approx(0.1));
  }
  SECTION("null unsets an optional key, and the pair's default returns") {
    Recipe s = parse(std::string(kMinimal) + "train:\n  warmup_steps: 10\n", {"train.warmup_steps=null"});
    CHECK_FALSE(s.train.warmup_steps.has_value());
    CHECK(s.train.warmup_ratio == Approx(0.03));
  }
  SECTION("override errors name the override") {
    REQUIRE_THROWS_WITH(parse(file, {"train.lr"}), Contains("override 'train.lr': expected key=value"));
    REQUIRE_THROWS_WITH(parse(file, {"=3"}), Contains("override '=3': expected key=value"));
    REQUIRE_THROWS_WITH(parse(file, {"train.lrr=1"}),
                        Contains("override 'train.lrr=1': unknown key 'train.lrr' (did you mean 'train.lr'?)"));
    REQUIRE_THROWS_WITH(parse(file, {"train.lr=abc"}),
                        Contains("override 'train.lr=abc': train.lr: expected a number, got 'abc'"));
    REQUIRE_THROWS_WITH(parse(file, {"lora.rank=[1,2]"}),
                        Contains("override 'lora.rank=[1,2]': lora.rank: expected an integer, got a list"));
    REQUIRE_THROWS_WITH(parse(file, {"lora.target_modules=[q_proj"}),
                        Contains("override 'lora.target_modules=[q_proj': invalid YAML value"));
    REQUIRE_THROWS_WITH(parse(file, {"lora=8"}),
                        Contains("'lora' is a section") && Contains("lora.rank=..."));
    REQUIRE_THROWS_WITH(parse(file, {"lora.rank=0"}),
                        Contains("override 'lora.rank=0': lora.rank must be > 0"));
  }
}

TEST_CASE("enum and device spellings", "[recipe]") {
  CHECK(parse(kMinimal, {"model.dtype=fp32"}).model.dtype == DType::kFP32);
  CHECK(parse(kMinimal, {"method=full"}).method == Method::kFull);
  CHECK(parse(kMinimal, {"data.format=sharegpt"}).data.format == DataFormat::kShareGpt);
  CHECK(parse(kMinimal, {"data.format=text"}).data.format == DataFormat::kText);
  CHECK(parse(kMinimal, {"train.lr_scheduler=constant"}).train.lr_scheduler == LrScheduler::kConstant);
  CHECK(parse(kMinimal, {"lora.init=gaussian"}).lora.init == LoraInit::kGaussian);
  CHECK(parse(kMinimal, {"lora.target_modules=all-linear"}).lora.target_modules ==
        std::vector<std::string>{"all-linear"});
  CHECK(to_string(DType::kBF16) == "bf16");
  CHECK(to_string(LrScheduler::kLinear) == "linear");

  CHECK(parse_device("auto") == Device{});
  CHECK(parse_device("cpu") == Device{Device::Kind::kCpu, -1});
  CHECK(parse_device("cuda") == Device{Device::Kind::kCuda, -1});
  CHECK(parse_device("cuda:1") == Device{Device::Kind::kCuda, 1});
  CHECK(to_string(Device{Device::Kind::kCuda, 1}) == "cuda:1");
  CHECK(to_string(Device{Device::Kind::kCuda, -1}) == "cuda");
  for (const char* bad : {"cuda:", "cuda:x", "cuda:-1", "cuda:1x", "gpu", "CPU"}) {
    INFO(bad);
    REQUIRE_THROWS_WITH(parse_device(bad), Contains("invalid device") && Contains("cuda:N"));
  }
}

TEST_CASE("the resolved recipe round-trips through YAML", "[recipe]") {
  auto same = [](const Recipe& a, const Recipe& b) { CHECK(recipe_to_json(a) == recipe_to_json(b)); };
  for (const std::string& text : {std::string(kMinimal), std::string(kFull)}) {
    Recipe r = parse(text, {"data.path='my data/\"quoted\": x.jsonl'", "output.dir=true", "train.lr=1.5e-5"});
    std::string yaml = recipe_to_yaml(r);
    INFO(yaml);
    Recipe back = parse_recipe(yaml, "resolved.yaml", {});
    same(r, back);
    CHECK(back.data.path == "my data/\"quoted\": x.jsonl");
    CHECK(back.output.dir == "true");
    CHECK(back.train.lr == 1.5e-5);  // exact: the shortest round-trip spelling
    CHECK(recipe_to_yaml(back) == yaml);
  }

  Recipe r = parse(kMinimal);
  std::string yaml = recipe_to_yaml(r);
  CHECK_THAT(yaml, Contains("model:\n  path: smollm2-135m\n  dtype: bf16\n  device: auto\nmethod: lora\nlora:\n"));
  CHECK_THAT(yaml, Contains("  target_modules: all-linear\n"));
  CHECK_THAT(yaml, Contains("  lr: 0.0002\n"));
  CHECK_THAT(yaml, Contains("  max_steps: null\n  epochs: 1\n"));

  nlohmann::json j = recipe_to_json(parse(kFull));
  CHECK(j["model"]["device"] == "cuda:1");
  CHECK(j["method"] == "lora");
  CHECK(j["lora"]["target_modules"] == nlohmann::json({"q_proj", "k_proj", "v_proj", "o_proj"}));
  CHECK(j["train"]["epochs"].is_null());
  CHECK(j["train"]["max_steps"] == 1000);
  CHECK(j["data"]["template"] == "alpaca");
  CHECK(j["train"]["betas"] == nlohmann::json({0.9, 0.95}));
  CHECK(recipe_to_json(r)["lora"]["target_modules"] == "all-linear");
  size_t leaves = 0;
  for (const auto& [name, value] : j.items()) leaves += value.is_object() ? value.size() : 1;
  CHECK(leaves == recipe_keys().size());
}

TEST_CASE("data.custom_template: parsed, validated with the key named, round-tripped", "[recipe]") {
  const std::string custom = std::string(kMinimal) +
                             "  template: custom\n"
                             "  custom_template:\n"
                             "    bos: true\n"
                             "    system: \"<|system|>\\n{content}<|end|>\\n\"\n"
                             "    user: \"<|user|>\\n{content}<|end|>\\n\"\n"
                             "    assistant: \"<|assistant|>\\n{content}<|end|>\\n\"\n"
                             "    default_system: You are helpful.\n";
  const Recipe r = parse(custom);
  REQUIRE(r.data.custom_template);
  CHECK(r.data.custom_template->bos);
  CHECK(r.data.custom_template->system == std::optional<std::string>("<|system|>\n{content}<|end|>\n"));
  CHECK(r.data.custom_template->user == "<|user|>\n{content}<|end|>\n");
  CHECK(r.data.custom_template->assistant == "<|assistant|>\n{content}<|end|>\n");
  CHECK(r.data.custom_template->default_system == std::optional<std::string>("You are helpful."));
  CHECK(!parse(kMinimal).data.custom_template);

  const std::string yaml = recipe_to_yaml(r);
  INFO(yaml);
  const Recipe back = parse_recipe(yaml, "resolved.yaml", {});
  CHECK(back.data.custom_template == r.data.custom_template);
  CHECK(recipe_to_json(back) == recipe_to_json(r));
  CHECK(recipe_to_json(r)["data"]["custom_template"]["user"] == "<|user|>\n{content}<|end|>\n");

  // Overrides set the mapping in flow style, or clear it.
  const Recipe over = parse(kMinimal, {"data.template=custom", "data.custom_template={user: 'U: {content}\n', "
                                                                "assistant: 'A: {content}</s>'}"});
  REQUIRE(over.data.custom_template);
  CHECK(!over.data.custom_template->system);
  CHECK(over.data.custom_template->assistant == "A: {content}</s>");
  CHECK(!parse(custom, {"data.template=auto", "data.custom_template=null"}).data.custom_template);

  struct Case {
    std::string text;
    std::vector<std::string> overrides;
    std::string message;
  };
  const std::string base = std::string(kMinimal) + "  template: custom\n  custom_template:\n";
  for (const Case& c : {
           Case{std::string(kMinimal) + "  template: custom\n", {}, "r.yaml:3:3: data.template: custom needs data.custom_template"},
           Case{custom, {"data.template=chatml"}, "data.custom_template is set but data.template is 'chatml'"},
           Case{base + "    user: '{role}: {content}'\n    assistant: '{content}'\n", {},
                "r.yaml:4:3: data.custom_template.user has an unknown placeholder '{role}'"},
           Case{base + "    user: '{content}'\n    assistant: 'no placeholder'\n", {},
                "data.custom_template.assistant has no {content} placeholder"},
           Case{base + "    user: '{content}'\n    asistant: '{content}'\n", {},
                "r.yaml:4:3: data.custom_template: unknown key 'asistant' (allowed: bos, system, user, assistant"},
           Case{base + "    user: '{content}'\n", {}, "data.custom_template.assistant is required"},
           Case{base + "    user: '{content}'\n    assistant: '{content}'\n    bos: maybe\n", {},
                "data.custom_template.bos: expected true or false"},
           Case{base + "    user: '{content}'\n    assistant: '{content}'\n    default_system: hi\n", {},
                "data.custom_template.default_system needs data.custom_template.system"},
           Case{std::string(kMinimal) + "  template: custom\n  custom_template: '{content}'\n", {},
                "data.custom_template: expected a mapping"},
       }) {
    INFO(c.text);
    CHECK_THROWS_WITH(parse(c.text, c.overrides), Contains(c.message));
  }
}
