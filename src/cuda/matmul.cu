// Dense layers and the tied LM head through cuBLASLt (shapes and contracts in matmul.cuh).
//
// cuBLASLt is column-major; a row-major [R, S] matrix is the column-major [S, R] matrix, its
// transpose. So each row-major product Y = P @ Q is issued as Y^T = Q^T @ P^T:
//   forward      y[N,OC]   = x @ w           ->  y^T (OC x N)   = w' x'          (w' = w^T ...)
//   backward dx  dx[N,IC]  = dy @ w^T        ->  dx^T (IC x N)  = op_T(w') dy'
//   backward dw  dw[IC,OC] += x^T @ dy       ->  dw^T (OC x IC) += dy' op_T(x')
//   lm_head fwd  l[N,V]    = x @ wte^T       ->  l^T (V x N)    = op_T(wte') x'
//   lm_head dx   dx[N,C]   = dl @ wte        ->  dx^T (C x N)   = wte' dl'
//   lm_head dwte dwte[V,C] += dl^T @ x       ->  dwte^T (C x V) += x' op_T(dl')
// where m' is the row-major buffer read column-major (its transpose) with ld = its row length.
// The bias is then a per-row vector of the column-major result, which is what cuBLASLt's BIAS
// epilogue adds.
//
// db += sum_rows(dy) runs in our own kernel: block (32, 32), each block owns 32 columns; thread
// (c, r) sums rows r, r+32, ... of column c, then thread (c, 0) adds the 32 partial sums in a
// fixed order. Reads are coalesced along a row, and the order never depends on scheduling.
#include <cublasLt.h>

#include <array>
#include <cstring>
#include <string>
#include <unordered_map>

#include "compute_types.cuh"
#include "cublas_check.cuh"
#include "cuda_check.cuh"
#include "matmul.cuh"

namespace zerotune::cuda {

namespace {

constexpr size_t kWorkspaceBytes = size_t(32) << 20;

template <typename T>
__global__ void column_sum_accumulate_kernel(float* db, const T* dy, int64_t N, int64_t OC) {
  __shared__ float partial[32][33];  // +1 column: no bank conflicts on the transposed read
  const int64_t col = int64_t(blockIdx.x) * 32 + threadIdx.x;
  float sum = 0.f;
  if (col < OC) {
    for (int64_t r = threadIdx.y; r < N; r += 32) sum += to_float(dy[r * OC + col]);
  }
  partial[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y == 0 && col < OC) {
    float total = 0.f;
    for (int i = 0; i < 32; ++i) total += partial[i][threadIdx.x];
    db[col] += total;
  }
}

// Largest power of two (up to 256) dividing the address: what the heuristic may assume.
uint32_t pointer_alignment(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  uint32_t align = 256;
  while (align > 1 && a % align != 0) align /= 2;
  return align;
}

// One column-major product D = alpha op(A) op(B) + beta D, described for cuBLASLt.
struct Gemm {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldd = 0;
  cudaDataType_t ab_type = CUDA_R_32F, d_type = CUDA_R_32F;
  cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
  int64_t aux_ld = 0;
};

using GemmKey = std::array<int64_t, 16>;

struct GemmKeyHash {
  size_t operator()(const GemmKey& key) const {
    size_t h = 1469598103934665603ull;
    for (int64_t v : key) h = (h ^ std::hash<int64_t>{}(v)) * 1099511628211ull;
    return h;
  }
};

// A described product: the matmul descriptor, the three layouts and the chosen algorithm.
struct Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulAlgo_t algo{};
  ~Plan() {
    // Destructors do not throw: a failure here surfaces at the next checked call.
    if (desc) cublasLtMatmulDescDestroy(desc);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (d) cublasLtMatrixLayoutDestroy(d);
  }
};

}  // namespace

struct Matmul::State {
  cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
  std::unordered_map<GemmKey, std::unique_ptr<Plan>, GemmKeyHash> plans;

  const Plan& plan_for(const Gemm& g, const void* a, const void* b, const void* d,
                       const void* bias);
  void run(const Gemm& g, const void* a, const void* b, void* d, float beta, const void* bias,
           void* aux, cudaStream_t stream);
};

const Plan& Matmul::State::plan_for(const Gemm& g, const void* a, const void* b, const void* d,
                                    const void* bias) {
  const uint32_t align_a = pointer_alignment(a), align_b = pointer_alignment(b);
  const uint32_t align_d = pointer_alignment(d);
  const GemmKey key{g.trans_a, g.trans_b, g.m,        g.n,
                    g.k,       g.lda,     g.ldb,      g.ldd,
                    g.ab_type, g.d_type,  g.epilogue, g.aux_ld,
                    align_a,   align_b,   align_d,    bias ? pointer_alignment(bias) : 0};
  auto it = plans.find(key);
  if (it != plans.end()) return *it->second;

  auto plan = std::make_unique<Plan>();
  ZT_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t op_a = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  ZT_CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof(op_a)));
  ZT_CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof(op_b)));
  ZT_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_EPILOGUE,
                                                 &g.epilogue, sizeof(g.epilogue)));
  if (g.aux_ld > 0) {
    ZT_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD,
                                                   &g.aux_ld, sizeof(g.aux_ld)));
  }
  // Stored (untransposed) shapes: op(A) is m x k, op(B) is k x n, D is m x n.
  ZT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan->a, g.ab_type, g.trans_a ? g.k : g.m,
                                             g.trans_a ? g.m : g.k, g.lda));
  ZT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan->b, g.ab_type, g.trans_b ? g.n : g.k,
                                             g.trans_b ? g.k : g.n, g.ldb));
  ZT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan->d, g.d_type, g.m, g.n, g.ldd));

  cublasLtMatmulPreference_t pref = nullptr;
  ZT_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  const uint64_t workspace_bytes = kWorkspaceBytes;
  const std::array<std::pair<cublasLtMatmulPreferenceAttributes_t, uint32_t>, 4> alignments{{
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, align_a},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, align_b},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, align_d},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, align_d},
  }};
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  try {
    ZT_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes, sizeof(workspace_bytes)));
    for (const auto& [attribute, value] : alignments) {
      ZT_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, attribute, &value, sizeof(value)));
    }
    // The first result for a fixed shape, alignment and library version is always the same:
    // that is what makes the products deterministic run to run.
    ZT_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(handle, plan->desc, plan->a, plan->b, plan->d,
                                                   plan->d, pref, 1, &result, &found));
  } catch (...) {
    cublasLtMatmulPreferenceDestroy(pref);
    throw;
  }
  ZT_CUBLAS_CHECK(cublasLtMatmulPreferenceDestroy(pref));
  if (found == 0) {
    const std::string shape = "m=" + std::to_string(g.m) + " n=" + std::to_string(g.n) +
                              " k=" + std::to_string(g.k) +
                              " epilogue=" + std::to_string(int(g.epilogue));
    throw_cuda_library_error("cuBLAS", "CUBLAS_STATUS_NOT_SUPPORTED",
                             ("no cuBLASLt algorithm for " + shape).c_str(),
                             "cublasLtMatmulAlgoGetHeuristic", __FILE__, __LINE__);
  }
  plan->algo = result.algo;
  return *plans.emplace(key, std::move(plan)).first->second;
}

void Matmul::State::run(const Gemm& g, const void* a, const void* b, void* d, float beta,
                        const void* bias, void* aux, cudaStream_t stream) {
  const Plan& plan = plan_for(g, a, b, d, bias);
  // Pointers change from call to call; setting them on the cached descriptor is cheap.
  if (bias) {
    ZT_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                   &bias, sizeof(bias)));
  }
  if (aux) {
    ZT_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(
        plan.desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &aux, sizeof(aux)));
  }
  const float alpha = 1.f;
  ZT_CUBLAS_CHECK(cublasLtMatmul(handle, plan.desc, &alpha, a, plan.a, b, plan.b, &beta, d, plan.d,
                                 d, plan.d, &plan.algo, workspace, kWorkspaceBytes, stream));
}

Matmul::Matmul(DType compute_dtype, cudaStream_t stream)
    : dtype_(compute_dtype), stream_(stream), state_(std::make_unique<State>()) {
  cuda_data_type(compute_dtype);  // rejects fp64 before anything is allocated
  ZT_CUBLAS_CHECK(cublasLtCreate(&state_->handle));
  try {
    ZT_CUDA_CHECK(cudaMallocAsync(&state_->workspace, kWorkspaceBytes, stream_));
  } catch (...) {
    cublasLtDestroy(state_->handle);
    throw;
  }
}

Matmul::~Matmul() {
  state_->plans.clear();
  // Destructors do not throw: a failure here surfaces at the next checked call.
  cudaFreeAsync(state_->workspace, stream_);
  cublasLtDestroy(state_->handle);
}

void Matmul::forward(void* y, const void* x, const void* w, const void* b, int64_t N, int64_t IC,
                     int64_t OC, void* gelu_pre) {
  Gemm g;
  g.m = OC, g.n = N, g.k = IC, g.lda = OC, g.ldb = IC, g.ldd = OC;
  g.ab_type = g.d_type = cuda_data_type(dtype_);
  if (gelu_pre) {
    if (OC % 8 != 0) {  // cuBLASLt: the GELU input's leading dimension must divide by 8
      throw_cuda_library_error(
          "cuBLAS", "CUBLAS_STATUS_INVALID_VALUE",
          ("GELU epilogue needs OC divisible by 8, got OC=" + std::to_string(OC)).c_str(),
          "Matmul::forward", __FILE__, __LINE__);
    }
    g.epilogue = b ? CUBLASLT_EPILOGUE_GELU_AUX_BIAS : CUBLASLT_EPILOGUE_GELU_AUX;
    g.aux_ld = OC;
  } else if (b) {
    g.epilogue = CUBLASLT_EPILOGUE_BIAS;
  }
  state_->run(g, w, x, y, 0.f, b, gelu_pre, stream_);
}

void Matmul::backward(void* dx, float* dw, float* db, const void* dy, const void* x, const void* w,
                      int64_t N, int64_t IC, int64_t OC) {
  const cudaDataType_t type = cuda_data_type(dtype_);
  if (dx) {
    Gemm g;
    g.trans_a = true;
    g.m = IC, g.n = N, g.k = OC, g.lda = OC, g.ldb = OC, g.ldd = IC;
    g.ab_type = g.d_type = type;
    state_->run(g, w, dy, dx, 0.f, nullptr, nullptr, stream_);
  }
  {
    Gemm g;
    g.trans_b = true;
    g.m = OC, g.n = IC, g.k = N, g.lda = OC, g.ldb = IC, g.ldd = OC;
    g.ab_type = type;
    g.d_type = CUDA_R_32F;
    state_->run(g, dy, x, dw, 1.f, nullptr, nullptr, stream_);
  }
  if (db && N > 0 && OC > 0) {
    dispatch_compute_type(dtype_, [&](auto t) {
      using T = decltype(t);
      const dim3 block(32, 32);
      const dim3 grid(static_cast<unsigned>((OC + 31) / 32));
      column_sum_accumulate_kernel<T>
          <<<grid, block, 0, stream_>>>(db, static_cast<const T*>(dy), N, OC);
      ZT_CUDA_CHECK(cudaGetLastError());
    });
  }
}

void Matmul::lm_head_forward(void* logits, const void* x, const void* wte, int64_t N, int64_t C,
                             int64_t V, int64_t ld) {
  Gemm g;
  g.trans_a = true;
  g.m = V, g.n = N, g.k = C, g.lda = C, g.ldb = C, g.ldd = ld;
  g.ab_type = g.d_type = cuda_data_type(dtype_);
  state_->run(g, wte, x, logits, 0.f, nullptr, nullptr, stream_);
}

void Matmul::lm_head_backward(void* dx, float* dwte, const void* dlogits, const void* x,
                              const void* wte, int64_t N, int64_t C, int64_t V, int64_t ld) {
  const cudaDataType_t type = cuda_data_type(dtype_);
  {
    Gemm g;
    g.m = C, g.n = N, g.k = V, g.lda = C, g.ldb = ld, g.ldd = C;
    g.ab_type = g.d_type = type;
    state_->run(g, wte, dlogits, dx, 0.f, nullptr, nullptr, stream_);
  }
  {
    Gemm g;
    g.trans_b = true;
    g.m = C, g.n = V, g.k = N, g.lda = C, g.ldb = ld, g.ldd = C;
    g.ab_type = type;
    g.d_type = CUDA_R_32F;
    state_->run(g, x, dlogits, dwte, 1.f, nullptr, nullptr, stream_);
  }
}

}  // namespace zerotune::cuda
