#pragma once
// What `llmft merge` will do to each base tensor, worked out (and checked) from the base's tensor
// table and the adapter's files before any weight is read or any file written:
//   - a LoRA target's weight W [out, in] gets s * B [out, r] @ A [r, in] added;
//   - a tensor of a module in modules_to_save is replaced by the adapter's copy;
//   - every other tensor is copied (cast to the output dtype).
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "lora/inject.h"
#include "model/config.h"

namespace llmft::lora {

struct TensorEdit {
  enum class Kind { Lora, Replace };
  Kind kind = Kind::Lora;
  std::string lora_a_key;       // Lora: adapter tensor [r, in]
  std::string lora_b_key;       // Lora: adapter tensor [out, r]
  double scaling = 1;           // Lora: alpha / r (or alpha / sqrt(r) with rsLoRA)
  std::string replacement_key;  // Replace: adapter tensor with the base tensor's shape
};

struct MergePlan {
  std::filesystem::path base;         // resolved: a model directory, a .safetensors file or a .gguf file
  bool gguf = false;
  model::LlamaConfig config;          // the base's; tie_word_embeddings cleared when untie_head
  std::filesystem::path adapter_dir;
  LoraOptions adapter;
  std::map<std::string, TensorEdit> edits;  // base tensor name -> edit; absent = copied
  // The base ties lm_head to the embedding and the adapter saves its own lm_head: the output gets
  // lm_head.weight (the adapter's) and tie_word_embeddings false.
  bool untie_head = false;
  int64_t lora_modules = 0;           // number of Lora edits
};

// Throws llmft::Error, one line naming the file and the tensor or key at fault, when the base does
// not load cleanly or the adapter does not fit it: a target that matches no Linear, a LoRA or saved
// tensor missing from the adapter or of the wrong shape, an adapter tensor that belongs to no
// module of the base, modules_to_save naming no module, or the embedding saved on a tied model.
MergePlan plan_merge(const std::filesystem::path& base, const std::filesystem::path& adapter_dir);

}  // namespace llmft::lora
