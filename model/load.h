#pragma once
// Checkpoint -> model: validate every tensor against the table, then copy each into its parameter.
#include <filesystem>
#include <string>
#include <vector>

#include "io/hf_checkpoint.h"
#include "model/config.h"
#include "model/gguf_import.h"
#include "model/llama.h"

namespace llmft::model {

// A tensor a weight source offers, as the table check sees it.
struct AvailableTensor {
  std::string name;            // HF key
  std::vector<int64_t> shape;  // torch order
  std::string location;        // shard file name, or "<file>.gguf (Q4_1)"
  std::string dtype_name;
  bool floating = true;
};

// Every problem of `available` against the expected tensor table of `config`, one readable line
// each naming the tensor and where it lives: missing, unexpected, wrong shape, non-floating dtype.
std::vector<std::string> check_tensors(const LlamaConfig& config, const std::vector<AvailableTensor>& available);

// Throws llmft::Error when `problems` is non-empty: one line for one problem, else a list.
void require_no_problems(const std::string& source, const LlamaConfig& config,
                         const std::vector<std::string>& problems);

// Every problem with `checkpoint` for `config`, one readable line each, naming the tensor (and its
// shard file): missing, unexpected, wrong shape, non-floating dtype. Empty when it loads cleanly.
std::vector<std::string> check_checkpoint(const LlamaConfig& config, const io::HfCheckpoint& checkpoint);

// Throws one llmft::Error listing all problems from check_checkpoint. Otherwise copies each mmap'd
// tensor into its parameter, converting dtype and device on the way (peak extra memory: one tensor).
void load_weights(LlamaForCausalLMImpl& model, const io::HfCheckpoint& checkpoint);

// config.json of a model directory, or the one beside a single .safetensors file.
std::filesystem::path config_json_beside(const std::filesystem::path& weights);

struct LoadedModel {
  LlamaConfig config;
  LlamaForCausalLM model;
};

// A .gguf file (model/load_gguf.cpp), a model directory (config.json + model.safetensors or
// shards), or one .safetensors file with config.json beside it. Parameters are created in `dtype` on `device` and filled by copy.
// Every problem of a GGUF file's mapped tensors (model/gguf_import.h) against `config`'s table,
// each located as "<gguf name> (<ggml type>)".
std::vector<std::string> check_gguf_tensors(const LlamaConfig& config,
                                            const std::vector<GgufTensorMapping>& mappings);

// A llama.cpp GGUF file: config from its metadata, tensors dequantized into `dtype`.
LoadedModel load_gguf(const std::filesystem::path& gguf_file, c10::ScalarType dtype, c10::Device device);

// The config of the model at `path` (as load_pretrained accepts it), with every tensor checked against
// it, without loading or allocating any weight: for dry runs. Throws llmft::Error listing problems.
LlamaConfig check_pretrained(const std::filesystem::path& path);

LoadedModel load_pretrained(const std::filesystem::path& model_dir_or_safetensors_file, c10::ScalarType dtype,
                            c10::Device device);

}  // namespace llmft::model
