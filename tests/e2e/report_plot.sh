#!/usr/bin/env bash
# `zerotune report --plot`: a PNG and an SVG of the expected size that are not blank, drawn by
# gnuplot. Without gnuplot (and always, with PATH emptied) the error names the package and no
# file is left behind.
source "$(dirname "$0")/lib/common.sh"
cfg="$SRC/tests/data/configs/tiny.yaml"

"$ZT" train --config "$cfg" --set train.max_steps=20 --set log.every_n_steps=1 \
  --run-dir "$SCRATCH/run" > "$SCRATCH/run.out"

set +e
env -u ZEROTUNE_GNUPLOT PATH=/nonexistent "$ZT" report --plot "$SCRATCH/none.png" "$SCRATCH/run" \
  > /dev/null 2> "$SCRATCH/none.err"
rc=$?
set -e
[ "$rc" = 2 ] || fail "report --plot without gnuplot exited $rc, expected 2"
grep -q "gnuplot-nox" "$SCRATCH/none.err" || fail "the error does not name the package: $(cat "$SCRATCH/none.err")"
[ ! -e "$SCRATCH/none.png" ] || fail "a failed plot left a file"

if ! command -v gnuplot > /dev/null && [ -z "${ZEROTUNE_GNUPLOT:-}" ]; then
  pass "no gnuplot here: the missing-program error checked, the pictures not drawn"
  exit 0
fi

"$ZT" report --plot "$SCRATCH/curves.png" "$SCRATCH/run" "$SCRATCH/run.out" > /dev/null
"$ZT" report --plot "$SCRATCH/curves.svg" "$SCRATCH/run" > /dev/null
python3 - "$SCRATCH/curves.png" "$SCRATCH/curves.svg" <<'PY'
import re, struct, sys, zlib

WIDTH, HEIGHT = 1000, 1200  # report_plot.hpp kPlotWidth x kPlotHeight


def png_pixels(path):
    """Decodes an 8-bit non-interlaced PNG (what pngcairo writes) into rows of bytes."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and interlace == 0, f"unexpected PNG depth {depth} / interlace {interlace}"
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    raw, stride, rows, prev = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, channels, rows


width, height, channels, rows = png_pixels(sys.argv[1])
assert (width, height) == (WIDTH, HEIGHT), f"PNG is {width}x{height}, expected {WIDTH}x{HEIGHT}"
pixels = {row[i:i + channels] for row in rows[::7] for i in range(0, len(row), channels * 3)}
assert len(pixels) >= 4, f"PNG looks blank: {len(pixels)} distinct colours"
background = max(pixels, key=lambda p: sum(row.count(p) for row in rows[::50]))
inked = sum(1 for row in rows[::5] for i in range(0, len(row), channels)
            if row[i:i + channels] != background)
assert inked > 2000, f"PNG has only {inked} sampled non-background pixels"

svg = open(sys.argv[2]).read()
size = re.search(r'<svg[^>]*width="(\d+)[^"]*"[^>]*height="(\d+)', svg, re.S)
assert size and (int(size.group(1)), int(size.group(2))) == (WIDTH, HEIGHT), "SVG size"
assert svg.count("<path") >= 10, "SVG has almost no paths"
print(f"png {width}x{height}, {len(pixels)} colours, {inked} inked samples; svg ok")
PY
pass "report --plot draws a PNG and an SVG"
