"""Sentences for the W8A8 MiniLM measurements (scripts/w8a8_minilm_quality.sh,
scripts/compare_torch_minilm.sh): the first N sentences of a WikiText-2 split
(non-empty lines, headings " = ... =" skipped, paragraphs split after " . ",
sentences with <unk> or under 6 words dropped), WikiText's tokenization
undone and each cut to its first WORDS words (so under 128 WordPiece tokens;
the torch script checks), one per line.

usage: python3 scripts/minilm_sentences.py test|valid N [WORDS] > FILE
Calibration uses valid, evaluation test: never the same text.
"""
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def detok(s):
    s = s.replace(" @-@ ", "-").replace(" @,@ ", ",").replace(" @.@ ", ".")
    s = re.sub(r" ([,.;:!?)\]'])", r"\1", s)
    s = re.sub(r"([(\[]) ", r"\1", s)
    s = s.replace(" 's", "'s").replace(" n't", "n't")
    return re.sub(r"\s+", " ", s).strip()


def main():
    split, n = sys.argv[1], int(sys.argv[2])
    words = int(sys.argv[3]) if len(sys.argv) > 3 else 60
    assert split in ("test", "valid")
    path = os.path.join(ROOT, "..", "shared", "data", "wikitext-2", split + ".txt")
    if not os.path.exists(path):
        path = "/work/shared/data/wikitext-2/%s.txt" % split
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if len(out) == n:
                break
            if not line.strip() or line.startswith(" = "):
                continue
            for part in re.split(r"(?<= \.) ", line.strip()):
                if "<unk>" in part or len(part.split()) < 6 or len(out) == n:
                    continue
                out.append(" ".join(detok(part).split()[:words]))
    if len(out) < n:
        sys.exit("only %d sentences in %s" % (len(out), path))
    sys.stdout.write("".join(s + "\n" for s in out))


if __name__ == "__main__":
    main()
