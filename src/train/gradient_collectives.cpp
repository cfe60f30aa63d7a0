#include "gradient_collectives.hpp"

#include <stdexcept>
#include <utility>

#include "zerotune/runtime/device.hpp"

namespace zerotune::train {

namespace {

// A collective over a compute-dtype copy: waiting for it also widens the result into the fp32
// destination (queued after the collective on the compute stream) and frees the copy.
class WidenOnCompletion : public comm::Request {
 public:
  WidenOnCompletion(comm::RequestPtr inner, ops::Backend& backend,
                    runtime::DeviceBuffer<std::byte> narrow, const void* result, float* dst,
                    int64_t n)
      : inner_(std::move(inner)),
        backend_(backend),
        narrow_(std::move(narrow)),
        result_(result),
        dst_(dst),
        n_(n) {}
  void wait() override {
    if (!inner_) return;
    inner_->wait();
    inner_.reset();
    backend_.cast_to_float(dst_, result_, n_);
    narrow_.reset();  // stream-ordered: freed after the cast that reads it
  }

 private:
  comm::RequestPtr inner_;
  ops::Backend& backend_;
  runtime::DeviceBuffer<std::byte> narrow_;
  const void* result_;
  float* dst_;
  int64_t n_;
};

}  // namespace

GradientCollectives::GradientCollectives(comm::Communicator& comm, ops::Backend& backend,
                                         DType reduce_dtype, bool overlap_comm)
    : comm_(comm), backend_(backend), reduce_dtype_(reduce_dtype), overlap_comm_(overlap_comm) {
  if (reduce_dtype != DType::kFloat32 && reduce_dtype != backend.compute_dtype()) {
    throw std::invalid_argument(
        "GradientCollectives: reduce dtype must be fp32 or the compute "
        "dtype");
  }
}

comm::RequestPtr GradientCollectives::issued(comm::RequestPtr request) const {
  if (!overlap_comm_) request->wait();  // the request stays valid: waiting again is a no-op
  return request;
}

comm::RequestPtr GradientCollectives::all_reduce(float* grad, int64_t n) {
  if (reduce_dtype_ == DType::kFloat32) {
    return issued(comm_.all_reduce(grad, grad, n, comm::DataType::kFloat32, comm::ReduceOp::kSum));
  }
  const int64_t bytes = n * static_cast<int64_t>(dtype_bytes(reduce_dtype_));
  runtime::DeviceBuffer<std::byte> narrow(backend_.device(), bytes, "gradient reduction copy");
  backend_.cast_from_float(narrow.data(), grad, n);
  void* data = narrow.data();
  auto inner =
      comm_.all_reduce(data, data, n, comm::data_type_of(reduce_dtype_), comm::ReduceOp::kSum);
  return issued(std::make_unique<WidenOnCompletion>(std::move(inner), backend_, std::move(narrow),
                                                    data, grad, n));
}

comm::RequestPtr GradientCollectives::reduce_scatter(const float* unit, float* shard,
                                                     int64_t shard_numel) {
  if (reduce_dtype_ == DType::kFloat32) {
    return issued(comm_.reduce_scatter(unit, shard, shard_numel, comm::DataType::kFloat32,
                                       comm::ReduceOp::kSum));
  }
  const int64_t element = static_cast<int64_t>(dtype_bytes(reduce_dtype_));
  const int64_t total = shard_numel * comm_.size();
  // One allocation: the unit's narrow copy, then this rank's narrow result.
  runtime::DeviceBuffer<std::byte> narrow(backend_.device(), (total + shard_numel) * element,
                                          "gradient reduction copy");
  backend_.cast_from_float(narrow.data(), unit, total);
  std::byte* result = narrow.data() + total * element;
  auto inner = comm_.reduce_scatter(narrow.data(), result, shard_numel,
                                    comm::data_type_of(reduce_dtype_), comm::ReduceOp::kSum);
  return issued(std::make_unique<WidenOnCompletion>(std::move(inner), backend_, std::move(narrow),
                                                    result, shard, shard_numel));
}

}  // namespace zerotune::train
