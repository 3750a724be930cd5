#!/usr/bin/env python3
"""Attributes a heap profile's in-use bytes to the parts of an idle device.

    go tool pprof -sample_index=inuse_space -traces BINARY PROFILE > traces.txt
    python3 scripts/bench/devprofile/attribute.py traces.txt N

Each sample goes to the first category (in the order below) whose pattern matches any frame
of its stack (innermost first), so the categories do not overlap. Figures are bytes per
device (total / N)."""
import re
import sys

CATS = [
    ("runtime: allocation guards (guard_alloc.go, template factories)", r"devicejs/runtime\.(guard|patchTemplates)"),
    ("runtime: memory guards (guard_memory.go)", r"devicejs/runtime\.\(\*Loop\)\.installMemoryGuards"),
    ("runtime: sandbox guards (installGuards: JSON, join, toLocaleString, repeat, pad*, GoError)", r"devicejs/runtime\.\(\*Loop\)\.installGuards"),
    ("runtime: checked eval/Function and source check", r"devicejs/runtime\.\(\*Loop\)\.(installEvalGuard|installSourceCheck)"),
    ("runtime: call-depth check", r"devicejs/runtime\.\(\*Loop\)\.installDepthCheck"),
    ("runtime: device globals (print, timers, tick)", r"devicejs/runtime\.\(\*Loop\)\.installGlobals"),
    ("runtime: goja.New and the Loop", r"devicejs/runtime\.New$"),
    ("paho client", r"paho"),
    ("mqttcore session and guard", r"devicejs/mqttcore"),
    ("broker side: mochi client state, in-memory connection", r"mochi-mqtt|devicejs/broker\."),
    ("bindings: mqtt object, Client and its methods", r"devicejs/bindings\.|devicejs/bindings/"),
    ("the script's own objects (RunProgram)", r"goja\.\(\*Runtime\)\.RunProgram|devicejs/runtime\.\(\*Loop\)\.run"),
    ("devicejs.Device and the fleet's instance", r"devicejs/fleet|devicejs\.(New|\(\*Device\))"),
    ("goroutine descriptors (g, from newproc)", r"runtime\.newproc"),
]

def main():
    path, n = sys.argv[1], int(sys.argv[2])
    text = open(path).read()
    blocks = text.split("-----------+-------------------------------------------------------")
    totals = {name: 0 for name, _ in CATS}
    other = {}
    total = 0
    for b in blocks[1:]:
        lines = [l for l in b.strip("\n").split("\n") if l.strip() and not l.strip().startswith("bytes:")]
        if not lines:
            continue
        m = re.match(r"\s*([\d.]+)([kMG]?B?)\s+(.*)", lines[0])
        if not m:
            continue
        v = float(m.group(1)) * {"": 1, "B": 1, "kB": 1024, "MB": 1024**2, "GB": 1024**3}[m.group(2)]
        frames = [m.group(3).strip()] + [l.strip() for l in lines[1:]]
        frames = [re.sub(r" \(inline\)$", "", f) for f in frames]
        total += v
        for name, pat in CATS:
            if any(re.search(pat, f) for f in frames):
                totals[name] += v
                break
        else:
            key = next((f for f in frames if not f.startswith("runtime.")), frames[0])
            other[key] = other.get(key, 0) + v
    for name, _ in CATS:
        print(f"{totals[name]/n:10.0f}  {name}")
    o = sum(other.values())
    print(f"{o/n:10.0f}  other")
    for k, v in sorted(other.items(), key=lambda kv: -kv[1])[:8]:
        print(f"{v/n:16.0f}  {k}")
    print(f"{total/n:10.0f}  total")

main()
