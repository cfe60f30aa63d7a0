// GPT-2's initialisation (Hugging Face GPT2PreTrainedModel._init_weights):
//   wte, wpe, c_attn.weight, c_fc.weight        N(0, 0.02)
//   attn.c_proj.weight, mlp.c_proj.weight       N(0, 0.02 / sqrt(2 * n_layer))
//   biases 0, LayerNorm weights 1
// Each unit draws from its own generator, seeded from (seed, unit) only, so a unit's values
// do not depend on which other units exist or were initialised first (ZeRO-3 ranks initialise
// only their units). The normals come from Box-Muller over std::mt19937_64, whose output the
// standard fixes, so the values are the same with any standard library; they are drawn in
// double and rounded to T, so Gpt2<float> gets Gpt2<double>'s values rounded.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <stdexcept>
#include <string>

#include "zerotune/model/gpt2.hpp"

namespace zerotune::model {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class NormalStream {
 public:
  NormalStream(uint64_t seed, int unit)
      : engine_(splitmix64(splitmix64(seed) ^ static_cast<uint64_t>(unit))) {}

  double next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    // u1 in (0, 1], u2 in [0, 1), 53 random bits each.
    const double u1 = (static_cast<double>(engine_() >> 11) + 1.0) * 0x1.0p-53;
    const double u2 = static_cast<double>(engine_() >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double angle = 2.0 * std::numbers::pi * u2;
    spare_ = r * std::sin(angle);
    has_spare_ = true;
    return r * std::cos(angle);
  }

 private:
  std::mt19937_64 engine_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

template <typename T>
void Gpt2<T>::init_unit(const Gpt2Layout& layout, int unit, T* buffer, uint64_t seed,
                        double init_std) {
  if (unit < 0 || unit >= static_cast<int>(layout.units.size())) {
    throw std::out_of_range("Gpt2::init_unit: unit " + std::to_string(unit) + " of " +
                            std::to_string(layout.units.size()));
  }
  const double proj_std =
      init_std / std::sqrt(2.0 * static_cast<double>(std::max<int64_t>(layout.shape.n_layer, 1)));
  NormalStream normal(seed, unit);
  for (const TensorSpec& t : layout.units[static_cast<size_t>(unit)].tensors) {
    T* p = buffer + t.offset;
    const bool layernorm = ends_with(t.name, "ln_1.weight") || ends_with(t.name, "ln_2.weight") ||
                           ends_with(t.name, "ln_f.weight");
    if (layernorm) {
      for (int64_t i = 0; i < t.numel; ++i) p[i] = T(1);
    } else if (ends_with(t.name, ".bias")) {
      for (int64_t i = 0; i < t.numel; ++i) p[i] = T(0);
    } else {
      const double stddev = ends_with(t.name, "c_proj.weight") ? proj_std : init_std;
      for (int64_t i = 0; i < t.numel; ++i) p[i] = static_cast<T>(stddev * normal.next());
    }
  }
}

template void Gpt2<float>::init_unit(const Gpt2Layout&, int, float*, uint64_t, double);
template void Gpt2<double>::init_unit(const Gpt2Layout&, int, double*, uint64_t, double);

}  // namespace zerotune::model
