// Causal self-attention through cuDNN's fused flash attention (SDPA), built with the
// header-only cudnn-frontend graph API. Compiled only where CMake found cudnn_frontend.h and
// libcudnn (ZEROTUNE_WITH_CUDNN).
//
// Shapes: qkv[B, T, 3C], out and dout [B, T, C], hd = C/NH, scale = 1/sqrt(hd).
// No permutes: q, k and v are strided views of qkv, dims [B, NH, T, hd] with strides
// (T*3C, hd, 3C, 1) at offsets 0, C and 2C; out, dout likewise with strides (T*C, hd, C, 1);
// dq, dk, dv are written straight into dqkv with qkv's strides.
// Forward:  out = softmax_causal(q k^T * scale) v, and stats[B, NH, T, 1] fp32 = the
//           log-sum-exp of each row of scaled scores (the `saved` buffer).
// Backward: dq, dk, dv from q, k, v, out, dout and stats (the probabilities are recomputed).
// The causal mask is the diagonal band with top-left alignment and right bound 0: key s is
// seen by query t iff s <= t. Intermediates and accumulation are fp32.
// Graphs are built once per (B, T, NH, hd) and cached. The backward asks for cuDNN's
// deterministic algorithm (SDPA_backward_attributes::set_deterministic_algorithm), so repeated
// runs are bit-identical; the forward has no cross-block reduction and is deterministic.
#include <cmath>
#include <map>
#include <tuple>
#include <unordered_map>

#include "attention.cuh"
#include "cuda_check.cuh"
#include "cudnn_check.cuh"

namespace zerotune::cuda {

namespace {

namespace fe = cudnn_frontend;

// Tensor uids of the variant packs.
enum : int64_t { kQ = 1, kK, kV, kO, kStats, kdO, kdQ, kdK, kdV };

struct Graphs {
  std::shared_ptr<fe::graph::Graph> forward, backward;
  int64_t forward_workspace = 0, backward_workspace = 0;
};

class CudnnAttention : public Attention {
 public:
  CudnnAttention(DType dt, cudaStream_t stream) : dt_(dt), stream_(stream) {
    ZT_CUDNN_CHECK(cudnnCreate(&handle_));
    try {
      ZT_CUDNN_CHECK(cudnnSetStream(handle_, stream_));
    } catch (...) {
      cudnnDestroy(handle_);
      throw;
    }
  }
  ~CudnnAttention() override {
    graphs_.clear();
    // Destructors do not throw: a failure here surfaces at the next checked call.
    if (workspace_) cudaFreeAsync(workspace_, stream_);
    cudnnDestroy(handle_);
  }

  const char* name() const override { return "cudnn"; }

  size_t saved_bytes(int64_t B, int64_t T, int64_t NH) const override {
    return size_t(B * NH * T) * sizeof(float);
  }

  void forward(void* out, void* saved, const void* qkv, int64_t B, int64_t T, int64_t C,
               int64_t NH) override {
    if (B * T * C == 0) return;
    const Graphs& g = graphs_for(B, T, C, NH);
    char* base = static_cast<char*>(const_cast<void*>(qkv));
    const size_t part = size_t(C) * dtype_bytes(dt_);
    std::unordered_map<int64_t, void*> pack{
        {kQ, base}, {kK, base + part}, {kV, base + 2 * part}, {kO, out}, {kStats, saved}};
    ZT_CUDNN_FE_CHECK(g.forward->execute(handle_, pack, workspace(g.forward_workspace)));
  }

  void backward(void* dqkv, const void* dout, const void* qkv, const void* out, const void* saved,
                int64_t B, int64_t T, int64_t C, int64_t NH) override {
    if (B * T * C == 0) return;
    const Graphs& g = graphs_for(B, T, C, NH);
    char* base = static_cast<char*>(const_cast<void*>(qkv));
    char* dbase = static_cast<char*>(dqkv);
    const size_t part = size_t(C) * dtype_bytes(dt_);
    std::unordered_map<int64_t, void*> pack{{kQ, base},
                                            {kK, base + part},
                                            {kV, base + 2 * part},
                                            {kO, const_cast<void*>(out)},
                                            {kdO, const_cast<void*>(dout)},
                                            {kStats, const_cast<void*>(saved)},
                                            {kdQ, dbase},
                                            {kdK, dbase + part},
                                            {kdV, dbase + 2 * part}};
    ZT_CUDNN_FE_CHECK(g.backward->execute(handle_, pack, workspace(g.backward_workspace)));
  }

 private:
  fe::DataType_t io_type() const {
    return dt_ == DType::kBFloat16 ? fe::DataType_t::BFLOAT16 : fe::DataType_t::HALF;
  }

  std::shared_ptr<fe::graph::Graph> new_graph() const {
    auto graph = std::make_shared<fe::graph::Graph>();
    graph->set_io_data_type(io_type())
        .set_intermediate_data_type(fe::DataType_t::FLOAT)
        .set_compute_data_type(fe::DataType_t::FLOAT);
    return graph;
  }

  static std::shared_ptr<fe::graph::Tensor_attributes> input(fe::graph::Graph& graph,
                                                             const char* name, int64_t uid,
                                                             std::vector<int64_t> dims,
                                                             std::vector<int64_t> strides) {
    return graph.tensor(fe::graph::Tensor_attributes()
                            .set_name(name)
                            .set_uid(uid)
                            .set_dim(std::move(dims))
                            .set_stride(std::move(strides)));
  }

  // Validate, lower to the backend, pick the first heuristic plan that cuDNN supports, build it.
  void finalize(fe::graph::Graph& graph, int64_t& workspace_bytes) {
    ZT_CUDNN_FE_CHECK(graph.validate());
    ZT_CUDNN_FE_CHECK(graph.build_operation_graph(handle_));
    ZT_CUDNN_FE_CHECK(graph.create_execution_plans({fe::HeurMode_t::A}));
    ZT_CUDNN_FE_CHECK(graph.check_support(handle_));
    ZT_CUDNN_FE_CHECK(graph.build_plans(handle_));
    ZT_CUDNN_FE_CHECK(graph.get_workspace_size(workspace_bytes));
  }

  const Graphs& graphs_for(int64_t B, int64_t T, int64_t C, int64_t NH) {
    const int64_t hd = C / NH;
    const auto key = std::make_tuple(B, T, NH, hd);
    auto it = graphs_.find(key);
    if (it != graphs_.end()) return it->second;

    const float scale = 1.f / std::sqrt(float(hd));
    const std::vector<int64_t> dims{B, NH, T, hd};
    const std::vector<int64_t> qkv_strides{T * 3 * C, hd, 3 * C, 1};
    const std::vector<int64_t> row_strides{T * C, hd, C, 1};
    const std::vector<int64_t> stats_dims{B, NH, T, 1};
    const std::vector<int64_t> stats_strides{NH * T, T, 1, 1};
    Graphs g;

    g.forward = new_graph();
    {
      auto& graph = *g.forward;
      auto q = input(graph, "q", kQ, dims, qkv_strides);
      auto k = input(graph, "k", kK, dims, qkv_strides);
      auto v = input(graph, "v", kV, dims, qkv_strides);
      auto options = fe::graph::SDPA_attributes()
                         .set_name("attention_forward")
                         .set_generate_stats(true)
                         .set_attn_scale(scale)
                         .set_diagonal_alignment(fe::DiagonalAlignment_t::TOP_LEFT)
                         .set_diagonal_band_right_bound(0);
      auto [o, stats] = graph.sdpa(q, k, v, options);
      o->set_output(true).set_uid(kO).set_dim(dims).set_stride(row_strides);
      stats->set_output(true)
          .set_uid(kStats)
          .set_data_type(fe::DataType_t::FLOAT)
          .set_dim(stats_dims)
          .set_stride(stats_strides);
      finalize(graph, g.forward_workspace);
    }

    g.backward = new_graph();
    {
      auto& graph = *g.backward;
      auto q = input(graph, "q", kQ, dims, qkv_strides);
      auto k = input(graph, "k", kK, dims, qkv_strides);
      auto v = input(graph, "v", kV, dims, qkv_strides);
      auto o = input(graph, "o", kO, dims, row_strides);
      auto dout = input(graph, "dO", kdO, dims, row_strides);
      auto stats = input(graph, "stats", kStats, stats_dims, stats_strides);
      stats->set_data_type(fe::DataType_t::FLOAT);
      auto options = fe::graph::SDPA_backward_attributes()
                         .set_name("attention_backward")
                         .set_attn_scale(scale)
                         .set_diagonal_alignment(fe::DiagonalAlignment_t::TOP_LEFT)
                         .set_diagonal_band_right_bound(0)
                         .set_deterministic_algorithm(true);
      auto [dq, dk, dv] = graph.sdpa_backward(q, k, v, o, dout, stats, options);
      dq->set_output(true).set_uid(kdQ).set_dim(dims).set_stride(qkv_strides);
      dk->set_output(true).set_uid(kdK).set_dim(dims).set_stride(qkv_strides);
      dv->set_output(true).set_uid(kdV).set_dim(dims).set_stride(qkv_strides);
      finalize(graph, g.backward_workspace);
    }
    return graphs_.emplace(key, std::move(g)).first->second;
  }

  // Grows (stream-ordered) to the largest workspace any graph asked for; never shrinks.
  void* workspace(int64_t bytes) {
    if (size_t(bytes) > workspace_bytes_) {
      void* old = workspace_;
      workspace_ = nullptr;
      workspace_bytes_ = 0;
      if (old) ZT_CUDA_CHECK(cudaFreeAsync(old, stream_));
      ZT_CUDA_CHECK(cudaMallocAsync(&workspace_, size_t(bytes), stream_));
      workspace_bytes_ = size_t(bytes);
    }
    return workspace_;
  }

  DType dt_;
  cudaStream_t stream_;
  cudnnHandle_t handle_ = nullptr;
  std::map<std::tuple<int64_t, int64_t, int64_t, int64_t>, Graphs> graphs_;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
};

}  // namespace

std::unique_ptr<Attention> make_cudnn_attention(DType dt, cudaStream_t stream) {
  if (dt != DType::kBFloat16 && dt != DType::kFloat16) return nullptr;
  return std::make_unique<CudnnAttention>(dt, stream);
}

}  // namespace zerotune::cuda
