// Errors that one rank meets and every rank must act on (an I/O failure while saving, a
// corrupt file among several): all ranks learn the same one line, so any rank can report it.
#pragma once

#include <string>

#include "zerotune/comm/communicator.hpp"

namespace zerotune::comm {

// The local error of the lowest rank that has one (non-empty), or "" on every rank when
// none has. Collective: every rank calls it, with "" when it has nothing to report.
std::string agreed_error(Communicator& comm, const std::string& local_error);

}  // namespace zerotune::comm
