// JSON as DeepSpeed's hjson reader also takes it: // and # line comments, /* */ block
// comments and trailing commas before } or ]. Stripping them leaves plain JSON for
// nlohmann::json; text inside strings is kept as it is.
#pragma once

#include <string>

namespace zerotune::config {

std::string strip_json_comments(const std::string& text);

}  // namespace zerotune::config
