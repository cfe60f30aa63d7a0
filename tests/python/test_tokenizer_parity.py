"""zerotune's GPT-2 tokenizer against Hugging Face `tokenizers` (BPE.from_file with the
ByteLevel pre-tokenizer and decoder) and the published reference ids and counts:
every line of WikiText-2 valid and test, both whole files, 500 SQuAD dev examples, the 21
reference strings, decode round trips, and a sweep over Unicode code points."""
import json
import tempfile
import time
import unicodedata
from pathlib import Path

from zerotune_data_support import (SHARED, TOKENIZER_DIR, fail, hf_tokenizer, run,
                                   strip_white_space, zerotune_binary)


def parse_ids(text):
    return [[int(x) for x in line.split()] for line in text.split("\n")[:-1]]


def compare(name, texts, ours, hf, show=3):
    if len(ours) != len(texts):
        fail(f"{name}: zerotune printed {len(ours)} lines for {len(texts)} texts")
    bad = [i for i, (o, h) in enumerate(zip(ours, hf)) if o != h.ids]
    for i in bad[:show]:
        print(f"  {name} #{i}: {texts[i][:80]!r}\n    zerotune {ours[i][:20]}\n    hf       "
              f"{hf[i].ids[:20]}")
    if bad:
        fail(f"{name}: {len(bad)} of {len(texts)} differ from Hugging Face")
    print(f"{name}: {len(texts)} texts, {sum(len(o) for o in ours)} tokens identical", flush=True)


def encode_jsonl(binary, texts, workdir, name):
    path = Path(workdir) / f"{name}.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in texts), encoding="utf-8")
    return parse_ids(run(binary, "tokenize", "--tokenizer", TOKENIZER_DIR, "--jsonl",
                         "--input", path).stdout)


def main():
    tok = hf_tokenizer()
    binary = zerotune_binary()
    reference = json.loads((TOKENIZER_DIR / "reference-tokenizations.json").read_text())
    counts = reference["file_token_counts"]
    with tempfile.TemporaryDirectory() as workdir:
        # WikiText-2: every line (without its newline), then each whole file.
        for split in ("valid", "test"):
            path = SHARED / "wikitext-2-raw" / f"wiki.{split}.raw"
            text = path.read_text(encoding="utf-8")
            lines = text.split("\n")[:-1]
            ours_text = run(binary, "tokenize", "--tokenizer", TOKENIZER_DIR, "--input",
                            path).stdout
            compare(f"wiki.{split}.raw lines", lines, parse_ids(ours_text), tok.encode_batch(lines))
            decoded = run(binary, "tokenize", "--tokenizer", TOKENIZER_DIR, "--decode",
                          input_text=ours_text).stdout
            if decoded != text:
                fail(f"wiki.{split}.raw: decode(encode(line)) is not the line")
            whole = parse_ids(run(binary, "tokenize", "--tokenizer", TOKENIZER_DIR, "--whole",
                                  "--input", path).stdout)[0]
            published = counts[f"wikitext-2-raw/wiki.{split}.raw"]
            if whole != tok.encode(text).ids or len(whole) != published:
                fail(f"wiki.{split}.raw whole: {len(whole)} tokens, published {published}")
            print(f"wiki.{split}.raw whole file: {len(whole)} tokens = published count", flush=True)

        # The reference strings (ids from OpenAI's encoder ports).
        cases = reference["cases"]
        ours = encode_jsonl(binary, [c["text"] for c in cases], workdir, "reference")
        for case, ids in zip(cases, ours):
            if ids != case["ids"]:
                fail(f"reference {case['text']!r}: {ids} != {case['ids']}")
        print(f"reference strings: {len(cases)} identical", flush=True)

        # 500 SQuAD dev questions: question, context, answer and the prep template text.
        squad = json.loads((SHARED / "squad-v1.1" / "dev-v1.1.json").read_text(encoding="utf-8"))
        texts = []
        for article in squad["data"]:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    q, c = qa["question"], paragraph["context"]
                    a = qa["answers"][0]["text"]
                    texts += [q, c, a, f"Question: {strip_white_space(q)}\nContext: "
                              f"{strip_white_space(c)}\nAnswer: {strip_white_space(a)}"]
        texts = texts[:2000]
        compare("squad dev (500 questions x question/context/answer/template)", texts,
                encode_jsonl(binary, texts, workdir, "squad"), tok.encode_batch(texts))
        decoded = run(binary, "tokenize", "--tokenizer", TOKENIZER_DIR, "--decode", "--jsonl",
                      input_text="".join(" ".join(map(str, tok.encode(t).ids)) + "\n"
                                         for t in texts)).stdout
        if [json.loads(line) for line in decoded.split("\n")[:-1]] != texts:
            fail("squad: zerotune's decode of Hugging Face ids is not the text")

        # Unicode sweep: each code point between letters, digits, spaces and a contraction.
        # The only differences allowed: U+180E (white space for Oniguruma, format character
        # Cf since Unicode 6.3 for PCRE2 and Python) and code points unassigned in Unicode
        # 14.0, which PCRE2 10.42 and Python's unicodedata know and HF's regex tables postdate.
        # The exemptions come from Python's unicodedata, so they are exact only where it has
        # PCRE2 10.42's Unicode version; a newer Python assigns code points PCRE2 does not know.
        if unicodedata.unidata_version != "14.0.0":
            print(f"unicode sweep: skipped, this Python has Unicode {unicodedata.unidata_version}"
                  " and the exemptions need PCRE2's 14.0.0", flush=True)
            print("tokenizer parity: ok")
            return
        code_points = [c for c in range(1, 0x323B0) if not 0xD800 <= c <= 0xDFFF]
        code_points += list(range(0xE0000, 0xE01F0)) + list(range(0xF0000, 0x110000, 4093))
        sweep = [f"a{chr(c)}b {chr(c)}1{chr(c)} {chr(c)}{chr(c)}x  {chr(c)}'s" for c in
                 code_points]
        start = time.time()
        ours = encode_jsonl(binary, sweep, workdir, "sweep")
        hf = tok.encode_batch(sweep)
        differ = [c for c, o, h in zip(code_points, ours, hf) if o != h.ids]
        allowed = [c for c in differ if c == 0x180E or unicodedata.category(chr(c)) == "Cn"]
        unexpected = sorted(set(differ) - set(allowed))
        print(f"unicode sweep: {len(code_points)} code points in {time.time() - start:.1f} s, "
              f"{len(allowed)} differ as allowed (unicodedata {unicodedata.unidata_version})",
              flush=True)
        if unexpected:
            fail("unicode sweep: differs from Hugging Face at " +
                 ", ".join(f"U+{c:04X} ({unicodedata.category(chr(c))})" for c in unexpected[:20]))
    print("tokenizer parity: ok")


if __name__ == "__main__":
    main()
