// Ranks agree on the run before they start: a rank started with another config (an MPMD
// launch, a config file that differs per node) would otherwise hang in the first collective
// (another n_layer) or silently train a diverging replica (another lr or seed).
#pragma once

#include <string>
#include <vector>

#include "zerotune/comm/communicator.hpp"
#include "zerotune/config/run_config.hpp"

namespace zerotune::cli {

// "section.key: value" for every field of the resolved config, plus the size in bytes of
// each token file it names ("data.train_file.bytes: 1234", "data.retention_files[0].bytes:
// 5678"; "missing" if absent).
std::vector<std::string> config_fingerprint(const config::RunConfig& config);

// The keys whose lines differ between two fingerprints, in order, without repeats.
std::vector<std::string> differing_keys(const std::vector<std::string>& mine,
                                        const std::vector<std::string>& reference);

// Every rank compares its fingerprint with rank 0's; UniformInputError (exit 2) on every
// rank naming the first differing rank and keys. Collective.
void check_ranks_agree_on_config(const config::RunConfig& config, comm::Communicator& comm);

}  // namespace zerotune::cli
