#include "model/gguf_import.h"


#include <ATen/ATen.h>

#include "io/error.h"
#include "io/shape_text.h"

namespace llmft::model {
namespace {

std::string where(const io::GgufFile& gguf) { return gguf.path().string(); }

// The same bounds config.json gets (model/config.h), named by their GGUF keys.
void check_sizes(const io::GgufFile& gguf, const std::string& p, const LlamaConfig& c) {
  const auto check = [&](const std::string& key, int64_t value, int64_t limit) {
    if (value <= 0 || value > limit)
      throw Error(where(gguf) + ": " + key + " must be in [1, " + std::to_string(limit) + "], got " +
                  std::to_string(value));
  };
  check(p + "block_count", c.num_hidden_layers, kMaxLayers);
  check(p + "embedding_length", c.hidden_size, kMaxDimension);
  check(p + "feed_forward_length", c.intermediate_size, kMaxDimension);
  check(p + "attention.head_count", c.num_attention_heads, kMaxDimension);
  check(p + "attention.key_length", c.head_dim, kMaxDimension);
  check(p + "vocab_size", c.vocab_size, kMaxDimension);
}

// llama.cpp per-block tensor names -> HF module paths inside model.layers.N.
struct BlockName {
  const char* gguf;
  const char* hf;
};
constexpr BlockName kBlockNames[] = {
    {"attn_norm", "input_layernorm"},   {"ffn_norm", "post_attention_layernorm"},
    {"attn_q", "self_attn.q_proj"},     {"attn_k", "self_attn.k_proj"},
    {"attn_v", "self_attn.v_proj"},     {"attn_output", "self_attn.o_proj"},
    {"ffn_gate", "mlp.gate_proj"},      {"ffn_up", "mlp.up_proj"},
    {"ffn_down", "mlp.down_proj"},
};

}  // namespace

LlamaConfig config_from_gguf(const io::GgufFile& gguf) {
  const std::string arch = gguf.get_string("general.architecture");
  LlamaConfig c;
  if (arch == "llama") c.architecture = Architecture::Llama;
  else if (arch == "qwen2") c.architecture = Architecture::Qwen2;
  else
    throw Error(where(gguf) + ": general.architecture '" + arch +
                "' is not supported (supported: llama, qwen2)");
  const std::string p = arch + ".";
  c.hidden_size = gguf.get_int(p + "embedding_length");
  c.intermediate_size = gguf.get_int(p + "feed_forward_length");
  c.num_hidden_layers = gguf.get_int(p + "block_count");
  c.num_attention_heads = gguf.get_int(p + "attention.head_count");
  c.num_key_value_heads = gguf.get_int_or(p + "attention.head_count_kv").value_or(c.num_attention_heads);
  if (c.num_attention_heads <= 0 || c.num_key_value_heads <= 0 ||
      c.num_attention_heads % c.num_key_value_heads != 0)
    throw Error(where(gguf) + ": " + p + "attention.head_count " + std::to_string(c.num_attention_heads) +
                " is not a positive multiple of head_count_kv " + std::to_string(c.num_key_value_heads));
  c.head_dim = gguf.get_int_or(p + "attention.key_length").value_or(c.hidden_size / c.num_attention_heads);
  c.rms_norm_eps = gguf.get_float(p + "attention.layer_norm_rms_epsilon");
  c.rope_theta = gguf.get_float_or(p + "rope.freq_base").value_or(10000.0);
  c.max_position_embeddings = gguf.get_int_or(p + "context_length").value_or(2048);

  const std::string scaling = gguf.get_string_or(p + "rope.scaling.type").value_or("none");
  if (scaling == "linear") {
    c.rope_scaling.rope_type = RopeScalingType::Linear;
    c.rope_scaling.factor = gguf.get_float(p + "rope.scaling.factor");
  } else if (scaling != "none") {
    throw Error(where(gguf) + ": " + p + "rope.scaling.type '" + scaling + "' is not supported (none, linear)");
  }
  if (gguf.find_tensor("rope_freqs.weight"))
    throw Error(where(gguf) + ": tensor rope_freqs.weight (llama3-style frequency factors) is not supported yet");

  const io::GgufTensorInfo* embedding = gguf.find_tensor("token_embd.weight");
  if (!embedding) throw Error(where(gguf) + ": tensor token_embd.weight is missing");
  c.vocab_size = gguf.get_int_or(p + "vocab_size").value_or(embedding->torch_shape()[0]);
  check_sizes(gguf, p, c);
  c.tie_word_embeddings = gguf.find_tensor("output.weight") == nullptr;
  if (c.architecture == Architecture::Qwen2) c.attention_bias = false;  // q/k/v biases are implied
  else c.attention_bias = gguf.find_tensor("blk.0.attn_q.bias") != nullptr;
  c.torch_dtype = "float32";
  if (auto bos = gguf.get_int_or("tokenizer.ggml.bos_token_id")) c.bos_token_id = *bos;
  if (auto eos = gguf.get_int_or("tokenizer.ggml.eos_token_id")) c.eos_token_ids = {*eos};
  return c;
}

std::optional<std::string> hf_name_for_gguf(const std::string& gguf_name) {
  if (gguf_name == "token_embd.weight") return "model.embed_tokens.weight";
  if (gguf_name == "output_norm.weight") return "model.norm.weight";
  if (gguf_name == "output.weight") return "lm_head.weight";
  // "blk.<N>.<part>.<weight|bias>"
  const std::string prefix = "blk.";
  if (gguf_name.rfind(prefix, 0) != 0) return std::nullopt;
  const std::size_t layer_end = gguf_name.find('.', prefix.size());
  const std::size_t kind_start = gguf_name.rfind('.');
  if (layer_end == std::string::npos || layer_end == prefix.size() || kind_start <= layer_end) return std::nullopt;
  const std::string layer = gguf_name.substr(prefix.size(), layer_end - prefix.size());
  if (layer.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  const std::string part = gguf_name.substr(layer_end + 1, kind_start - layer_end - 1);
  const std::string kind = gguf_name.substr(kind_start + 1);
  if (kind != "weight" && kind != "bias") return std::nullopt;
  for (const auto& row : kBlockNames)
    if (part == row.gguf) return "model.layers." + layer + "." + row.hf + "." + kind;
  return std::nullopt;
}

std::vector<GgufTensorMapping> map_gguf_tensors(const io::GgufFile& gguf) {
  std::vector<GgufTensorMapping> out;
  for (const auto& info : gguf.tensors()) {
    auto hf = hf_name_for_gguf(info.name);
    if (!hf) throw Error(where(gguf) + ": tensor " + info.name + " has no counterpart in the HF model");
    out.push_back({*hf, &info});
  }
  return out;
}

at::Tensor unpermute_rotary_rows(const at::Tensor& w, int64_t heads) {
  // w: [heads * head_dim, ...]; stored rows per head are [head_dim/2, 2] -> restore [2, head_dim/2].
  const int64_t rows = w.size(0);
  const int64_t head_dim = rows / heads;
  std::vector<int64_t> split = {heads, head_dim / 2, 2};
  for (int64_t d = 1; d < w.dim(); ++d) split.push_back(w.size(d));
  return w.reshape(split).transpose(1, 2).reshape(w.sizes()).contiguous();
}

at::Tensor load_gguf_tensor(const io::GgufFile& gguf, const GgufTensorMapping& mapping,
                            const LlamaConfig& config, c10::ScalarType dtype) {
  const bool is_q = mapping.hf_name.find(".self_attn.q_proj.") != std::string::npos;
  const bool is_k = mapping.hf_name.find(".self_attn.k_proj.") != std::string::npos;
  if (config.architecture != Architecture::Llama || (!is_q && !is_k))
    return gguf.dequantize(*mapping.info, dtype);
  // Unpermute in fp32 (a pure reordering, so exact), then cast once.
  at::Tensor w = gguf.dequantize(*mapping.info, at::kFloat);
  const int64_t heads = is_q ? config.num_attention_heads : config.num_key_value_heads;
  if (heads <= 0 || w.dim() < 1 || w.size(0) % heads != 0 || (w.size(0) / heads) % 2 != 0) {
    throw Error(where(gguf) + ": tensor " + mapping.info->name + " has shape " + io::shape_text(w.sizes()) +
                ", whose rows do not split into " + std::to_string(heads) + " heads of an even size (" +
                (is_q ? "attention.head_count" : "attention.head_count_kv") + ")");
  }
  w = unpermute_rotary_rows(w, heads);
  return w.to(dtype);
}

}  // namespace llmft::model
