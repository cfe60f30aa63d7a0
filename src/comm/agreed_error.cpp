#include "zerotune/comm/agreed_error.hpp"

namespace zerotune::comm {

std::string agreed_error(Communicator& comm, const std::string& local_error) {
  const int32_t first = comm.all_reduce_value<int32_t>(
      local_error.empty() ? comm.size() : comm.rank(), ReduceOp::kMin);
  if (first >= comm.size()) return "";
  int64_t len = comm.rank() == first ? static_cast<int64_t>(local_error.size()) : 0;
  comm.broadcast(&len, 1, DataType::kInt64, first)->wait();
  std::string out = comm.rank() == first ? local_error : std::string();
  out.resize(static_cast<size_t>(len));
  if (len > 0) comm.broadcast(out.data(), len, DataType::kUint8, first)->wait();
  return out;
}

}  // namespace zerotune::comm
