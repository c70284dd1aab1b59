"""Builds the extension module emot5._emot5 with CMake and puts it, the SentencePiece module
(libemot5_spm.so) and the built-in model (models/emot5-small) into the package.

Only what the package needs is compiled: the engine's layers and the module, no trainer, no
tests. EMOT5_BUILD_DIR=DIR builds in an existing CMake build folder instead (the tests use
build/, where the module is already built); otherwise in build/python-package.
"""
import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))
MODEL_FILES = ["config.json", "model.safetensors", "spiece.model", "emot5.json", "generation_config.json",
               "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "README.md"]


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = os.environ.get("EMOT5_BUILD_DIR") or os.path.join(ROOT, "build", "python-package")
        if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
            subprocess.check_call(["cmake", "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
                                   "-DEMOT5_BUILD_TESTS=OFF", "-DEMOT5_BUILD_TRAINER=OFF",
                                   "-DEMOT5_BUILD_PYTHON=ON", f"-DPython3_EXECUTABLE={sys.executable}"]
                                  + (["-G", "Ninja"] if shutil.which("ninja") else []))
        subprocess.check_call(["cmake", "--build", build_dir, "-j", str(os.cpu_count() or 1),
                               "--target", "emot5_python", "emot5_spm"])
        module = os.path.join(build_dir, "python", os.path.basename(self.get_ext_filename(ext.name)))
        if not os.path.exists(module):
            sys.exit(f"emot5: CMake did not build {module}: are pybind11-dev and python3-dev installed? "
                     "(scripts/setup.sh installs them)")
        target = self.get_ext_fullpath(ext.name)
        package = os.path.dirname(target)
        os.makedirs(package, exist_ok=True)
        shutil.copyfile(module, target)
        shutil.copyfile(os.path.join(build_dir, "libemot5_spm.so"), os.path.join(package, "libemot5_spm.so"))
        model_dst = os.path.join(package, "models", "emot5-small")
        os.makedirs(model_dst, exist_ok=True)
        for f in MODEL_FILES:
            src = os.path.join(ROOT, "models", "emot5-small", f)
            if os.path.exists(src):
                shutil.copyfile(src, os.path.join(model_dst, f))


setup(ext_modules=[CMakeExtension("emot5._emot5")], cmdclass={"build_ext": CMakeBuild})
