#pragma once
// The typed configuration of a Llama-family decoder (LlamaForCausalLM, MistralForCausalLM,
// Qwen2ForCausalLM). Field names follow HF's config.json keys verbatim.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace llmft::model {

enum class Architecture { Llama, Mistral, Qwen2 };
std::string architecture_name(Architecture arch);  // "LlamaForCausalLM", ...

enum class RopeScalingType { None, Linear, Llama3 };

struct RopeScaling {
  RopeScalingType rope_type = RopeScalingType::None;
  double factor = 1.0;
  // llama3 only:
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;

  bool operator==(const RopeScaling&) const = default;
};

// Bounds far beyond any released model (the largest have ~130 layers, 256k vocabularies and
// 53k-wide MLPs). A config past them is corrupt; saying so up front beats sizing loops, names and
// tensors by it.
inline constexpr int64_t kMaxLayers = 4096;
inline constexpr int64_t kMaxDimension = int64_t{1} << 24;  // vocab, widths, head counts, head_dim

// HF's per-layer attention kinds (Qwen2's `layer_types`).
inline constexpr const char* kFullAttention = "full_attention";
inline constexpr const char* kSlidingAttention = "sliding_attention";

struct LlamaConfig {
  Architecture architecture = Architecture::Llama;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;  // GQA: a divisor of num_attention_heads
  int64_t head_dim = 0;             // defaults to hidden_size / num_attention_heads
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  int64_t max_position_embeddings = 2048;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q/k/v/o biases (Llama); Qwen2 always has q/k/v biases, no o bias
  bool mlp_bias = false;        // gate/up/down biases (Llama)
  double attention_dropout = 0.0;  // applied only in training mode
  std::optional<int64_t> sliding_window;  // Mistral (and Qwen2 with use_sliding_window)
  // Per layer kFullAttention | kSlidingAttention (Qwen2 uses the window only from max_window_layers
  // on). Empty: every layer uses sliding_window when it is set (Mistral).
  std::vector<std::string> layer_types;
  std::string torch_dtype = "float32";    // the checkpoint's stored dtype ("dtype" in transformers 5)
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;
  // HF gives embed_tokens this padding_idx: its row receives no gradient. Negative counts from the end.
  std::optional<int64_t> pad_token_id;

  bool qkv_bias() const { return attention_bias || architecture == Architecture::Qwen2; }
  bool o_bias() const { return attention_bias && architecture != Architecture::Qwen2; }
  // The window layer `layer` attends within, or nullopt for full causal attention.
  std::optional<int64_t> layer_sliding_window(int64_t layer) const;
  int64_t num_parameters() const;  // total, counting a tied embedding once; Error if it overflows int64

  bool operator==(const LlamaConfig&) const = default;
};

}  // namespace llmft::model
