"""`zerotune prep` output read back with h5py and compared with what Hugging Face `tokenizers`
gives for the documented layouts (prep.hpp): WikiText packed with EOS after each article,
SQuAD examples in the "Question/Context/Answer" template, truncated and padded."""
import hashlib
import json
import re
import tempfile
from pathlib import Path

import h5py
import numpy as np

from zerotune_data_support import (EOS, SHARED, TOKENIZER_DIR, fail, hf_tokenizer, run,
                                   strip_white_space, zerotune_binary)

SQUAD_DEV_SHA256 = "95aa6a52d5d6a735563366753ca50492a658031da74f301ac5238b03966972c9"  # README


def report_fields(stdout):
    line = stdout.strip()
    if "\n" in line:
        fail(f"prep printed more than one line: {stdout!r}")
    return dict(field.split("=", 1) for field in line.split()[2:])


def check_file(path, source_path, seq_len, split, rows):
    with h5py.File(path, "r") as f:
        for name, dtype in (("input_ids", np.int32), ("labels", np.int32),
                            ("attention_mask", np.uint8)):
            d = f[name]
            if d.dtype != dtype or d.shape != (rows, seq_len) or d.chunks is None:
                fail(f"{path}: /{name} is {d.dtype} {d.shape} chunks={d.chunks}, expected "
                     f"chunked {np.dtype(dtype)} ({rows}, {seq_len})")
        expected = {"format": "zerotune-tokens", "format_version": 1, "tokenizer": "gpt2-bpe",
                    "vocab_size": 50257, "eos_token_id": EOS, "pad_token_id": EOS,
                    "seq_len": seq_len, "source": Path(source_path).name,
                    "source_sha256": hashlib.sha256(Path(source_path).read_bytes()).hexdigest(),
                    "split": split}
        for key, value in expected.items():
            got = f.attrs.get(key)
            if isinstance(value, str) and not isinstance(got, str):
                fail(f"{path}: attribute {key} is {type(got)}, expected str")
            if got != value:
                fail(f"{path}: attribute {key} = {got!r}, expected {value!r}")
        return f["input_ids"][:], f["labels"][:], f["attention_mask"][:]


def wikitext_articles(text):
    """Cut before each " = Title = " line but the first (text before it joins article 1)."""
    title = re.compile(r"^ = [^=].* = $")
    lines = text.split("\n")
    starts, offset, seen = [0], 0, False
    for line in lines:
        if title.match(line) and not line.endswith("= = "):
            if seen:
                starts.append(offset)
            seen = True
        offset += len(line) + 1
    starts.append(len(text))
    return [text[a:b] for a, b in zip(starts, starts[1:]) if b > a]


def check_wikitext(binary, tok, source, workdir, seq_len, documents):
    out = Path(workdir) / f"{Path(source).name}.{seq_len}.h5"
    result = run(binary, "prep", "wikitext", "--input", source, "--tokenizer", TOKENIZER_DIR,
                 "--seq-len", seq_len, "--out", out)
    fields = report_fields(result.stdout)
    text = Path(source).read_text(encoding="utf-8")
    articles = wikitext_articles(text)
    stream = []
    for article in articles:
        stream += tok.encode(article).ids + [EOS]
    rows = len(stream) // seq_len
    expected = {"documents": str(documents), "tokens": str(len(stream)),
                "examples": str(rows), "dropped_tail_tokens": str(len(stream) % seq_len)}
    for key, value in expected.items():
        if fields.get(key) != value:
            fail(f"prep wikitext {source}: {key}={fields.get(key)}, expected {value}")
    if len(articles) != documents:
        fail(f"{source}: the reference split finds {len(articles)} articles, not {documents}")
    split = "validation" if "valid" in Path(source).name else "test"
    ids, labels, mask = check_file(out, source, seq_len, split, rows)
    blocks = np.array(stream[:rows * seq_len], dtype=np.int32).reshape(rows, seq_len)
    if not (np.array_equal(ids, blocks) and np.array_equal(labels, ids) and mask.all()):
        fail(f"prep wikitext {source}: rows differ from Hugging Face blocks")
    print(f"prep wikitext {Path(source).name} T={seq_len}: {rows} rows identical, "
          f"{len(stream)} tokens, wall_s={fields['wall_s']}", flush=True)


def squad_questions():
    squad = json.loads((SHARED / "squad-v1.1" / "dev-v1.1.json").read_text(encoding="utf-8"))
    return [(qa["question"], p["context"], qa["answers"][0]["text"])
            for article in squad["data"] for p in article["paragraphs"] for qa in p["qas"]]


def squad_expected(tok, q, c, a, seq_len, loss_on):
    """The documented layout, from Hugging Face ids of the template pieces."""
    q, c, a = strip_white_space(q), strip_white_space(c), strip_white_space(a)
    prompt = (tok.encode("Question:").ids + tok.encode(" " + q).ids +
              tok.encode("\nContext:").ids)
    context = tok.encode(" " + c).ids
    header, answer = tok.encode("\nAnswer:").ids, tok.encode(" " + a).ids + [EOS]
    whole = tok.encode(f"Question: {q}\nContext: {c}\nAnswer: {a}").ids + [EOS]
    if prompt + context + header + answer != whole:
        fail(f"squad: the pieces do not tokenize like the whole template for {q!r}")
    fixed = len(prompt) + len(header) + len(answer)
    truncated = fixed + len(context) > seq_len
    keep = max(0, seq_len - fixed) if truncated else len(context)
    ids = (prompt + context[:keep] + header + answer)[:seq_len]
    loss_from = len(prompt) + keep + len(header)
    labels = [t if loss_on == "all" or i >= loss_from else -100 for i, t in enumerate(ids)]
    pad = seq_len - len(ids)
    return ids + [EOS] * pad, labels + [-100] * pad, [1] * len(ids) + [0] * pad, truncated


def check_squad(binary, tok, workdir, seq_len, loss_on, max_samples):
    source = SHARED / "squad-v1.1" / "dev-v1.1.json"
    if hashlib.sha256(source.read_bytes()).hexdigest() != SQUAD_DEV_SHA256:
        fail("dev-v1.1.json is not the published file")
    out = Path(workdir) / f"squad.{seq_len}.{loss_on}.h5"
    result = run(binary, "prep", "squad", "--input", source, "--tokenizer", TOKENIZER_DIR,
                 "--seq-len", seq_len, "--loss-on", loss_on, "--max-samples", max_samples,
                 "--out", out)
    fields = report_fields(result.stdout)
    ids, labels, mask = check_file(out, source, seq_len, "validation", max_samples)
    truncated = 0
    for row, (q, c, a) in enumerate(squad_questions()[:max_samples]):
        e_ids, e_labels, e_mask, cut = squad_expected(tok, q, c, a, seq_len, loss_on)
        truncated += cut
        if (list(ids[row]) != e_ids or list(labels[row]) != e_labels or
                list(mask[row]) != e_mask):
            fail(f"prep squad T={seq_len} loss_on={loss_on}: row {row} ({q!r}) differs")
    expected = {"questions": "10570", "examples": str(max_samples),
                "truncated_examples": str(truncated), "loss_on": loss_on,
                "tokens": str(int(mask.sum())), "loss_tokens": str(int((labels != -100).sum()))}
    for key, value in expected.items():
        if fields.get(key) != value:
            fail(f"prep squad: {key}={fields.get(key)}, expected {value}")
    print(f"prep squad T={seq_len} loss_on={loss_on}: {max_samples} rows identical, "
          f"{truncated} truncated, wall_s={fields['wall_s']}", flush=True)
    return truncated


def main():
    tok = hf_tokenizer()
    binary = zerotune_binary()
    with tempfile.TemporaryDirectory() as workdir:
        # A slice of the real file: the first three articles, under the real name.
        valid = (SHARED / "wikitext-2-raw" / "wiki.valid.raw").read_text(encoding="utf-8")
        slice_path = Path(workdir) / "wiki.valid.raw"
        slice_path.write_text("".join(wikitext_articles(valid)[:3]), encoding="utf-8")
        check_wikitext(binary, tok, slice_path, workdir, 128, 3)
        check_wikitext(binary, tok, SHARED / "wikitext-2-raw" / "wiki.valid.raw", workdir, 1024, 60)
        check_wikitext(binary, tok, SHARED / "wikitext-2-raw" / "wiki.test.raw", workdir, 1024, 62)
        check_squad(binary, tok, workdir, 512, "all", 500)
        if check_squad(binary, tok, workdir, 160, "answer", 300) == 0:
            fail("prep squad T=160 truncated nothing: the truncation path went untested")
    print("prep h5py: ok")


if __name__ == "__main__":
    main()
