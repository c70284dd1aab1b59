#!/usr/bin/env python3
"""The Python package as a user installs it: a venv of Debian's /usr/bin/python3 with the system's
packages, `pip install --no-build-isolation .` from the source tree, with no network. Also
`pip wheel --no-build-isolation .`, whose wheel must hold the extension, the SentencePiece module
and the built-in model, and nothing of the trainer or the tests.

The package build reuses the CMake build folder given (EMOT5_BUILD_DIR), where the module is
already built, so that the test does not compile the engine a second time; a fresh checkout's
`pip install .` builds into build/python-package (docs/python.md).

usage: venv_setup.py SOURCE_DIR BUILD_DIR VENV_DIR
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
from checks import check, finish  # noqa: E402

SRC, BUILD, VENV = sys.argv[1], sys.argv[2], sys.argv[3]
PY = "/usr/bin/python3"
if not os.path.exists(PY):
    print("SKIPPED: /usr/bin/python3 is missing")
    sys.exit(77)
missing = [m for m in ["numpy", "setuptools", "pybind11", "venv", "pip"]
           if subprocess.run([PY, "-c", f"import {m}"], capture_output=True).returncode != 0]
if missing:
    print(f"SKIPPED: Debian's python3 lacks {missing} (scripts/setup.sh installs them)")
    sys.exit(77)

env = dict(os.environ, EMOT5_BUILD_DIR=BUILD, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
env.pop("EMOT5_MODEL", None)
shutil.rmtree(VENV, ignore_errors=True)
p = subprocess.run([PY, "-m", "venv", "--system-site-packages", VENV], capture_output=True, text=True)
check(p.returncode == 0, f"venv: {p.stderr}")
pip = os.path.join(VENV, "bin", "pip")
p = subprocess.run([pip, "install", "--no-build-isolation", SRC], capture_output=True, text=True, env=env, timeout=900)
check(p.returncode == 0, f"pip install --no-build-isolation .: {p.stdout[-1500:]} {p.stderr[-1500:]}")
vpy = os.path.join(VENV, "bin", "python")
p = subprocess.run([vpy, "-c", "import emot5, sys; c = emot5.Classifier(); print(c.predict('i feel wonderful today'),"
                    " emot5._emot5.__file__.startswith(sys.prefix))"], capture_output=True, text=True, cwd="/")
check(p.returncode == 0 and p.stdout.split() == ["joy", "True"], f"the installed package classifies: {p.stdout} {p.stderr}")

with tempfile.TemporaryDirectory() as wheels:
    p = subprocess.run([pip, "wheel", "--no-build-isolation", "--no-deps", "-w", wheels, SRC], capture_output=True,
                       text=True, env=env, timeout=900)
    check(p.returncode == 0, f"pip wheel: {p.stderr[-1500:]}")
    found = glob.glob(os.path.join(wheels, "emot5-*.whl"))
    check(len(found) == 1 and "cp311" in os.path.basename(found[0]) and "linux_x86_64" in found[0],
          f"one platform wheel: {found}")
    if found:
        names = zipfile.ZipFile(found[0]).namelist()
        for want in ["emot5/__init__.py", "emot5/dask.py", "emot5/__init__.pyi", "emot5/py.typed",
                     "emot5/libemot5_spm.so", "emot5/models/emot5-small/model.safetensors",
                     "emot5/models/emot5-small/spiece.model", "emot5/models/emot5-small/config.json"]:
            check(want in names, f"the wheel holds {want}")
        check(any(n.startswith("emot5/_emot5.") and n.endswith(".so") for n in names), "the wheel holds the module")
        check(not any("train" in n or "torch" in n or "/tests/" in n for n in names), f"no trainer or tests: {names}")
finish()
