"""`genrenet`: the core from the command line, stable for scripts.

Exit codes: 0 done (per-file errors do not change it; they are printed, or reported with
status "error" under --json), 1 the job could not run (no usable model, bad decisions file, ...),
2 bad usage. With --json, stdout carries JSON Lines, one object per file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tagger import __version__
from tagger.errors import GenrenetError
from tagger.progress import ProgressLine
from tagger.track import Decision, Track


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.cache_dir:
        os.environ["GENRENET_CACHE_DIR"] = str(Path(args.cache_dir).expanduser())
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except GenrenetError as exc:
        print(f"genrenet: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("genrenet: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genrenet", description="Genre tags for your music, computed from the audio on your machine."
    )
    parser.add_argument("--version", action="version", version=f"genrenet {__version__}")
    parser.add_argument("--cache-dir", help="library cache folder (default: env GENRENET_CACHE_DIR, else the cache_dir setting, else the user cache dir)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("scan", help="list audio files with the genres they carry today")
    _add_paths(p)
    _add_json(p)
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("classify", help="predict a genre and a confidence for every track")
    _add_paths(p)
    _add_model(p)
    p.add_argument("--top-k", type=int, default=3, help="how many genres to list per track (default 3)")
    _add_json(p)
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("apply", help="write predicted (or reviewed) genres into the files' ID3 tags")
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="music files or folders")
    _add_model(p)
    p.add_argument("--min-confidence", type=float, default=None,
                   help="write only predictions at or above this confidence (default: the review threshold setting)")
    p.add_argument("--decisions", type=Path, help='write a reviewed list instead: JSON [{"path": ..., "genre": ...}]')
    p.add_argument("--id3-version", type=int, choices=(3, 4), default=None,
                   help="ID3 version for files without a tag (default: settings, 3)")
    p.add_argument("--genres", type=int, default=None, help="how many top genres to write (default: settings, 1)")
    p.add_argument("--dry-run", action="store_true", help="show what would be written; write nothing")
    p.add_argument("--force", action="store_true", help="also write files that changed since they were scanned")
    _add_json(p)
    p.set_defaults(func=cmd_apply)

    p = sub.add_parser("undo", help="put back the genres a write replaced (default: the last write)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--batch", type=int, help="undo this write batch (see `genrenet history`)")
    group.add_argument("--all", action="store_true", help="undo every write not yet undone, newest first")
    _add_json(p)
    p.set_defaults(func=cmd_undo)

    p = sub.add_parser("history", help="list write batches")
    _add_json(p)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("gui", help="open the desktop app")
    p.add_argument("folder", nargs="?", type=Path, help="music folder to open")
    p.add_argument("--screenshot", type=Path, help="classify FOLDER, save a PNG of the window and quit")
    p.set_defaults(func=cmd_gui)

    _add_training_commands(sub)
    return parser


def _add_training_commands(sub: argparse._SubParsersAction) -> None:
    """Training commands live in training/ and register their own parsers."""
    from training import cli as training_cli

    training_cli.add_train_parser(sub)
    training_cli.add_evaluate_parser(sub)
    training_cli.add_import_musicnn_parser(sub)


def _add_paths(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="music files or folders")


def _add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="JSON Lines on stdout, one object per file")


def _add_model(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=Path, help="model file (default: the shipped genre model)")
    p.add_argument("--device", default=None, choices=("auto", "cpu", "cuda", "mps"),
                   help="where the model runs (default: settings, auto)")
    p.add_argument("--windows", type=int, default=None,
                   help="analysis windows spread over each track (default: settings, 8)")


# --- commands -------------------------------------------------------------------------------


def cmd_scan(args: argparse.Namespace) -> int:
    report = _scan(args.paths)
    out = Output(args.json)
    for track in report.tracks:
        out.file(track.path, track.error, _track_fields(track),
                 text=f"{track.current_genre or '-':<20} {_who(track):<40} {track.path}")
    for path, error in _non_track_errors(report):
        out.file(path, error, {}, text="")
    out.summary(f"{len(report.tracks)} files ({report.new} new, {report.changed} changed, "
                f"{report.unchanged} unchanged, {report.removed} removed), {len(report.errors)} errors")
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from tagger.settings import load_settings

    settings = load_settings()
    model = _load_model(args, settings)
    taxonomy = _taxonomy(settings)
    report = _scan(args.paths)
    out = Output(args.json)
    for track, result in _classify(report.tracks, model, args, settings):
        fields = _track_fields(track)
        if result.prediction is not None:
            top = [(taxonomy.name_for(label), p) for label, p in result.prediction.top(args.top_k)]
            fields.update(genre=top[0][0], confidence=round(top[0][1], 4),
                          top=[[g, round(p, 4)] for g, p in top])
            text = f"{top[0][1]:5.2f}  {top[0][0]:<16} (now: {track.current_genre or '-'})  {track.path}"
        else:
            fields.update(genre=None, confidence=None, top=[])
            text = ""
        out.file(track.path, result.error, fields, text=text)
    for path, error in _non_track_errors(report):
        out.file(path, error, {"genre": None, "confidence": None, "top": [], "current_genre": None}, text="")
    out.summary(f"{out.ok} classified, {out.errors} errors")
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    from tagger.settings import load_settings

    settings = load_settings()
    out = Output(args.json)
    if args.decisions:
        decisions = _read_decisions(args.decisions)
    elif args.paths:
        decisions = _decisions_from_predictions(args, settings, out)
    else:
        print("genrenet apply: give music folders/files, or --decisions FILE", file=sys.stderr)
        return 2
    if args.dry_run:
        for d in decisions:
            out.file(d.path, None, {"genre": list(d.genres), "written": False},
                     text=f"would write {'; '.join(d.genres):<24} {d.path}")
        out.summary(f"dry run: {len(decisions)} files would be written")
        return 0
    from tagger.journal import Journal

    progress = ProgressLine("writing")
    report = Journal().write_batch(
        decisions,
        id3_version=args.id3_version or settings.id3_version,
        separator=settings.separator,
        force=args.force,
        description=f"genrenet apply ({len(decisions)} files)",
        progress=progress,
    )
    errors = dict(report.errors)
    for d in decisions:
        written = d.path in report.written
        out.file(d.path, errors.get(d.path), {"genre": list(d.genres), "written": written},
                 text=f"wrote {'; '.join(d.genres):<24} {d.path}" if written else "")
    batch = f" as batch {report.batch_id} (undo: genrenet undo --batch {report.batch_id})" if report.batch_id else ""
    out.summary(f"{len(report.written)} files written{batch}, {len(report.errors)} errors")
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    from tagger.journal import Journal

    journal = Journal()
    reports = journal.undo_all() if args.all else [journal.undo(args.batch)]
    out = Output(args.json)
    for report in reports:
        for path in report.restored:
            out.file(path, None, {"batch": report.batch_id, "restored": True}, text=f"restored {path}")
        for path, error in report.errors:
            out.file(path, error, {"batch": report.batch_id, "restored": False}, text="")
    out.summary(f"{out.ok} files restored, {out.errors} errors")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from tagger.journal import Journal

    batches = Journal().history()
    for b in batches:
        if args.json:
            print(json.dumps({"batch": b.id, "created_at": b.created_at, "description": b.description,
                              "files": b.file_count, "undone": b.undone}, ensure_ascii=False))
        else:
            state = "undone" if b.undone else "active"
            print(f"{b.id:>5}  {b.created_at}  {b.file_count:>6} files  {state:<7} {b.description}")
    if not batches and not args.json:
        print("no writes yet", file=sys.stderr)
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    from gui.app import main as gui_main

    argv = [str(args.folder)] if args.folder else []
    if args.screenshot:
        argv += ["--screenshot", str(args.screenshot)]
    return gui_main(argv)


# --- pieces ---------------------------------------------------------------------------------


class Output:
    """Per-file lines (text, or JSON Lines with path/status/error) and a summary on stderr."""

    def __init__(self, as_json: bool):
        self.as_json = as_json
        self.ok = 0
        self.errors = 0

    def file(self, path: Path, error: str | None, fields: dict[str, Any], *, text: str) -> None:
        if error:
            self.errors += 1
        else:
            self.ok += 1
        if self.as_json:
            record = {"path": str(path), "status": "error" if error else "ok", "error": error, **fields}
            print(json.dumps(record, ensure_ascii=False), flush=True)
        elif error:
            print(f"error: {path}: {error}", file=sys.stderr)
        elif text:
            print(text, flush=True)

    def summary(self, line: str) -> None:
        print(line, file=sys.stderr)


def _scan(paths: Iterable[Path]):
    from tagger.library import Library

    roots = [Path(p).expanduser() for p in paths]
    missing = [str(p) for p in roots if not p.exists()]
    if missing:
        raise GenrenetError(f"no such file or folder: {', '.join(missing)}")
    progress = ProgressLine("scanning")
    return Library().scan(roots, progress=progress)


def _non_track_errors(report) -> list[tuple[Path, str]]:
    """Scan errors that are not already shown as a Track with an error (unreadable folders...)."""
    shown = {t.path for t in report.tracks}
    return [(p, e) for p, e in report.errors if p not in shown]


def _load_model(args: argparse.Namespace, settings):
    from tagger.classify import load_model

    path = args.model or (Path(settings.model_path) if settings.model_path else None)
    return load_model(path, device=args.device or settings.device)


def _taxonomy(settings):
    from tagger.taxonomy import Taxonomy

    return Taxonomy.load(settings.genre_map)


def _classify(tracks: Sequence[Track], model, args, settings):
    """(track, ClassifyResult) for each track; cached predictions reused."""
    from tagger.classify import classify_tracks
    from tagger.library import Library

    by_path = {t.path: t for t in tracks}
    readable = [t for t in tracks if t.error is None]
    for t in tracks:
        if t.error is not None:
            yield t, _Failed(t.path, t.error)
    progress = ProgressLine("classifying")
    for result in classify_tracks(Library(), readable, model,
                                  max_windows=args.windows or settings.windows_per_track, progress=progress):
        yield by_path[result.path], result


class _Failed:
    def __init__(self, path: Path, error: str):
        self.path, self.error, self.prediction = path, error, None


def _decisions_from_predictions(args, settings, out: Output) -> list[Decision]:
    from tagger.taxonomy import genres_for

    model = _load_model(args, settings)
    if model.output != "softmax":
        raise GenrenetError(f"{model.path.name} is a tagger (independent tags), not a genre model; "
                            "apply needs a genre model")
    taxonomy = _taxonomy(settings)
    threshold = settings.review_threshold if args.min_confidence is None else args.min_confidence
    count = args.genres or settings.genres_to_write
    report = _scan(args.paths)
    decisions = []
    for track, result in _classify(report.tracks, model, args, settings):
        if result.prediction is None:
            out.file(track.path, result.error, {"written": False}, text="")
            continue
        genres = genres_for(result.prediction.top(count), taxonomy, count)
        if result.prediction.confidence < threshold or genres == track.genres:
            continue
        decisions.append(Decision(track.path, genres, expected=track.fingerprint))
    return decisions


def _read_decisions(path: Path) -> list[Decision]:
    """A reviewed list: JSON [{"path": ..., "genre": "Rock" | ["Rock", "Blues"]}, ...]."""
    from tagger.library import Library

    try:
        items = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GenrenetError(f"cannot read decisions file {path}: {exc}") from None
    if not isinstance(items, list):
        raise GenrenetError(f"{path}: expected a JSON list of {{\"path\": ..., \"genre\": ...}}")
    known = {t.path: t.fingerprint for t in Library().tracks()}
    decisions = []
    for i, item in enumerate(items):
        genre = item.get("genre") if isinstance(item, dict) else None
        if not isinstance(item, dict) or not isinstance(item.get("path"), str) or not genre:
            raise GenrenetError(f"{path}: entry {i} needs a \"path\" and a \"genre\"")
        genres = (genre,) if isinstance(genre, str) else tuple(str(g) for g in genre)
        file = Path(item["path"]).expanduser().absolute()
        decisions.append(Decision(file, genres, expected=known.get(file)))
    return decisions


def _track_fields(track: Track) -> dict[str, Any]:
    return {"title": track.title, "artist": track.artist, "album": track.album,
            "current_genre": track.current_genre, "duration": track.duration}


def _who(track: Track) -> str:
    return " - ".join(x for x in (track.artist, track.title) if x) or "-"

