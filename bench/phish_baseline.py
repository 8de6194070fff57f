"""scikit-learn baseline for Hearth's phishing checker.

TF-IDF (word unigrams + bigrams, sublinear tf) + logistic regression, evaluated with
5-fold cross-validation on data/sms/SMSSpamCollection using the SAME fold of each line
as Hearth (data/sms/folds.txt, written by `cargo run --release -p hearth-phish
--example train`). Reports precision / recall / F1 of the spam class, pooled over the
five folds, for scikit-learn's defaults (C=1) and for the best C of a small grid (the
grid is scored on the same CV, as Hearth's was, so neither side is favoured).

Throughput: the pipeline fitted on all data classifies every message of the collection
one at a time (as a line-by-line service would) and in one batch; single process, and
BLAS threads are pinned to 1 via threadpoolctl when present.

Usage: bash bench/phish_baseline.sh [--json]
"""
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
import sklearn  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load():
    labels, texts = [], []
    with open(os.path.join(ROOT, "data/sms/SMSSpamCollection"), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n").rstrip("\r")
            if not line:
                continue
            label, text = line.split("\t", 1)
            labels.append(1 if label == "spam" else 0)
            texts.append(text)
    with open(os.path.join(ROOT, "data/sms/folds.txt"), encoding="utf-8") as f:
        folds = [int(x) for x in f.read().split()]
    if len(folds) != len(texts):
        sys.exit(f"folds.txt has {len(folds)} lines, the collection {len(texts)}: rerun the train example")
    return np.array(labels), texts, np.array(folds)


def pipeline(c):
    return make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
        LogisticRegression(C=c, max_iter=2000, solver="liblinear"),
    )


def metrics(y, pred):
    tp = int(((y == 1) & (pred == 1)).sum())
    fp = int(((y == 0) & (pred == 1)).sum())
    fn = int(((y == 1) & (pred == 0)).sum())
    tn = int(((y == 0) & (pred == 0)).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "precision": p, "recall": r, "f1": f1}


def cross_validate(y, texts, folds, c):
    pred = np.zeros_like(y)
    for k in range(5):
        train = folds != k
        test = folds == k
        model = pipeline(c).fit([t for t, m in zip(texts, train) if m], y[train])
        pred[test] = model.predict([t for t, m in zip(texts, test) if m])
    return metrics(y, pred)


def main():
    y, texts, folds = load()
    out = {"sklearn": sklearn.__version__, "samples": len(texts)}
    t = time.perf_counter()
    out["cv_default_C1"] = cross_validate(y, texts, folds, 1.0)
    out["cv_seconds"] = time.perf_counter() - t
    grid = {}
    for c in [1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0]:
        grid[str(c)] = cross_validate(y, texts, folds, c)
    best = max(grid, key=lambda k: grid[k]["f1"])
    out["cv_grid_f1"] = {k: v["f1"] for k, v in grid.items()}
    out["cv_best"] = dict(grid[best], C=float(best))

    model = pipeline(float(best)).fit(texts, y)
    try:
        from threadpoolctl import threadpool_limits
        limiter = threadpool_limits(1)
    except ImportError:
        limiter = None
    n = len(texts)
    t, c = time.perf_counter(), time.process_time()
    for text in texts:
        model.predict([text])
    one, one_cpu = time.perf_counter() - t, time.process_time() - c
    rounds = 20
    t, c = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        model.predict(texts)
    batch, batch_cpu = time.perf_counter() - t, time.process_time() - c
    out["throughput_one_at_a_time_msgs_per_s"] = n / one
    out["throughput_one_at_a_time_msgs_per_cpu_s"] = n / one_cpu
    out["throughput_batch_msgs_per_s"] = rounds * n / batch
    out["throughput_batch_msgs_per_cpu_s"] = rounds * n / batch_cpu
    if limiter is not None:
        limiter.unregister() if hasattr(limiter, "unregister") else None
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
