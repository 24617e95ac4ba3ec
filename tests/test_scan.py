"""Walking music folders: which files are found, in what order, and what is reported."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from tagger.scan import AUDIO_EXTENSIONS, iter_audio_files


def touch(path: Path, data: bytes = b"x") -> Path:
    """Create a file (content does not matter to the walker: it never opens files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def walk(*roots: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    errors: list[tuple[Path, str]] = []
    return list(iter_audio_files(list(roots), errors)), errors


def test_finds_files_in_nested_folders_in_path_order(tmp_path):
    files = [
        touch(tmp_path / "b" / "z.mp3"),
        touch(tmp_path / "a.mp3"),
        touch(tmp_path / "a" / "deep" / "er" / "x.mp3"),
        touch(tmp_path / "a" / "y.mp3"),
        touch(tmp_path / "a b" / "w.mp3"),
    ]
    found, errors = walk(tmp_path)
    assert found == sorted(files)
    assert errors == []


def test_extension_is_case_insensitive_and_other_files_are_ignored(tmp_path):
    wanted = [touch(tmp_path / "a.MP3"), touch(tmp_path / "b.Mp3"), touch(tmp_path / "c.mp3")]
    touch(tmp_path / "cover.jpg")
    touch(tmp_path / "notes.txt")
    touch(tmp_path / "mp3")  # no extension at all
    (tmp_path / "folder.mp3").mkdir()  # a folder is not a file, even with that name
    found, _ = walk(tmp_path)
    assert found == wanted
    assert ".mp3" in AUDIO_EXTENSIONS


def test_hidden_files_and_folders_are_skipped(tmp_path):
    visible = touch(tmp_path / "song.mp3")
    touch(tmp_path / "._song.mp3")  # macOS resource fork
    touch(tmp_path / ".hidden.mp3")
    touch(tmp_path / ".Trash" / "deleted.mp3")
    found, _ = walk(tmp_path)
    assert found == [visible]


def test_symlinked_folder_is_followed(tmp_path):
    outside = tmp_path / "outside"
    target = touch(outside / "elsewhere.mp3")
    root = tmp_path / "Music"
    root.mkdir()
    (root / "linked").symlink_to(outside, target_is_directory=True)
    found, errors = walk(root)
    assert found == [root / "linked" / target.name]
    assert errors == []


def test_symlinked_file_is_listed(tmp_path):
    real = touch(tmp_path / "store" / "real.mp3")
    root = tmp_path / "Music"
    root.mkdir()
    (root / "link.mp3").symlink_to(real)
    found, _ = walk(root)
    assert found == [root / "link.mp3"]


def test_symlink_loop_is_walked_once(tmp_path):
    root = tmp_path / "Music"
    song = touch(root / "album" / "song.mp3")
    (root / "album" / "back_to_root").symlink_to(root, target_is_directory=True)
    (root / "album" / "self").symlink_to(root / "album", target_is_directory=True)
    found, errors = walk(root)
    assert found == [song]
    assert errors == []


def test_two_links_to_one_folder_list_its_files_once(tmp_path):
    shared = tmp_path / "shared"
    touch(shared / "s.mp3")
    root = tmp_path / "Music"
    root.mkdir()
    (root / "first").symlink_to(shared, target_is_directory=True)
    (root / "second").symlink_to(shared, target_is_directory=True)
    found, _ = walk(root)
    assert found == [root / "first" / "s.mp3"]


def test_unicode_names_are_found(tmp_path):
    files = [
        touch(tmp_path / "Björk" / "Jóga.mp3"),
        touch(tmp_path / "坂本龍一" / "戦場のメリークリスマス.mp3"),
        touch(tmp_path / "Ελληνικά" / "τραγούδι 🎵.mp3"),
    ]
    found, errors = walk(tmp_path)
    assert found == sorted(files)
    assert errors == []


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="needs a filesystem taking raw bytes")
def test_file_name_that_is_not_utf8_is_found(tmp_path):
    raw = os.path.join(os.fsencode(tmp_path), b"caf\xe9 latin-1.mp3")
    with open(raw, "wb") as f:
        f.write(b"x")
    found, errors = walk(tmp_path)
    assert found == [Path(os.fsdecode(raw))]
    assert found[0].exists()
    assert errors == []


def test_missing_root_is_reported_not_raised(tmp_path):
    song = touch(tmp_path / "here" / "a.mp3")
    found, errors = walk(tmp_path / "gone", tmp_path / "here")
    assert found == [song]
    assert [p for p, _ in errors] == [tmp_path / "gone"]
    assert "not found" in errors[0][1]


def test_dangling_folder_link_is_reported(tmp_path):
    drive = touch(tmp_path / "drive" / "a.mp3").parent
    root = tmp_path / "Music"
    root.mkdir()
    (root / "external").symlink_to(drive, target_is_directory=True)
    shutil.rmtree(drive)  # the drive is unmounted
    found, errors = walk(root)
    assert found == []
    assert [p for p, _ in errors] == [root / "external"]


def test_file_given_as_root_is_listed(tmp_path):
    song = touch(tmp_path / "one.mp3")
    found, errors = walk(song)
    assert found == [song]
    assert errors == []


def test_overlapping_roots_list_each_file_once(tmp_path):
    a = touch(tmp_path / "Music" / "a.mp3")
    b = touch(tmp_path / "Music" / "sub" / "b.mp3")
    found, _ = walk(tmp_path / "Music" / "sub", tmp_path / "Music", b)
    assert found == [a, b]


# --- unreadable folders -------------------------------------------------------------------------
# chmod 000 does not stop root (CAP_DAC_READ_SEARCH), and CI containers run tests as root. So when
# we are root, the walk runs in a forked child that drops to the unprivileged user `nobody` (the
# code is already loaded, so the child needs no access to the repository or the interpreter), on
# a tree under a world-readable temp folder: the permission check is then the kernel's real one.

NOBODY = 65534


def _walk_as_nobody(root: Path) -> dict:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: whatever happens, it ends here and never returns into pytest
        try:
            os.close(read_end)
            try:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            except OSError as e:
                result = {"cannot_drop": f"{type(e).__name__}: {e}"}
            else:
                try:
                    found, errors = walk(root)
                    result = {"found": [str(p) for p in found], "errors": [[str(p), m] for p, m in errors]}
                except BaseException as e:  # a failure of the code under test, for the parent
                    result = {"walk_failed": f"{type(e).__name__}: {e}"}
            data = json.dumps(result).encode()
            while data:
                data = data[os.write(write_end, data):]
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks))


def walk_unprivileged(root: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    if os.geteuid() != 0:
        return walk(root)
    data = _walk_as_nobody(root)
    if "cannot_drop" in data:  # e.g. a container without CAP_SETUID
        pytest.skip(f"running as root and cannot drop to an unprivileged user: {data['cannot_drop']}")
    assert "walk_failed" not in data, data["walk_failed"]
    return [Path(p) for p in data["found"]], [(Path(p), m) for p, m in data["errors"]]


@pytest.fixture
def world_readable_dir():
    """A temp folder outside pytest's private (0700) tmp dir, so `nobody` can reach it."""
    base = Path(tempfile.mkdtemp(prefix="genrenet-scan-"))
    base.chmod(0o755)
    yield base
    for dirpath, dirnames, _ in os.walk(base):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o755)
    shutil.rmtree(base)


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_unreadable_folder_is_reported_and_the_rest_is_found(world_readable_dir):
    root = world_readable_dir / "Music"
    ok = [touch(root / "a" / "1.mp3"), touch(root / "c" / "3.mp3")]
    touch(root / "b_locked" / "2.mp3")
    for folder in (root, root / "a", root / "c"):
        folder.chmod(0o755)  # whatever the umask, `nobody` may list these
    (root / "b_locked").chmod(0o000)
    found, errors = walk_unprivileged(root)
    assert found == ok
    assert [p for p, _ in errors] == [root / "b_locked"]
    assert "permission denied" in errors[0][1].lower()


def test_read_track_carries_the_album_fields(tmp_path):
    from tagger.scan import read_track
    from tests.helpers import ALBUM_TAGS, make_track

    track = read_track(make_track(tmp_path / "a.ogg", seconds=1.0, **ALBUM_TAGS))
    assert (track.track_number, track.track_total, track.disc_number, track.year) == (3, 12, 2, 2004)
    assert track.album_artist == "Various Artists" and track.compilation and track.is_compilation
    broken = read_track(touch(tmp_path / "b.mp3", b"not audio"))
    assert broken.error and (broken.track_number, broken.compilation) == (None, False)

