"""`genrenet train` and `genrenet evaluate` (also `import-musicnn`, `learn`), each setting args.func.

    genrenet train --dataset gtzan|fma|folder|library PATH [--also KIND:PATH] [--split NAME]
                   [--arch NAME] [--epochs N] [--out FILE] [--resume] [--progress-json]
    genrenet evaluate MODEL --dataset gtzan|fma|folder PATH [--split NAME] [--part PART]
                   [--report-dir DIR] [--json]

With --progress-json, train prints one JSON object per line on stdout (schema: training.events);
SIGTERM or Ctrl-C stops cleanly after the current step, keeping the best checkpoint.
"""

# Each add_*_parser(subparsers) is a "genrenet.commands" entry point (pyproject.toml), through
# which tagger/cli.py adds the command without importing training/. Importing this module must
# stay cheap and torch-free (`genrenet --help` imports it): heavy imports go inside the run_*.

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from tagger.errors import GenrenetError
from training import events
from training.config import RECOMMENDED_KWARGS, default

DEFAULT_LABELS_ARG = "default"
DEVICES = ("auto", "cpu", "cuda", "mps")


def add_train_parser(subparsers) -> argparse.ArgumentParser:
    """`genrenet train`; every default is TrainConfig's (training/config.py)."""
    p = subparsers.add_parser("train", help="train a genre model on GTZAN, FMA, a folder per genre or your library",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_data_args(p)
    p.add_argument("--also", action="append", default=[], metavar="KIND:PATH",
                   help="another dataset to train on as well (e.g. folder:~/emotify)")
    p.add_argument("--labels", help="comma-separated label set, or 'default' for the shipped model's")
    p.add_argument("--arch", default=default("arch"),
                   help="architecture (see `genrenet train --list-archs`); default %(default)s: the pretrained "
                        "musicnn backbone, frozen, with a genre head, by far the best on small data "
                        "(0.75 in cross-validation on 380 clips, where compact_cnn from scratch stays near chance)")
    p.add_argument("--arch-kwargs", default="{}",
                   help="JSON object of extra architecture arguments (added to the recommended ones: "
                        + ", ".join(f"{arch} {json.dumps(kw)}" for arch, kw in RECOMMENDED_KWARGS.items()) + ")")
    p.add_argument("--pretrained", default=default("pretrained"),
                   help="musicnn_transfer backbone: msd, mtt or a checkpoint path (default %(default)s)")
    p.add_argument("--epochs", type=int, default=default("epochs"), help="default %(default)s")
    p.add_argument("--batch-size", type=int, default=default("batch_size"), help="default %(default)s")
    p.add_argument("--lr", type=float, default=default("lr"), help="peak learning rate (default %(default)s)")
    p.add_argument("--weight-decay", type=float, default=default("weight_decay"), help="default %(default)s")
    p.add_argument("--patience", type=int, default=default("patience"),
                   help="epochs without improvement before stopping (default %(default)s)")
    p.add_argument("--mixup", type=float, default=default("mixup"), help="mixup alpha, 0 disables (default %(default)s)")
    p.add_argument("--no-spec-augment", dest="spec_augment", action="store_false", default=default("spec_augment"))
    p.add_argument("--no-class-weights", dest="class_weights", action="store_false", default=default("class_weights"))
    p.add_argument("--crops-per-clip", type=int, default=default("crops_per_clip"), help="default %(default)s")
    p.add_argument("--windows", type=int, default=default("eval_windows"),
                   help="windows per clip for validation (and, for a frozen backbone, for training); default %(default)s")
    p.add_argument("--train-hop", type=float, default=default("train_hop"), metavar="SECONDS",
                   help="frozen backbone: train the head on a window every SECONDS over the whole clip "
                        "(e.g. 1.5, half a window) instead of on the --windows windows")
    p.add_argument("--seed", type=int, default=default("seed"), help="default %(default)s")
    p.add_argument("--device", default=default("device"), choices=DEVICES)
    p.add_argument("--workers", type=int, default=default("workers"),
                   help="decoding processes for the feature cache (default %(default)s)")
    p.add_argument("--cache-dir", type=Path, help="feature cache folder (default: the user cache)")
    p.add_argument("--out", type=Path, default=default("out"), help="checkpoint to write (default %(default)s)")
    p.add_argument("--resume", action="store_true", help="continue from OUT.state.pt")
    p.add_argument("--max-steps", type=int, help="stop after this many optimiser steps")
    p.add_argument("--progress-json", action="store_true", help="print one JSON object per step/epoch")
    p.add_argument("--list-archs", action="store_true", help="list the architectures and exit")
    p.set_defaults(func=run_train)
    return p


def add_evaluate_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("evaluate", help="measure a model on a labelled dataset")
    p.add_argument("model", type=Path, help="checkpoint (.pt)")
    _add_data_args(p)
    p.add_argument("--part", choices=("test", "valid", "train", "all"),
                   help="which part of the split (default: test when the split has one, else valid; "
                        "all clips when no --split is given)")
    p.add_argument("--windows", type=int, default=default("eval_windows"), help="windows per clip (default %(default)s)")
    p.add_argument("--seed", type=int, default=default("seed"), help="seed of the random split")
    p.add_argument("--device", default=default("device"), choices=DEVICES)
    p.add_argument("--workers", type=int, default=default("workers"))
    p.add_argument("--cache-dir", type=Path)
    p.add_argument("--report-dir", type=Path, help="write summary.json and PNGs here")
    p.add_argument("--json", action="store_true", help="print the JSON summary on stdout")
    p.set_defaults(func=run_evaluate)
    return p


def add_import_musicnn_parser(subparsers) -> argparse.ArgumentParser:
    return configure_import_musicnn(subparsers.add_parser(
        "import-musicnn", help="convert musicnn's pretrained TensorFlow models to genrenet models",
        description="Convert the TensorFlow checkpoints inside the musicnn 0.1.0 wheel into genrenet models."))


def configure_import_musicnn(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("source", nargs="?", type=Path,
                        help="musicnn-0.1.0 wheel or unpacked folder (default: download with pip)")
    parser.add_argument("--out-dir", type=Path, default=Path("."),
                        help="where to write msd_musicnn.pt and mtt_musicnn.pt (default: .)")
    parser.add_argument("--model", choices=("msd", "mtt"), action="append", dest="models",
                        help="convert only this model (repeatable; default: both)")
    parser.set_defaults(func=run_import_musicnn)
    return parser


def run_import_musicnn(args: argparse.Namespace) -> int:
    from training.import_musicnn import run  # the converter needs torch; --help does not

    return run(args)


KINDS = ("gtzan", "fma", "folder", "library")


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", nargs="+", metavar=("KIND", "PATH"),
                   help=f"kind of dataset ({', '.join(KINDS)}) and its folder (library: optional root)")
    p.add_argument("--subset", choices=("small", "medium", "large"), help="FMA subset (default: from the folder)")
    p.add_argument("--split", default=None,
                   help=f"{default('split')} (default for train), fault_filtered (GTZAN), official (FMA)")


def _dataset_arg(args: argparse.Namespace) -> tuple[str, Path | None]:
    """(kind, path) from `--dataset KIND [PATH]`. Raises GenrenetError with the usage."""
    if not args.dataset:
        raise GenrenetError("--dataset KIND PATH is required")
    kind, rest = args.dataset[0], args.dataset[1:]
    if kind not in KINDS:
        raise GenrenetError(f"unknown dataset kind {kind!r} (choose from {', '.join(KINDS)})")
    if len(rest) > 1:
        raise GenrenetError("--dataset takes a kind and one folder")
    if not rest and kind != "library":
        raise GenrenetError(f"--dataset {kind} needs the dataset folder")
    return kind, Path(rest[0]).expanduser() if rest else None


def _labels(arg: str | None) -> tuple[str, ...] | None:
    from training.datasets import DEFAULT_LABELS

    if not arg:
        return None
    if arg == DEFAULT_LABELS_ARG:
        return DEFAULT_LABELS
    return tuple(x.strip() for x in arg.split(",") if x.strip())


def _source(spec: str):
    from training.config import Source

    kind, _, path = spec.partition(":")
    if not path:
        raise GenrenetError(f"--also expects KIND:PATH, got {spec!r}")
    return Source(kind, Path(path).expanduser(), name=Path(path).name if kind == "folder" else None)


def train_config(args: argparse.Namespace):
    """The TrainConfig the train arguments describe. Raises GenrenetError or ValueError."""
    from training.config import Source, TrainConfig

    kind, path = _dataset_arg(args)
    arch_kwargs = json.loads(args.arch_kwargs)
    if not isinstance(arch_kwargs, dict):
        raise GenrenetError("--arch-kwargs must be a JSON object")
    arch_kwargs = {**RECOMMENDED_KWARGS.get(args.arch, {}), **arch_kwargs}
    from tagger import models

    models.check_arguments(args.arch, arch_kwargs)  # a typo fails now, not after decoding every clip
    sources = [Source(kind, path, args.subset, name=path.name if kind == "folder" and path else None)]
    sources += [_source(s) for s in args.also]
    return TrainConfig(
        sources=sources, out=args.out, arch=args.arch, arch_kwargs=arch_kwargs, labels=_labels(args.labels),
        split=args.split or default("split"), seed=args.seed, epochs=args.epochs, batch_size=args.batch_size,
        lr=args.lr, weight_decay=args.weight_decay, patience=args.patience, mixup=args.mixup,
        spec_augment=args.spec_augment, class_weights=args.class_weights,
        crops_per_clip=args.crops_per_clip, eval_windows=args.windows, train_hop=args.train_hop, pretrained=args.pretrained, device=args.device,
        workers=args.workers, resume=args.resume, max_steps=args.max_steps, cache_dir=args.cache_dir,
    )


def run_train(args: argparse.Namespace) -> int:
    """`genrenet train` (also `python -m training.cli train`, under torchrun or not)."""
    return end_distributed(_train(args))


def _train(args: argparse.Namespace) -> int:
    from tagger import models
    from training.train import train

    if args.list_archs:
        print("\n".join(models.available()))
        return 0
    emit = _json_printer() if args.progress_json else _text_printer()
    cancel = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():  # signal handlers live in the main thread
        previous = {s: signal.signal(s, lambda *_: cancel.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        config = train_config(args)
        result = train(config, progress=emit, cancel=cancel)
    except (GenrenetError, ValueError, KeyError, OSError) as exc:  # per-run errors, clearly worded
        message = str(exc).strip("'\"") or type(exc).__name__
        if args.progress_json:
            print(events.serialize(events.Error(message)), flush=True)
        print(f"genrenet train: {message}", file=sys.stderr)
        return 1
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if not args.progress_json:
        where = result.checkpoint or "no checkpoint (no epoch finished)"
        acc = f"{result.val_accuracy:.3f}" if result.val_accuracy is not None else "-"
        print(f"{result.stopped}: best epoch {result.best_epoch}, validation accuracy {acc}, "
              f"temperature {result.temperature:.2f}, {result.seconds:.0f} s -> {where}")
        if result.skipped:
            print(f"skipped {len(result.skipped)} clips (first: {result.skipped[0][0]}: {result.skipped[0][1]})")
    return 0 if result.stopped != "cancelled" or result.checkpoint else 1


def run_evaluate(args: argparse.Namespace) -> int:
    from tagger.checkpoint import load_checkpoint
    from tagger.device import resolve_device
    from tagger.progress import ProgressLine
    from training.datasets import read_dataset
    from training.evaluate import evaluate, write_reports
    from training.splitting import make_split

    try:
        kind, path = _dataset_arg(args)
        model = load_checkpoint(args.model, resolve_device(args.device))
        dataset = read_dataset(kind, path, subset=args.subset,
                               labels=model.labels if kind in ("folder", "library") else None)
        examples = dataset.examples
        part = args.part or "all"
        if args.split:
            split = make_split(dataset, args.split, args.seed)
            part = args.part or ("test" if split.test else "valid")
            examples = split.part(part) if part != "all" else examples
        summary = evaluate(model, examples, cache_root=args.cache_dir, max_windows=args.windows,
                           workers=args.workers, progress=ProgressLine("features"))
    except (GenrenetError, ValueError, OSError) as exc:
        print(f"genrenet evaluate: {exc}", file=sys.stderr)
        return 1
    summary.update(model=str(args.model), dataset=dataset.name, split=args.split, part=part)
    if args.report_dir:
        write_reports(summary, args.report_dir, model.metrics.get("history", []), title=dataset.name)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{dataset.name} ({part}): accuracy {summary['accuracy']:.3f} on {summary['clips']} clips, "
              f"macro F1 {summary['macro_f1']:.3f}, {len(summary['skipped'])} skipped")
        for label, c in summary["per_class"].items():
            if c["support"]:
                print(f"  {label:<14} precision {c['precision']:.2f}  recall {c['recall']:.2f}  "
                      f"F1 {c['f1']:.2f}  ({c['support']})")
    return 0


def _json_printer():
    def emit(event: dict) -> None:
        print(json.dumps(event), flush=True)

    return emit


def _text_printer():
    def emit(event: dict) -> None:
        kind = event["event"]
        if kind == "start":
            print(f"training {event['arch']} on {event['train_clips']} clips, validating on "
                  f"{event['valid_clips']} ({len(event['labels'])} labels, {event['device']})", file=sys.stderr)
        elif kind == "epoch":
            mark = " *" if event["best"] else ""
            print(f"epoch {event['epoch']}/{event['epochs']}: loss {event['train_loss']:.3f}, "
                  f"val loss {event['val_loss']:.3f}, val accuracy {event['val_accuracy']:.3f} "
                  f"({event['seconds']:.0f} s){mark}", file=sys.stderr)

    return emit


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (python -m training.cli train ...), e.g. under torchrun."""
    parser = argparse.ArgumentParser(prog="genrenet")
    sub = parser.add_subparsers(dest="command", required=True)
    add_train_parser(sub)
    add_evaluate_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def add_learn_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "learn", help="train a genre model on the genres your own files carry (and your review decisions)",
        description="Learn a genre model from your library: every track whose genre (in the genre tree's "
                    "spelling) or review decision gives a genre with at least --min-tracks tracks. Prints a "
                    "cross-validated estimate beside the default model's accuracy on the same tracks.")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="music folders or files")
    p.add_argument("--out", type=Path, default=Path("genrenet_learned.pt"), help="checkpoint to write")
    p.add_argument("--min-tracks", type=int, default=5, help="fewest tracks a genre needs to be learned (default 5)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    p.add_argument("--seed", type=int, default=default("seed"))
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    p.add_argument("--progress-json", action="store_true",
                   help="print one JSON object per progress event on stdout, the report last as "
                        '{"event": "learned", ...} (what the app reads)')
    p.set_defaults(func=run_learn)
    return p


def run_learn(args: argparse.Namespace) -> int:
    from tagger.settings import load_settings
    from tagger.taxonomy import Taxonomy
    from training.learn import learn

    if args.min_tracks < 2 or args.folds < 2:
        raise GenrenetError("--min-tracks and --folds must be at least 2")
    settings = load_settings()
    taxonomy = Taxonomy.load(settings.genre_map, merges=settings.genre_merges)

    def progress(event: dict) -> None:
        if args.progress_json:  # learn's events (events.LEARN), one JSON line each
            print(json.dumps(event, ensure_ascii=False), flush=True)
            return
        if event.get("event") == "embeddings":
            print(f"\rembedding tracks: {event['done']}/{event['total']}", end="", file=sys.stderr, flush=True)
        elif event.get("event") == "fold":
            print(f"\nfold {event['fold']}: accuracy {event['accuracy']:.3f} on {event['test_clips']} tracks",
                  file=sys.stderr, flush=True)

    from tagger.classify import load_model

    current = load_model(Path(settings.model_path) if settings.model_path else None, settings.device)
    report = learn(args.paths, args.out, min_tracks=args.min_tracks, folds=args.folds, seed=args.seed,
                   progress=progress, taxonomy=taxonomy, default_model=current)
    learned = events.Learned(
        checkpoint=str(report.checkpoint) if report.checkpoint else None, labels=report.labels,
        tracks=report.counts, skipped=dict(report.skipped), folds=report.folds,
        cross_validated_accuracy=report.cv_accuracy, default_model_accuracy=report.default_accuracy,
        seconds=round(report.seconds, 1))
    if args.progress_json:
        print(events.serialize(learned), flush=True)
    elif args.json:
        summary = learned.to_dict()
        del summary["event"]
        print(json.dumps(summary, ensure_ascii=False))
    else:
        counts = ", ".join(f"{label} {n}" for label, n in report.counts.items())
        print(f"learned {len(report.labels)} genres from {sum(report.counts.values())} tracks ({counts})")
        if report.skipped:
            print("left out: " + ", ".join(f"{n} ({reason})" for reason, n in report.skipped.items()))
        default = "n/a" if report.default_accuracy is None else f"{report.default_accuracy:.3f}"
        print(f"cross-validated accuracy ({report.folds} folds, by album folder): {report.cv_accuracy:.3f}; "
              f"the model you use now on the same tracks: {default}")
        print(f"wrote {report.checkpoint} (use it: genrenet classify --model {report.checkpoint}, or Settings -> Model)"
              if report.checkpoint else "no checkpoint was written")
    return 0


def end_distributed(code: int) -> int:
    """In a process of a distributed run (torchrun, WORLD_SIZE > 1), end the process here with
    `code`, without C++'s static destructors: there, about one run in five on a 2-core machine
    aborted after its work was done ("terminate called without an active exception", no Python
    frame: a library's thread object destroyed while still running at interpreter exit), and
    torchrun then reports the whole run failed. Output is flushed and logging shut down first.
    Anywhere else, return `code`."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return code
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
