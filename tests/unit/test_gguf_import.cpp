// llama.cpp -> HF tensor names and the Q/K row permutation (model/gguf_import.cpp).
#include <torch/torch.h>

#include "model/gguf_import.h"
#include "tests/support/catch.h"

using llmft::model::hf_name_for_gguf;

TEST_CASE("gguf import: llama.cpp tensor names map to HF keys", "[gguf][model]") {
  CHECK(hf_name_for_gguf("token_embd.weight") == "model.embed_tokens.weight");
  CHECK(hf_name_for_gguf("output_norm.weight") == "model.norm.weight");
  CHECK(hf_name_for_gguf("output.weight") == "lm_head.weight");
  CHECK(hf_name_for_gguf("blk.0.attn_q.weight") == "model.layers.0.self_attn.q_proj.weight");
  CHECK(hf_name_for_gguf("blk.12.attn_k.bias") == "model.layers.12.self_attn.k_proj.bias");
  CHECK(hf_name_for_gguf("blk.3.attn_output.weight") == "model.layers.3.self_attn.o_proj.weight");
  CHECK(hf_name_for_gguf("blk.29.ffn_down.weight") == "model.layers.29.mlp.down_proj.weight");
  CHECK(hf_name_for_gguf("blk.1.attn_norm.weight") == "model.layers.1.input_layernorm.weight");
  CHECK(hf_name_for_gguf("blk.1.ffn_norm.weight") == "model.layers.1.post_attention_layernorm.weight");
  for (const char* unmapped : {"rope_freqs.weight", "blk.x.attn_q.weight", "blk..attn_q.weight", "blk.0.attn_q.scale",
                               "blk.0.attn_qq.weight", "blk.0", "tokenembd.weight", ""})
    CHECK_FALSE(hf_name_for_gguf(unmapped).has_value());
}

TEST_CASE("gguf import: unpermute_rotary_rows inverts llama.cpp's convert-time permutation", "[gguf][model]") {
  // llama.cpp's converter: w.reshape(heads, 2, head_dim/2, ...).swapaxes(1, 2).reshape(w.shape),
  // written out here independently of the implementation.
  const int64_t heads = 3, head_dim = 8, in = 5;
  const at::Tensor hf = torch::randn({heads * head_dim, in});
  const at::Tensor gguf = hf.reshape({heads, 2, head_dim / 2, in}).transpose(1, 2).reshape({heads * head_dim, in});
  REQUIRE_FALSE(torch::equal(gguf, hf));
  CHECK(torch::equal(llmft::model::unpermute_rotary_rows(gguf, heads), hf));
  // Biases ([heads * head_dim]) go through the same reordering.
  const at::Tensor bias = torch::randn({heads * head_dim});
  const at::Tensor bias_gguf = bias.reshape({heads, 2, head_dim / 2}).transpose(1, 2).reshape({heads * head_dim});
  CHECK(torch::equal(llmft::model::unpermute_rotary_rows(bias_gguf, heads), bias));
}
