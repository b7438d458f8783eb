#include "model/hf_config.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/error.h"

namespace llmft::model {
namespace {

using nlohmann::json;

constexpr const char* kRopeScalingKey = "rope_scaling";        // transformers 4
constexpr const char* kRopeParametersKey = "rope_parameters";  // transformers 5
constexpr double kDefaultRopeTheta = 10000.0;

std::string brief(const json& value) {
  std::string text = value.dump();
  return text.size() > 60 ? text.substr(0, 57) + "..." : text;
}

// Typed access to one JSON object; every failure names the source file and the (dotted) key.
class Reader {
 public:
  Reader(const json& object, const std::string& source, std::string prefix = "")
      : object_(object), source_(source), prefix_(std::move(prefix)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    throw Error(source_ + ": key '" + prefix_ + key + "' " + problem);
  }

  // Present and not null: HF writes `null` for unset optional values.
  bool has(const std::string& key) const { return object_.contains(key) && !object_.at(key).is_null(); }
  const json& at(const std::string& key) const { return object_.at(key); }

  int64_t required_int(const std::string& key) const {
    if (!has(key)) throw Error(source_ + ": missing required key '" + prefix_ + key + "'");
    return as_int(key);
  }
  int64_t int_or(const std::string& key, int64_t fallback) const { return has(key) ? as_int(key) : fallback; }
  std::optional<int64_t> optional_int(const std::string& key) const {
    return has(key) ? std::optional<int64_t>(as_int(key)) : std::nullopt;
  }
  double required_number(const std::string& key) const {
    if (!has(key)) throw Error(source_ + ": missing required key '" + prefix_ + key + "'");
    return as_number(key);
  }
  double number_or(const std::string& key, double fallback) const {
    return has(key) ? as_number(key) : fallback;
  }
  bool bool_or(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!at(key).is_boolean()) fail(key, "must be true or false, got " + brief(at(key)));
    return at(key).get<bool>();
  }
  std::string string_or(const std::string& key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    if (!at(key).is_string()) fail(key, "must be a string, got " + brief(at(key)));
    return at(key).get<std::string>();
  }

 private:
  int64_t as_int(const std::string& key) const {
    const json& v = at(key);
    if (!v.is_number_integer()) fail(key, "must be an integer, got " + brief(v));
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      fail(key, "is out of range: " + brief(v));
    return v.get<int64_t>();
  }
  double as_number(const std::string& key) const {
    const json& v = at(key);
    if (!v.is_number()) fail(key, "must be a number, got " + brief(v));
    return v.get<double>();
  }

  const json& object_;
  const std::string& source_;
  std::string prefix_;
};

Architecture parse_architecture(const Reader& r, const json& config, const std::string& source) {
  const char* kSupported = "supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM";
  if (r.has("architectures")) {
    const json& list = config.at("architectures");
    if (!list.is_array() || list.empty() || !list.front().is_string())
      r.fail("architectures", "must be a non-empty list of class names, got " + brief(list));
    const std::string name = list.front().get<std::string>();
    for (Architecture a : {Architecture::Llama, Architecture::Mistral, Architecture::Qwen2})
      if (architecture_name(a) == name) return a;
    throw Error(source + ": unsupported architecture '" + name + "' (" + kSupported + ")");
  }
  // Some configs name only the model_type.
  if (r.has("model_type")) {
    const std::string type = r.string_or("model_type", "");
    if (type == "llama") return Architecture::Llama;
    if (type == "mistral") return Architecture::Mistral;
    if (type == "qwen2") return Architecture::Qwen2;
    throw Error(source + ": unsupported model_type '" + type + "' (" + kSupported + ")");
  }
  throw Error(source + ": missing required key 'architectures'");
}

// transformers 5 writes {"rope_parameters": {"rope_type", "rope_theta", ...}}; transformers 4 wrote
// "rope_theta" at top level and "rope_scaling" (null, or {"rope_type" | "type", ...}). As in
// transformers 5, a non-null rope_scaling takes priority and missing values fall back to the top level.
void parse_rope(const Reader& r, const json& config, const std::string& source, LlamaConfig& c) {
  const char* key = nullptr;
  if (r.has(kRopeScalingKey))
    key = kRopeScalingKey;
  else if (r.has(kRopeParametersKey))
    key = kRopeParametersKey;

  c.rope_theta = r.number_or("rope_theta", kDefaultRopeTheta);
  c.rope_scaling = RopeScaling{};
  if (key == nullptr) return;

  const json& params = config.at(key);
  if (!params.is_object()) r.fail(key, "must be an object, got " + brief(params));
  if (params.contains(kFullAttention) || params.contains(kSlidingAttention))
    r.fail(key, "holds per-layer-type RoPE parameters, which these architectures do not use");
  const Reader p(params, source, std::string(key) + ".");
  c.rope_theta = p.number_or("rope_theta", c.rope_theta);
  const std::string type_key = p.has("rope_type") ? "rope_type" : "type";
  const std::string type = p.string_or(type_key, "default");
  RopeScaling& s = c.rope_scaling;
  if (type == "default") {
    s.rope_type = RopeScalingType::None;
  } else if (type == "linear") {
    s.rope_type = RopeScalingType::Linear;
    s.factor = p.required_number("factor");
  } else if (type == "llama3") {
    s.rope_type = RopeScalingType::Llama3;
    s.factor = p.required_number("factor");
    s.low_freq_factor = p.required_number("low_freq_factor");
    s.high_freq_factor = p.required_number("high_freq_factor");
    s.original_max_position_embeddings =
        p.int_or("original_max_position_embeddings", c.max_position_embeddings);
  } else {
    p.fail(type_key, "names an unsupported RoPE type '" + type + "' (supported: default, linear, llama3)");
  }
}

void parse_layer_types(const Reader& r, const json& config, LlamaConfig& c) {
  c.layer_types.clear();
  if (r.has("layer_types")) {
    const json& list = config.at("layer_types");
    if (!list.is_array() || static_cast<int64_t>(list.size()) != c.num_hidden_layers)
      r.fail("layer_types", "must list one entry per layer (" + std::to_string(c.num_hidden_layers) +
                                "), got " + brief(list));
    for (const json& entry : list) {
      if (!entry.is_string() || (entry != kFullAttention && entry != kSlidingAttention))
        r.fail("layer_types", "entries must be \"full_attention\" or \"sliding_attention\", got " + brief(entry));
      c.layer_types.push_back(entry.get<std::string>());
    }
    return;
  }
  // Qwen2Config's rule: layers from max_window_layers on use the window.
  const int64_t max_window_layers = r.int_or("max_window_layers", 28);
  for (int64_t i = 0; i < c.num_hidden_layers; ++i)
    c.layer_types.push_back(c.sliding_window && i >= max_window_layers ? kSlidingAttention : kFullAttention);
}

// Keeps layer_types only where it says something: without a window it is moot, and all-sliding is
// what an empty list means. So equal behaviour gives equal configs.
void normalize_layer_types(LlamaConfig& c) {
  const bool all_sliding = std::all_of(c.layer_types.begin(), c.layer_types.end(),
                                       [](const std::string& t) { return t == kSlidingAttention; });
  if (!c.sliding_window || all_sliding) c.layer_types.clear();
}

std::vector<int64_t> parse_eos(const Reader& r, const json& config, std::optional<int64_t> fallback) {
  if (!config.contains("eos_token_id")) return fallback ? std::vector<int64_t>{*fallback} : std::vector<int64_t>{};
  const json& v = config.at("eos_token_id");
  if (v.is_null()) return {};
  if (v.is_number_integer()) return {v.get<int64_t>()};
  std::vector<int64_t> ids;
  if (v.is_array()) {
    for (const json& id : v) {
      if (!id.is_number_integer()) r.fail("eos_token_id", "must be an integer or a list of integers, got " + brief(v));
      ids.push_back(id.get<int64_t>());
    }
    return ids;
  }
  r.fail("eos_token_id", "must be an integer or a list of integers, got " + brief(v));
}

void validate(const Reader& r, const LlamaConfig& c) {
  auto positive = [&r](const char* key, int64_t value) {
    if (value <= 0) r.fail(key, "must be positive, got " + std::to_string(value));
  };
  auto dimension = [&r, &positive](const char* key, int64_t value) {
    positive(key, value);
    if (value > kMaxDimension)
      r.fail(key, "is implausibly large (" + std::to_string(value) + " > " + std::to_string(kMaxDimension) + ")");
  };
  dimension("vocab_size", c.vocab_size);
  dimension("hidden_size", c.hidden_size);
  dimension("intermediate_size", c.intermediate_size);
  dimension("num_hidden_layers", c.num_hidden_layers);
  dimension("num_attention_heads", c.num_attention_heads);
  dimension("num_key_value_heads", c.num_key_value_heads);
  dimension("head_dim", c.head_dim);
  positive("max_position_embeddings", c.max_position_embeddings);
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    r.fail("num_key_value_heads", "(" + std::to_string(c.num_key_value_heads) +
                                      ") must divide num_attention_heads (" +
                                      std::to_string(c.num_attention_heads) + ")");
  if (c.head_dim % 2 != 0)
    r.fail("head_dim", "must be even for rotary embeddings, got " + std::to_string(c.head_dim));
  if (!(c.rms_norm_eps > 0)) r.fail("rms_norm_eps", "must be positive");
  if (!(c.rope_theta > 0)) r.fail("rope_theta", "must be positive");
  if (!(c.attention_dropout >= 0 && c.attention_dropout < 1)) r.fail("attention_dropout", "must be in [0, 1)");
  if (c.sliding_window && *c.sliding_window <= 0)
    r.fail("sliding_window", "must be positive, got " + std::to_string(*c.sliding_window));
  if (c.pad_token_id && (*c.pad_token_id >= c.vocab_size || *c.pad_token_id < -c.vocab_size))
    r.fail("pad_token_id", "(" + std::to_string(*c.pad_token_id) + ") is outside the vocabulary of " +
                               std::to_string(c.vocab_size));
  const RopeScaling& s = c.rope_scaling;
  if (s.rope_type != RopeScalingType::None && !(s.factor > 0)) r.fail("rope_parameters.factor", "must be positive");
  if (s.rope_type == RopeScalingType::Llama3) {
    if (!(s.high_freq_factor > s.low_freq_factor))
      r.fail("rope_parameters.high_freq_factor", "must be greater than low_freq_factor");
    if (!(s.low_freq_factor > 0)) r.fail("rope_parameters.low_freq_factor", "must be positive");
    if (s.original_max_position_embeddings <= 0)
      r.fail("rope_parameters.original_max_position_embeddings", "must be positive");
  }
}

std::string rope_type_name(RopeScalingType type) {
  switch (type) {
    case RopeScalingType::None:
      return "default";
    case RopeScalingType::Linear:
      return "linear";
    case RopeScalingType::Llama3:
      return "llama3";
  }
  return "default";
}

std::string model_type_name(Architecture arch) {
  switch (arch) {
    case Architecture::Llama:
      return "llama";
    case Architecture::Mistral:
      return "mistral";
    case Architecture::Qwen2:
      return "qwen2";
  }
  return "llama";
}

}  // namespace

LlamaConfig parse_hf_config(const json& config, const std::string& source_name) {
  if (!config.is_object()) throw Error(source_name + ": expected a JSON object");
  const Reader r(config, source_name);
  LlamaConfig c;
  c.architecture = parse_architecture(r, config, source_name);
  const bool llama = c.architecture == Architecture::Llama;
  const bool mistral = c.architecture == Architecture::Mistral;
  const bool qwen2 = c.architecture == Architecture::Qwen2;

  c.vocab_size = r.required_int("vocab_size");
  c.hidden_size = r.required_int("hidden_size");
  c.intermediate_size = r.required_int("intermediate_size");
  c.num_hidden_layers = r.required_int("num_hidden_layers");
  // Checked now: the Qwen2 layer list below has one entry per layer.
  if (c.num_hidden_layers <= 0 || c.num_hidden_layers > kMaxLayers)
    r.fail("num_hidden_layers", "must be in [1, " + std::to_string(kMaxLayers) + "], got " +
                                    std::to_string(c.num_hidden_layers));
  c.num_attention_heads = r.required_int("num_attention_heads");
  if (c.num_attention_heads <= 0) r.fail("num_attention_heads", "must be positive");

  // Absent keys take each HF config class's defaults, so we build what transformers would; an
  // explicit null means "as many as attention heads" in all three.
  const int64_t absent_kv_heads = mistral ? 8 : qwen2 ? 32 : c.num_attention_heads;
  c.num_key_value_heads = config.contains("num_key_value_heads")
                              ? r.int_or("num_key_value_heads", c.num_attention_heads)
                              : absent_kv_heads;
  if (r.has("head_dim")) {
    c.head_dim = r.required_int("head_dim");
  } else {
    if (c.hidden_size % c.num_attention_heads != 0)
      r.fail("hidden_size", "(" + std::to_string(c.hidden_size) + ") must be a multiple of num_attention_heads (" +
                                std::to_string(c.num_attention_heads) + ") when head_dim is not given");
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  const std::string act = r.string_or("hidden_act", "silu");
  if (act != "silu" && act != "swish")
    r.fail("hidden_act", "must be \"silu\" (the SwiGLU MLP), got \"" + act + "\"");

  c.max_position_embeddings = r.int_or("max_position_embeddings", mistral ? 131072 : qwen2 ? 32768 : 2048);
  c.rms_norm_eps = r.number_or("rms_norm_eps", 1e-6);
  parse_rope(r, config, source_name, c);
  c.tie_word_embeddings = r.bool_or("tie_word_embeddings", false);
  c.attention_dropout = r.number_or("attention_dropout", 0.0);
  if (llama) {  // Mistral and Qwen2 fix their biases in code and ignore these keys
    c.attention_bias = r.bool_or("attention_bias", false);
    c.mlp_bias = r.bool_or("mlp_bias", false);
  }
  if (mistral) {
    c.sliding_window = config.contains("sliding_window") ? r.optional_int("sliding_window") : 4096;
  }
  if (qwen2) {
    const std::optional<int64_t> window =
        config.contains("sliding_window") ? r.optional_int("sliding_window") : 4096;
    if (r.bool_or("use_sliding_window", false)) c.sliding_window = window;
    parse_layer_types(r, config, c);
    normalize_layer_types(c);
  }
  c.torch_dtype = r.has("dtype") ? r.string_or("dtype", "float32") : r.string_or("torch_dtype", "float32");

  const std::optional<int64_t> default_bos = qwen2 ? std::nullopt : std::optional<int64_t>(1);
  const std::optional<int64_t> default_eos = qwen2 ? std::nullopt : std::optional<int64_t>(2);
  c.bos_token_id = config.contains("bos_token_id") ? r.optional_int("bos_token_id") : default_bos;
  c.eos_token_ids = parse_eos(r, config, default_eos);
  c.pad_token_id = r.optional_int("pad_token_id");

  validate(r, c);
  return c;
}

LlamaConfig load_hf_config(const std::filesystem::path& config_json) {
  std::ifstream in(config_json);
  if (!in) throw Error(config_json.string() + ": cannot open config.json");
  std::stringstream text;
  text << in.rdbuf();
  json parsed;
  try {
    parsed = json::parse(text.str());
  } catch (const json::exception& e) {  // parse_error, or out_of_range 406 for a number like 1e400
    throw Error(config_json.string() + ": invalid JSON: " + e.what());
  }
  return parse_hf_config(parsed, config_json.string());
}

// Writes transformers 5's spelling (rope_parameters, dtype) and, for transformers 4 readers, the old
// one too (rope_theta, rope_scaling, torch_dtype); transformers 5 reads either consistently.
json to_hf_config_json(const LlamaConfig& c) {
  json j;
  j["architectures"] = json::array({architecture_name(c.architecture)});
  j["model_type"] = model_type_name(c.architecture);
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["head_dim"] = c.head_dim;
  j["hidden_act"] = "silu";
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["attention_dropout"] = c.attention_dropout;

  json rope = {{"rope_type", rope_type_name(c.rope_scaling.rope_type)}, {"rope_theta", c.rope_theta}};
  if (c.rope_scaling.rope_type != RopeScalingType::None) rope["factor"] = c.rope_scaling.factor;
  if (c.rope_scaling.rope_type == RopeScalingType::Llama3) {
    rope["low_freq_factor"] = c.rope_scaling.low_freq_factor;
    rope["high_freq_factor"] = c.rope_scaling.high_freq_factor;
    rope["original_max_position_embeddings"] = c.rope_scaling.original_max_position_embeddings;
  }
  j[kRopeParametersKey] = rope;
  j["rope_theta"] = c.rope_theta;
  if (c.rope_scaling.rope_type == RopeScalingType::None) {
    j[kRopeScalingKey] = nullptr;
  } else {
    json scaling = rope;
    scaling.erase("rope_theta");
    j[kRopeScalingKey] = scaling;
  }

  if (c.architecture == Architecture::Llama) {
    j["attention_bias"] = c.attention_bias;
    j["mlp_bias"] = c.mlp_bias;
  }
  if (c.architecture == Architecture::Mistral) {
    j["sliding_window"] = c.sliding_window ? json(*c.sliding_window) : json(nullptr);
  }
  if (c.architecture == Architecture::Qwen2) {
    j["use_sliding_window"] = c.sliding_window.has_value();
    j["sliding_window"] = c.sliding_window ? json(*c.sliding_window) : json(nullptr);
    std::vector<std::string> types = c.layer_types;
    if (types.empty()) types.assign(static_cast<std::size_t>(c.num_hidden_layers),
                                    c.sliding_window ? kSlidingAttention : kFullAttention);
    int64_t first_sliding = c.num_hidden_layers;
    for (std::size_t i = 0; i < types.size(); ++i)
      if (types[i] == kSlidingAttention) {
        first_sliding = static_cast<int64_t>(i);
        break;
      }
    j["max_window_layers"] = first_sliding;
    j["layer_types"] = types;
  }
  j["dtype"] = c.torch_dtype;
  j["torch_dtype"] = c.torch_dtype;
  j["bos_token_id"] = c.bos_token_id ? json(*c.bos_token_id) : json(nullptr);
  if (c.eos_token_ids.empty())
    j["eos_token_id"] = nullptr;
  else if (c.eos_token_ids.size() == 1)
    j["eos_token_id"] = c.eos_token_ids.front();
  else
    j["eos_token_id"] = c.eos_token_ids;
  j["pad_token_id"] = c.pad_token_id ? json(*c.pad_token_id) : json(nullptr);
  return j;
}

}  // namespace llmft::model
