# ZEROTUNE_CUDA=AUTO|ON|OFF: compile src/cuda/*.cu where nvcc is found (AUTO) or must be (ON).
include(CheckLanguage)
set(ZEROTUNE_HAVE_CUDA OFF)
if(NOT ZEROTUNE_CUDA STREQUAL "OFF")
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90)
    endif()
    # CMake 3.25 knows no C++20 dialect for nvcc: .cu files are C++17 and include no C++20
    # header (their errors go through src/cuda/cuda_error.cpp).
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(ZEROTUNE_HAVE_CUDA ON)
  elseif(ZEROTUNE_CUDA STREQUAL "ON")
    message(FATAL_ERROR "ZEROTUNE_CUDA=ON but no CUDA compiler (nvcc) was found")
  endif()
endif()
message(STATUS "zerotune: CUDA kernels ${ZEROTUNE_HAVE_CUDA}")

# --- cuBLASLt and cuDNN (matmuls and attention) -----------------------------------------------
# The fused attention goes through cuDNN's graph API via the header-only cudnn-frontend
# (scripts/fetch-cudnn-frontend.sh unpacks it into .cudnn-frontend/include; point
# CUDNN_FRONTEND_INCLUDE_DIR at any other copy). Without both, src/cuda/attention_cudnn.cu is
# left out and make_cudnn_attention returns nullptr: our own attention kernel serves.
set(CUDNN_FRONTEND_INCLUDE_DIR "" CACHE PATH "Directory holding cudnn_frontend.h (a hint)")
set(ZEROTUNE_HAVE_CUDNN OFF)
if(ZEROTUNE_HAVE_CUDA)
  find_path(ZEROTUNE_CUDNN_FRONTEND_DIR cudnn_frontend.h
            HINTS ${CUDNN_FRONTEND_INCLUDE_DIR} ${PROJECT_SOURCE_DIR}/.cudnn-frontend/include)
  find_library(ZEROTUNE_CUDNN_LIBRARY cudnn
               HINTS ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_LIBRARY_ROOT}/lib64 ENV CUDNN_HOME
               PATH_SUFFIXES lib64 lib)
  find_path(ZEROTUNE_CUDNN_INCLUDE_DIR cudnn.h
            HINTS ${CUDAToolkit_INCLUDE_DIRS} ENV CUDNN_HOME PATH_SUFFIXES include)
  if(ZEROTUNE_CUDNN_FRONTEND_DIR AND ZEROTUNE_CUDNN_LIBRARY AND ZEROTUNE_CUDNN_INCLUDE_DIR)
    set(ZEROTUNE_HAVE_CUDNN ON)
  endif()
endif()
message(STATUS "zerotune: cuDNN attention ${ZEROTUNE_HAVE_CUDNN} "
               "(cudnn_frontend.h: ${ZEROTUNE_CUDNN_FRONTEND_DIR}, cudnn: ${ZEROTUNE_CUDNN_LIBRARY})")
# --- end cuBLASLt and cuDNN ---------------------------------------------------------------------

function(zerotune_add_cuda_sources target)
  if(NOT ZEROTUNE_HAVE_CUDA)
    return()
  endif()
  file(GLOB cuda_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/cuda/*.cu)
  if(NOT ZEROTUNE_HAVE_CUDNN)
    list(FILTER cuda_sources EXCLUDE REGEX "/attention_cudnn\\.cu$")
  endif()
  if(cuda_sources)
    target_sources(${target} PRIVATE ${cuda_sources})
    target_link_libraries(${target} PUBLIC CUDA::cudart CUDA::cublas)
    target_compile_definitions(${target} PUBLIC ZEROTUNE_WITH_CUDA=1)
    # cuBLASLt and cuDNN (matmuls and attention)
    target_link_libraries(${target} PUBLIC CUDA::cublasLt)
    if(ZEROTUNE_HAVE_CUDNN)
      target_include_directories(${target} SYSTEM PRIVATE ${ZEROTUNE_CUDNN_FRONTEND_DIR}
                                                          ${ZEROTUNE_CUDNN_INCLUDE_DIR})
      # cudnn-frontend (>= 1.2x) compiles some of its engines at run time with NVRTC.
      target_link_libraries(${target} PUBLIC ${ZEROTUNE_CUDNN_LIBRARY} CUDA::nvrtc)
      target_compile_definitions(${target} PUBLIC ZEROTUNE_WITH_CUDNN=1)
    endif()
  endif()
endfunction()

# ---- NCCL: the GPU transport of comm::Communicator (src/comm/nccl_communicator.cpp) --------
# Found beside the CUDA toolkit, in /usr/local or under NCCL_HOME / NCCL_ROOT (Spack and
# module installs). Optional: without it the build still has CUDA, and make_nccl_communicator
# throws a LibraryError that says NCCL was not built in. ZEROTUNE_WITH_NCCL marks builds with it.
set(ZEROTUNE_HAVE_NCCL OFF)
if(ZEROTUNE_HAVE_CUDA)
  find_path(NCCL_INCLUDE_DIR nccl.h
            HINTS ENV NCCL_HOME ENV NCCL_ROOT ${CUDAToolkit_INCLUDE_DIRS} /usr/local/include
            PATH_SUFFIXES include)
  find_library(NCCL_LIBRARY nccl
               HINTS ENV NCCL_HOME ENV NCCL_ROOT ${CUDAToolkit_LIBRARY_DIR}
                     ${CUDAToolkit_LIBRARY_ROOT}/lib /usr/local/lib
               PATH_SUFFIXES lib lib64)
  if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
    add_library(zerotune_nccl INTERFACE IMPORTED)
    target_include_directories(zerotune_nccl INTERFACE ${NCCL_INCLUDE_DIR})
    target_link_libraries(zerotune_nccl INTERFACE ${NCCL_LIBRARY})
    set(ZEROTUNE_HAVE_NCCL ON)
  endif()
endif()
message(STATUS "zerotune: NCCL ${ZEROTUNE_HAVE_NCCL} ${NCCL_LIBRARY}")

# Links NCCL (where found) and libdl (the NVML probe loads libnvidia-ml.so.1 at run time).
function(zerotune_link_nccl target)
  target_link_libraries(${target} PUBLIC ${CMAKE_DL_LIBS})
  if(ZEROTUNE_HAVE_NCCL)
    target_link_libraries(${target} PUBLIC zerotune_nccl)
    target_compile_definitions(${target} PUBLIC ZEROTUNE_WITH_NCCL=1)
  endif()
endfunction()
