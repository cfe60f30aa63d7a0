// The typed CPU face of Gpt2Model: the caller's typed ParameterSource<T> / GradientSink<T>
// are seen by the model through untyped adapters, over a CPU backend of dtype T.
#include "zerotune/model/gpt2.hpp"

#include <type_traits>

#include "zerotune/ops/backend.hpp"

namespace zerotune::model {

namespace {

template <typename T>
class UntypedParameters : public ParameterSource<void> {
 public:
  explicit UntypedParameters(ParameterSource<T>& typed) : typed_(typed) {}
  const void* acquire(int unit, int next_unit) override { return typed_.acquire(unit, next_unit); }
  void release(int unit) override { typed_.release(unit); }

 private:
  ParameterSource<T>& typed_;
};

template <typename T>
class UntypedGradients : public GradientSink<void> {
 public:
  explicit UntypedGradients(GradientSink<T>& typed) : typed_(typed) {}
  void* gradients(int unit) override { return typed_.gradients(unit); }
  void gradients_ready(int unit) override { typed_.gradients_ready(unit); }

 private:
  GradientSink<T>& typed_;
};

}  // namespace

template <typename T>
struct Gpt2<T>::Impl {
  Impl(const Gpt2Shape& shape, int64_t max_batch)
      : backend(ops::make_cpu_backend(std::is_same_v<T, double> ? DType::kFloat64
                                                                 : DType::kFloat32)),
        model(shape, max_batch, *backend, Gpt2Options{.keep_logits = true}) {}
  std::unique_ptr<ops::Backend> backend;
  Gpt2Model model;
};

template <typename T>
Gpt2<T>::Gpt2(const Gpt2Shape& shape, int64_t max_batch)
    : impl_(std::make_unique<Impl>(shape, max_batch)) {}

template <typename T>
Gpt2<T>::~Gpt2() = default;

template <typename T>
const Gpt2Layout& Gpt2<T>::layout() const {
  return impl_->model.layout();
}

template <typename T>
const T* Gpt2<T>::logits() const {
  return static_cast<const T*>(impl_->model.logits());
}

template <typename T>
LossSum Gpt2<T>::forward(const int32_t* ids, const int32_t* labels, int64_t B, int64_t Tlen,
                         ParameterSource<T>& params) {
  UntypedParameters<T> untyped(params);
  return impl_->model.forward(ids, labels, B, Tlen, untyped);
}

template <typename T>
void Gpt2<T>::backward(T loss_scale, ParameterSource<T>& params, GradientSink<T>& sink) {
  UntypedParameters<T> untyped_params(params);
  UntypedGradients<T> untyped_sink(sink);
  impl_->model.backward(static_cast<double>(loss_scale), untyped_params, untyped_sink);
}

template class Gpt2<float>;
template class Gpt2<double>;

}  // namespace zerotune::model
