#!/usr/bin/env python3
"""`cmake --install` into a temporary prefix, then an application built against it with
find_package(emot5) classifies with the installed model (in C++, and in C through libemot5_c.so),
and the installed CLI agrees.

usage: install_test.py BUILD_DIR SOURCE_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
from checks import check, finish  # noqa: E402

BUILD, SRC = sys.argv[1], sys.argv[2]
TEXTS = ["i feel wonderful today", "i am so scared of the dark"]


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    return p.returncode, p.stdout, p.stderr


with tempfile.TemporaryDirectory() as tmp:
    prefix = os.path.join(tmp, "prefix")
    code, out, err = run(["cmake", "--install", BUILD, "--prefix", prefix])
    check(code == 0, f"cmake --install: {code} {err}")
    model = os.path.join(prefix, "share/emot5/models/emot5-small")
    for f in ["bin/emot5", "include/emot5/emot5.h", "lib/cmake/emot5/emot5Config.cmake",
              "lib/emot5/libemot5_spm.so", "include/emot5/emot5_c.h", "lib/libemot5_c.so", "share/emot5/models/emot5-small/model.safetensors",
              "share/emot5/t5-tokenizer/spiece.model"]:
        check(os.path.exists(os.path.join(prefix, f)), f"installed {f}")

    # The installed CLI, run from elsewhere, finds the installed model and module beside it.
    code, out, err = run([os.path.join(prefix, "bin/emot5"), "classify", "--format", "jsonl"] + TEXTS, cwd=tmp)
    check(code == 0, f"installed emot5 classify: {code} {err}")
    cli_labels = [json.loads(l)["label"] for l in out.splitlines()] if code == 0 else []

    # An application: configured and built against the prefix only.
    app = os.path.join(tmp, "app")
    # The consumer is compiled and linked as emot5 was (a sanitizer build's flags must reach it too).
    flags = []
    with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
        for line in f:
            for var in ("CMAKE_C_FLAGS", "CMAKE_CXX_FLAGS", "CMAKE_EXE_LINKER_FLAGS"):
                if line.startswith(var + ":") and line.split("=", 1)[1].strip():
                    flags.append(f"-D{var}={line.split('=', 1)[1].strip()}")
    code, out, err = run(["cmake", "-S", os.path.join(SRC, "tests/install/consumer"), "-B", app,
                          "-DCMAKE_BUILD_TYPE=Release", f"-DCMAKE_PREFIX_PATH={prefix}"] + flags)
    check(code == 0, f"consumer configure: {code} {out} {err}")
    code, out, err = run(["cmake", "--build", app, "-j", "2"])
    check(code == 0, f"consumer build: {code} {out} {err}")
    env = dict(os.environ, EMOT5_MODEL=model,
               EMOT5_SPM_MODULE=os.path.join(prefix, "lib/emot5/libemot5_spm.so"))
    code, out, err = run([os.path.join(app, "consumer")] + TEXTS, cwd=tmp, env=env)
    check(code == 0, f"consumer run: {code} {err}")
    lines = out.splitlines()
    check(lines[:1] == [f"model {model}"], f"consumer's model: {lines[:1]}")
    got = [l.split() for l in lines[1:]]
    check([g[0] for g in got] == cli_labels and len(got) == len(TEXTS), f"consumer labels {got} vs CLI {cli_labels}")
    check(all(abs(float(g[1]) - 1) < 1e-4 for g in got), f"probabilities sum to 1: {got}")
    code, out, err = run([os.path.join(app, "consumer_c")] + TEXTS, cwd=tmp, env=env)
    got = [l.split() for l in out.splitlines()[1:]]
    check(code == 0 and [g[0] for g in got] == cli_labels and all(abs(float(g[1]) - 1) < 1e-4 for g in got),
          f"C consumer on libemot5_c.so: {code} {err} {got} vs CLI {cli_labels}")

    # The installed tree moved elsewhere, with no environment to guide it: libemot5_c.so finds the
    # model beside itself (share/ next to its lib/), not in the source tree or the old prefix.
    moved = os.path.join(tmp, "moved")
    os.rename(prefix, moved)
    env = {k: v for k, v in os.environ.items() if k not in ("EMOT5_MODEL", "EMOT5_SPM_MODULE")}
    env["LD_LIBRARY_PATH"] = os.path.join(moved, "lib")
    code, out, err = run([os.path.join(app, "consumer_c")] + TEXTS, cwd=tmp, env=env)
    lines = out.splitlines()
    want_model = os.path.realpath(os.path.join(moved, "share/emot5/models/emot5-small"))
    check(code == 0 and lines[:1] == [f"model {want_model}"] and [l.split()[0] for l in lines[1:]] == cli_labels,
          f"moved install: C consumer finds the model beside libemot5_c.so: {code} {err} {lines}")
    os.rename(moved, prefix)

    # Without a model anywhere it says where it looked.
    env = dict(os.environ, EMOT5_MODEL=os.path.join(tmp, "nowhere"))
    code, out, err = run([os.path.join(app, "consumer"), "x"], cwd=tmp, env=env)
    check(code == 1 and "nowhere" in err, f"missing model: {code} {err}")

finish()
