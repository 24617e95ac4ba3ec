"""Heads on frozen musicnn features, tried on training.crossval's folds: the experiments behind the
model card's issue-12 table (resources/models/genrenet_default.md), not a training path.

`extract` runs a shipped tagger's backbone (msd or mtt) once over every clip and stores, per
window, its pooled embedding (1506, as the default model reads it), penultimate layer (200), the
tagger's own 50 tag logits, and the standard deviation over time of the 753 mid-end features;
for the 8 windows classify judges a clip by and for a grid of windows half a window apart.
`run` trains heads on any mix of those parts with the default recipe re-implemented on numpy
arrays (dropout 0.5 + linear, mixup 0.2, class-weighted cross-entropy, AdamW one-cycle, early
stopping and temperature on the inner validation clips) or as a logistic regression, on the
same folds (seed 0) and inner splits as `python -m training.crossval`, and prints
cross-validated accuracy overall and per dataset, macro F1 and ECE. With the msd backbone, the
pooled part, eval windows and head seed 0 it gives the shipped model's row exactly.

    python -m training.head_search extract msd /tmp/heads $COMMON
    python -m training.head_search run /tmp/heads "msd:pooled" --train-on grid
"""

from __future__ import annotations

import argparse
import math
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from training.crossval import expected_calibration_error, inner_split
from training.splitting import group_folds
from training.train import (
    WindowLogits,
    class_weights,
    clip_probabilities,
    fit_temperature,
    head_epoch,
)

PARTS = {"pooled": slice(0, 1506), "pen": slice(1506, 1706), "tags": slice(1706, 1756), "std": slice(1756, 2509)}


def backbone_outputs(tagger: nn.Module, x: torch.Tensor) -> np.ndarray:
    """(batch, 2509): pooled, penultimate, tag logits, std over time of the mid-end features."""
    bb = tagger.backbone
    with torch.no_grad():
        x = bb.input_bn(x.unsqueeze(1))
        front = torch.cat([bb.timbral_74(x), bb.timbral_77(x), bb.temporal_128(x), bb.temporal_64(x),
                           bb.temporal_32(x)], 1)
        m1 = bb.midend1(front)
        m2 = bb.midend2(m1) + m1
        m3 = bb.midend3(m2) + m2
        f = torch.cat([front, m1, m2, m3], 1)  # (batch, 753, time)
        pooled = bb.pool_bn(torch.stack([f.amax(2), f.mean(2)], 2).flatten(1))
        pen = bb.dense_bn(F.relu(bb.dense(pooled)))
        return torch.cat([pooled, pen, tagger.classifier(pen), f.std(2)], 1).numpy().astype(np.float32)


def extract(which: str, out: Path, config) -> Path:
    from tagger.checkpoint import read_checkpoint
    from tagger.features import cut_windows, window_starts
    from tagger.models.musicnn import Musicnn, pretrained_path
    from training.cache import FeatureCache
    from training.train import load_sources

    torch.set_num_threads(1)
    ds = load_sources(config)
    cache = FeatureCache(config.features, root=config.cache_dir)
    failed = cache.build([e.path for e in ds.examples], workers=config.workers).failed
    ds = ds.without(failed, "failed to decode")
    payload = read_checkpoint(pretrained_path(which))
    tagger = Musicnn(n_labels=len(payload["labels"]))
    tagger.load_state_dict(payload["state_dict"])
    tagger.eval()
    frames = config.features.window_frames
    emb = {}
    for e in ds.examples:
        mel = np.asarray(cache.load(e.path), dtype=np.float32)
        ev = window_starts(len(mel), frames, config.eval_windows)
        grid = list(range(0, max(1, len(mel) - frames + 1), frames // 2))
        w = cut_windows(mel, ev + grid, frames)
        o = np.concatenate([backbone_outputs(tagger, torch.from_numpy(w[j : j + 32])) for j in range(0, len(w), 32)])
        emb[str(e.path)] = (o[: len(ev)], o[len(ev) :])
    out.mkdir(parents=True, exist_ok=True)
    file = out / f"emb_{which}.pkl"
    with open(file, "wb") as fh:
        pickle.dump({"examples": ds.examples, "labels": ds.labels, "emb": emb}, fh)
    return file


def torch_head(trX, trY, vaX, vaS, vaY, n_labels, seed=0, epochs=40, patience=10, lr=1e-3, wd=1e-2, mixup=0.2,
               batch=64):
    """The default recipe's head on arrays: (window logits function, temperature)."""
    torch.manual_seed(seed)
    head = nn.Sequential(nn.Dropout(0.5), nn.Linear(trX.shape[1], n_labels))
    items = len(trX)
    bs, steps = head_epoch(items, batch)
    lr = lr * math.sqrt(bs / batch)
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=wd)
    sch = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=epochs, steps_per_epoch=steps, pct_start=0.3)
    w = class_weights(trY.numpy(), n_labels)
    best, best_state, bad = None, None, 0
    for ep in range(1, epochs + 1):
        rng = np.random.default_rng([seed, ep])
        order = rng.permutation(items)
        head.train()
        for s in range(steps):
            idx = torch.from_numpy(order[s * bs : (s + 1) * bs])
            x, y = trX[idx], trY[idx]
            lam = float(rng.beta(mixup, mixup)) if mixup > 0 else 1.0
            perm = torch.from_numpy(rng.permutation(len(x)))
            logits = head(lam * x + (1 - lam) * x[perm])
            loss = lam * F.cross_entropy(logits, y, weight=w) + (1 - lam) * F.cross_entropy(logits, y[perm], weight=w)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sch.last_epoch + 1 < sch.total_steps:
                sch.step()
        head.eval()
        with torch.no_grad():
            p = clip_probabilities(WindowLogits(head(vaX), vaS))
        score = (float((p.argmax(1) == vaY).float().mean()), -float(F.nll_loss(p.clamp_min(1e-7).log(), vaY)))
        if best is None or score > best:
            best, bad, best_state = score, 0, {k: v.clone() for k, v in head.state_dict().items()}
        else:
            bad += 1
            if bad >= patience:
                break
    head.load_state_dict(best_state)
    head.eval()
    with torch.no_grad():
        temperature = fit_temperature(WindowLogits(head(vaX), vaS), vaY.numpy())
    return head, temperature


def logistic_head(trX, trY, vaX, vaS, vaY, n_labels, seed=0, cs=(0.001, 0.01, 0.1, 1.0)):
    """Multinomial logistic regression on standardised features, balanced class weights; C by
    clip accuracy (then NLL) on the inner validation clips, never on the test fold."""
    from sklearn.linear_model import LogisticRegression

    m, s = trX.mean(0), trX.std(0) + 1e-5

    def logits_of(clf, x):
        out = torch.full((len(x), n_labels), -30.0)
        out[:, torch.from_numpy(clf.classes_)] = torch.from_numpy(clf.decision_function(((x - m) / s).numpy())).float()
        return out

    best = None
    for c in cs:
        clf = LogisticRegression(C=c, max_iter=300, class_weight="balanced").fit(((trX - m) / s).numpy(), trY.numpy())
        p = clip_probabilities(WindowLogits(logits_of(clf, vaX), vaS))
        score = (float((p.argmax(1) == vaY).float().mean()), -float(F.nll_loss(p.clamp_min(1e-7).log(), vaY)))
        if best is None or score > best[0]:
            best = (score, clf)
    clf = best[1]
    temperature = fit_temperature(WindowLogits(logits_of(clf, vaX), vaS), vaY.numpy())
    return (lambda x: logits_of(clf, x)), temperature


def run(store: dict, spec: list[tuple[str, str]], train_on: str = "eval", head: str = "recipe", folds: int = 5,
        seed: int = 0, head_seed: int = 0, standardize: bool = False, ensemble: int = 1) -> dict:
    """Cross-validated figures of one configuration. `store`: backbone name -> extract()'s pickle;
    `spec`: (backbone, part) pairs concatenated; `train_on`: eval, grid or both; `standardize`:
    the recipe's head on features scaled by the training windows' mean and sd; `ensemble`: heads
    of seeds head_seed, head_seed + 1, ... per fold, a clip's probabilities the mean of theirs
    (each head calibrated on the inner validation clips)."""
    first = store[spec[0][0]]
    examples, labels = first["examples"], first["labels"]
    index = {lab: i for i, lab in enumerate(labels)}

    def windows(exs, which):
        return [np.concatenate([store[b]["emb"][str(e.path)][which][:, PARTS[p]] for b, p in spec], axis=1)
                for e in exs]

    parts = group_folds(examples, folds, seed)
    truth, pred, sources, conf, fold_acc = [], [], [], [], []
    t0 = time.monotonic()
    for k in range(folds):
        test = parts[k]
        train, valid = inner_split([e for j, p in enumerate(parts) if j != k for e in p], seed + k)
        if train_on == "both":
            tra = [np.concatenate([a, b]) for a, b in zip(windows(train, 0), windows(train, 1), strict=True)]
        else:
            tra = windows(train, 0 if train_on == "eval" else 1)
        va, te = windows(valid, 0), windows(test, 0)
        as_tensor = lambda a: torch.from_numpy(np.ascontiguousarray(np.concatenate(a), dtype=np.float32))  # noqa: E731
        try_y = torch.from_numpy(np.repeat([index[e.label] for e in train], [len(a) for a in tra]))
        fit = torch_head if head == "recipe" else logistic_head
        trX, vaX, teX = as_tensor(tra), as_tensor(va), as_tensor(te)
        if standardize:
            m, s = trX.mean(0), trX.std(0, correction=0) + 1e-5
            trX, vaX, teX = (trX - m) / s, (vaX - m) / s, (teX - m) / s
        p = np.zeros((len(te), len(labels)), dtype=np.float32)
        for member in range(ensemble):
            f, temperature = fit(trX, try_y, vaX, [len(a) for a in va],
                                 torch.tensor([index[e.label] for e in valid]), len(labels), seed=head_seed + member)
            with torch.no_grad():
                p += clip_probabilities(WindowLogits(f(teX), [len(a) for a in te]), temperature).numpy() / ensemble
        t = [index[e.label] for e in test]
        truth += t
        pred += p.argmax(1).tolist()
        conf += p.max(1).tolist()
        sources += [e.dataset for e in test]
        fold_acc.append(float(np.mean(p.argmax(1) == np.array(t))))
    truth, pred, sources = np.array(truth), np.array(pred), np.array(sources)
    from training.evaluate import metrics

    summary = {"accuracy": float(np.mean(truth == pred)), "fold_sd": float(np.std(fold_acc)),
               "macro_f1": metrics(truth.tolist(), pred.tolist(), labels)["macro_f1"],
               "ece": expected_calibration_error(conf, truth == pred), "seconds": time.monotonic() - t0}
    summary["per_dataset"] = {s: float(np.mean(truth[sources == s] == pred[sources == s])) for s in sorted(set(sources))}
    return summary


def main(argv: list[str] | None = None) -> int:
    from training import cli

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["extract"]:
        parser = argparse.ArgumentParser(prog="python -m training.head_search extract")
        sub = parser.add_subparsers(dest="command")
        cli.add_train_parser(sub)
        which, out = argv[1], Path(argv[2])
        print(extract(which, out, cli.train_config(parser.parse_args(["train", *argv[3:]]))))
        return 0
    parser = argparse.ArgumentParser(prog="python -m training.head_search run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("store", type=Path, help="the folder extract wrote")
    parser.add_argument("spec", help="backbone:part pairs, comma-separated (parts: pooled, pen, tags, std)")
    parser.add_argument("--train-on", choices=("eval", "grid", "both"), default="eval")
    parser.add_argument("--head", choices=("recipe", "logistic"), default="recipe")
    parser.add_argument("--head-seed", type=int, default=0)
    parser.add_argument("--standardize", action="store_true", help="scale features by the training windows'")
    parser.add_argument("--ensemble", type=int, default=1, help="heads per fold (seeds from --head-seed), probabilities averaged")
    args = parser.parse_args(argv[1:] if argv[:1] == ["run"] else argv)
    torch.set_num_threads(1)
    spec = [tuple(s.split(":")) for s in args.spec.split(",")]
    store = {}
    for b in {b for b, _ in spec}:
        with open(args.store / f"emb_{b}.pkl", "rb") as fh:
            store[b] = pickle.load(fh)
    s = run(store, spec, args.train_on, args.head, head_seed=args.head_seed, standardize=args.standardize,
            ensemble=args.ensemble)
    per = " ".join(f"{k} {v:.3f}" for k, v in s["per_dataset"].items())
    print(f"{args.spec} train-on {args.train_on} head {args.head} seed {args.head_seed}{' standardized' * args.standardize}{f' ensemble {args.ensemble}' * (args.ensemble > 1)}: accuracy {s['accuracy']:.3f} "
          f"(folds sd {s['fold_sd']:.3f}) {per} macro F1 {s['macro_f1']:.3f} ECE {s['ece']:.3f} {s['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
