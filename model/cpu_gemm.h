#pragma once
// fp32 matrix products on the CPU through oneDNN instead of MKL's sgemm.
//
// libtorch sends fp32 CPU matmuls to MKL, whose kernels on AMD Zen processors are its AVX2 "zen"
// path; oneDNN (bundled in the same libtorch, used there for bf16) runs AVX-512 kernels on them and
// measures 2.2-2.5x MKL's GFLOPS on the shapes of a 135M-parameter Llama (docs/benchmarks.md). The
// result is an ordinary fp32 product (a different blocking of the same sums: max |diff| to an fp64
// product 1.9e-4 vs MKL's 6.5e-5 for K = 1536, where bf16 would give 0.7).
//
// Used for every fp32 CPU linear layer (forward and backward) and the fused output projection.
// Other dtypes and devices go to ATen unchanged. LLMFT_CPU_GEMM=mkl turns it off (e.g. for A/B
// comparisons); it is also off when the linked libtorch was built without oneDNN.
#include <optional>

#include <torch/torch.h>

namespace llmft::model {

// Whether fp32 CPU products go to oneDNN now: available in this libtorch and selected.
bool onednn_cpu_gemm_enabled();
// Selects oneDNN (when available; the default unless LLMFT_CPU_GEMM=mkl) or ATen's own path for
// the products that follow. Tests that compare against transformers bit-for-bit-close use ATen's
// kernels, which transformers uses too.
enum class CpuGemm { kOneDnn, kAten };
void set_cpu_gemm(CpuGemm choice);

// a [M, K] x b [K, N] -> [M, N]; either operand may be a transposed view. Not differentiable: for
// use inside autograd functions.
at::Tensor gemm(const at::Tensor& a, const at::Tensor& b);

// out += a @ b in place (out [M, N] fp32 accumulator).
void gemm_accumulate(at::Tensor& out, const at::Tensor& a, const at::Tensor& b);

// at::linear with the same gradients: x [..., in], weight [out, in], bias [out] -> [..., out].
at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias = {});

}  // namespace llmft::model
