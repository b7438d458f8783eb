// config.json -> LlamaConfig, in the spellings transformers 4 and 5 write (the v5 texts below are
// what transformers 5.23's save_pretrained writes for these configs), and every error naming its key.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "io/error.h"
#include "model/hf_config.h"
#include "tests/support/catch.h"

using namespace llmft::model;
using nlohmann::json;
using llmft::test::Contains;

namespace {

const char* kSource = "/models/x/config.json";

// transformers 5.23, LlamaConfig(... eos_token_id=[2, 3], rope linear) saved from a bf16 model.
const char* kLlamaV5 = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 1, "dtype": "bfloat16", "eos_token_id": [2, 3], "head_dim": 4, "hidden_act": "silu",
  "hidden_size": 16, "initializer_range": 0.02, "intermediate_size": 32, "max_position_embeddings": 2048,
  "mlp_bias": false, "model_type": "llama", "num_attention_heads": 4, "num_hidden_layers": 1,
  "num_key_value_heads": 2, "pad_token_id": null, "pretraining_tp": 1, "rms_norm_eps": 1e-06,
  "rope_parameters": {"factor": 2.0, "rope_theta": 500000.0, "rope_type": "linear"},
  "tie_word_embeddings": true, "transformers_version": "5.23.0", "use_cache": true, "vocab_size": 64
})";

// A Llama 3.1 config.json as transformers 4 wrote it.
const char* kLlama31V4 = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu",
  "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336,
  "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama", "num_attention_heads": 32,
  "num_hidden_layers": 32, "num_key_value_heads": 8, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "transformers_version": "4.43.0.dev0", "use_cache": true, "vocab_size": 128256
})";

// transformers 5.23, MistralConfig() defaults.
const char* kMistralV5 = R"({
  "architectures": ["MistralForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2,
  "head_dim": 128, "hidden_act": "silu", "hidden_size": 4096, "initializer_range": 0.02,
  "intermediate_size": 14336, "max_position_embeddings": 131072, "model_type": "mistral",
  "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8, "pad_token_id": null,
  "rms_norm_eps": 1e-06, "rope_parameters": {"rope_theta": 10000.0, "rope_type": "default"},
  "sliding_window": 4096, "tie_word_embeddings": false, "transformers_version": "5.23.0",
  "use_cache": true, "vocab_size": 32000
})";

// A Qwen2.5 config.json as transformers 4 wrote it (sliding window present but unused).
const char* kQwen2V4 = R"({
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
  "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02,
  "intermediate_size": 4864, "max_position_embeddings": 32768, "max_window_layers": 24,
  "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2,
  "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": true,
  "torch_dtype": "bfloat16", "transformers_version": "4.43.1", "use_cache": true,
  "use_sliding_window": false, "vocab_size": 151936
})";

LlamaConfig parse(const char* text) { return parse_hf_config(json::parse(text), kSource); }

json with(const char* text, const std::string& key, const json& value) {
  json j = json::parse(text);
  j[key] = value;
  return j;
}
json without(const char* text, const std::string& key) {
  json j = json::parse(text);
  j.erase(key);
  return j;
}

}  // namespace

TEST_CASE("transformers 5 spelling: rope_parameters, dtype, eos list", "[model][hf_config]") {
  const LlamaConfig c = parse(kLlamaV5);
  CHECK(c.architecture == Architecture::Llama);
  CHECK(c.vocab_size == 64);
  CHECK(c.hidden_size == 16);
  CHECK(c.intermediate_size == 32);
  CHECK(c.num_hidden_layers == 1);
  CHECK(c.num_attention_heads == 4);
  CHECK(c.num_key_value_heads == 2);
  CHECK(c.head_dim == 4);
  CHECK(c.rope_theta == 500000.0);
  CHECK(c.rope_scaling.rope_type == RopeScalingType::Linear);
  CHECK(c.rope_scaling.factor == 2.0);
  CHECK(c.tie_word_embeddings);
  CHECK(c.torch_dtype == "bfloat16");
  CHECK(c.bos_token_id == std::optional<int64_t>(1));
  CHECK(c.eos_token_ids == std::vector<int64_t>{2, 3});
  CHECK_FALSE(c.pad_token_id.has_value());
  CHECK_FALSE(c.sliding_window.has_value());
}

TEST_CASE("transformers 4 spelling: rope_theta + rope_scaling, torch_dtype, no head_dim", "[model][hf_config]") {
  const LlamaConfig c = parse(kLlama31V4);
  CHECK(c.head_dim == 128);  // hidden_size / num_attention_heads
  CHECK(c.rope_theta == 500000.0);
  CHECK(c.rope_scaling.rope_type == RopeScalingType::Llama3);
  CHECK(c.rope_scaling.factor == 8.0);
  CHECK(c.rope_scaling.low_freq_factor == 1.0);
  CHECK(c.rope_scaling.high_freq_factor == 4.0);
  CHECK(c.rope_scaling.original_max_position_embeddings == 8192);
  CHECK(c.rms_norm_eps == 1e-5);
  CHECK(c.torch_dtype == "bfloat16");
  CHECK(c.eos_token_ids == std::vector<int64_t>{128001, 128008, 128009});
  CHECK(c.num_parameters() == 8030261248);  // Llama 3.1 8B

  SECTION("legacy 'type' key and rope_scaling: null") {
    CHECK(parse_hf_config(with(kLlama31V4, "rope_scaling", {{"type", "linear"}, {"factor", 4}}), kSource)
              .rope_scaling.factor == 4.0);
    const LlamaConfig plain = parse_hf_config(with(kLlama31V4, "rope_scaling", nullptr), kSource);
    CHECK(plain.rope_scaling.rope_type == RopeScalingType::None);
    CHECK(plain.rope_theta == 500000.0);
  }
  SECTION("llama3 without original_max_position_embeddings falls back to max_position_embeddings") {
    json j = json::parse(kLlama31V4);
    j["rope_scaling"].erase("original_max_position_embeddings");
    CHECK(parse_hf_config(j, kSource).rope_scaling.original_max_position_embeddings == 131072);
  }
  SECTION("no rope keys at all: default rope, theta 10000") {
    json j = json::parse(kLlama31V4);
    j.erase("rope_theta");
    j.erase("rope_scaling");
    const LlamaConfig plain = parse_hf_config(j, kSource);
    CHECK(plain.rope_scaling.rope_type == RopeScalingType::None);
    CHECK(plain.rope_theta == 10000.0);
  }
}

TEST_CASE("Mistral and Qwen2: sliding windows, biases fixed by architecture", "[model][hf_config]") {
  const LlamaConfig m = parse(kMistralV5);
  CHECK(m.architecture == Architecture::Mistral);
  CHECK(m.sliding_window == std::optional<int64_t>(4096));
  CHECK(m.layer_sliding_window(0) == std::optional<int64_t>(4096));
  CHECK(m.layer_sliding_window(31) == std::optional<int64_t>(4096));
  CHECK_FALSE(m.qkv_bias());
  CHECK(parse_hf_config(with(kMistralV5, "sliding_window", nullptr), kSource).sliding_window == std::nullopt);
  // Mistral ignores Llama's bias keys, as its HF class does.
  CHECK_FALSE(parse_hf_config(with(kMistralV5, "attention_bias", true), kSource).attention_bias);

  const LlamaConfig q = parse(kQwen2V4);
  CHECK(q.architecture == Architecture::Qwen2);
  CHECK(q.qkv_bias());
  CHECK_FALSE(q.o_bias());
  CHECK(q.tie_word_embeddings);
  CHECK(q.rope_theta == 1000000.0);
  CHECK_FALSE(q.sliding_window.has_value());  // use_sliding_window: false
  CHECK_FALSE(q.layer_sliding_window(23).has_value());
  CHECK(q.num_parameters() == 494032768);  // Qwen2.5-0.5B

  SECTION("use_sliding_window: layers from max_window_layers on use the window") {
    json j = json::parse(kQwen2V4);
    j["use_sliding_window"] = true;
    j["max_window_layers"] = 20;
    const LlamaConfig s = parse_hf_config(j, kSource);
    CHECK(s.sliding_window == std::optional<int64_t>(32768));
    CHECK_FALSE(s.layer_sliding_window(19).has_value());
    CHECK(s.layer_sliding_window(20) == std::optional<int64_t>(32768));
  }
  SECTION("explicit layer_types (transformers 5) win over max_window_layers") {
    json j = json::parse(kQwen2V4);
    j["use_sliding_window"] = true;
    j["layer_types"] = json::array();
    for (int i = 0; i < 24; ++i) j["layer_types"].push_back(i % 2 ? "sliding_attention" : "full_attention");
    const LlamaConfig s = parse_hf_config(j, kSource);
    CHECK_FALSE(s.layer_sliding_window(0).has_value());
    CHECK(s.layer_sliding_window(1).has_value());
    j["layer_types"].erase(0);
    CHECK_THROWS_WITH(parse_hf_config(j, kSource), Contains("layer_types") && Contains(kSource));
  }
}

TEST_CASE("config errors name the file and the key", "[model][hf_config]") {
  SECTION("missing required keys") {
    for (const char* key : {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                            "num_attention_heads"}) {
      INFO(key);
      CHECK_THROWS_WITH(parse_hf_config(without(kLlamaV5, key), kSource),
                        Contains(kSource) && Contains(std::string("missing required key '") + key + "'"));
    }
  }
  SECTION("wrong types") {
    CHECK_THROWS_WITH(parse_hf_config(with(kLlamaV5, "hidden_size", "16"), kSource),
                      Contains(kSource) && Contains("'hidden_size'") && Contains("integer"));
    CHECK_THROWS_WITH(parse_hf_config(with(kLlamaV5, "num_hidden_layers", 1.5), kSource),
                      Contains("'num_hidden_layers'"));
    CHECK_THROWS_WITH(parse_hf_config(with(kLlamaV5, "tie_word_embeddings", 1), kSource),
                      Contains("'tie_word_embeddings'"));
    CHECK_THROWS_WITH(parse_hf_config(with(kLlamaV5, "rms_norm_eps", "small"), kSource), Contains("'rms_norm_eps'"));
    CHECK_THROWS_WITH(parse_hf_config(with(kLlamaV5, "eos_token_id", "</s>"), kSource), Contains("'eos_token_id'"));
    CHECK_THROWS_WITH(parse_hf_config(with(kLlamaV5, "rope_parameters", 5), kSource), Contains("'rope_parameters'"));
    json j = json::parse(kLlamaV5);
    j["rope_parameters"]["factor"] = "2";
    CHECK_THROWS_WITH(parse_hf_config(j, kSource), Contains("'rope_parameters.factor'"));
  }
  SECTION("unsupported architecture, model_type and rope type are named") {
    CHECK_THROWS_WITH(parse_hf_config(with(kLlamaV5, "architectures", {"GPT2LMHeadModel"}), kSource),
                      Contains("GPT2LMHeadModel") && Contains(kSource));
    json j = without(kLlamaV5, "architectures");
    CHECK(parse_hf_config(j, kSource).architecture == Architecture::Llama);  // model_type fallback
    j["model_type"] = "gemma";
    CHECK_THROWS_WITH(parse_hf_config(j, kSource), Contains("gemma"));
    j.erase("model_type");
    CHECK_THROWS_WITH(parse_hf_config(j, kSource), Contains(kSource) && Contains("'architectures'"));
    j = json::parse(kLlamaV5);
    j["rope_parameters"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
    CHECK_THROWS_WITH(parse_hf_config(j, kSource), Contains("yarn") && Contains("rope_parameters.rope_type"));
    j["rope_parameters"] = {{"rope_type", "linear"}};
    CHECK_THROWS_WITH(parse_hf_config(j, kSource), Contains("rope_parameters.factor"));
    CHECK_THROWS_WITH(parse_hf_config(with(kLlamaV5, "hidden_act", "gelu"), kSource), Contains("hidden_act"));
  }
  SECTION("validation") {
    CHECK_THROWS_WITH(parse_hf_config(with(kLlamaV5, "num_key_value_heads", 3), kSource),
                      Contains("'num_key_value_heads'") && Contains("divide"));
    CHECK_THROWS_WITH(parse_hf_config(with(kLlamaV5, "vocab_size", 0), kSource), Contains("'vocab_size'"));
    CHECK_THROWS_WITH(parse_hf_config(with(kLlamaV5, "intermediate_size", -5), kSource),
                      Contains("'intermediate_size'"));
    CHECK_THROWS_WITH(parse_hf_config(with(kLlamaV5, "pad_token_id", 64), kSource), Contains("'pad_token_id'"));
    CHECK_THROWS_WITH(parse_hf_config(with(kMistralV5, "sliding_window", 0), kSource), Contains("'sliding_window'"));
    json j = without(kLlamaV5, "head_dim");
    j["hidden_size"] = 18;  // not a multiple of 4 heads
    CHECK_THROWS_WITH(parse_hf_config(j, kSource), Contains("'hidden_size'"));
  }
  SECTION("implausible sizes fail before anything is sized by them") {
    // A Qwen2 config lists one attention kind per layer: 400M layers once meant 400M strings.
    CHECK_THROWS_WITH(parse_hf_config(with(kQwen2V4, "num_hidden_layers", 400000000), kSource),
                      Contains("'num_hidden_layers'") && Contains("[1, 4096]"));
    CHECK(parse_hf_config(with(kLlamaV5, "num_hidden_layers", kMaxLayers), kSource).num_hidden_layers == kMaxLayers);
    CHECK_THROWS_WITH(parse_hf_config(with(kLlamaV5, "vocab_size", kMaxDimension + 1), kSource),
                      Contains("'vocab_size'") && Contains("implausibly large"));
    CHECK_THROWS_WITH(parse_hf_config(with(kLlamaV5, "intermediate_size", int64_t{1} << 40), kSource),
                      Contains("'intermediate_size'"));
  }
  SECTION("a parameter count past int64 is an error, not an overflow") {
    LlamaConfig c = parse(kLlamaV5);
    c.hidden_size = c.intermediate_size = kMaxDimension;
    c.num_attention_heads = c.num_key_value_heads = kMaxDimension;
    c.head_dim = kMaxDimension;
    CHECK_THROWS_WITH(c.num_parameters(), Contains("overflows"));
  }
}

TEST_CASE("load_hf_config names the file it cannot read", "[model][hf_config]") {
  const auto dir = std::filesystem::temp_directory_path() / "llmft_test_hf_config";
  std::filesystem::create_directories(dir);
  const auto path = dir / "config.json";
  std::filesystem::remove(path);
  CHECK_THROWS_WITH(load_hf_config(path), Contains(path.string()));
  {
    std::ofstream out(path);
    out << "{\"architectures\": [\"LlamaForCausalLM\"], ";  // truncated
  }
  CHECK_THROWS_WITH(load_hf_config(path), Contains(path.string()) && Contains("JSON"));
  {
    std::ofstream out(path);
    out << kMistralV5;
  }
  CHECK(load_hf_config(path).architecture == Architecture::Mistral);
  std::filesystem::remove_all(dir);
}

TEST_CASE("to_hf_config_json round-trips and writes both spellings", "[model][hf_config]") {
  for (const char* text : {kLlamaV5, kLlama31V4, kMistralV5, kQwen2V4}) {
    const LlamaConfig c = parse(text);
    const json j = to_hf_config_json(c);
    CHECK(parse_hf_config(j, "written") == c);
    CHECK(j.at("rope_parameters").at("rope_theta") == c.rope_theta);
    CHECK(j.at("rope_theta") == c.rope_theta);
    CHECK(j.at("dtype") == c.torch_dtype);
    // Read back the transformers 4 way only (old keys): the same config.
    json v4 = j;
    v4.erase("rope_parameters");
    v4.erase("dtype");
    CHECK(parse_hf_config(v4, "written") == c);
  }
  LlamaConfig qwen = parse(kQwen2V4);
  qwen.sliding_window = 512;
  qwen.layer_types.assign(24, kFullAttention);
  qwen.layer_types[23] = kSlidingAttention;
  CHECK(parse_hf_config(to_hf_config_json(qwen), "written") == qwen);
}
