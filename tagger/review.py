"""The review: every track's prediction, the user's decision on it, and the rules for writing.

The app's table and `genrenet review` / `genrenet apply` are views over this module; no rule
lives in them. A decision (accepted, rejected, edited, written) is stored in the ReviewStore with
the file's fingerprint and the prediction it was made on, so it survives quitting, a rescan and
reclassification with another model. A file whose content changed since the decision goes back to
pending, with the reason kept in `ReviewRecord.note`.

Rules, defined once here:
- *Needs review*: pending, classified, below the confidence threshold, and the suggestion is not
  what the file already carries.
- *Suggestion*: the model's top genre(s) as genre names; under the `add` policy, the file's
  current genres followed by the new ones.
- *Write policy* (WritePolicy) governs what is written without a person's decision (bulk
  `apply`, "Accept all above threshold"): fill-missing, replace or add. A decision the user made
  is written exactly as they made it.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from tagger.styles import with_style
from tagger.tags import genre_problem
from tagger.taxonomy import distinct, genre_key
from tagger.text import counted
from tagger.track import Decision, DecisionStatus, Fingerprint, Prediction, Track

if TYPE_CHECKING:
    from tagger.review_store import ReviewStore

DECIDED = (DecisionStatus.ACCEPTED, DecisionStatus.EDITED)  # a decision that asks for a write


class WritePolicy(StrEnum):
    """What an automatic write does to a file that already has genres."""

    FILL_MISSING = "fill-missing"  # write only where the file has no genre
    REPLACE = "replace"  # replace the file's genres with the model's
    ADD = "add"  # keep the file's genres and add the model's as further values

    @property
    def description(self) -> str:
        return POLICY_DESCRIPTIONS[self]


POLICY_DESCRIPTIONS = {
    WritePolicy.FILL_MISSING: "only files without a genre get one; existing genres are kept",
    WritePolicy.REPLACE: "the predicted genre replaces the file's genres",
    WritePolicy.ADD: "the predicted genre is added to the file's genres (no duplicates)",
}


def same_genres(a: Sequence[str], b: Sequence[str]) -> bool:
    """Genre lists equal up to spelling ("rock" is "Rock", "hip hop" is "Hip-Hop")."""
    return [genre_key(g) for g in a] == [genre_key(g) for g in b]


def added_genres(current: Sequence[str], new: Sequence[str]) -> tuple[str, ...]:
    """`current` followed by the genres of `new` it does not hold yet (spelling ignored)."""
    have = {genre_key(g) for g in current}
    out = list(current)
    for g in new:
        if genre_key(g) not in have:
            have.add(genre_key(g))
            out.append(g)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    """A user's decision on one file, as stored.

    `fingerprint` is the file as it was when decided (or, for `written`, as genrenet left it);
    `model_id`, `predicted` and `confidence` are the prediction the decision was made on.
    """

    status: DecisionStatus  # pending (with a note), accepted, rejected, edited or written
    genres: tuple[str, ...]
    fingerprint: Fingerprint
    decided_at: float
    model_id: str | None = None
    predicted: str | None = None
    confidence: float | None = None
    batch_id: int | None = None  # the journal batch that wrote it
    note: str | None = None  # why a decision went back to pending


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def stale(record: ReviewRecord, now: float) -> ReviewRecord:
    """The record of a file whose content changed after the decision: back to pending, and why."""
    what = {DecisionStatus.ACCEPTED: f"accepted {'; '.join(record.genres)}",
            DecisionStatus.EDITED: f"chose {'; '.join(record.genres)}",
            DecisionStatus.REJECTED: "rejected the prediction",
            DecisionStatus.WRITTEN: f"wrote {'; '.join(record.genres)}"}[record.status]
    return replace(record, status=DecisionStatus.PENDING, decided_at=now, batch_id=None,
                   note=f"the file changed on disk after you {what} ({_when(record.decided_at)}); review it again")


def undone(record: ReviewRecord, fingerprint: Fingerprint, now: float) -> ReviewRecord:
    return replace(record, status=DecisionStatus.PENDING, fingerprint=fingerprint, decided_at=now,
                   batch_id=None,
                   note=f"the write of {'; '.join(record.genres)} was undone ({_when(now)})")


@dataclass(slots=True, eq=False)
class ReviewItem:
    """One track in a review: what was scanned, what the model said, what the user decided.

    Derived fields (`top_names`, `predicted`, `confidence`, `suggestion`, album fields) are set by
    the Review that holds the item, from its genre names and policy.
    """

    track: Track
    prediction: Prediction | None = None
    record: ReviewRecord | None = None
    error: str | None = None  # could not be read, classified or written
    top_names: list[tuple[str, float]] = field(default_factory=list)
    predicted: str = ""
    confidence: float | None = None
    suggestion: tuple[str, ...] = ()
    styles: list[tuple[str, float]] = field(default_factory=list)  # under `predicted`, likeliest first
    album_majority: str | None = None
    album_note: str | None = None
    album_verdict: AlbumVerdict | None = None  # its album's vote (Review.update_albums); None: no album vote
    tag_disagrees: bool = False  # confident, and unrelated to every genre the file carries (Review._derive)
    _hay: str | None = None
    _hay_key: tuple | None = None
    _summary: tuple | None = None  # (threshold, status, views); the Review that changes an item clears it

    @property
    def status(self) -> DecisionStatus:
        if self.track.error is not None:
            return DecisionStatus.ERROR
        record = self.record
        if record is not None and record.status is not DecisionStatus.PENDING:
            return record.status
        if self.prediction is None and self.error is not None:
            return DecisionStatus.ERROR
        return DecisionStatus.PENDING

    @property
    def note(self) -> str | None:
        """Why a decision went back to pending (file changed, write undone)."""
        r = self.record
        return r.note if r is not None and r.status == DecisionStatus.PENDING else None

    @property
    def genres(self) -> tuple[str, ...]:
        """What writing this track means: the decision's genres, else the suggestion."""
        r = self.record
        if r is not None and r.status in (*DECIDED, DecisionStatus.WRITTEN):
            return r.genres
        if r is not None and r.status == DecisionStatus.REJECTED:
            return ()
        return self.suggestion

    @property
    def genre_text(self) -> str:
        return "; ".join(self.genres)

    @property
    def changes_file(self) -> bool:
        genres = self.genres
        return bool(genres) and tuple(genres) != tuple(self.track.genres)

    @property
    def to_write(self) -> bool:
        """A decision of the user that is not on disk yet."""
        return self.status in DECIDED and self.changes_file

    @property
    def classified(self) -> bool:
        return self.confidence is not None

    def needs_review(self, threshold: float) -> bool:
        return self._needs_review(self.status, threshold)

    def _needs_review(self, status: DecisionStatus, threshold: float) -> bool:
        c = self.confidence
        current = self.track.genres
        return (c is not None and c < threshold and status is DecisionStatus.PENDING
                and not (current and same_genres(self.suggestion, current)))

    def views(self, threshold: float) -> list[View]:
        """Every View this item is in: the one definition of each view (View.matches asks it)."""
        return self.summary(threshold)[1]

    def summary(self, threshold: float) -> tuple[DecisionStatus, list[View]]:
        """Status and views, computed once until the item changes (counting 100,000 items
        after every key press must stay cheap)."""
        cached = self._summary
        if cached is not None and cached[0] == threshold:
            return cached[1], cached[2]
        status = self.status
        views = self._views(status, threshold)
        self._summary = (threshold, status, views)
        return status, views

    def _views(self, status: DecisionStatus, threshold: float) -> list[View]:
        c = self.confidence
        out = [View.ALL]
        if c is not None:
            if c >= threshold:
                out.append(View.CONFIDENT)
            elif self._needs_review(status, threshold):
                out.append(View.NEEDS_REVIEW)
        if status is DecisionStatus.WRITTEN or (status in DECIDED and self.changes_file):
            out.append(View.CHANGED)
        if self.album_note is not None:
            out.append(View.ALBUM)
        if self.error is not None or self.track.error is not None:
            out.append(View.ERRORS)
        if self.tag_disagrees and c is not None and c >= threshold:
            out.append(View.TAG_DISAGREES)
        return out

    def search_text(self) -> str:
        """Lower-case text a search matches, rebuilt only when the item changed."""
        key = (id(self.track), self.genres, self.predicted)
        if self._hay is None or key != self._hay_key:
            t = self.track
            self._hay = " ".join(str(x) for x in (t.title, t.artist, t.album_artist, t.album, t.year, t.current_genre,
                                                  self.predicted, self.genre_text, t.path.name) if x).casefold()
            self._hay_key = key
        return self._hay

    def decision(self) -> Decision:
        return Decision(self.track.path, self.genres, expected=self.track.fingerprint, status=self.status)


class View(IntEnum):
    """The subsets of a review a user looks at; counted in one pass by Review.counts()."""

    NEEDS_REVIEW = 0
    CONFIDENT = 1
    CHANGED = 2
    ALBUM = 3
    ERRORS = 4
    ALL = 5
    TAG_DISAGREES = 6  # a confident prediction that no genre the file carries agrees with

    def matches(self, item: ReviewItem, threshold: float) -> bool:
        return self in item.views(threshold)


@dataclass(frozen=True, slots=True)
class ReviewCounts:
    """Every number a view of the review shows, from one pass over the items."""

    total: int = 0
    classified: int = 0
    needs_review: int = 0
    to_write: int = 0
    statuses: dict[DecisionStatus, int] = field(default_factory=dict)
    views: dict[View, int] = field(default_factory=dict)

    def of(self, status: DecisionStatus) -> int:
        return self.statuses.get(status, 0)

    @property
    def errors(self) -> int:
        return self.views.get(View.ERRORS, 0)


class Skip(StrEnum):
    """Why a write leaves a file alone, as a summary counts it."""

    ERROR = "could not be read or classified"
    UNCLASSIFIED = "not classified"
    BELOW_THRESHOLD = "below the confidence threshold"
    KEEPS_GENRE = "kept their genre (write policy)"
    SAME = "already had the genre"
    NO_GENRE = "had no genre"
    CANONICAL = "already spelled as the genre tree spells them"
    REJECTED = "rejected in review"
    WRITTEN = "already written"


@dataclass(frozen=True, slots=True)
class Plan:
    """What writing would do to one file: old and new genres, or why it is left alone."""

    item: ReviewItem
    new: tuple[str, ...]  # () when the file is left alone
    reason: str = ""  # why it is left alone (empty when it is written)
    skip: Skip | None = None

    @property
    def path(self) -> Path:
        return self.item.track.path

    @property
    def old(self) -> tuple[str, ...]:
        return self.item.track.genres

    @property
    def writes(self) -> bool:
        return bool(self.new)

    def decision(self) -> Decision:
        return Decision(self.path, self.new, expected=self.item.track.fingerprint)


UNDO_LIMIT = 200  # decision actions kept for undo


@dataclass(frozen=True, slots=True)
class _Undo:
    action: str
    before: list[tuple[Path, ReviewRecord | None]]  # each file's decision before the action


def review_order(item: ReviewItem) -> tuple:
    """Least confident first; unclassified tracks last."""
    c = item.confidence
    return (c is None, c if c is not None else 0.0)


class Review:
    """The review of a set of tracks, persisted in a ReviewStore as the user decides.

    Mutations take item positions (the app's rows) and return the positions that changed.
    """

    def __init__(self, store: ReviewStore, *, threshold: float = 0.8,
                 policy: WritePolicy | str = WritePolicy.FILL_MISSING, genres_to_write: int = 1,
                 namer: Callable[[str], str] = str, tidy: Callable[[str], str] = str,
                 related: Callable[[str, str], bool] | None = None,
                 styles: Callable[[Prediction, str], list[tuple[str, float]]] | None = None,
                 style_mode: str = "genre") -> None:
        self.store = store
        # whether two genre names agree (the same genre, or one above the other: Taxonomy.related)
        self.related = related or (lambda a, b: genre_key(a) == genre_key(b))
        self.tidy = tidy  # a typed genre as it is written (Taxonomy.tidy: the genre tree's spelling)
        self.threshold = threshold
        self.policy = WritePolicy(policy)
        self.genres_to_write = genres_to_write
        self.namer = namer
        self.styles = styles  # a prediction's styles under a genre (Taxonomy.styles)
        self.style_mode = style_mode  # what a suggestion writes: tagger.styles.with_style
        self.items: list[ReviewItem] = []
        self._index: dict[Path, int] = {}
        self._undo: list[_Undo] = []  # the user's decisions since the last write, newest last

    # --- configuration ------------------------------------------------------------------------

    def configure(self, *, threshold: float | None = None, policy: WritePolicy | str | None = None,
                  genres_to_write: int | None = None, namer: Callable[[str], str] | None = None,
                  tidy: Callable[[str], str] | None = None,
                  related: Callable[[str, str], bool] | None = None,
                  styles: Callable[[Prediction, str], list[tuple[str, float]]] | None = None,
                  style_mode: str | None = None) -> None:
        """New settings: suggestions follow; decisions stay as the user made them."""
        if styles is not None:
            self.styles = styles
        if style_mode is not None:
            self.style_mode = style_mode
        if tidy is not None:
            self.tidy = tidy
        if related is not None:
            self.related = related
        if threshold is not None:
            self.threshold = threshold
        if policy is not None:
            self.policy = WritePolicy(policy)
        if genres_to_write is not None:
            self.genres_to_write = genres_to_write
        if namer is not None:
            self.namer = namer
        for item in self.items:
            self._derive(item)

    # --- contents -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.items)

    def index_of(self, path: Path) -> int | None:
        return self._index.get(path)

    def clear(self) -> None:
        self.items, self._index = [], {}

    def add_tracks(self, tracks: Sequence[Track]) -> list[int]:
        """Append tracks not held yet, with their stored decisions; returns their positions."""
        new = [t for t in tracks if t.path not in self._index]
        records = self._records_for(new)
        first = len(self.items)
        for t in new:
            self._index[t.path] = len(self.items)
            self.items.append(ReviewItem(track=t, record=records.get(t.path) if records else None, error=t.error))
        return list(range(first, len(self.items)))

    def set_tracks(self, tracks: Sequence[Track]) -> None:
        """Hold exactly these tracks (a rescan): unchanged files keep their prediction."""
        old = {item.track.path: item for item in self.items}
        records = self._records_for(tracks)
        items = []
        for t in tracks:
            prev = old.get(t.path)
            if prev is not None and prev.track.fingerprint == t.fingerprint and t.error is None:
                prev.track, prev.record, prev._summary = t, records.get(t.path), None
                items.append(prev)
            else:
                items.append(ReviewItem(track=t, record=records.get(t.path), error=t.error))
        self.items = items
        self.reindex()

    def reindex(self) -> None:
        """Call after reordering `items` in place (a sorted view)."""
        self._index = {item.track.path: i for i, item in enumerate(self.items)}

    def _records_for(self, tracks: Sequence[Track]) -> dict[Path, ReviewRecord]:
        """Stored decisions for these tracks; a decision on other content goes back to pending."""
        records = self.store.get_many([t.path for t in tracks])
        if not records:
            return records
        now = time.time()
        changed: list[tuple[Path, ReviewRecord]] = []
        for t in tracks:
            r = records.get(t.path)
            if r is not None and r.status != DecisionStatus.PENDING and r.fingerprint != t.fingerprint:
                records[t.path] = stale(r, now)
                changed.append((t.path, records[t.path]))
        if changed:
            self.store.put_many(changed)
        return records

    def apply_results(self, results: Iterable) -> list[int]:
        """Take classification results (objects with path, prediction, error)."""
        changed = []
        for res in results:
            i = self._index.get(res.path)
            if i is None:
                continue
            item = self.items[i]
            item.prediction = res.prediction
            item.error = None if res.prediction is not None else (res.error or "could not be classified")
            self._derive(item)
            changed.append(i)
        return changed

    def _derive(self, item: ReviewItem) -> None:
        item._summary = None
        pred = item.prediction
        if pred is None:
            item.top_names, item.predicted, item.confidence, item.suggestion = [], "", None, ()
            item.tag_disagrees, item.styles = False, []
            return
        item.top_names = [(self.namer(label), p) for label, p in pred.top(5)]
        item.predicted, item.confidence = item.top_names[0]
        current = item.track.genres
        item.tag_disagrees = bool(current) and not any(self.related(item.predicted, g) for g in current)
        names: list[str] = []
        for name, _ in item.top_names:
            if name not in names:
                names.append(name)
            if len(names) == self.genres_to_write:
                break
        item.styles = self.styles(pred, item.predicted) if self.styles else []
        proposed = with_style(names, item.styles, self.style_mode)
        item.suggestion = (added_genres(item.track.genres, proposed) if self.policy == WritePolicy.ADD
                           else proposed)

    # --- decisions ----------------------------------------------------------------------------

    def _decidable(self, item: ReviewItem) -> bool:
        return item.track.error is None

    def _record(self, item: ReviewItem, status: DecisionStatus, genres: tuple[str, ...], now: float) -> ReviewRecord:
        return ReviewRecord(status, genres, item.track.fingerprint, now,
                            item.prediction.model_id if item.prediction else None,
                            item.predicted or None, item.confidence)

    def _store(self, changes: list[tuple[int, ReviewRecord | None]], action: str | None = None) -> list[int]:
        """Persist decisions (None: back to pending) in one transaction, then take them. An
        `action` (the user's: "Accept", "Edit Genre", ...) can be undone (undo)."""
        if not changes:
            return []
        before = [(self.items[i].track.path, self.items[i].record) for i, _ in changes]
        self._put([(self.items[i].track.path, r) for i, r in changes])
        if action is not None:
            self._undo = [*self._undo[-(UNDO_LIMIT - 1):], _Undo(action, before)]
        return [i for i, _ in changes]

    def _put(self, records: list[tuple[Path, ReviewRecord | None]]) -> list[int]:
        self.store.put_many([(path, r) for path, r in records if r is not None])
        self.store.delete_many([path for path, r in records if r is None])
        changed = []
        for path, r in records:
            i = self._index.get(path)
            if i is not None:
                self.items[i].record, self.items[i]._summary = r, None
                changed.append(i)
        return changed

    @property
    def undo_text(self) -> str | None:
        """What undo would take back ("Accept (3 tracks)"), or None when there is nothing."""
        if not self._undo:
            return None
        last = self._undo[-1]
        n = len(last.before)
        return f"{last.action} ({counted(n, 'track')})"

    def undo(self) -> list[int]:
        """Take back the last decision action of this session since the last write; returns
        the positions that changed. Writes end the chain: undoing a write is tagger.ops.undo."""
        if not self._undo:
            return []
        return self._put(self._undo.pop().before)

    def accept(self, positions: Iterable[int]) -> list[int]:
        """The user takes the suggestion (items without one are left alone)."""
        now = time.time()
        return self._store([(i, self._record(self.items[i], DecisionStatus.ACCEPTED, self.items[i].suggestion, now))
                            for i in positions
                            if self._decidable(self.items[i]) and self.items[i].suggestion], "Accept")

    def reject(self, positions: Iterable[int]) -> list[int]:
        """The user says no: the file keeps what it has."""
        now = time.time()
        return self._store([(i, self._record(self.items[i], DecisionStatus.REJECTED, (), now))
                            for i in positions if self._decidable(self.items[i])], "Reject")

    def reset(self, positions: Iterable[int]) -> list[int]:
        """Forget the decision: back to pending."""
        return self._store([(i, None) for i in positions
                            if self._decidable(self.items[i]) and self.items[i].record is not None], "Reset")

    def set_genres(self, positions: Iterable[int], genres: Sequence[str]) -> list[int]:
        """The user chose these genres (the suggestion itself counts as accepting it).

        Raises ValueError for a name that cannot be written as typed (tags.genre_problem)."""
        chosen = clean_genres(genres, self.tidy)
        for name in chosen:
            problem = genre_problem(name)
            if problem:
                raise ValueError(problem)
        if not chosen:
            return self.reset(positions)
        now = time.time()
        return self._store([(i, self._chosen(self.items[i], chosen, now)) for i in positions
                            if self._decidable(self.items[i])], "Edit Genre")

    def _chosen(self, item: ReviewItem, genres: tuple[str, ...], now: float) -> ReviewRecord:
        status = DecisionStatus.ACCEPTED if genres == item.suggestion else DecisionStatus.EDITED
        return self._record(item, status, genres, now)

    def accept_confident(self) -> list[int]:
        """'Accept all above threshold': what bulk `apply` would write, as accepted decisions."""
        now = time.time()
        return self._store([(i, self._record(self.items[i], DecisionStatus.ACCEPTED, plan.new, now))
                            for i, plan in enumerate(self.plans())
                            if plan.writes and self.items[i].status == DecisionStatus.PENDING],
                           "Accept All Above Threshold")

    def use_album_majority(self, positions: Iterable[int]) -> list[int]:
        now = time.time()
        return self._store([(i, self._chosen(self.items[i], clean_genres((self.items[i].album_majority,), self.tidy), now))
                            for i in positions
                            if self._decidable(self.items[i]) and self.items[i].album_majority],
                           "Use Album Majority")

    # --- after writes -------------------------------------------------------------------------

    def refresh(self, tracks: Sequence[Track]) -> list[int]:
        """Files were written or restored (tagger.ops stored their new state): show it. The
        decisions before it can no longer be undone one by one (undo)."""
        self._undo.clear()
        known = [t for t in tracks if t.path in self._index]
        records = self.store.get_many([t.path for t in known])
        changed = []
        for t in known:
            i = self._index[t.path]
            item = self.items[i]
            item.track, item.record, item.error = t, records.get(t.path), t.error
            self._derive(item)
            changed.append(i)
        return changed

    def mark_errors(self, errors: Sequence[tuple[Path, str]]) -> list[int]:
        """Per-file errors of a write: the item keeps its decision and shows the reason."""
        changed = []
        for path, message in errors:
            i = self._index.get(Path(path))
            if i is not None:
                self.items[i].error, self.items[i]._summary = message, None
                changed.append(i)
        return changed

    def update_albums(self) -> int:
        """Flag tracks whose prediction disagrees with their album's majority; returns how many."""
        verdicts = album_majorities((it.track, it.predicted, it.confidence or 0.0)
                                    for it in self.items if it.prediction is not None)
        flagged = 0
        for it in self.items:
            verdict = verdicts.get(it.track.path)
            it.album_verdict = verdict
            it.album_majority = verdict.majority if verdict else None
            it.album_note, it._summary = None, None
            if verdict and it.predicted != verdict.majority:
                it.album_note = (f"The album's majority genre is {verdict.majority} "
                                 f"({verdict.votes} of {verdict.size} tracks); this track: {it.predicted}")
                flagged += 1
        return flagged

    # --- reading ------------------------------------------------------------------------------

    def counts(self) -> ReviewCounts:
        threshold = self.threshold
        statuses: Counter = Counter()
        views = [0] * len(View)
        classified = to_write = 0
        changed = View.CHANGED
        for it in self.items:
            status, item_views = it.summary(threshold)
            statuses[status] += 1
            if it.confidence is not None:
                classified += 1
            for view in item_views:
                views[view] += 1
            if status in DECIDED and changed in item_views:
                to_write += 1
        return ReviewCounts(total=len(self.items), classified=classified, needs_review=views[View.NEEDS_REVIEW],
                            to_write=to_write, statuses=dict(statuses),
                            views={view: views[view] for view in View})

    def decisions(self) -> list[Decision]:
        """What the app's Write writes (and `apply --reviewed`): decisions not on disk yet."""
        return [it.decision() for it in self.items if it.to_write]

    def plans(self) -> list[Plan]:
        """What bulk `apply` does with each item, in item order: reviewed decisions as the user
        made them; pending predictions at or above the threshold under the write policy."""
        return [self.plan(it) for it in self.items]

    def canonical_plans(self) -> list[Plan]:
        """What `apply --canonicalize` does with each item: a file whose genres are not spelled
        as the genre tree spells them gets the same genres in that spelling, each once."""
        plans = []
        for item in self.items:
            track = item.track
            if track.error:
                plans.append(Plan(item, (), track.error, Skip.ERROR))
            elif not track.genres:
                plans.append(Plan(item, (), "has no genre", Skip.NO_GENRE))
            elif (tidied := clean_genres(track.genres, self.tidy)) == track.genres:
                plans.append(Plan(item, (), "already spelled as the genre tree spells it", Skip.CANONICAL))
            else:
                plans.append(Plan(item, tidied))
        return plans

    def plan(self, item: ReviewItem) -> Plan:
        status = item.status
        if status == DecisionStatus.ERROR:
            return Plan(item, (), item.track.error or item.error or "could not be classified", Skip.ERROR)
        if status == DecisionStatus.REJECTED:
            return Plan(item, (), "rejected in review", Skip.REJECTED)
        if status == DecisionStatus.WRITTEN:
            return Plan(item, (), "already written", Skip.WRITTEN)
        if status in DECIDED:
            if not item.changes_file:
                return Plan(item, (), "already has the chosen genre", Skip.SAME)
            return Plan(item, item.genres)
        if item.confidence is None:
            return Plan(item, (), "not classified", Skip.UNCLASSIFIED)
        if item.confidence < self.threshold:
            return Plan(item, (), f"confidence {item.confidence:.2f} is below {self.threshold:.2f}",
                        Skip.BELOW_THRESHOLD)
        return policy_plan(item, self.policy)


def policy_plan(item: ReviewItem, policy: WritePolicy) -> Plan:
    """An unreviewed suggestion under the write policy."""
    current, suggestion = item.track.genres, item.suggestion
    if current and policy == WritePolicy.FILL_MISSING:
        return Plan(item, (), f"already has a genre (policy {policy.value} keeps it)", Skip.KEEPS_GENRE)
    if same_genres(suggestion, current):
        return Plan(item, (), "already has the predicted genre", Skip.SAME)
    return Plan(item, suggestion)


def clean_genres(genres: Sequence[str], tidy: Callable[[str], str] = str) -> tuple[str, ...]:
    """Genre names as a user typed them, each `tidy`'d (the genre tree's spelling), trimmed,
    blanks and repeats (any spelling) dropped."""
    return tuple(distinct((g.strip() for g in genres), tidy))


# --- albums ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlbumVerdict:
    """The genre most of an album's tracks were predicted as."""

    majority: str
    votes: int  # tracks predicted as the majority genre
    size: int  # classified tracks in the album
    tally: tuple[tuple[str, int], ...] = ()  # (genre, tracks) for every genre predicted, the majority first


def album_majorities(predictions: Iterable[tuple[Track, str, float]]) -> dict[Path, AlbumVerdict]:
    """Each track's album verdict, from (track, predicted genre, confidence) triples.

    An album is the album tag within one folder (two "Greatest Hits" in different folders are
    different albums); albums with fewer than two classified tracks get no verdict, nor does a
    compilation (any of its tracks flagged so or by a various-artists album artist:
    Track.is_compilation), whose genres are expected to differ. Ties in the vote go to the genre
    with the larger summed confidence.
    """
    groups: dict[tuple[str, Path], list[tuple[Track, str, float]]] = defaultdict(list)
    for track, genre, confidence in predictions:
        if track.album:
            groups[(track.album.casefold(), track.path.parent)].append((track, genre, confidence))
    verdicts: dict[Path, AlbumVerdict] = {}
    for members in groups.values():
        if len(members) < 2 or any(track.is_compilation for track, _, _ in members):
            continue
        votes = Counter(genre for _, genre, _ in members)
        weight: dict[str, float] = defaultdict(float)
        for _, genre, confidence in members:
            weight[genre] += confidence
        tally = tuple(sorted(votes.items(), key=lambda gv: (-gv[1], -weight[gv[0]])))
        majority = tally[0][0]
        verdict = AlbumVerdict(majority, votes[majority], len(members), tally)
        verdicts.update((track.path, verdict) for track, _, _ in members)
    return verdicts
