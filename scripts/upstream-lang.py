#!/usr/bin/env python3
"""Run Nix's own language test suite (tests/functional/lang of a NixOS/nix checkout kept
outside this repository) through nxe and report pass counts.

    scripts/upstream-lang.py PATH/TO/nix-checkout [--nxe target/release/nxe] [--verbose]

eval-okay cases must print exactly their .exp (or .exp.xml with --xml); eval-fail and
parse-fail cases must fail (exit status 1). Nothing of the upstream suite is copied here.
"""
import argparse
import os
import subprocess
import sys
from pathlib import Path


def run(nxe, args, cwd, env, timeout=60):
    try:
        proc = subprocess.run([nxe, *args], cwd=cwd, env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, b"", b"timeout"
    return proc.returncode, proc.stdout, proc.stderr


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("checkout")
    parser.add_argument("--nxe", default=str(Path(__file__).resolve().parent.parent / "target/release/nxe"))
    parser.add_argument("--verbose", action="store_true")
    opts = parser.parse_args()
    functional = Path(opts.checkout) / "tests" / "functional"
    lang = functional / "lang"
    if not lang.is_dir():
        sys.exit(f"no tests/functional/lang under {opts.checkout}")
    base_env = {"PATH": os.environ.get("PATH", ""), "TEST_VAR": "foo", "HOME": "/fake-home",
                "NIX_STORE_DIR": "/nix/store"}
    results = {"eval-okay": [0, 0, []], "eval-fail": [0, 0, []], "parse-fail": [0, 0, []]}
    for case in sorted(lang.glob("*.nix")):
        name = case.stem
        kind = next((k for k in results if name.startswith(k + "-")), None)
        if kind is None:
            continue
        flags_file = case.with_suffix(".flags")
        flags = []
        if flags_file.exists():
            flags = [w for line in flags_file.read_text().splitlines() for w in line.split("#")[0].split()]
        rel = f"lang/{case.name}"
        # The suite's own configuration enables flakes for every case.
        flags = ["--extra-experimental-features", "flakes", *flags]
        env = dict(base_env)
        if kind == "eval-okay":
            exp_xml = case.with_suffix(".exp.xml")
            exp = case.with_suffix(".exp")
            if (lang / f"{name}.exp-disabled").exists():
                continue
            env["NIX_PATH"] = "lang/dir3:lang/dir4"
            if exp_xml.exists():
                args = ["eval", "--strict", "--xml", rel]
                expected = exp_xml.read_bytes()
            else:
                args = ["eval", "--strict", *[f for f in flags if f not in ("--eval", "--strict")], rel]
                expected = exp.read_bytes() if exp.exists() else b""
            code, out, err = run(opts.nxe, args, functional, env)
            out = out.replace(str(functional).encode(), b"/pwd")
            ok = code == 0 and out.rstrip(b"\n") == expected.rstrip(b"\n")
        elif kind == "eval-fail":
            eval_flags = [f for f in flags if f not in ("--eval", "--strict", "--show-trace")] if flags else []
            code, out, err = run(opts.nxe, ["eval", "--strict", *eval_flags, rel], functional, env)
            ok = code == 1
        else:
            code, out, err = run(opts.nxe, ["eval", rel], functional, env)
            ok = code == 1 and b"syntax error" in err or (code == 1 and b"error:" in err and b"internal error" not in err)
        results[kind][1] += 1
        if ok:
            results[kind][0] += 1
        else:
            detail = (err.decode(errors="replace").strip().splitlines() or [""])[-1][:200]
            results[kind][2].append(f"{name}: exit {code}: {detail}")
    for kind, (passed, total, failures) in results.items():
        pct = 100.0 * passed / total if total else 0.0
        print(f"{kind}: {passed}/{total} ({pct:.1f}%)")
        if opts.verbose:
            for failure in failures:
                print(f"  FAIL {failure}")


if __name__ == "__main__":
    main()
