"""`genrenet`: the core from the command line, stable for scripts.

Exit codes: 0 done (per-file errors do not change it; they are printed, or reported with
status "error" under --json), 1 the job could not run (no usable model, bad decisions file, ...),
2 bad usage. With --json, stdout carries JSON Lines, one object per file.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from tagger import __version__
from tagger.errors import FileError, GenrenetError
from tagger.library import Library
from tagger.progress import ProgressLine
from tagger.review import (
    DECIDED,
    Plan,
    Review,
    ReviewItem,
    Skip,
    WritePolicy,
    clean_genres,
    review_order,
)
from tagger.review_store import ReviewStore
from tagger.scan import path_order_key, read_track
from tagger.tags import SUPPORTED_FORMATS, genre_problem
from tagger.text import counted
from tagger.track import DecisionStatus, Fingerprint, Track

_LISTED = (DecisionStatus.PENDING, DecisionStatus.ACCEPTED, DecisionStatus.REJECTED,
           DecisionStatus.EDITED, DecisionStatus.WRITTEN)


def run() -> int:
    """The `genrenet` command: main() with decoder noise kept off the terminal (tagger.quiet)."""
    from tagger.quiet import filter_decoder_noise

    filter_decoder_noise()
    return main()


def main(argv: Sequence[str] | None = None) -> int:
    _raw_file_names_on_the_terminal()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.cache_dir:
        os.environ["GENRENET_CACHE_DIR"] = str(Path(args.cache_dir).expanduser())
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"genrenet {args.command}: {exc}", file=sys.stderr)
        return 2
    except GenrenetError as exc:
        print(f"genrenet: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("genrenet: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `genrenet scan ... | head`: the reader left; the job is done
        sys.stderr.close()
        return 0


def _raw_file_names_on_the_terminal() -> None:
    """File names that are not valid UTF-8 (os.fsdecode keeps their bytes as surrogates) are
    printed as their own bytes, like `ls` does, instead of failing after the work is done."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="surrogateescape")
            except (ValueError, OSError):
                pass


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
    p.add_argument("--top-k", type=_positive_int, default=3, help="how many genres to list per track (default 3)")
    _add_json(p)
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser(
        "review", help="list the review queue, or decide: review accept|reject|reset PATH..., review set PATH... --genre G",
        description="Without an action: the review of PATHs (default: every scanned track), least confident first. "
                    "Actions: accept PATH... (take the suggestion), reject PATH... (keep the file as it is), "
                    "reset PATH... (back to pending), set PATH... --genre G [--genre G2] (your own genres). "
                    "Decisions are kept between runs and shared with the app.")
    p.add_argument("paths", nargs="*", metavar="[ACTION] PATH", help="music files or folders, after an optional action")
    p.add_argument("--status", choices=[s.value for s in _LISTED] + ["all"], default="pending",
                   help="which tracks to list (default: pending)")
    p.add_argument("--genre", action="append", default=None, metavar="G", help="with set: a genre to write (repeat for several)")
    _add_model(p)
    _add_json(p)
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("apply", help="write predicted (or reviewed) genres into the files' own genre fields")
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="music files or folders")
    _add_model(p)
    source = p.add_mutually_exclusive_group()
    source.add_argument("--reviewed", action="store_true",
                        help="write the accepted and edited decisions of the review (under PATHs, if given)")
    source.add_argument("--decisions", type=Path, help='write a reviewed list instead: JSON [{"path": ..., "genre": ...}]')
    source.add_argument("--canonicalize", action="store_true",
                        help="rewrite the genres the files carry in the genre tree's spelling (see `genrenet genres`); "
                             "no model, no review")
    p.add_argument("--min-confidence", type=_probability, default=None,
                   help="write only predictions at or above this confidence, 0..1 (default: the review threshold setting)")
    p.add_argument("--policy", choices=[x.value for x in WritePolicy], default=None,
                   help="what to do with files that already have a genre: fill-missing (leave them), replace, "
                        "or add (keep theirs, add the new one); default: the write_policy setting, fill-missing. "
                        "Decisions you made in review are written as you made them.")
    p.add_argument("--id3-version", type=int, choices=(3, 4), default=None,
                   help="ID3 version for mp3 files without a tag (default: settings, 3)")
    p.add_argument("--genres", type=_int_in(1, 5), default=None, help="how many top genres to write, 1..5 (default: settings, 1)")
    p.add_argument("--styles", default=None, choices=("genre", "genre+style", "style"),
                   help="write the genre, the genre and its style beneath it, or the style (default: settings, genre)")
    p.add_argument("--dry-run", action="store_true", help="show what would be written, and why files are left alone; write nothing")
    p.add_argument("--force", action="store_true", help="also write files that changed since they were scanned")
    p.add_argument("--keep-mtime", action="store_true", default=None,
                   help="keep each file's modification time (default: the keep_mtime setting, off)")
    _add_json(p)
    p.set_defaults(func=cmd_apply)

    p = sub.add_parser("undo", help="put back the genres a write replaced (default: the last write)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--batch", type=_positive_int, help="undo this write batch (see `genrenet history`)")
    group.add_argument("--all", action="store_true", help="undo every write not yet undone, newest first")
    _add_json(p)
    p.set_defaults(func=cmd_undo)

    p = sub.add_parser("genres", help="the genre values in your files, with counts and their canonical names")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="music files or folders")
    _add_json(p)
    p.set_defaults(func=cmd_genres)

    p = sub.add_parser("history", help="list write batches")
    p.add_argument("--check", action="store_true",
                   help="check the journal's health: integrity, files undo could not restore yet, leftover temporary files")
    _add_json(p)
    p.set_defaults(func=cmd_history)

    add_plugin_commands(sub)
    return parser


COMMANDS_GROUP = "genrenet.commands"
# Where --help lists the commands other packages register, after the core's (entry points come
# sorted by name); others follow by name. Naming them here imports nothing.
PLUGIN_ORDER = ("gui", "train", "evaluate", "import-musicnn", "learn")


def add_plugin_commands(sub: argparse._SubParsersAction, plugins: Iterable[EntryPoint] | None = None) -> None:
    """The commands other packages register (gui/, training/): each entry point of the
    "genrenet.commands" group (pyproject.toml) is named after its command and points at a function
    that takes these subparsers and adds the command's parser, with set_defaults(func=...).

    A plugin that cannot be loaded leaves its command out of --help; `genrenet COMMAND` then says
    why in one line (exit status 1), and every other command works as before."""
    plugins = entry_points(group=COMMANDS_GROUP) if plugins is None else plugins
    rank = {name: i for i, name in enumerate(PLUGIN_ORDER)}
    for plugin in sorted(plugins, key=lambda p: (rank.get(p.name, len(rank)), p.name)):
        if plugin.name in sub.choices:  # a core command, or a second plugin of the same name
            continue
        try:
            plugin.load()(sub)
        except Exception as exc:  # a broken plugin must not take the core commands with it
            _add_unavailable(sub, plugin, exc)


def _add_unavailable(sub: argparse._SubParsersAction, plugin: EntryPoint, exc: Exception) -> None:
    reason = " ".join(f"{plugin.value} did not load ({type(exc).__name__}: {exc})".split())  # one line

    def unavailable(args: argparse.Namespace) -> int:
        print(f"genrenet {plugin.name}: this command is not available: {reason}", file=sys.stderr)
        return 1

    # no help: left out of `genrenet --help`; every argument, even "-h", is taken as a plain word
    # (prefix_chars), so that `genrenet COMMAND ...` always comes here and says why
    parser = sub.choices.get(plugin.name) or sub.add_parser(plugin.name, add_help=False, prefix_chars="\0")
    parser.add_argument("_ignored", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.set_defaults(func=unavailable)


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:  # also NaN
        hint = f" (for {value:g} %, give {value / 100:g})" if 1 < value <= 100 else ""
        raise argparse.ArgumentTypeError(f"{text} is not a confidence between 0 and 1{hint}")
    return value


def _int_in(lo: int, hi: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < lo or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(
                f"{value} is out of range (from {lo}{f' to {hi}' if hi is not None else ' up'})")
        return value

    parse.__name__ = "number"
    return parse


_positive_int = _int_in(1)


def _add_paths(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="music files or folders")


def _add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="JSON Lines on stdout, one object per file")


def _add_model(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=Path, help="model file (default: the shipped genre model)")
    p.add_argument("--device", default=None, choices=("auto", "cpu", "cuda", "mps"),
                   help="where the model runs (default: settings, auto)")
    p.add_argument("--windows", type=_int_in(1, 64), default=None,
                   help="analysis windows spread over each track, 1..64 (default: settings, 8)")
    p.add_argument("--speed", default=None, choices=("exact", "adaptive", "fast"),
                   help="exact: every window; adaptive: stop once the first windows agree; "
                        "fast: the small distilled model (default: settings, exact)")


# --- commands -------------------------------------------------------------------------------


def cmd_scan(args: argparse.Namespace) -> int:
    report = _scan(args.paths)
    out = Output(args.json)
    for track in report.tracks:
        out.file(track.path, track.error, _track_fields(track),
                 text=f"{track.current_genre or '-':<20} {_who(track):<40} {track.path}")
    for path, error in _non_track_errors(report):
        out.file(path, error, {}, text="")
    out.summary(f"{counted(len(report.tracks), 'file')} ({report.new} new, {report.changed} changed, "
                f"{report.unchanged} unchanged, {report.removed} removed), {counted(len(report.errors), 'error')}")
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from tagger.settings import load_settings

    settings = load_settings()
    model = _load_model(args, settings)
    taxonomy = _taxonomy(settings)
    report = _scan(args.paths)
    out = Output(args.json)
    # in path order, and after the progress line is done (results come in completion order)
    results = sorted(_classify(report.tracks, model, args, settings), key=lambda tr: path_order_key(str(tr[0].path)))
    for track, result in results:
        fields = _track_fields(track)
        if result.prediction is not None:
            top = [(taxonomy.name_for(label), p) for label, p in result.prediction.top(args.top_k)]
            styles = taxonomy.styles(result.prediction, top[0][0])
            fields.update(genre=top[0][0], confidence=round(top[0][1], 4),
                          top=[[g, round(p, 4)] for g, p in top], styles=[[s, round(p, 4)] for s, p in styles])
            genre = top[0][0] + (f" ({styles[0][0]})" if styles else "")
            text = f"{top[0][1]:5.2f}  {genre:<28} (now: {track.current_genre or '-'})  {track.path}"
        else:
            fields.update(genre=None, confidence=None, top=[], styles=[])
            text = ""
        out.file(track.path, result.error, fields, text=text)
    for path, error in _non_track_errors(report):
        out.file(path, error, {"genre": None, "confidence": None, "top": [], "styles": [], "current_genre": None},
                 text="")
    out.summary(f"{out.ok:,} classified, {counted(out.errors, 'error')}")
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    action, paths = _review_action(args)
    if action == "set" and not args.genre:
        raise UsageError("review set needs --genre G (repeat --genre for several genres)")
    if action != "set" and args.genre:
        raise UsageError("--genre goes with review set")
    for genre in args.genre or ():
        if genre_problem(genre):
            raise UsageError(genre_problem(genre))
    if action and not paths:
        raise UsageError(f"review {action} needs the files (or folders) to decide on")
    settings = _settings()
    out = Output(args.json)
    session = _Session.open(paths, args, settings, out, classify=action in (None, "accept"))
    review = session.review
    if action is None:
        wanted = None if args.status == "all" else DecisionStatus(args.status)
        items = sorted((it for it in review.items if wanted is None or it.status == wanted), key=review_order)
        for item in items:
            out.file(item.track.path, item.error or item.track.error, _review_fields(review, item),
                     text=_review_line(review, item))
        counts = review.counts()
        out.summary(f"{counted(len(items), 'track')} listed; of {counted(counts.total, 'track')}: "
                    f"{counts.needs_review} need review, {counts.of(DecisionStatus.PENDING)} pending, "
                    f"{counts.of(DecisionStatus.ACCEPTED)} accepted, {counts.of(DecisionStatus.EDITED)} edited, "
                    f"{counts.of(DecisionStatus.REJECTED)} rejected, {counts.of(DecisionStatus.WRITTEN)} written")
        return 0
    positions = list(range(len(review)))
    if action == "accept":
        changed = set(review.accept(positions))
    elif action == "reject":
        changed = set(review.reject(positions))
    elif action == "reset":
        changed = set(review.reset(positions))
    else:
        changed = set(review.set_genres(positions, args.genre))
    for i, item in enumerate(review.items):
        error = item.track.error or (None if i in changed or action == "reset" else
                                     item.error or "no suggestion to accept (not classified)")
        out.file(item.track.path, error, _review_fields(review, item),
                 text=f"{item.status.value:<9} {item.genre_text or '-':<24} {item.track.path}")
    out.summary(f"{counted(len(changed), 'decision')} stored ({action}), {counted(out.errors, 'error')}")
    return 0


_ACTIONS = ("accept", "reject", "reset", "set")


def _review_action(args: argparse.Namespace) -> tuple[str | None, list[Path]]:
    words = list(args.paths)
    action = words.pop(0) if words and words[0] in _ACTIONS else None
    return action, [Path(w) for w in words]


def _review_fields(review: Review, item: ReviewItem) -> dict[str, Any]:
    record = item.record
    return {**_track_fields(item.track), "genre": item.predicted or None,
            "confidence": None if item.confidence is None else round(item.confidence, 4),
            "decision": item.status.value, "genres": list(item.genres),
            "needs_review": item.needs_review(review.threshold), "note": item.note,
            "decided_at": record.decided_at if record else None}


def _review_line(review: Review, item: ReviewItem) -> str:
    conf = f"{item.confidence:5.2f}" if item.confidence is not None else "    -"
    mark = "?" if item.needs_review(review.threshold) else " "
    note = f"  [{item.note}]" if item.note else ""
    return (f"{mark}{conf}  {item.predicted or '-':<14} {item.status.value:<9} -> {item.genre_text or '-':<20} "
            f"(now: {item.track.current_genre or '-'})  {item.track.path}{note}")


def cmd_apply(args: argparse.Namespace) -> int:
    from tagger import ops

    settings = _settings()
    out = Output(args.json)
    if args.canonicalize:
        if not args.paths:
            raise UsageError("--canonicalize needs the music folders or files to tidy")
        session = _Session.open(args.paths, args, settings, out, classify=False)
        plans = session.review.canonical_plans()
    elif args.decisions:
        session = _Session.from_decisions_file(args.decisions, settings)
        plans = session.decided_plans()
    elif args.reviewed and args.paths:
        session = _Session.open(args.paths, args, settings, out, classify=False)
        plans = session.decided_plans()
    elif args.reviewed:
        session = _Session.reviewed(settings)
        plans = session.decided_plans()
    elif args.paths:
        session = _Session.open(args.paths, args, settings, out, classify=True, genre_model=True)
        plans = session.review.plans()
    else:
        raise UsageError("give music folders/files, --reviewed, or --decisions FILE")
    to_write = [p for p in plans if p.writes]
    skipped = [p for p in plans if not p.writes and p.skip is not Skip.ERROR]
    for plan in plans:
        if plan.skip is Skip.ERROR:
            out.file(plan.path, plan.reason, _plan_fields(plan, written=False), text="")
    if args.dry_run:
        for plan in plans:
            if plan.skip is not Skip.ERROR:
                out.file(plan.path, None, _plan_fields(plan, written=False), text=_plan_line(plan, "would write"))
        out.summary(f"dry run: {counted(len(to_write), 'file')} would be written{_skip_summary(skipped)}, "
                    f"{counted(out.errors, 'error')}")
        return 0
    outcome = ops.write_decisions(
        session.library, session.store, [p.decision() for p in to_write],
        id3_version=args.id3_version or settings.id3_version, separator=settings.separator, force=args.force,
        keep_mtime=settings.keep_mtime if args.keep_mtime is None else args.keep_mtime,
        description=f"genrenet apply{' --canonicalize' if args.canonicalize else ''} ({counted(len(to_write), 'file')})",
        progress=ProgressLine("writing"), decided=not args.canonicalize)
    report = outcome.report
    errors = dict(report.errors)
    written = set(report.written) | set(report.unchanged)
    for plan in plans:
        if plan.skip is Skip.ERROR:
            continue
        done = plan.path in written
        out.file(plan.path, errors.get(plan.path), _plan_fields(plan, written=done),
                 text=_plan_line(plan, "wrote") if done else "")
    for path, error in outcome.errors:  # written, but not re-read
        if path not in errors:
            out.summary(f"warning: {path}: {error}")
    batch = f" as batch {report.batch_id} (undo: genrenet undo --batch {report.batch_id})" if report.batch_id else ""
    out.summary(f"{counted(len(report.written), 'file')} written{batch}{_skip_summary(skipped)}, "
                f"{counted(out.errors, 'error')}")
    return 0


def _plan_fields(plan: Plan, *, written: bool) -> dict[str, Any]:
    return {"old_genre": "; ".join(plan.old) or None, "new_genre": "; ".join(plan.new) or None,
            "genre": list(plan.new), "action": "write" if plan.writes else "skip",
            "reason": plan.reason or None, "written": written}


def _plan_line(plan: Plan, verb: str) -> str:
    old = "; ".join(plan.old) or "(none)"
    if plan.writes:
        return f"{verb:<11} {old} -> {'; '.join(plan.new):<24} {plan.path}"
    return f"{'leave':<11} {old:<28} ({plan.reason})  {plan.path}"


def _skip_summary(skipped: list[Plan]) -> str:
    if not skipped:
        return ""
    kinds = Counter(p.skip for p in skipped)
    return f", {counted(len(skipped), 'file')} left alone (" + ", ".join(f"{n} {k.value}" for k, n in kinds.items()) + ")"


def cmd_genres(args: argparse.Namespace) -> int:
    from tagger.taxonomy import census

    settings = _settings()
    out = Output(args.json)
    report = _scan(args.paths)
    for path, error in _non_track_errors(report):
        out.file(path, error, {}, text="")
    tree = _taxonomy(settings).tree
    values = census((t.genres for t in report.tracks if not t.error), tree)
    for v in values:
        fields = {"value": v.value, "count": v.count, "canonical": v.canonical, "known": v.known,
                  "variant": v.is_variant}
        shown = f"-> {v.canonical}" if v.is_variant else ("" if v.known else "(not in the genre tree)")
        print(json.dumps(_valid_text(fields), ensure_ascii=False) if args.json else f"{v.count:>7}  {v.value:<30} {shown}")
    variants = [v for v in values if v.is_variant]
    unknown = [v for v in values if not v.known]
    out.summary(f"{counted(len(values), 'genre value')} in {counted(len(report.tracks), 'file')}: "
                f"{counted(len(variants), 'spelling variant')} ({sum(v.count for v in variants)} files; "
                f"genrenet apply --canonicalize tidies them), {len(unknown)} not in the genre tree")
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    from tagger import ops
    from tagger.journal import JournalError

    session = _Session.stores()
    if args.all:
        outcomes = ops.undo_all(session.library, session.store)
    else:
        outcome = ops.undo(session.library, session.store, args.batch)
        if outcome.report is None:
            raise JournalError(outcome.message)
        outcomes = [outcome]
    out = Output(args.json)
    for outcome in outcomes:
        report = outcome.report
        for path in report.restored:
            out.file(path, None, {"batch": report.batch_id, "restored": True}, text=f"restored {path}")
        for path, error in report.errors:
            out.file(path, error, {"batch": report.batch_id, "restored": False}, text="")
    out.summary(f"{counted(out.ok, 'file')} restored, {counted(out.errors, 'error')}")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from tagger.journal import Journal

    journal = Journal()
    if args.check:
        problems = journal.check()
        for problem in problems:
            print(f"problem: {problem}")
        print(f"journal {journal.db_path}: " + ("healthy" if not problems else f"{counted(len(problems), 'problem')}"),
              file=sys.stderr)
        return 1 if problems else 0
    batches = journal.history()
    for b in batches:
        if args.json:
            print(json.dumps({"batch": b.id, "created_at": b.created_at, "description": b.description,
                              "files": b.file_count, "restored": b.restored, "undone": b.undone},
                             ensure_ascii=False))
        else:
            state = "undone" if b.undone else f"partly undone ({b.restored} of {b.file_count} restored)" \
                if b.partly_undone else "active"
            print(f"{b.id:>5}  {b.created_at}  {b.file_count:>6} files  {state:<7} {b.description}")
    if not batches and not args.json:
        print("no writes yet", file=sys.stderr)
    return 0


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
            record = {**_json_path(path), "status": "error" if error else "ok", "error": error, **fields}
            print(json.dumps(_valid_text(record), ensure_ascii=False), flush=True)
        elif error:
            print(f"error: {path}: {error}", file=sys.stderr)
        elif text:
            print(text, flush=True)

    def summary(self, line: str) -> None:
        print(line, file=sys.stderr)


def _json_path(path: Path) -> dict[str, str]:
    """{"path": ...}, and for a name that is not valid UTF-8 also "path_bytes": the exact bytes
    of the path in base64 (the "path" shown has U+FFFD where those bytes are)."""
    raw = os.fsencode(path)
    try:
        return {"path": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"path": raw.decode("utf-8", "replace"), "path_bytes": base64.b64encode(raw).decode("ascii")}


def _valid_text(value: Any) -> Any:
    """JSON-ready: strings holding undecodable file-name bytes get U+FFFD there."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if isinstance(value, dict):
        return {k: _valid_text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_valid_text(v) for v in value]
    return value


def _scan(paths: Iterable[Path], library: Library | None = None):
    roots = [Path(p).expanduser() for p in paths]
    missing = [str(p) for p in roots if not os.path.lexists(p)]
    if missing:
        raise GenrenetError(f"no such file or folder: {', '.join(missing)}")
    progress = ProgressLine("scanning")
    report = (library or Library()).scan(roots, progress=progress)
    if report.skipped:
        print(report.skipped_summary(), file=sys.stderr)
    if not report.tracks and not report.cancelled:
        print(f"no supported audio files in {', '.join(map(str, roots))} (genrenet reads {SUPPORTED_FORMATS})",
              file=sys.stderr)
    return report


def _non_track_errors(report) -> list[tuple[Path, str]]:
    """Scan errors that are not already shown as a Track with an error (unreadable folders...)."""
    shown = {t.path for t in report.tracks}
    return [(p, e) for p, e in report.errors if p not in shown]


def _load_model(args: argparse.Namespace, settings):
    """The model the arguments or settings name (the fast model for speed fast)."""
    from tagger.classify import analysis_for, load_model

    path = args.model or (Path(settings.model_path) if settings.model_path else None)
    return load_model(analysis_for(args.speed or settings.speed, path).model_path, device=args.device or settings.device)


def _taxonomy(settings):
    from tagger.taxonomy import Taxonomy

    return Taxonomy.load(settings.genre_map, merges=settings.genre_merges)


def _classify(tracks: Sequence[Track], model, args, settings, library: Library | None = None):
    """(track, ClassifyResult) for each track; cached predictions reused."""
    from tagger.classify import adaptive_for, classify_tracks

    by_path = {t.path: t for t in tracks}
    readable = [t for t in tracks if t.error is None]
    for t in tracks:
        if t.error is not None:
            yield t, _Failed(t.path, t.error)
    progress = ProgressLine("classifying")
    for result in classify_tracks(library or Library(), readable, model,
                                  max_windows=args.windows or settings.windows_per_track,
                                  adaptive=adaptive_for(args.speed or settings.speed), progress=progress):
        yield by_path[result.path], result


class _Failed:
    def __init__(self, path: Path, error: str):
        self.path, self.error, self.prediction = path, error, None


class UsageError(GenrenetError):
    """Bad usage: exit code 2, like argparse's own errors."""


def _settings():
    from tagger.settings import load_settings

    return load_settings()


@dataclass
class _Session:
    """What one command works with: the library cache, the stored review, and a Review of the
    tracks the command is about (scanned, and classified when asked)."""

    library: Library
    store: ReviewStore
    review: Review | None = None

    @classmethod
    def stores(cls) -> _Session:
        return cls(Library(), ReviewStore())

    @classmethod
    def open(cls, paths: Sequence[Path], args: argparse.Namespace, settings, out: Output, *,
             classify: bool, genre_model: bool = False) -> _Session:
        """Scan `paths` (none: the tracks the library knows, as last scanned); with `classify`,
        classify them (cached predictions reused) with the model the arguments name."""
        session = cls.stores()
        policy = getattr(args, "policy", None) or settings.write_policy
        threshold = settings.review_threshold if getattr(args, "min_confidence", None) is None else args.min_confidence
        model = _load_model(args, settings) if classify else None
        if genre_model and model.output != "softmax":
            raise GenrenetError(f"{model.path.name} is a tagger (independent tags), not a genre model; "
                                "apply needs a genre model")
        taxonomy = _taxonomy(settings)
        review = session.review = Review(session.store, threshold=threshold, policy=policy,
                                         genres_to_write=getattr(args, "genres", None) or settings.genres_to_write,
                                         namer=taxonomy.name_for, tidy=taxonomy.tidy,
                                         related=taxonomy.related, styles=taxonomy.styles,
                                         style_mode=getattr(args, "styles", None) or settings.styles)
        if paths:
            report = _scan(paths, session.library)
            tracks = report.tracks
            for path, error in _non_track_errors(report):
                out.file(path, error, {}, text="")
        else:
            tracks = session.library.tracks()
        review.add_tracks(tracks)
        if model is not None:
            review.apply_results(result for _, result in _classify(tracks, model, args, settings, session.library))
        return session

    @classmethod
    def reviewed(cls, settings) -> _Session:
        """Every file with an accepted or edited decision, as the library last saw it (or read
        now, when the library cache does not know it: decisions outlive the cache)."""
        session = cls.stores()
        decided = [p for p, r in session.store.all().items() if r.status in DECIDED]
        session.review = Review(session.store, policy=settings.write_policy)
        session.review.add_tracks([session.library.track(p) or _read_now(p) for p in sorted(decided)])
        return session

    @classmethod
    def from_decisions_file(cls, path: Path, settings) -> _Session:
        """A reviewed list as the user's own decisions (validated whole before anything is written)."""
        wanted = _read_decisions(path)
        session = cls.stores()
        review = session.review = Review(session.store, policy=settings.write_policy)
        tracks = []
        for file in wanted:
            # the file as the library read it, however the path is spelled; else read it now
            known = session.library.track(file) or session.library.track(Path(os.path.realpath(file)))
            tracks.append(known or _read_now(file))
        review.add_tracks(tracks)
        for i, genres in enumerate(wanted.values()):
            review.set_genres([i], genres)
        return session

    def decided_plans(self) -> list[Plan]:
        """Plans for the decisions of the review (accepted, edited; written ones are skipped)."""
        review = self.review
        return [review.plan(it) for it in review.items
                if it.status in (*DECIDED, DecisionStatus.WRITTEN) or it.track.error]


def _read_now(path: Path) -> Track:
    """The file as it is now (a Track with the reason when it cannot be read)."""
    try:
        return read_track(path)
    except FileError as exc:
        return Track(path, Fingerprint(-1, -1), error=str(exc))


def _read_decisions(path: Path) -> dict[Path, tuple[str, ...]]:
    """A reviewed list: JSON [{"path": ..., "genre": "Rock" | ["Rock", "Blues"]}, ...], checked
    whole: any problem is one error naming the entry, and nothing is written."""
    try:
        items = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GenrenetError(f"cannot read decisions file {path}: {exc}") from None
    if not isinstance(items, list):
        raise GenrenetError(f'{path}: expected a JSON list of {{"path": ..., "genre": ...}}; nothing written')
    decisions: dict[Path, tuple[str, ...]] = {}
    first_entry: dict[str, int] = {}
    for i, item in enumerate(items):
        def bad(why: str, i: int = i) -> GenrenetError:
            return GenrenetError(f"{path}: entry {i} {why}; nothing written")

        if not isinstance(item, dict):
            raise bad('is not an object with "path" and "genre"')
        missing = [k for k in ("path", "genre") if k not in item]
        if missing:
            raise bad(f"has no {' and no '.join(repr(k) for k in missing)}")
        file, genre = item["path"], item["genre"]
        if not isinstance(file, str) or not file.strip():
            raise bad('needs "path" as a non-empty string')
        genres = [genre] if isinstance(genre, str) else genre
        if not isinstance(genres, list) or not genres or not all(isinstance(g, str) and g.strip() for g in genres):
            raise bad('needs "genre" as a non-empty string or a list of them')
        if any("\0" in x for x in (file, *genres)):
            raise bad("contains a NUL character")
        problems = [genre_problem(g) for g in genres if genre_problem(g)]
        if problems:
            raise bad(f"has a genre that cannot be written: {problems[0]}")
        resolved = os.path.realpath(os.path.expanduser(file))
        if resolved in first_entry:
            raise bad(f"names the same file as entry {first_entry[resolved]}")
        first_entry[resolved] = i
        decisions[Path(os.path.abspath(os.path.expanduser(file)))] = clean_genres(genres)
    return decisions


def _track_fields(track: Track) -> dict[str, Any]:
    return {"title": track.title, "artist": track.artist, "album": track.album, "album_artist": track.album_artist,
            "track": track.track_number, "disc": track.disc_number, "year": track.year,
            "compilation": track.is_compilation, "current_genre": track.current_genre, "duration": track.duration,
            "format": track.format or None}


def _who(track: Track) -> str:
    return " - ".join(x for x in (track.artist, track.title) if x) or "-"

