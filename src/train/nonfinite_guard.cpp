#include "zerotune/train/nonfinite_guard.hpp"

#include <cmath>
#include <sstream>

#include "zerotune/base/error.hpp"

namespace zerotune::train {

std::string first_nonfinite_value(const model::Gpt2Layout& layout, int unit, const float* values) {
  for (const auto& t : layout.units[unit].tensors) {
    for (int64_t i = 0; i < t.numel; ++i) {
      const float v = values[t.offset + i];
      if (!std::isfinite(v)) {
        std::ostringstream s;
        s << "transformer." << t.name << "[" << i << "] is " << v;
        return s.str();
      }
    }
  }
  return "";
}

void check_finite_parameters(const std::string& source, const model::Gpt2Layout& layout,
                             const std::vector<std::vector<float>>& units) {
  for (size_t u = 0; u < units.size() && u < layout.units.size(); ++u) {
    const std::string bad = first_nonfinite_value(layout, static_cast<int>(u), units[u].data());
    if (!bad.empty()) {
      throw InputError(source + ": " + bad +
                       ": the initial weights must be finite (model.init names a damaged or "
                       "diverged model)");
    }
  }
}

void check_finite_step(int64_t step, double loss, double grad_norm, bool fp16_loss_scaling) {
  const bool bad_loss = !std::isfinite(loss);
  const bool bad_norm = !fp16_loss_scaling && !std::isfinite(grad_norm);
  if (!bad_loss && !bad_norm) return;
  std::ostringstream s;
  s << "step " << step << ": " << (bad_loss ? "loss" : "grad_norm") << " is "
    << (bad_loss ? loss : grad_norm) << " (loss=" << loss << " grad_norm=" << grad_norm
    << "): training diverged; stopped before saving this step, so checkpoints/latest still "
       "names the last finite state (lower train.lr, set train.grad_clip, or resume from an "
       "earlier checkpoint)";
  throw LibraryError(s.str());
}

}  // namespace zerotune::train
