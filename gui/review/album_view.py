"""The "Album disagrees" view: its tracks grouped album by album (album, folder, disc, track
number: the source model's album order, TrackTableModel.set_album_order, asked for by the filter
proxy) and each album's majority said in the Album column, "⚠ Abbey Road — majority Rock (9 of
11)", with the album's whole vote in the tooltip.

Only the tracks that disagree are listed, not their albums' agreeing tracks: the tab's count stays
the number of rows shown, selecting all and pressing Use Album's Majority Genre (or Accept) touches
only the tracks in question, and the majority with its vote already says what the rest of the album
is. A compilation (album artist Various Artists, or the compilation flag) has no majority
(tagger.review.album_majorities), so none of its tracks is in the view.
"""

from __future__ import annotations

from gui.review.schema import Row

WARNING_MARK = "\u26a0 "


def album_text(row: Row) -> str:
    """The Album column in the album view: the album and its majority."""
    album = row.track.album or ""
    verdict = row.album_verdict
    if verdict is None:
        return album
    mark = WARNING_MARK if row.album_note else ""
    return f"{mark}{album} \u2014 majority {verdict.majority} ({verdict.votes} of {verdict.size})"


def album_tip(row: Row) -> str | None:
    """What the album voted, and what this track could do about it."""
    verdict = row.album_verdict
    if verdict is None:
        return row.album_note
    votes = ", ".join(f"{genre} {n}" for genre, n in verdict.tally) or f"{verdict.majority} {verdict.votes}"
    lines = [f"{row.track.album}: {verdict.votes} of its {verdict.size} classified tracks are predicted "
             f"{verdict.majority}.", f"Votes: {votes}."]
    if row.album_note:
        lines.append(f"This track is predicted {row.predicted}: Use Album's Majority Genre gives it "
                     f"{verdict.majority}.")
    return "\n".join(lines)
