#!/usr/bin/env python3
"""Differential fuzzing of the parser: random short texts made of Nix fragments, each parsed
by the reference Nix (`nix-instantiate --parse -E`) and evaluated by nxe, compared on the
first error line and its position. A text the reference accepts must not fail to parse in
nxe, and one it rejects must fail with the same message at the same place; nxe must never
crash.

    scripts/syntax-fuzz.py [--seed N] [--count N] [--nxe target/release/nxe]
                           [--reference nix-instantiate]

The reference comes from --reference, else NXE_REFERENCE_NIX (a launcher taking the command
name first), else `nix-instantiate` on PATH. Prints each difference and a count; exits 1 when
there is any. Evaluation errors of nxe (a type error where the reference only parsed) are
not differences.
"""
import argparse
import os
import random
import re
import shlex
import shutil
import subprocess
import sys

FRAGMENTS = [
    "x", "1", "x: x", "{ }", "{ a = 1; }", "[ ]", "[ 1 ]", "(", ")", "+", "//", "++", "==", "!", "-", "f",
    "let a = 1; in", "if", "then", "else", "assert", "with", "rec", "a.b", "or", "?", '"s"', '"${x}"',
    "''s''", "''${x}''", "{ a, ... }:", "x@{ }:", "./p", "./p/${x}", "<p>", "1.5", "${", "}", "{", "]",
    "[", "=", ";", "let", "in", "inherit", "inherit (x) a;", "->", "&&", "||", "<", "*", "/", ".", ",",
    "@", ":", "__curPos", "null", "http://x", "~/a", "-1", "!true", "a . b", "x:x", "...", "/*", "*/",
    'a."b"', "a.${x}", "''", '"', "'", "$", "1e3", "a-b", "a'",
]

# nxe's messages that come from parsing (or from binding names, as the reference does
# before evaluating); anything else is an evaluation error.
PARSE_MESSAGES = re.compile(
    r"^error: (syntax error|attribute '.*' already defined|duplicate formal|invalid (integer|float)"
    r"|experimental Nix feature|dynamic attributes not allowed|path .* has a trailing slash"
    r"|undefined variable|input string)"
)


def first_error(text):
    """The first `error:` line and the position line after it, joined."""
    lines = [line for line in text.splitlines() if line.startswith("error:") or " at «string»:" in line]
    return " ".join(line.strip() for line in lines[:2])


def reference_command(given):
    if given:
        return shlex.split(given)
    launcher = os.environ.get("NXE_REFERENCE_NIX")
    if launcher:
        return [launcher, "nix-instantiate"]
    found = shutil.which("nix-instantiate")
    return [found] if found else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--nxe", default="target/release/nxe")
    parser.add_argument("--reference")
    args = parser.parse_args()
    reference = reference_command(args.reference)
    if reference is None:
        print("syntax-fuzz: no reference Nix (set NXE_REFERENCE_NIX or put nix-instantiate on PATH)")
        return 2
    rng = random.Random(args.seed)
    differences = 0
    for _ in range(args.count):
        # A leading blank keeps a text that starts with `-` from being read as an option.
        text = " " + " ".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 6)))
        want = subprocess.run([*reference, "--parse", "-E", text], capture_output=True, text=True, timeout=60)
        got = subprocess.run([args.nxe, "eval", "-E", text], capture_output=True, text=True, timeout=60)
        if "panicked" in got.stderr or "internal error" in got.stderr:
            differences += 1
            print(f"=== {text}\ncrash: {got.stderr.splitlines()[-1] if got.stderr else ''}")
            continue
        expected = first_error(want.stderr) if want.returncode != 0 else ""
        actual = first_error(got.stderr) if got.returncode != 0 else ""
        if not PARSE_MESSAGES.match(actual):
            actual = ""
        if expected != actual:
            differences += 1
            print(f"=== {text}\nreference: {expected}\nnxe:       {actual}")
    print(f"{differences} of {args.count} differ")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
