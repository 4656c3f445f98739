"""BERT-family checkpoint parity with transformers, in every layout pretext reads.

For two sizes (a small 2-layer model and the shape of sentence-transformers'
all-MiniLM-L6-v2: 384 wide, 6 layers, 12 heads), transformers' BertModel is built with seeded
random weights (LayerNorms randomised too) and a WordPiece tokenizer over a vocabulary this
script writes, then saved as: a model folder with safetensors (save_pretrained), the same
with pytorch_model.bin, BertForMaskedLM (`bert.` prefix, the language-model head beside it),
a sentence-transformers folder (Transformer + mean Pooling), a folder with vocab.txt and no
tokenizer.json, and a Lightning .ckpt with the encoder under `backbone.` inside `state_dict`.
pretext embeds the same texts from each (examples/bert_parity.rs) and the embeddings are
compared with transformers' last hidden state mean-pooled over the attention mask (what
sentence-transformers computes): max |diff| / max |value| must stay under 1e-4. pretext then
writes the weights back (`pretext export-weights`' code path) and BertModel(config,
add_pooling_layer=False).load_state_dict(strict=True) must reproduce its embeddings.

    bench/.venv/bin/python bench/checkpoints_bert.py   # after cargo build --release --examples
"""

import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
from safetensors.torch import load_file
from tokenizers.implementations import BertWordPieceTokenizer
from transformers import BertConfig, BertForMaskedLM, BertModel, PreTrainedTokenizerFast

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "target", "release", "examples", "bert_parity")
TOLERANCE = 1e-4

TEXTS = [
    "The cat sat on the mat.",
    "A quick brown fox jumps over the lazy dog, twice!",
    "Self-supervised learning finds structure without labels.",
    "Caf\u00e9 au lait, s'il vous pla\u00eet.",
    "unbelievably long words get split into pieces",
    "Numbers like 3.14159 and 2026 appear too",
    "short",
    "Why? Because the embedding space should form clusters of similar meaning, and a long sentence pads the short ones.",
]

SIZES = [
    ("2 layers, 64 wide", dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128)),
    ("MiniLM-L6 shape (384 wide, 6 layers)", dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536)),
]


def vocabulary():
    """Special tokens, every character of the texts, their words and a few word pieces."""
    words = set()
    for t in TEXTS:
        for w in t.lower().replace(",", " , ").replace(".", " . ").split():
            words.add(w)
    chars = sorted({c for t in TEXTS for c in t.lower()} - {" "})
    pieces = ["##" + c for c in chars] + ["##s", "##ing", "##ly", "##able"]
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words -= {"unbelievably", "pieces"}  # left to the word pieces
    tokens = specials + chars + sorted(words) + ["un", "##believ", "##ably", "piece"] + pieces
    return list(dict.fromkeys(tokens))  # each once, in order


def randomise(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.LayerNorm):
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=g))
    return model.eval()


def mean_pooled(model, tok):
    enc = tok(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        h = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
    m = enc["attention_mask"].unsqueeze(-1).float()
    return ((h * m).sum(1) / m.sum(1).clamp(min=1e-9)).numpy()


def layouts(model, tok, config, vocab_file, tmp, tag):
    """(what, path pretext is given) for each layout."""
    out = []
    folder = os.path.join(tmp, f"{tag}-hf")
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    out.append(("transformers folder, safetensors", folder))
    folder_bin = os.path.join(tmp, f"{tag}-bin")
    model.save_pretrained(folder_bin, safe_serialization=False)
    tok.save_pretrained(folder_bin)
    out.append(("transformers folder, pytorch_model.bin", folder_bin))
    mlm = BertForMaskedLM(config)
    mlm.bert.load_state_dict(model.state_dict(), strict=False)
    mlm_dir = os.path.join(tmp, f"{tag}-mlm")
    mlm.save_pretrained(mlm_dir)
    tok.save_pretrained(mlm_dir)
    out.append(("BertForMaskedLM (bert. prefix, LM head)", os.path.join(mlm_dir, "model.safetensors")))
    try:
        from sentence_transformers import SentenceTransformer, models

        st_dir = os.path.join(tmp, f"{tag}-st")
        word = models.Transformer(folder)
        pool = models.Pooling(word.get_embedding_dimension(), pooling_mode="mean")
        SentenceTransformer(modules=[word, pool], device="cpu").save(st_dir)
        out.append(("sentence-transformers folder", st_dir))
    except ImportError:
        print("sentence-transformers not installed: its layout is skipped", file=sys.stderr)
    vocab_only = os.path.join(tmp, f"{tag}-vocab")
    shutil.copytree(folder, vocab_only)
    os.remove(os.path.join(vocab_only, "tokenizer.json"))
    shutil.copy(vocab_file, vocab_only)  # transformers 5 writes tokenizer.json alone
    out.append(("vocab.txt without tokenizer.json", vocab_only))
    lightning = os.path.join(tmp, f"{tag}-lightning")
    os.makedirs(lightning)
    state = {f"backbone.{k}": v for k, v in model.state_dict().items()}
    state["projection_head.layers.0.weight"] = torch.randn(8, 4)
    torch.save({"state_dict": state, "epoch": 1, "global_step": 10}, os.path.join(lightning, "last.ckpt"))
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(folder, f), lightning)
    out.append(("Lightning .ckpt, backbone.", os.path.join(lightning, "last.ckpt")))
    return out


def pretext_embed(init, texts_file, tmp, env=None):
    out = os.path.join(tmp, "y.npy")
    done = subprocess.run([EXAMPLE, init, texts_file, out], capture_output=True, env=env, text=True)
    if done.returncode != 0:
        sys.exit(f"pretext failed on {init}: {done.stderr.strip()}")
    return np.load(out)


def relative(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


def main():
    if not os.path.exists(EXAMPLE):
        sys.exit("build the example first: cargo build --release --examples")
    torch.set_num_threads(2)
    rows, worst = [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        vocab_file = os.path.join(tmp, "vocab.txt")
        with open(vocab_file, "w") as f:
            f.write("\n".join(vocabulary()) + "\n")
        # transformers' BertTokenizerFast(vocab_file=...) no longer reads the file (5.x): the
        # WordPiece tokenizer is built by the tokenizers library and wrapped.
        wordpiece = BertWordPieceTokenizer(vocab_file, lowercase=True)
        tok = PreTrainedTokenizerFast(
            tokenizer_object=wordpiece._tokenizer, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]", do_lower_case=True
        )
        assert tok.convert_ids_to_tokens(tok("cats")["input_ids"]) == ["[CLS]", "cat", "##s", "[SEP]"]
        texts_file = os.path.join(tmp, "texts.txt")
        with open(texts_file, "w") as f:
            f.write("\n".join(TEXTS) + "\n")
        for i, (what, size) in enumerate(SIZES):
            torch.manual_seed(200 + i)
            config = BertConfig(vocab_size=len(tok), max_position_embeddings=128, **size)
            model = randomise(BertModel(config, add_pooling_layer=False), 200 + i)
            ref = mean_pooled(model, tok)
            for layout, path in layouts(model, tok, config, vocab_file, tmp, f"case{i}"):
                got = pretext_embed(path, texts_file, tmp)
                err = relative(got, ref)
                worst = max(worst, err)
                rows.append((what, layout, ref.shape[1], err))
            exported = os.path.join(tmp, f"case{i}-export.safetensors")
            env = dict(os.environ, PRETEXT_PARITY_EXPORT=exported)
            pretext_embed(os.path.join(tmp, f"case{i}-hf"), texts_file, tmp, env)
            fresh = BertModel(config, add_pooling_layer=False).eval()
            fresh.load_state_dict(load_file(exported), strict=True)
            err = relative(mean_pooled(fresh, tok), ref)
            worst = max(worst, err)
            rows.append((what, "pretext export, load_state_dict(strict=True)", ref.shape[1], err))
    print(f"| model | layout | dim | max abs diff / max abs value |")
    print(f"|---|---|---|---|")
    for what, layout, dim, err in rows:
        print(f"| {what} | {layout} | {dim} | {err:.2e} |")
    print(f"worst {worst:.2e} (tolerance {TOLERANCE:.0e})")
    sys.exit(0 if worst < TOLERANCE else 1)


if __name__ == "__main__":
    main()
