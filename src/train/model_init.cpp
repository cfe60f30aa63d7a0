#include "zerotune/train/model_init.hpp"

#include <algorithm>
#include <filesystem>
#include <thread>
#include <vector>

#include "zerotune/model/gpt2.hpp"
#include "zerotune/model/gpt2_hf.hpp"
#include "zerotune/model/hf_directory.hpp"
#include "zerotune/ops/cpu_threads.hpp"
#include "zerotune/train/nonfinite_guard.hpp"

namespace zerotune::train {

void initialize_parameters(ZeroEngine& engine, const config::ModelConfig& model, uint64_t seed) {
  const auto& layout = engine.layout();
  if (model.init == "random") {
    // Every rank computes the same full unit (deterministic in seed and unit) and keeps its part.
    // Units draw from independent generators, so a batch of them is drawn on parallel threads
    // (a 1.5B model's normals take tens of seconds on one core); the engine takes them in order.
    const size_t units = layout.units.size();
    // At most ~4 GiB of host buffers at a time, whatever the core count.
    int64_t largest = 1;
    for (const auto& unit : layout.units) largest = std::max(largest, unit.numel);
    const int64_t fits = std::max<int64_t>(1, (int64_t{4} << 30) / (largest * 4));
    const size_t batch = static_cast<size_t>(std::min<int64_t>(ops::cpu_threads(), fits));
    std::vector<std::vector<float>> full(std::min(batch, units));
    for (size_t first = 0; first < units; first += batch) {
      const size_t count = std::min(batch, units - first);
      std::vector<std::thread> workers;
      for (size_t i = 0; i < count; ++i) {
        workers.emplace_back([&, i] {
          const int u = static_cast<int>(first + i);
          full[i].assign(static_cast<size_t>(layout.units[u].numel), 0.0f);
          model::Gpt2<float>::init_unit(layout, u, full[i].data(), seed, model.init_std);
        });
      }
      for (auto& w : workers) w.join();
      for (size_t i = 0; i < count; ++i) {
        engine.set_unit_parameters(static_cast<int>(first + i), full[i].data());
      }
    }
    return;
  }
  // A Hugging Face model directory (config.json + safetensors, maybe sharded), or one file.
  const auto units = std::filesystem::is_directory(model.init)
                         ? model::load_hf_directory(model.init, layout)
                         : model::load_gpt2_safetensors(model.init, layout);
  check_finite_parameters(model.init, layout, units);
  for (size_t u = 0; u < layout.units.size(); ++u) {
    engine.set_unit_parameters(static_cast<int>(u), units[u].data());
  }
}

}  // namespace zerotune::train
