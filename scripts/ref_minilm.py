"""Reference sentence embeddings of all-MiniLM-L6-v2 for tests/golden/test_minilm.c.

Picks real sentences from WikiText-2 (validation split, de-tokenized) with
varied lengths plus a few everyday ones, embeds them with sentence-transformers
(Transformer -> mean pooling -> L2 normalize, float32 on the CPU) and writes

  tests/fixtures/minilm/sentences.txt     one sentence per line (UTF-8)
  tests/fixtures/minilm/token_ids.txt     the ids HF tokenizers produced, one line per sentence
  tests/fixtures/minilm/embeddings.f32    raw little-endian float32, n x 384

It also recomputes the embeddings with plain transformers + mean pooling as a
cross-check of the pipeline and prints the versions used. Run it through
scripts/ref_minilm.sh, which creates the .peers venv when needed.
"""
import os
import re
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import sentence_transformers
import torch
import transformers
from sentence_transformers import SentenceTransformer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MODEL = os.path.join(ROOT, "models", "all-MiniLM-L6-v2")
WIKI = os.path.join(ROOT, "..", "shared", "data", "wikitext-2", "valid.txt")
OUT = os.path.join(ROOT, "tests", "fixtures", "minilm")

N_WIKI = 64          # sentences taken from WikiText-2
MAX_TOKENS = 126     # with [CLS] and [SEP]: under 128
# Token-count buckets (without specials) so lengths vary from short to long:
# (min, max, how many, keep 1 in `thin` candidates so picks spread over articles).
BUCKETS = [(3, 12, 12, 11), (12, 24, 16, 11), (24, 40, 16, 11), (40, 70, 12, 11), (70, MAX_TOKENS, 8, 2)]

EVERYDAY = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "Can you tell me where the nearest train station is?",
    "I'd like a cup of coffee with milk, please.",
    "Café prices in Zürich rose by 12.5% last year — naïve tourists didn't notice.",
    "Don't forget to water the plants while I'm away next week.",
    "A man is playing a guitar.",
    "ALL CAPS SENTENCES SHOULD BE LOWER-CASED BY THE UNCASED TOKENIZER",
]


def detok(s):
    """Undoes WikiText's tokenization: ' @-@ ' -> '-', spaces before punctuation."""
    s = s.replace(" @-@ ", "-").replace(" @,@ ", ",").replace(" @.@ ", ".")
    s = re.sub(r" ([,.;:!?)\]'])", r"\1", s)
    s = re.sub(r"([(\[]) ", r"\1", s)
    s = s.replace(" 's", "'s").replace(" n't", "n't")
    return re.sub(r"\s+", " ", s).strip()


def wiki_sentences():
    """Sentences of the validation split, paragraph by paragraph (headings dropped)."""
    with open(WIKI, encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith(" = "):
                continue
            parts = [p for p in re.split(r"(?<= \.) ", line.strip())
                     if "<unk>" not in p and '"' not in p]
            for p in parts:
                yield detok(p)
            # consecutive pairs give the longer inputs
            for a, b in zip(parts, parts[1:]):
                yield detok(a + " " + b)


def pick_sentences(tok):
    want = {i: b[2] for i, b in enumerate(BUCKETS)}
    picked, seen = [], set()
    for s in wiki_sentences():
        if any(s.startswith(p) or p.startswith(s) for p in seen):
            continue  # a pair overlapping a sentence already taken
        if not s[:1].isupper() or not s.endswith("."):
            continue
        n = len(tok(s, add_special_tokens=False)["input_ids"])
        for i, (lo, hi, _, thin) in enumerate(BUCKETS):
            # thin out deterministically so the picks spread over many articles
            if lo <= n < hi and want[i] > 0:
                if hash_pick(s, thin):
                    picked.append((i, s))
                    seen.add(s)
                    want[i] -= 1
                break
        if sum(want.values()) == 0:
            break
    assert sum(want.values()) == 0, f"not enough sentences: {want}"
    return [s for _, s in picked]


def hash_pick(s, thin):
    """Deterministic thinning (no Python hash randomization)."""
    return sum(s.encode("utf-8")) % thin == 0


def main():
    torch.manual_seed(0)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    versions = (f"torch {torch.__version__}, transformers {transformers.__version__}, "
                f"sentence-transformers {sentence_transformers.__version__}, numpy {np.__version__}")
    print(versions)

    st = SentenceTransformer(MODEL, device="cpu")
    tok = st.tokenizer
    sents = pick_sentences(tok)[:N_WIKI] + EVERYDAY
    for s in sents:
        assert "\n" not in s and s == s.strip()

    ids = [tok(s)["input_ids"] for s in sents]
    assert max(len(x) for x in ids) < 128
    emb = st.encode(sents, batch_size=16, convert_to_numpy=True, normalize_embeddings=False)
    emb = np.asarray(emb, dtype=np.float32)

    # Cross-check: transformers BertModel, mean over the attention mask, L2 normalize.
    model = transformers.AutoModel.from_pretrained(MODEL).eval()
    with torch.no_grad():
        batch = tok(sents, padding=True, return_tensors="pt")
        h = model(**batch).last_hidden_state
        m = batch["attention_mask"].unsqueeze(-1).float()
        ref = (h * m).sum(1) / m.sum(1)
        ref = torch.nn.functional.normalize(ref, dim=1).numpy()
    cos = (emb * ref).sum(1) / np.linalg.norm(emb, axis=1) / np.linalg.norm(ref, axis=1)
    print(f"sentences: {len(sents)}, tokens min/max {min(map(len, ids))}/{max(map(len, ids))}")
    print(f"sentence-transformers vs transformers: min cosine {cos.min():.8f}, "
          f"max |diff| {np.abs(emb - ref).max():.3g}")
    assert cos.min() > 0.99999

    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "sentences.txt"), "w", encoding="utf-8") as f:
        f.writelines(s + "\n" for s in sents)
    with open(os.path.join(OUT, "token_ids.txt"), "w") as f:
        f.writelines(" ".join(map(str, x)) + "\n" for x in ids)
    emb.astype("<f4").tofile(os.path.join(OUT, "embeddings.f32"))
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(
            "# all-MiniLM-L6-v2 reference embeddings\n\n"
            "Written by `scripts/ref_minilm.sh` (runs `scripts/ref_minilm.py`) with\n"
            f"{versions}, on the CPU in float32.\n\n"
            f"- `sentences.txt`: {len(sents)} inputs, one per line: {len(sents) - len(EVERYDAY)} from\n"
            "  WikiText-2 `valid.txt` (de-tokenized; headings skipped, and sentences with `<unk>`\n"
            "  or quotes; single sentences or two consecutive ones, picked in token-length\n"
            f"  buckets from 3 to {MAX_TOKENS}) and {len(EVERYDAY)} everyday ones.\n"
            "- `token_ids.txt`: the ids the Hugging Face tokenizer produced (with [CLS]/[SEP]).\n"
            "- `embeddings.f32`: raw little-endian float32, n x 384, from\n"
            "  `SentenceTransformer(models/all-MiniLM-L6-v2).encode(...)` (mean pooling + L2\n"
            "  normalize), cross-checked against transformers `BertModel` + mean pooling\n"
            f"  (min cosine {cos.min():.8f}).\n\n"
            "Used by `tests/golden/test_minilm.c` (cosine >= 0.9999 for every sentence).\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    sys.exit(main())
