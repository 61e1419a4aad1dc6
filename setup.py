"""Build declaration for fastfind's Cython codec (metadata lives in pyproject.toml).

FASTFIND_NO_EXTENSIONS=1 at build time gives a pure-Python build.
FASTFIND_DEBUG=1 builds with line tracing and annotation.
"""

import os

from setuptools import setup

ext_modules = []
if not os.environ.get("FASTFIND_NO_EXTENSIONS"):
    from Cython.Build import cythonize
    from setuptools import Extension

    debug = bool(os.environ.get("FASTFIND_DEBUG"))
    macros = [("CYTHON_TRACE", "1"), ("FF_DEBUG", "1")] if debug else []
    ext_modules = cythonize(
        [
            Extension(
                "fastfind._codec",
                ["fastfind/_codec.pyx"],
                define_macros=macros,
                libraries=["z"],
            )
        ],
        compiler_directives={
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "linetrace": debug,
        },
        annotate=debug,
    )

setup(ext_modules=ext_modules)
