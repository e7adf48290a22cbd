#!/usr/bin/env bash
# W8A8 all-MiniLM-L6-v2: quantizes with each scheme (dynamic, static with each
# observer, SmoothQuant, LLM.int8 outliers), embeds 256 WikiText-2 test
# sentences with every file and prints the mean and worst cosine to the F32
# file's embeddings, the file sizes and (outliers) the share of columns routed
# to float, as a Markdown table. Static scales are calibrated on 256
# sentences of the validation split.
#   usage: scripts/w8a8_minilm_quality.sh [LLMQ_BINARY] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
LLMQ=${1:-build/bin/llmq}
D=${2:-$(mktemp -d)}
M=models/all-MiniLM-L6-v2
mkdir -p "$D"
python3 scripts/minilm_sentences.py test 256 >"$D/test.txt"
python3 scripts/minilm_sentences.py valid 256 >"$D/calib.txt"
"$LLMQ" convert $M "$D/f32.gguf" 2>/dev/null
q() { local name=$1; shift; "$LLMQ" quantize $M "$D/$name.gguf" "$@" -t 2 2>"$D/$name.err" || { cat "$D/$name.err" >&2; exit 1; }; }
q dynamic --scheme dynamic-int8
for o in minmax ema percentile mse kl; do q static-$o --scheme static-int8 --calib "$D/calib.txt" --observer $o; done
q static-minmax-smooth0.5 --scheme static-int8 --calib "$D/calib.txt" --observer minmax --smooth 0.5
q static-percentile-smooth0.5 --scheme static-int8 --calib "$D/calib.txt" --observer percentile --smooth 0.5
q dynamic-smooth0.5 --scheme dynamic-int8 --calib "$D/calib.txt" --smooth 0.5
q dynamic-outlier6 --scheme dynamic-int8 --outlier-threshold 6
q static-minmax-outlier6 --scheme static-int8 --calib "$D/calib.txt" --observer minmax --outlier-threshold 6
names="f32 dynamic static-minmax static-ema static-percentile static-mse static-kl static-minmax-smooth0.5 static-percentile-smooth0.5 dynamic-smooth0.5 dynamic-outlier6 static-minmax-outlier6"
for n in $names; do
  "$LLMQ" embed "$D/$n.gguf" -f "$D/test.txt" -t 2 --stats >"$D/$n.emb" 2>"$D/$n.stats"
done
python3 - "$D" $names <<'PY'
import math, os, re, sys
d, names = sys.argv[1], sys.argv[2:]
load = lambda n: [list(map(float, l.split())) for l in open(os.path.join(d, n + ".emb"))]
ref = load("f32")
f32_size = os.path.getsize(os.path.join(d, "f32.gguf"))
print("%d sentences (WikiText-2 test), cosine to the F32 file's embeddings\n" % len(ref))
print("| file | mean cos | worst cos | size MB | size / F32 | columns to float |")
print("| --- | --- | --- | --- | --- | --- |")
for n in names:
    e = load(n)
    assert len(e) == len(ref)
    cs = [sum(a * b for a, b in zip(x, y)) / math.sqrt(sum(a * a for a in x) * sum(b * b for b in y)) for x, y in zip(e, ref)]
    st = open(os.path.join(d, n + ".stats")).read()
    m = re.search(r"W8A8: ([0-9.]+)%", st)
    frac = m.group(1) + "%" if m and "outlier" in n else ""
    size = os.path.getsize(os.path.join(d, n + ".gguf"))
    print("| %s | %.5f | %.5f | %.1f | %.3f | %s |" % (n, sum(cs) / len(cs), min(cs), size / 1e6, size / f32_size, frac))
PY
