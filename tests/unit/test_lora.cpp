// LoRA wrapping, initialisation, freezing and PEFT-format adapter files, on a tiny random model.
// Numerical agreement with PEFT itself is tests/parity/test_peft_parity.cpp.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "io/error.h"
#include "io/safetensors.h"
#include "lora/inject.h"
#include "lora/lora_linear.h"
#include "lora/peft_adapter.h"
#include "tests/support/catch.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tiny_llama.h"

using namespace llmft;
using llmft::test::Contains;
namespace fs = std::filesystem;

namespace {

model::LlamaForCausalLM tiny_model(uint64_t seed = 1) {
  model::LlamaForCausalLM m(testing::tiny_config());
  testing::randomize(*m, seed);
  m->eval();
  return m;
}

lora::LoraOptions options(std::vector<std::string> targets = {"q_proj", "v_proj"}) {
  lora::LoraOptions o;
  o.rank = 4;
  o.alpha = 8;
  o.dropout = 0;
  o.target_modules = std::move(targets);
  o.seed = 7;
  return o;
}

at::Tensor batch_ids() { return at::arange(0, 20, at::kLong).remainder(64).reshape({2, 10}); }

// Non-zero B so the adapter path changes the output (B starts at zero).
void randomize_lora_B(model::LlamaForCausalLMImpl& m, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  torch::NoGradGuard no_grad;
  for (auto& w : lora::lora_modules(m)) {
    auto& b = w.module->lora_B->weight;
    b.copy_(at::normal(0.0, 0.1, b.sizes(), gen, at::TensorOptions().dtype(at::kFloat)));
  }
}

double max_abs(const at::Tensor& t) { return t.abs().max().item<double>(); }

int64_t count(const std::vector<at::Tensor>& params) {
  int64_t n = 0;
  for (const auto& p : params) n += p.numel();
  return n;
}

}  // namespace

TEST_CASE("inject_lora wraps suffix-matched Linears in place under their HF names", "[lora]") {
  auto m = tiny_model();
  const auto report = lora::inject_lora(*m, options());
  CHECK(report.wrapped == std::vector<std::string>{"model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
                                                   "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"});
  // forward() goes through the holder members, so they must now hold the LoRA modules.
  CHECK(dynamic_cast<lora::LoraLinearImpl*>(m->model->layer(0).self_attn->q_proj.get()) != nullptr);
  CHECK(dynamic_cast<lora::LoraLinearImpl*>(m->model->layer(1).self_attn->v_proj.get()) != nullptr);
  CHECK(dynamic_cast<lora::LoraLinearImpl*>(m->model->layer(0).self_attn->k_proj.get()) == nullptr);

  const auto params = m->named_parameters();
  for (const char* key : {"model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.q_proj.lora_A.weight",
                          "model.layers.0.self_attn.q_proj.lora_B.weight", "model.layers.1.self_attn.v_proj.lora_B.weight"}) {
    INFO(key);
    CHECK(params.find(key) != nullptr);
  }
  CHECK(params.find("model.layers.0.self_attn.k_proj.lora_A.weight") == nullptr);
  // q_proj: 32 -> 32, v_proj: 32 -> 16 (2 kv heads of 8), rank 4.
  CHECK(params["model.layers.0.self_attn.q_proj.lora_A.weight"].sizes() == at::IntArrayRef({4, 32}));
  CHECK(params["model.layers.0.self_attn.v_proj.lora_B.weight"].sizes() == at::IntArrayRef({16, 4}));
  CHECK(params["model.layers.0.self_attn.v_proj.lora_B.weight"].scalar_type() == at::kFloat);
}

TEST_CASE("all-linear wraps every Linear of the decoder layers but not lm_head", "[lora]") {
  auto m = tiny_model();
  const auto report = lora::inject_lora(*m, options({"all-linear"}));
  CHECK(report.wrapped.size() == 14);  // 2 layers x (q, k, v, o, gate, up, down)
  for (const auto& path : report.wrapped) {
    INFO(path);
    CHECK(path.rfind("model.layers.", 0) == 0);
  }
  if (m->lm_head) CHECK(dynamic_cast<lora::LoraLinearImpl*>(m->lm_head.get()) == nullptr);
  CHECK(lora::resolved_target_modules(options({"all-linear"}), report.wrapped).size() == 14);
  CHECK(lora::resolved_target_modules(options({"v_proj", "q_proj"}), report.wrapped) ==
        std::vector<std::string>{"q_proj", "v_proj"});
}

TEST_CASE("an explicitly named lm_head is wrapped and used by forward", "[lora]") {
  auto m = tiny_model();
  REQUIRE(m->lm_head);  // tiny_config does not tie the embeddings
  const auto report = lora::inject_lora(*m, options({"lm_head"}));
  CHECK(report.wrapped == std::vector<std::string>{"lm_head"});
  const at::Tensor before = m->forward({batch_ids()}).logits;
  randomize_lora_B(*m, 4);
  CHECK(max_abs(m->forward({batch_ids()}).logits - before) > 1e-3);
}

TEST_CASE("LoRA init: A kaiming-uniform(a = sqrt 5) bounded by 1/sqrt(in), B zero, seeded", "[lora]") {
  auto m = tiny_model();
  auto o = options({"all-linear"});
  lora::inject_lora(*m, o);
  for (const auto& w : lora::lora_modules(*m)) {
    INFO(w.path);
    const at::Tensor a = w.module->lora_A->weight.detach();
    const double bound = 1.0 / std::sqrt(static_cast<double>(w.module->in_features()));
    const double max_abs = a.abs().max().item<double>();
    CHECK(max_abs <= bound);
    CHECK(max_abs > 0.8 * bound);  // >= 128 samples: all below 0.8 bound has chance 0.8^128
    // Uniform(-b, b) has standard deviation b / sqrt 3.
    CHECK(a.std().item<double>() == Approx(bound / std::sqrt(3.0)).epsilon(0.2));
    CHECK(w.module->lora_B->weight.abs().max().item<double>() == 0.0);
  }
  auto same = tiny_model();
  lora::inject_lora(*same, o);
  auto other = tiny_model();
  o.seed = 8;
  lora::inject_lora(*other, o);
  const auto a = lora::lora_modules(*m)[3].module->lora_A->weight;
  CHECK(at::equal(a, lora::lora_modules(*same)[3].module->lora_A->weight));
  CHECK_FALSE(at::equal(a, lora::lora_modules(*other)[3].module->lora_A->weight));
}

TEST_CASE("LoRA gaussian init draws A from N(0, 1/r)", "[lora]") {
  auto m = tiny_model();
  auto o = options({"all-linear"});
  o.rank = 8;
  o.init = "gaussian";
  lora::inject_lora(*m, o);
  std::vector<at::Tensor> all;
  for (const auto& w : lora::lora_modules(*m)) all.push_back(w.module->lora_A->weight.detach().flatten());
  const at::Tensor a = at::cat(all);  // ~4000 samples: the std estimate is within ~2%
  CHECK(a.std().item<double>() == Approx(1.0 / 8).epsilon(0.06));
  CHECK(std::fabs(a.mean().item<double>()) < 0.01);
}

TEST_CASE("LoRA output equals the base model's at init", "[lora]") {
  auto m = tiny_model();
  const at::Tensor before = m->forward({batch_ids()}).logits;
  lora::inject_lora(*m, options({"all-linear"}));
  const at::Tensor after = m->forward({batch_ids()}).logits;
  CHECK(at::equal(before, after));  // B = 0 adds exact zeros
}

TEST_CASE("LoRA forward is W x + b + s B A x with s = alpha/r or alpha/sqrt(r)", "[lora]") {
  CHECK(lora::lora_scaling(16, 4, false) == 4.0);
  CHECK(lora::lora_scaling(16, 4, true) == 8.0);
  for (const bool rslora : {false, true}) {
    SECTION(rslora ? "rsLoRA" : "LoRA") {
      auto m = tiny_model();
      auto o = options();
      o.alpha = 16;
      o.use_rslora = rslora;
      lora::inject_lora(*m, o);
      randomize_lora_B(*m, 3);
      auto& layer = *lora::lora_modules(*m)[0].module;
      const double s = rslora ? 8.0 : 4.0;
      CHECK(layer.scaling() == s);
      const at::Tensor x = at::randn({2, 5, 32});
      const at::Tensor want = at::linear(x, layer.weight, layer.bias) +
                              s * at::matmul(at::matmul(x, layer.lora_A->weight.t()), layer.lora_B->weight.t());
      const at::Tensor got = layer.forward(x);
      CHECK(got.sizes() == want.sizes());
      CHECK(at::allclose(got, want, 1e-5, 1e-6));
      CHECK((got - at::linear(x, layer.weight, layer.bias)).abs().max().item<double>() > 1e-3);
    }
  }
}

TEST_CASE("LoRA adapters compute in fp32 beside a bf16 base and return bf16", "[lora]") {
  model::LlamaForCausalLM m(testing::tiny_config(), at::kBFloat16);
  testing::randomize(*m, 1);
  lora::inject_lora(*m, options());
  auto& layer = *lora::lora_modules(*m)[0].module;
  CHECK(layer.weight.scalar_type() == at::kBFloat16);
  CHECK(layer.lora_A->weight.scalar_type() == at::kFloat);
  CHECK(layer.forward(at::randn({1, 3, 32}).to(at::kBFloat16)).scalar_type() == at::kBFloat16);
  CHECK(m->forward({batch_ids()}).logits.scalar_type() == at::kBFloat16);
}

TEST_CASE("only adapter parameters are trainable and receive gradients", "[lora]") {
  auto m = tiny_model();
  const int64_t base_total = count(m->parameters());
  const auto report = lora::inject_lora(*m, options());
  // Per wrapped module r * (in + out): q 4 * (32 + 32), v 4 * (32 + 16), two layers.
  CHECK(report.trainable_params == 2 * (4 * 64 + 4 * 48));
  CHECK(report.total_params == base_total + report.trainable_params);
  randomize_lora_B(*m, 3);
  m->train();
  const at::Tensor ids = batch_ids();
  m->forward({ids, std::nullopt, std::nullopt, ids}).loss.backward();
  for (const auto& item : m->named_parameters()) {
    INFO(item.key());
    const bool adapter = item.key().find(".lora_") != std::string::npos;
    CHECK(item.value().requires_grad() == adapter);
    CHECK(item.value().grad().defined() == adapter);
    if (adapter) CHECK(item.value().grad().abs().max().item<double>() > 0);
  }
}

TEST_CASE("LoRA dropout applies in training mode only", "[lora]") {
  auto m = tiny_model();
  auto o = options();
  o.dropout = 0.5;
  lora::inject_lora(*m, o);
  randomize_lora_B(*m, 3);
  auto& layer = *lora::lora_modules(*m)[0].module;
  const at::Tensor x = at::randn({2, 5, 32});
  layer.eval();
  CHECK(at::equal(layer.forward(x), layer.forward(x)));
  layer.train();
  CHECK_FALSE(at::equal(layer.forward(x), layer.forward(x)));
}

TEST_CASE("bad LoRA options and unmatched targets are errors naming the key", "[lora]") {
  auto m = tiny_model();
  REQUIRE_THROWS_WITH(lora::inject_lora(*m, options({"q_proj", "qkv_proj", "c_attn"})),
                      Contains("qkv_proj, c_attn") || Contains("c_attn, qkv_proj"));
  auto o = options();
  o.rank = 0;
  REQUIRE_THROWS_WITH(lora::inject_lora(*m, o), Contains("r must be"));
  o = options();
  o.dropout = 1.0;
  REQUIRE_THROWS_WITH(lora::inject_lora(*m, o), Contains("lora_dropout"));
  o = options();
  o.init = "pissa";
  REQUIRE_THROWS_WITH(lora::inject_lora(*m, o), Contains("pissa"));
  REQUIRE_THROWS_WITH(lora::inject_lora(*m, options({})), Contains("target_modules"));
  REQUIRE_THROWS_WITH(lora::inject_lora(*m, options({"all-linear", "q_proj"})), Contains("all-linear"));
  // Nothing was wrapped by the failed calls; a second injection is refused.
  CHECK(lora::lora_modules(*m).empty());
  lora::inject_lora(*m, options());
  REQUIRE_THROWS_WITH(lora::inject_lora(*m, options()), Contains("already"));
}

TEST_CASE("PEFT adapter files: keys, config and an exact round trip", "[lora]") {
  test::TempDir dir;
  auto m = tiny_model();
  auto o = options({"v_proj", "q_proj"});
  o.use_rslora = true;
  lora::inject_lora(*m, o);
  randomize_lora_B(*m, 5);
  const fs::path out = dir.path / "adapter";
  lora::save_peft_adapter(out, *m, o, "tiny/base");

  const auto file = io::SafetensorsFile::open(out / lora::kAdapterWeightsFile);
  std::set<std::string> keys;
  for (const auto& t : file.tensors()) {
    keys.insert(t.name);
    CHECK(t.dtype == io::DType::F32);
  }
  CHECK(keys == std::set<std::string>{
                    "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
                    "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight",
                    "base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight",
                    "base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight",
                    "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight",
                    "base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight",
                    "base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight",
                    "base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight",
                });
  CHECK(file.metadata().at("format") == "pt");

  std::ifstream in(out / lora::kAdapterConfigFile);
  const auto config = nlohmann::json::parse(in);
  CHECK(config["peft_type"] == "LORA");
  CHECK(config["task_type"] == "CAUSAL_LM");
  CHECK(config["r"] == 4);
  CHECK(config["lora_alpha"].is_number_integer());
  CHECK(config["lora_alpha"] == 8);
  CHECK(config["lora_dropout"] == 0.0);
  CHECK(config["use_rslora"] == true);
  CHECK(config["bias"] == "none");
  CHECK(config["fan_in_fan_out"] == false);
  CHECK(config["init_lora_weights"] == true);
  CHECK(config["base_model_name_or_path"] == "tiny/base");
  CHECK(config["target_modules"] == nlohmann::json({"q_proj", "v_proj"}));

  const at::Tensor ids = batch_ids();
  const at::Tensor logits = m->forward({ids}).logits;
  auto fresh = tiny_model();  // same base weights, no adapters: load injects them from the config
  const auto loaded = lora::load_peft_adapter(out, *fresh);
  CHECK(loaded.rank == 4);
  CHECK(loaded.use_rslora);
  const auto a = lora::lora_modules(*m);
  const auto b = lora::lora_modules(*fresh);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].path);
    CHECK(a[i].path == b[i].path);
    CHECK(at::equal(a[i].module->lora_A->weight, b[i].module->lora_A->weight));
    CHECK(at::equal(a[i].module->lora_B->weight, b[i].module->lora_B->weight));
    CHECK(b[i].module->scaling() == a[i].module->scaling());
  }
  CHECK(at::equal(fresh->forward({ids}).logits, logits));
}

TEST_CASE("loading a PEFT adapter that does not fit the model names the tensor or key", "[lora]") {
  test::TempDir dir;
  auto m = tiny_model();
  const auto o = options();
  lora::inject_lora(*m, o);
  const fs::path out = dir.path / "adapter";
  lora::save_peft_adapter(out, *m, o, "tiny/base");
  const auto weights = out / lora::kAdapterWeightsFile;
  const std::string q0 = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";

  auto rewrite = [&](bool drop_q0, std::vector<int64_t> q0_shape, const std::string& extra) {
    std::vector<io::NamedTensor> tensors;
    for (const auto& w : lora::lora_modules(*m)) {
      for (const char* which : {"lora_A", "lora_B"}) {
        const std::string key = lora::peft_key(w.path, which);
        if (key == q0 && drop_q0) continue;
        at::Tensor t = (std::string(which) == "lora_A" ? w.module->lora_A : w.module->lora_B)->weight.detach();
        if (key == q0 && !q0_shape.empty()) t = at::zeros(q0_shape);
        tensors.push_back({key, t});
      }
    }
    if (!extra.empty()) tensors.push_back({extra, at::zeros({4, 32})});
    io::write_safetensors(weights, tensors);
  };

  SECTION("missing tensor") {
    rewrite(true, {}, "");
    auto fresh = tiny_model();
    REQUIRE_THROWS_WITH(lora::load_peft_adapter(out, *fresh), Contains("missing tensor " + q0));
  }
  SECTION("wrong shape") {
    rewrite(false, {8, 32}, "");
    auto fresh = tiny_model();
    REQUIRE_THROWS_WITH(lora::load_peft_adapter(out, *fresh), Contains(q0) && Contains("[8, 32]"));
  }
  SECTION("tensor for a module that is not wrapped") {
    const std::string extra = "base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight";
    rewrite(false, {}, extra);
    auto fresh = tiny_model();
    REQUIRE_THROWS_WITH(lora::load_peft_adapter(out, *fresh), Contains(extra));
  }
  SECTION("unsupported config") {
    std::ifstream in(out / lora::kAdapterConfigFile);
    auto config = nlohmann::json::parse(in);
    in.close();
    config["use_dora"] = true;
    std::ofstream(out / lora::kAdapterConfigFile) << config.dump(2);
    auto fresh = tiny_model();
    REQUIRE_THROWS_WITH(lora::load_peft_adapter(out, *fresh), Contains("adapter_config.json") && Contains("use_dora"));
  }
  SECTION("target the model lacks") {
    std::ifstream in(out / lora::kAdapterConfigFile);
    auto config = nlohmann::json::parse(in);
    in.close();
    config["target_modules"] = {"query_key_value"};
    std::ofstream(out / lora::kAdapterConfigFile) << config.dump(2);
    auto fresh = tiny_model();
    REQUIRE_THROWS_WITH(lora::load_peft_adapter(out, *fresh), Contains("query_key_value"));
  }
  SECTION("rank differs from the model's adapters") {
    auto other = tiny_model();
    auto o8 = o;
    o8.rank = 8;
    lora::inject_lora(*other, o8);
    REQUIRE_THROWS_WITH(lora::load_peft_adapter(out, *other), Contains("r = 4"));
  }
}
