#!/usr/bin/env python3
"""Stack in use per goroutine of one idle device, from a crash dump of devprofile.

    GOTRACEBACK=crash go run ./scripts/bench/devprofile -n 5 -hold 30s > /tmp/dump.txt 2>&1 &
    sleep 10; kill -QUIT %1        # once it printed its report
    python3 scripts/bench/devprofile/stackuse.py /tmp/dump.txt

GOTRACEBACK=crash prints every frame's fp and sp; this prints, once per distinct call chain
of devicejs, paho or mochi, the bytes of stack in use while the goroutine is parked (the
outermost fp minus the innermost sp) and each frame's size. Go halves a goroutine's stack at a
collection only when less than a quarter of it is in use, counting 800 bytes of reserve
(runtime.shrinkstack): a stack grown to 4 KiB goes back to 2 KiB only below 224 bytes in use,
16 KiB to 8 KiB only below 3,296 (docs/performance.md, "What an idle device is made of").
"""
import collections
import re
import sys

FRAME = re.compile(r'\n([^\t\n][^\n]*)\n\t([^\n]*) fp=0x([0-9a-f]+) sp=0x([0-9a-f]+)')


def name(frame):
    """The function of a traceback line, without its arguments."""
    return frame[:frame.rfind('(')] if frame.endswith(')') else frame


def main(path):
    text = open(path).read()
    seen = collections.OrderedDict()
    for g in re.split(r'\n\n(?=goroutine )', text):
        frames = FRAME.findall(g)
        if not frames or not any(k in f for f, _, _, _ in frames for k in ('paho', 'mochi', 'devicejs')):
            continue
        key = tuple(name(f) for f, _, _, _ in frames)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            continue
        used = int(frames[-1][2], 16) - int(frames[0][3], 16)
        print('--- %d bytes in use' % used)
        for f, loc, fp, sp in frames:
            print('  %6d  %s  (%s)' % (int(fp, 16) - int(sp, 16), name(f), loc.split(' ')[0]))


if __name__ == '__main__':
    main(sys.argv[1])
