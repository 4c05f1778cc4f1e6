"""Build of convq's C extension `convq._core`.

Everything else lives in pyproject.toml. Environment switches:
  CONVQ_SANITIZE=1  build with -fsanitize=address,undefined (run Python with
                    LD_PRELOAD=$(gcc -print-file-name=libasan.so)); see .ci/run
  CONVQ_WERROR=1    turn compiler warnings into errors (CI uses it)
  CONVQ_DEBUG=1     -O1 -g, assertions on (the C asserts; Python's CFLAGS carry -DNDEBUG)
"""
import glob
import os

import numpy
from setuptools import Extension, setup

# csrc/<area>/*.c are the pure-C kernels (core, quantize, optimize, stochastic, sampling,
# models); csrc/python/*.c is the one binding layer (see ARCHITECTURE.md).
sources = sorted(glob.glob("csrc/*/*.c"))

# NumPy's own random-distribution library (ziggurat normal/exponential over a bitgen_t),
# shipped as a static library for C extensions: numpy/random/lib/libnpyrandom.a.
npyrandom_dir = os.path.join(os.path.dirname(numpy.__file__), "random", "lib")

compile_args = ["-std=c99", "-Wall", "-Wextra", "-pthread"]
link_args = ["-pthread"]
macros = [
    ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
    ("_POSIX_C_SOURCE", "200809L"),
]

if os.environ.get("CONVQ_SANITIZE") == "1":
    san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined"]
    # the sanitizer build also checks the kernels' assert()s (-UNDEBUG overrides Python's
    # -DNDEBUG, which comes earlier on the command line)
    compile_args += ["-O1", "-g", "-UNDEBUG"] + san
    link_args += san
    macros.append(("CQ_SANITIZE", "1"))
elif os.environ.get("CONVQ_DEBUG") == "1":
    compile_args += ["-O1", "-g", "-UNDEBUG"]
else:
    compile_args += ["-O3"]

if os.environ.get("CONVQ_WERROR") == "1":
    compile_args.append("-Werror")

setup(
    ext_modules=[
        Extension(
            "convq._core",
            sources=sources,
            include_dirs=[numpy.get_include(), "csrc"],
            library_dirs=[npyrandom_dir],
            define_macros=macros,
            extra_compile_args=compile_args,
            extra_link_args=link_args,
            libraries=["npyrandom", "m"],
        )
    ]
)
