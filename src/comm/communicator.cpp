#include "zerotune/comm/communicator.hpp"

namespace zerotune::comm {

size_t element_bytes(DataType type) {
  switch (type) {
    case DataType::kFloat32:
      return 4;
    case DataType::kFloat64:
      return 8;
    case DataType::kInt32:
      return 4;
    case DataType::kInt64:
      return 8;
    case DataType::kUint8:
      return 1;
    case DataType::kBFloat16:
    case DataType::kFloat16:
      return 2;
  }
  return 0;
}

std::string broadcast_string(Communicator& comm, const std::string& value) {
  int64_t len = static_cast<int64_t>(value.size());
  comm.broadcast(&len, 1, DataType::kInt64, 0)->wait();
  std::string out(value);
  out.resize(static_cast<size_t>(len));
  if (len > 0) comm.broadcast(out.data(), len, DataType::kUint8, 0)->wait();
  return out;
}

}  // namespace zerotune::comm
