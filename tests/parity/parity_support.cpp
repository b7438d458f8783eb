#include "tests/parity/parity_support.h"

#include <sstream>

#include <torch/torch.h>

#include "io/safetensors.h"
#include "tests/support/catch.h"

namespace llmft::parity {

std::filesystem::path fixture_dir() { return LLMFT_FIXTURE_DIR; }

std::filesystem::path case_dir(const std::string& name) { return fixture_dir() / name; }

namespace {

at::Tensor owned(const io::SafetensorsFile& file, const std::string& name, at::ScalarType dtype) {
  INFO(file.path().string() << ": " << name);
  REQUIRE(file.find(name) != nullptr);
  at::Tensor t = file.tensor(name);
  REQUIRE(t.scalar_type() == dtype);
  return t.clone();  // detach from the mapping; the view is read-only
}

}  // namespace

Reference load_reference(const std::string& case_name, const std::string& file) {
  const auto path = case_dir(case_name) / file;
  INFO("reference " << path.string() << " (written by scripts/reference/make_fixtures.py)");
  REQUIRE(std::filesystem::exists(path));
  const auto st = io::SafetensorsFile::open(path);
  Reference ref;
  ref.input_ids = owned(st, "input_ids", at::kLong);
  ref.attention_mask = owned(st, "attention_mask", at::kLong);
  ref.labels = owned(st, "labels", at::kLong);
  ref.logits = owned(st, "logits", at::kFloat);
  ref.loss = owned(st, "loss", at::kFloat);
  ref.valid = owned(st, "valid", at::kLong).to(at::kBool);
  if (st.find("position_ids") != nullptr) ref.position_ids = owned(st, "position_ids", at::kLong);

  const auto bt = ref.input_ids.sizes();
  REQUIRE(bt.size() == 2);
  REQUIRE(ref.attention_mask.sizes() == bt);
  REQUIRE(ref.labels.sizes() == bt);
  REQUIRE(ref.valid.sizes() == bt);
  REQUIRE(ref.logits.dim() == 3);
  REQUIRE(ref.logits.size(0) == bt[0]);
  REQUIRE(ref.logits.size(1) == bt[1]);
  REQUIRE(ref.loss.dim() == 0);
  if (ref.position_ids) REQUIRE(ref.position_ids->sizes() == bt);
  return ref;
}

std::string ParityReport::describe() const {
  std::ostringstream s;
  s << "logits (" << c10::toString(logits_dtype) << ") max|diff| " << logits_max_abs << " mean|diff| "
    << logits_mean_abs << " [ref max|logit| " << ref_logits_max_abs << " rms " << ref_logits_rms << "]; loss "
    << loss << " vs ref " << ref_loss << " (|diff| " << loss_abs << ", vs fp32 CE of own logits "
    << loss_vs_own_logits_abs << ")";
  return s.str();
}

ParityReport compare_to_reference(model::LlamaForCausalLM& model, const Reference& ref, MaskMode mask) {
  model::ForwardArgs args;
  args.input_ids = ref.input_ids;
  if (mask == MaskMode::Given) {
    args.attention_mask = ref.attention_mask;
  } else {
    REQUIRE(ref.attention_mask.all().item<bool>());  // omitting a mask is only exact without padding
  }
  args.position_ids = ref.position_ids;
  args.labels = ref.labels;

  torch::NoGradGuard no_grad;
  model->eval();
  const model::CausalLMOutput out = model->forward(args);
  REQUIRE(out.logits.sizes() == ref.logits.sizes());
  REQUIRE(out.loss.defined());
  REQUIRE(out.loss.numel() == 1);
  REQUIRE(out.loss.scalar_type() == at::kFloat);

  ParityReport r;
  r.logits_dtype = out.logits.scalar_type();
  const at::Tensor logits = out.logits.to(at::kCPU, at::kFloat);  // [B, T, V]
  const at::Tensor diff = (logits - ref.logits).abs().index({ref.valid});  // [N valid, V]
  const at::Tensor ref_valid = ref.logits.index({ref.valid});              // [N valid, V]
  r.logits_max_abs = diff.max().item<double>();
  r.logits_mean_abs = diff.mean().item<double>();
  r.ref_logits_max_abs = ref_valid.abs().max().item<double>();
  r.ref_logits_rms = ref_valid.square().mean().sqrt().item<double>();
  r.loss = out.loss.item<double>();
  r.ref_loss = ref.loss.item<double>();
  r.loss_abs = std::abs(r.loss - r.ref_loss);

  // HF's ForCausalLMLoss on llmft's own logits: fp32, position t predicts labels[:, t + 1].
  const int64_t vocab = logits.size(2);
  using torch::indexing::Slice;
  const at::Tensor own = torch::nn::functional::cross_entropy(
      logits.index({Slice(), Slice(0, -1)}).reshape({-1, vocab}),
      ref.labels.index({Slice(), Slice(1, torch::indexing::None)}).reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100));
  r.loss_vs_own_logits_abs = std::abs(r.loss - own.item<double>());
  return r;
}

}  // namespace llmft::parity
