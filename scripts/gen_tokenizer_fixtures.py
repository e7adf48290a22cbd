#!/usr/bin/env python3
"""Reference data for the tokenizer tests (tests/unit/test_tokenizer.c).

Run with the peers venv (it has llama_cpp, tokenizers, gguf):

    /work/main/.peers/bin/python scripts/gen_tokenizer_fixtures.py fixtures
    /work/main/.peers/bin/python scripts/gen_tokenizer_fixtures.py tables

`fixtures` writes tests/fixtures/tokenizer/*.txt:
  - llama2c_tok512.txt: ids from a Python re-implementation of llama2.c
    run.c encode() (bos=1, eos=0) on tok512.bin;
  - smollm2_gguf.txt: ids from llama.cpp (llama-cpp-python, vocab_only,
    special=True) on SmolLM2-135M-Instruct-Q4_1.gguf, add_bos False/True;
  - smollm2_wikitext.txt: token count and FNV-1a hash of the ids llama.cpp
    gives for the first 100 KB of wikitext-2 test.txt;
  - minilm_wordpiece.txt: ids from the Hugging Face `tokenizers` library on
    all-MiniLM-L6-v2/tokenizer.json, with and without special tokens.
  - tiny_bpe_tokenizer.json + tiny_bpe.txt: a 600-token byte-level BPE
    trained here with `tokenizers`, and its ids;
  - tok512_spm.gguf.fixture + tok512_spm_gguf.txt: tok512.bin as a vocab-only
    (11 KB, no weights; the suffix keeps it apart from model files)
    "llama" GGUF and llama.cpp's ids for it.
Every fixture line is "<add_special> <hex of the UTF-8 text>|<ids space separated>".

`tables` prints the Unicode tables pasted into src/model/unicode_util.c
(simple lowercase runs for the BMP, and accent stripping = NFD minus
nonspacing marks for Latin/Greek/Cyrillic/kana).
"""
import os
import struct
import sys
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
FIX = os.path.join(ROOT, "tests", "fixtures", "tokenizer")

SMOLLM = os.path.join(ROOT, "models", "SmolLM2-135M-Instruct-Q4_1.gguf")
MINILM = os.path.join(ROOT, "models", "all-MiniLM-L6-v2", "tokenizer.json")
TOK512 = os.path.join(SHARED, "models", "stories260K", "tok512.bin")
WIKI = os.path.join(SHARED, "data", "wikitext-2", "test.txt")

COMMON = [
    "Hello world",
    "Hello, world! How are you?",
    "  leading spaces and trailing   ",
    "multiple    spaces\tand\ttabs",
    "line one\nline two\n\nline four\n",
    "numbers 1234567 and 3.14159 and 2,000,000",
    "The year 1999 @-@ 2001 was odd",
    "I'm sure you'll see they've done it, didn't they?",
    "café naïve résumé Ångström façade",
    "Überprüfung der Straße in München",
    "Привет, мир! Как дела?",
    "日本語のテキスト",
    "中文字符测试",
    "emoji 😀 and symbols © ® ™ → ∞",
    "tabs\t\tand\r\nwindows newlines",
    "",
    " ",
    "a",
    "ALL CAPS SENTENCE WITH NUMBERS 42",
    "mixedCase camelCase snake_case kebab-case",
    "http://example.com/path?query=1&b=2",
    "email@example.com #hashtag $100 50% off",
    "quotes \"double\" and 'single' and `back`",
    "Ελληνικά γράμματα",
    "ﬁ ligature and ½ fraction and ² superscript",
]


def hexs(s):
    return s.encode("utf-8").hex()


def write_fixture(name, rows):
    os.makedirs(FIX, exist_ok=True)
    path = os.path.join(FIX, name)
    with open(path, "w") as f:
        for add, text, ids in rows:
            f.write("%d %s|%s\n" % (1 if add else 0, hexs(text), " ".join(map(str, ids))))
    print("wrote", path, len(rows), "rows")


def wiki_lines(n):
    out = []
    with open(WIKI, encoding="utf-8") as f:
        for line in f:
            if line.strip() and not line.strip().startswith("="):
                out.append(line)
            if len(out) >= n:
                break
    return out


# ---------------------------------------------------------------- llama2.c
def load_tok512():
    b = open(TOK512, "rb").read()
    o = 4
    vocab, scores = [], []
    for _ in range(512):
        s, n = struct.unpack("<fi", b[o:o + 8])
        o += 8
        vocab.append(b[o:o + n])
        scores.append(s)
        o += n
    return vocab, scores


def run_c_encode(vocab, scores, text, bos):
    """Straight port of llama2.c run.c encode() (eos = 0)."""
    lookup = {}
    for i, v in enumerate(vocab):
        lookup.setdefault(v, i)
    raw = text.encode("utf-8")
    toks = [1] if bos else []
    if raw:
        toks.append(lookup[b" "])
    buf = b""
    for i, c in enumerate(raw):
        if (c & 0xC0) != 0x80:
            buf = b""
        buf += bytes([c])
        nxt = raw[i + 1] if i + 1 < len(raw) else 0
        if (nxt & 0xC0) == 0x80 and len(buf) < 4:
            continue
        if buf in lookup:
            toks.append(lookup[buf])
        else:
            toks.extend(x + 3 for x in buf)
        buf = b""
    while True:
        best, best_id, best_idx = -1e10, -1, -1
        for i in range(len(toks) - 1):
            j = lookup.get(vocab[toks[i]] + vocab[toks[i + 1]], -1)
            if j != -1 and scores[j] > best:
                best, best_id, best_idx = scores[j], j, i
        if best_idx == -1:
            break
        toks[best_idx] = best_id
        del toks[best_idx + 1]
    return toks


def gen_llama2c():
    vocab, scores = load_tok512()
    texts = ["Once upon a time", "Once upon a time, there was a little girl named Lily.",
             "The cat sat on the mat.\nThe dog barked!"] + COMMON
    rows = []
    for t in texts:
        for add in (True, False):
            rows.append((add, t, run_c_encode(vocab, scores, t, add)))
    write_fixture("llama2c_tok512.txt", rows)


# ---------------------------------------------------------------- SmolLM2 via llama.cpp
def fnv1a_ids(ids):
    h = 0xcbf29ce484222325
    for i in ids:
        for k in range(4):
            h ^= (i >> (8 * k)) & 0xFF
            h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def gen_smollm():
    import llama_cpp
    llm = llama_cpp.Llama(model_path=SMOLLM, vocab_only=True, verbose=False)
    texts = COMMON + [
        "<|im_start|>user\nHi<|im_end|>",
        "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>assistant\n",
        "text<|endoftext|>more text",
        " @-@ ",
        "   \n\n   ",
        "123 4567 89",
    ] + wiki_lines(12)
    rows = []
    for t in texts:
        for add in (False, True):
            rows.append((add, t, llm.tokenize(t.encode("utf-8"), add_bos=add, special=True)))
    write_fixture("smollm2_gguf.txt", rows)
    data = open(WIKI, "rb").read()[:100000]
    # Cut at a character boundary so the text is valid UTF-8.
    while data and (data[-1] & 0xC0) == 0x80:
        data = data[:-1]
    if data and data[-1] >= 0xC0:
        data = data[:-1]
    ids = llm.tokenize(data, add_bos=False, special=True)
    path = os.path.join(FIX, "smollm2_wikitext.txt")
    with open(path, "w") as f:
        f.write("%d %d %016x\n" % (len(data), len(ids), fnv1a_ids(ids)))
    print("wrote", path, len(data), "bytes", len(ids), "tokens")


# ---------------------------------------------------------------- MiniLM via HF tokenizers
def gen_minilm():
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(MINILM)
    tok.no_truncation()
    tok.no_padding()
    texts = COMMON + [
        "This is a sentence.",
        "Sentence embeddings are useful for semantic search.",
        "The quick brown fox jumps over the lazy dog.",
        "Don't stop believing!!!",
        "co-operate, re-enter; (parentheses) [brackets] {braces}",
        "Zürich, São Paulo, Kraków, Reykjavík, Île-de-France",
        "ÀÁÂÃÄÅ àáâãäå ÇçÑñ Œœ Šš Žž Łł Đđ",
        "naïve coöperate décor",
        "Москва и Санкт-Петербург",
        "韓國語 한국어 텍스트",
        "水 is water",
        "The price is $12.50 (or €10,99).",
        "unaffable antidisestablishmentarianism",
        "supercalifragilisticexpialidocious" * 4,
        "[CLS] literal special [SEP] tokens [MASK]",
        "control\x07char and zero\u200bwidth",
        "tab\tseparated\tvalues",
        "Combining e\u0301 accent",
        "ENDS WITH PUNCTUATION...",
        "¿Qué tal? ¡Muy bien!",
        "Straße ß ẞ",
        "İstanbul ıi",
        "The 3rd of May, 1808",
        "A «quoted» „phrase“ — with dashes – here",
        "Hindi: नमस्ते दुनिया",
    ] + wiki_lines(6)
    rows = []
    for t in texts:
        for add in (True, False):
            rows.append((add, t, tok.encode(t, add_special_tokens=add).ids))
    write_fixture("minilm_wordpiece.txt", rows)


# ---------------------------------------------------------------- tiny HF byte-level BPE
def gen_tiny_bpe():
    """Trains a 600-token byte-level BPE (Digits + ByteLevel pre-tokenizer,
    like SmolLM2's tokenizer.json) so the tokenizer.json BPE path has a
    reference without a large file."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, show_progress=False,
                                  special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(wiki_lines(3000), trainer)
    path = os.path.join(FIX, "tiny_bpe_tokenizer.json")
    tok.save(path)
    print("wrote", path)
    texts = COMMON + ["<|im_start|>user\nHi<|im_end|>", "text<|endoftext|>more", " @-@ ", "123 4567 89"] + wiki_lines(12)
    rows = []
    for t in texts:
        for add in (False, True):
            rows.append((add, t, tok.encode(t, add_special_tokens=add).ids))
    write_fixture("tiny_bpe.txt", rows)


# ---------------------------------------------------------------- SentencePiece GGUF via llama.cpp
def gen_spm_gguf():
    """tok512.bin rewritten as a vocab-only "llama" GGUF (spaces as U+2581,
    token types like llama.cpp's converter), then tokenized by llama.cpp."""
    import gguf
    import llama_cpp
    vocab, scores = load_tok512()
    path = os.path.join(FIX, "tok512_spm.gguf.fixture")
    w = gguf.GGUFWriter(path, "llama")
    w.add_context_length(512)
    w.add_embedding_length(64)
    w.add_block_count(1)
    w.add_feed_forward_length(172)
    w.add_head_count(8)
    w.add_head_count_kv(4)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_tokenizer_model("llama")
    toks, types = [], []
    for i, v in enumerate(vocab):
        toks.append(v.replace(b" ", "\u2581".encode()))
        is_byte = len(v) == 6 and v.startswith(b"<0x") and v.endswith(b">")
        types.append(2 if i == 0 else 3 if i in (1, 2) else 6 if is_byte else 1)
    toks[1], toks[2] = b"<s>", b"</s>"
    w.add_token_list(toks)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_space_prefix(True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print("wrote", path)
    llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
    texts = ["Once upon a time", "Once upon a time, there was a little girl named Lily.",
             "The cat sat on the mat.\nThe dog barked!", "<s>text</s> after special"] + COMMON
    rows = []
    for t in texts:
        for add in (True, False):
            rows.append((add, t, llm.tokenize(t.encode("utf-8"), add_bos=add, special=True)))
    write_fixture("tok512_spm_gguf.txt", rows)


# ---------------------------------------------------------------- Unicode tables
def gen_tables():
    runs = []  # [first, last, delta, stride]
    for cp in range(0x10000):
        if 0xD800 <= cp < 0xE000:
            continue
        low = chr(cp).lower()
        if len(low) != 1 or ord(low) == cp:
            continue
        d = ord(low) - cp
        if runs and runs[-1][2] == d and cp - runs[-1][1] in (1, 2) and runs[-1][3] in (0, cp - runs[-1][1]):
            r = runs[-1]
            r[3] = cp - r[1]
            r[1] = cp
        else:
            runs.append([cp, cp, d, 0])
    print("/* Generated by scripts/gen_tokenizer_fixtures.py tables (Unicode %s). */"
          % unicodedata.unidata_version)
    print("static const lower_run lower_runs[%d] = {" % len(runs))
    for i in range(0, len(runs), 4):
        print("    " + " ".join("{0x%04X, 0x%04X, %d, %d}," % (a, b, d, max(s, 1))
                               for a, b, d, s in runs[i:i + 4]))
    print("};")
    acc = []
    for lo, hi in [(0xC0, 0x4FF), (0x1E00, 0x1FFF), (0x3040, 0x30FF)]:
        for cp in range(lo, hi + 1):
            c = chr(cp)
            d = unicodedata.normalize("NFD", c)
            r = "".join(x for x in d if unicodedata.category(x) != "Mn")
            if d != c and len(r) == 1 and r != c:
                acc.append((cp, ord(r)))
    print("static const uint16_t accent_base[%d][2] = {" % len(acc))
    for i in range(0, len(acc), 8):
        print("    " + " ".join("{0x%04X, 0x%04X}," % p for p in acc[i:i + 8]))
    print("};")


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "fixtures"
    if what == "tables":
        gen_tables()
    else:
        gen_llama2c()
        gen_smollm()
        gen_minilm()
        gen_tiny_bpe()
        gen_spm_gguf()
