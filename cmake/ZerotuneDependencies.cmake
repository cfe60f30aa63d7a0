# Finds the design card's dependencies and collects them in ZEROTUNE_DEPENDENCY_TARGETS.
# Works with MPICH and OpenMPI, serial and parallel HDF5 (parallel preferred).
find_package(MPI REQUIRED COMPONENTS C CXX)

# Debian installs the MPI-enabled HDF5 beside the serial one; ask for it first.
set(HDF5_PREFER_PARALLEL TRUE)
find_package(HDF5 REQUIRED COMPONENTS C)
find_package(spdlog REQUIRED)
find_package(nlohmann_json 3.2 REQUIRED)
find_package(BLAS REQUIRED)
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(YAML REQUIRED IMPORTED_TARGET yaml-0.1)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
# io_uring for the NVMe offload tier; without it the tier uses pread/pwrite.
pkg_check_modules(URING IMPORTED_TARGET liburing)

# cblas.h: Debian's OpenBLAS puts it under an arch include dir; Spack and others at the top.
find_path(CBLAS_INCLUDE_DIR NAMES cblas.h cblas-openblas.h
          PATH_SUFFIXES openblas x86_64-linux-gnu/openblas-pthread x86_64-linux-gnu)
if(NOT CBLAS_INCLUDE_DIR)
  message(FATAL_ERROR "cblas.h not found: install OpenBLAS (libopenblas-dev)")
endif()

add_library(zerotune_hdf5 INTERFACE)
target_include_directories(zerotune_hdf5 INTERFACE ${HDF5_C_INCLUDE_DIRS})
target_link_libraries(zerotune_hdf5 INTERFACE ${HDF5_C_LIBRARIES})
set(ZEROTUNE_DEPENDENCY_DEFINITIONS "")
if(HDF5_IS_PARALLEL)
  list(APPEND ZEROTUNE_DEPENDENCY_DEFINITIONS ZEROTUNE_HDF5_PARALLEL=1)
endif()
if(URING_FOUND)
  list(APPEND ZEROTUNE_DEPENDENCY_DEFINITIONS ZEROTUNE_HAVE_LIBURING=1)
else()
  message(WARNING "zerotune: liburing not found (liburing-dev); NVMe offload uses pread/pwrite")
endif()
message(STATUS "zerotune: HDF5 ${HDF5_VERSION} parallel=${HDF5_IS_PARALLEL}; MPI ${MPI_CXX_LIBRARY_VERSION_STRING}")

add_library(zerotune_cblas INTERFACE)
target_include_directories(zerotune_cblas INTERFACE ${CBLAS_INCLUDE_DIR})
target_link_libraries(zerotune_cblas INTERFACE BLAS::BLAS)

set(ZEROTUNE_DEPENDENCY_TARGETS
    MPI::MPI_CXX zerotune_hdf5 spdlog::spdlog nlohmann_json::nlohmann_json zerotune_cblas
    PkgConfig::YAML PkgConfig::PCRE2 Threads::Threads)
if(URING_FOUND)
  list(APPEND ZEROTUNE_DEPENDENCY_TARGETS PkgConfig::URING)
endif()
