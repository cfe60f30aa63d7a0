# Spack package for zerotune: fine-tunes GPT-2 style language models with data parallelism and
# ZeRO stages 1-3 (with CPU offload) over MPI and NCCL, on SLURM clusters.
#
# The environment at the repository root builds this source tree (`develop:`):
#   spack env activate . && spack install
# Elsewhere: spack repo add <zerotune>/spack && spack develop --path <zerotune> zerotune@=0.1.0
# (the package has no download URL, so `spack spec zerotune` alone finds no version: name the
# checkout's version, `zerotune@=0.1.0`, as `spack develop` does).

from spack.package import *

try:  # Spack 1.x keeps the build systems in its builtin package repository
    from spack_repo.builtin.build_systems.cmake import CMakePackage
    from spack_repo.builtin.build_systems.cuda import CudaPackage
except ImportError:  # Spack 0.x exports them from spack.package
    pass


class Zerotune(CMakePackage, CudaPackage):
    """GPT-2 fine-tuning with data parallelism and ZeRO stages 1-3 (CPU offload) over MPI
    and NCCL; one MPI-launched executable with sbatch scripts and an Lmod modulefile."""

    # No download URL: Spack builds a checkout (`spack develop`, as spack.yaml does), at the
    # version in the project's CMakeLists.txt.

    variant("tests", default=False, description="Build the Boost.Test suite (ZEROTUNE_TESTS)")

    # cmake/ZerotuneDependencies.cmake, cmake/ZerotuneCuda.cmake and tests/CMakeLists.txt name
    # what each of these provides; tests/spack/check_spack.py holds the two lists together.
    depends_on("c", type="build")
    depends_on("cxx", type="build")
    depends_on("cmake@3.24:", type="build")
    depends_on("pkgconfig", type="build")
    depends_on("mpi")
    depends_on("hdf5+mpi")
    depends_on("libyaml")
    depends_on("spdlog")
    depends_on("nlohmann-json@3.2:")
    depends_on("openblas")  # BLAS and cblas.h
    depends_on("pcre2")
    depends_on("liburing")  # io_uring for the NVMe offload tier
    depends_on("boost+test", type=("build", "test"), when="+tests")
    # CudaPackage adds the cuda variant, cuda_arch and depends_on("cuda") when +cuda.
    depends_on("nccl", when="+cuda")
    depends_on("cudnn", when="+cuda")
    # cudnn-frontend, the header-only C++ graph API over cuDNN that the fused attention is built
    # on, has no Spack package: it comes as a resource (headers only, nothing to build), and
    # cmake_args points CUDNN_FRONTEND_INCLUDE_DIR at it. 1.32.0 is the version tested against
    # cuDNN 9.19 and CUDA 13. (A develop checkout may instead hold the headers that
    # scripts/fetch-cudnn-frontend.sh unpacks into .cudnn-frontend/include; CMake looks there too.)
    resource(
        name="cudnn-frontend",
        git="https://github.com/NVIDIA/cudnn-frontend.git",
        tag="v1.32.0",
        destination="spack-resources",
        placement="cudnn-frontend",
        when="+cuda",
    )

    conflicts(
        "cuda_arch=none", when="+cuda", msg="zerotune +cuda needs a cuda_arch, e.g. cuda_arch=90"
    )

    def cmake_args(self):
        spec = self.spec
        args = [
            self.define("ZEROTUNE_CUDA", "ON" if spec.satisfies("+cuda") else "OFF"),
            self.define_from_variant("ZEROTUNE_TESTS", "tests"),
            self.define("HDF5_PREFER_PARALLEL", True),
            self.define("MPI_C_COMPILER", spec["mpi"].mpicc),
            self.define("MPI_CXX_COMPILER", spec["mpi"].mpicxx),
        ]
        if spec.satisfies("+cuda"):
            nvcc = join_path(spec["cuda"].prefix.bin, "nvcc")
            args.append(self.define("CMAKE_CUDA_COMPILER", nvcc))
            archs = spec.variants["cuda_arch"].value
            args.append(self.define("CMAKE_CUDA_ARCHITECTURES", ";".join(archs)))
            frontend = join_path(self.stage.source_path, "spack-resources", "cudnn-frontend")
            args.append(self.define("CUDNN_FRONTEND_INCLUDE_DIR", join_path(frontend, "include")))
        return args

    def setup_run_environment(self, env):
        env.set("ZEROTUNE_HOME", self.prefix)
        env.set("ZEROTUNE_JOBS", join_path(self.prefix.share, "zerotune", "jobs"))
        env.set("ZEROTUNE_CONFIGS", join_path(self.prefix.share, "zerotune", "configs"))

    def test_version(self):
        """zerotune --version names the installed version"""
        zerotune = which(self.prefix.bin.zerotune)
        out = zerotune("--version", output=str.split, error=str.split)
        assert f"zerotune {self.spec.version}" in out
