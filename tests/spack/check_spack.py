"""Checks the Spack files without Spack: spack/packages/zerotune/package.py compiles and has
a depends_on for every dependency the CMake build looks for (find_package, pkg_check_modules,
find_path, the CUDA language), and no stale ones; its cmake_args set variables the build
knows; spack.yaml and spack/repo.yaml are well-formed YAML and the environment lists the
cluster stack and builds this checkout.

    python3 tests/spack/check_spack.py [SOURCE_DIR]
"""

import ast
import pathlib
import re
import sys

import yaml

SRC = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parents[2])
PACKAGE = SRC / "spack" / "packages" / "zerotune" / "package.py"
CMAKE_FILES = [SRC / "CMakeLists.txt", SRC / "tests" / "CMakeLists.txt",
               *sorted((SRC / "cmake").glob("*.cmake")), SRC / "modules" / "CMakeLists.txt"]

# What the CMake build looks for -> the Spack packages (with variants) that provide it.
# None: part of the system (libc), nothing to depend on.
PROVIDERS = {
    "find_package(MPI)": ["mpi"],
    "find_package(HDF5)": ["hdf5+mpi"],  # HDF5_PREFER_PARALLEL: the MPI build
    "find_package(spdlog)": ["spdlog"],
    "find_package(nlohmann_json)": ["nlohmann-json"],
    "find_package(BLAS)": ["openblas", "blas"],
    "find_package(Threads)": None,
    "find_package(PkgConfig)": ["pkgconfig"],
    "find_package(CUDAToolkit)": ["cuda"],
    "find_package(Boost)": ["boost+test"],
    "pkg_check_modules(yaml-0.1)": ["libyaml"],
    "pkg_check_modules(libpcre2-8)": ["pcre2"],
    "pkg_check_modules(liburing)": ["liburing"],  # optional: io_uring for NVMe offload
    "find_path(cblas.h)": ["openblas", "blas"],
    "language(CUDA)": ["cuda"],
    "find_path(nccl.h)": ["nccl"],
    "find_library(NCCL_LIBRARY)": ["nccl"],
    "find_path(cudnn.h)": ["cudnn"],
    "find_library(ZEROTUNE_CUDNN_LIBRARY)": ["cudnn"],
    # Header-only, no Spack package: the zerotune package fetches it as a resource.
    "find_path(cudnn_frontend.h)": ["resource:cudnn-frontend"],
}
# Needed by the design (the CUDA build links them), whether or not a CMake file looks for them.
DESIGN_DEPENDENCIES = {"nccl": "+cuda", "cudnn": "+cuda"}
# What spack.yaml must list for the GPU cluster.
ENV_SPECS = ["hdf5+mpi", "nccl", "cudnn", "libyaml", "spdlog", "boost+test", "openblas",
             "nlohmann-json", "pcre2"]
# Dependencies that are not libraries the build looks for.
TOOLING = {"c", "cxx", "cmake"}

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def strip_comments(text):
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def cmake_lookups():
    """Each dependency lookup in the CMake files, as 'kind(name)' -> file it is in."""
    found = {}
    for path in CMAKE_FILES:
        if not path.exists():
            continue
        text = strip_comments(path.read_text())
        rel = str(path.relative_to(SRC))
        for m in re.finditer(r"\bfind_package\s*\(\s*([A-Za-z0-9_]+)", text):
            found.setdefault(f"find_package({m.group(1)})", rel)
        for m in re.finditer(r"\bpkg_check_modules\s*\(([^)]*)\)", text):
            words = m.group(1).split()[1:]  # the prefix, then options and modules
            for w in words:
                if w not in ("REQUIRED", "QUIET", "IMPORTED_TARGET", "GLOBAL", "NO_CMAKE_PATH",
                             "NO_CMAKE_ENVIRONMENT_PATH"):
                    found.setdefault(f"pkg_check_modules({re.split(r'[<>=]', w)[0]})", rel)
        for m in re.finditer(r"\bfind_(?:path|file)\s*\(([^)]*)\)", text):
            words = m.group(1).split()
            names = words[words.index("NAMES") + 1:] if "NAMES" in words else words[1:2]
            header = next((w for w in names if w.endswith(".h")), names[0] if names else "?")
            found.setdefault(f"find_path({header})", rel)
        for m in re.finditer(r"\bfind_(?:library|program)\s*\(([^)]*)\)", text):
            found.setdefault(f"find_library({m.group(1).split()[0]})", rel)
        if re.search(r"\b(?:check_language|enable_language)\s*\(\s*CUDA\b", text):
            found.setdefault("language(CUDA)", rel)
    return found


def package_facts():
    tree = ast.parse(PACKAGE.read_text(), str(PACKAGE))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Zerotune")
    bases = [b.id for b in cls.bases if isinstance(b, ast.Name)]
    depends, defines, variants, resources = {}, set(), set(), set()
    for node in ast.walk(cls):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        first = node.args[0]
        if not isinstance(first, ast.Constant):
            continue
        if name == "depends_on":
            when = next((k.value.value for k in node.keywords if k.arg == "when"), "")
            depends[first.value.replace(" ", "")] = when
        elif name in ("define", "define_from_variant"):
            defines.add(first.value)
        elif name == "variant":
            variants.add(first.value)
    for node in ast.walk(cls):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "resource":
            for k in node.keywords:
                if k.arg == "name" and isinstance(k.value, ast.Constant):
                    resources.add(k.value.value)
    return bases, depends, defines, variants, resources


def satisfied(wanted, depends, bases, resources=()):
    """wanted 'pkg+variant' is declared: a depends_on naming pkg with at least those variants;
    'resource:name' is declared by a resource(name=...) of the package."""
    if wanted.startswith("resource:"):
        return wanted.split(":", 1)[1] in resources
    pkg, *variants = re.split(r"(?=[+~])", wanted)
    if pkg == "cuda" and "CudaPackage" in bases:
        return True
    for spec in depends:
        m = re.match(r"([a-z0-9-]+)(@[^+~ ]*)?(.*)$", spec)
        if m and m.group(1) == pkg and all(v in m.group(3) for v in variants):
            return True
    return False


def main():
    try:  # what python3 -m py_compile checks, without writing a .pyc
        compile(PACKAGE.read_text(), str(PACKAGE), "exec")
        check(True, f"{PACKAGE.relative_to(SRC)} compiles")
    except SyntaxError as e:
        check(False, f"{PACKAGE.relative_to(SRC)} compiles: {e}")
        return
    # Spack's own style check (`spack style`, flake8 and black) allows 99 columns.
    long_lines = [n for n, line in enumerate(PACKAGE.read_text().splitlines(), 1)
                  if len(line) > 99]
    check(not long_lines, f"package.py lines within 99 columns (longer: {long_lines})")
    bases, depends, defines, variants, resources = package_facts()
    check("CMakePackage" in bases and "CudaPackage" in bases,
          f"Zerotune derives from CMakePackage and CudaPackage (bases: {bases})")
    check("tests" in variants, "variant 'tests' exists")

    lookups = cmake_lookups()
    check(len(lookups) >= 8, f"found the CMake dependency lookups ({len(lookups)})")
    covered = set()
    for lookup, where in sorted(lookups.items()):
        if lookup not in PROVIDERS:
            check(False, f"{where}: {lookup} has no Spack mapping: add a depends_on to "
                         f"package.py and a row to PROVIDERS in {pathlib.Path(__file__).name}")
            continue
        options = PROVIDERS[lookup]
        if options is None:
            check(True, f"{where}: {lookup} comes with the system")
            continue
        hit = next((o for o in options if satisfied(o, depends, bases, resources)), None)
        check(hit is not None, f"{where}: {lookup} -> depends_on one of {options}")
        if hit:
            covered.add(re.split(r"[+~]", hit)[0])
    for pkg, when in DESIGN_DEPENDENCIES.items():
        check(depends.get(pkg) == when, f"depends_on('{pkg}', when='{when}') (design: CUDA build)")
        covered.add(pkg)
    for spec in depends:
        pkg = re.match(r"[a-z0-9-]+", spec).group(0)
        check(pkg in covered or pkg in TOOLING,
              f"depends_on('{spec}') is used by the build (no stale dependency)")

    cmake_text = "\n".join(p.read_text() for p in CMAKE_FILES if p.exists())
    for name in sorted(defines):
        known = name in cmake_text or re.match(r"(CMAKE|MPI|HDF5)_", name)
        check(bool(known), f"cmake_args sets {name}, which the CMake build reads")
    check({"ZEROTUNE_CUDA", "CMAKE_CUDA_ARCHITECTURES"} <= defines,
          "cmake_args maps +cuda to ZEROTUNE_CUDA and cuda_arch to CMAKE_CUDA_ARCHITECTURES")

    repo = yaml.safe_load((SRC / "spack" / "repo.yaml").read_text())
    check(repo.get("repo", {}).get("namespace") == "zerotune", "spack/repo.yaml: namespace zerotune")
    env = yaml.safe_load((SRC / "spack.yaml").read_text())["spack"]
    specs = [s.replace(" ", "") for s in env["specs"]]
    names = [re.match(r"[a-z0-9-]*", s).group(0) for s in env["specs"]]
    main_spec = next((s for s in specs if s.startswith("zerotune")), "")
    check(all(p in main_spec for p in ("+cuda", "cuda_arch=90", "^mpich")),
          f"spack.yaml builds zerotune+cuda cuda_arch=90 ^mpich ({main_spec!r})")
    for wanted in ENV_SPECS:
        pkg, *vs = re.split(r"(?=[+~])", wanted)
        ok = any(n == pkg and all(v in s for v in vs) for n, s in zip(names, specs))
        check(ok, f"spack.yaml lists {wanted}")
    for r in env.get("repos", []):
        path = SRC / r
        check((path / "repo.yaml").exists() and (path / "packages" / "zerotune" / "package.py").exists(),
              f"spack.yaml repo {r} holds repo.yaml and packages/zerotune")
    dev = env.get("develop", {}).get("zerotune", {})
    version = re.search(r"project\(zerotune VERSION ([0-9.]+)", (SRC / "CMakeLists.txt").read_text())
    check((SRC / dev.get("path", "?") / "CMakeLists.txt").exists(),
          "spack.yaml develops zerotune from this checkout")
    check(version is not None and dev.get("spec", "").endswith("@=" + version.group(1)),
          f"develop spec {dev.get('spec')!r} matches the CMake project version")
    # Without a URL the package has no version of its own: the documented commands outside the
    # environment name the checkout's version.
    if version:
        pinned = f"zerotune@={version.group(1)}"
        check(pinned in PACKAGE.read_text(), f"package.py documents `spack develop ... {pinned}`")
        check(pinned in (SRC / "docs" / "slurm.md").read_text(),
              f"docs/slurm.md documents {pinned} for use outside the environment")


main()
print(f"spack checks: {len(failures)} failed")
sys.exit(1 if failures else 0)
