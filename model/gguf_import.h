#pragma once
// GGUF (llama.cpp) -> our HF-named Llama-family model: the config from `<arch>.*` metadata, and
// each llama.cpp tensor name mapped to its HF key, dequantized, with llama.cpp's Q/K row
// permutation undone for the llama architecture (its converter interleaves each head's rotary
// halves; HF keeps rotate-half order).
#include <optional>
#include <string>
#include <vector>

#include <ATen/Tensor.h>

#include "io/gguf.h"
#include "model/config.h"

namespace llmft::model {

// Throws llmft::Error naming the file and key: unsupported general.architecture (named), missing
// required metadata, unsupported rope scaling.
LlamaConfig config_from_gguf(const io::GgufFile& gguf);

// "blk.3.attn_q.weight" -> "model.layers.3.self_attn.q_proj.weight"; nullopt for names with no HF
// counterpart (e.g. rope_freqs.weight).
std::optional<std::string> hf_name_for_gguf(const std::string& gguf_name);

struct GgufTensorMapping {
  std::string hf_name;
  const io::GgufTensorInfo* info;  // owned by the GgufFile
};

// Every tensor of the file with its HF name; throws llmft::Error naming the file and tensor for a
// tensor that maps to nothing.
std::vector<GgufTensorMapping> map_gguf_tensors(const io::GgufFile& gguf);

// Dequantizes one tensor into HF layout and `dtype` (fp32 computation, one rounding), undoing the
// Q/K permutation where `config` says the file is a llama-architecture conversion.
at::Tensor load_gguf_tensor(const io::GgufFile& gguf, const GgufTensorMapping& mapping,
                            const LlamaConfig& config, c10::ScalarType dtype);

// Inverse of llama.cpp's convert-time permutation for Q/K: rows [heads, 2, head_dim/2] were
// reordered to [heads, head_dim/2, 2]; this restores [heads, 2, head_dim/2]. w: [heads*head_dim, ...].
at::Tensor unpermute_rotary_rows(const at::Tensor& w, int64_t heads);

}  // namespace llmft::model
