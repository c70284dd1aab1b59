"""Counting checks for the golden scripts: check() records one assertion and goes on (so one run
reports every failure), finish() prints the tally and exits non-zero if any failed."""
import sys

_failures = []
_checks = 0


def check(cond, what):
    global _checks
    _checks += 1
    if not cond:
        _failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def finish():
    print(f"{_checks - len(_failures)} passed, {len(_failures)} failed")
    sys.exit(1 if _failures else 0)
