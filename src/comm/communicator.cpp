#include "zerotune/comm/communicator.hpp"

namespace zerotune::comm {

size_t element_bytes(DataType type) {
  switch (type) {
    case DataType::kFloat32: return 4;
    case DataType::kFloat64: return 8;
    case DataType::kInt32: return 4;
    case DataType::kInt64: return 8;
    case DataType::kUint8: return 1;
  }
  return 0;
}

}  // namespace zerotune::comm
