// Row-major GEMM on CBLAS for float and double, with int64_t sizes checked against the int
// that CBLAS takes. Private to src/ops: the CUDA backend has its own (cuBLAS) counterpart.
//   C[M, N] = alpha * op(A) @ op(B) + beta * C,  op(X) = X or X^T,  leading dims in elements
#pragma once

#include <cblas.h>

#include <climits>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace zerotune::ops::detail {

inline int blas_int(int64_t v, const char* what) {
  if (v < 0 || v > INT_MAX) {
    throw std::length_error(std::string("gemm: ") + what + " = " + std::to_string(v) +
                            " does not fit the BLAS integer");
  }
  return static_cast<int>(v);
}

inline void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                 const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                 int64_t ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, blas_int(M, "M"), blas_int(N, "N"),
              blas_int(K, "K"), alpha, A, blas_int(lda, "lda"), B, blas_int(ldb, "ldb"), beta, C,
              blas_int(ldc, "ldc"));
}

inline void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha,
                 const double* A, int64_t lda, const double* B, int64_t ldb, double beta, double* C,
                 int64_t ldc) {
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, blas_int(M, "M"), blas_int(N, "N"),
              blas_int(K, "K"), alpha, A, blas_int(lda, "lda"), B, blas_int(ldb, "ldb"), beta, C,
              blas_int(ldc, "ldc"));
}

}  // namespace zerotune::ops::detail
