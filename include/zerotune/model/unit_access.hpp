// How the model reaches its parameters and hands back its gradients, unit by unit.
// The ZeRO engine implements both: stage 0-2 return the resident full buffers; stage 3
// all-gathers a unit on acquire (prefetching the next one) and frees it on release. Stage 0
// starts the unit's gradient all-reduce, stage 2 its reduce-scatter, in gradients_ready().
#pragma once

namespace zerotune::model {

template <typename T>
class ParameterSource {
 public:
  virtual ~ParameterSource() = default;
  // The full flat parameter buffer of `unit`, valid until the matching release(unit).
  // `next_unit` (or -1) is the unit the model will acquire after this one: a hint to prefetch.
  virtual const T* acquire(int unit, int next_unit) = 0;
  virtual void release(int unit) = 0;
};

template <typename T>
class GradientSink {
 public:
  virtual ~GradientSink() = default;
  // The unit's flat gradient buffer. The model ADDS into it (+=), so micro-batches accumulate.
  // A unit may be asked for more than once in one backward (wte: LM head, then embeddings).
  virtual T* gradients(int unit) = 0;
  // Called once per backward when no later op in this backward writes the unit's gradients.
  virtual void gradients_ready(int unit) = 0;
};

}  // namespace zerotune::model
