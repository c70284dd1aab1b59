#!/usr/bin/env python3
"""Runs a test script with the venv's python that venv_setup.py made, or reports the test
skipped (exit 77) when that venv is missing because the setup was skipped.

usage: in_venv.py VENV_DIR SCRIPT [ARGS...]
"""
import os
import sys

venv, script = sys.argv[1], sys.argv[2]
python = os.path.join(venv, "bin", "python")
if not os.path.exists(python):
    print(f"SKIPPED: no venv at {venv} (python_venv was skipped or failed)")
    sys.exit(77)
os.execv(python, [python, script] + sys.argv[3:])
