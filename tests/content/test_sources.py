"""Finding and parsing content files: errors name file, line and column."""
from pathlib import Path

import pytest

from gros.settings import Settings
from gros.content.files import ContentErrors, SourceError, find_files, parse_file, read_files, to_graph


def test_every_content_file_parses(settings):
    files = read_files(find_files(settings))
    assert {f.kind for f in files} == {"ontology", "data"}
    assert all(f.triples for f in files), "an empty content file"
    assert len(to_graph(files)) > 1000


def test_graph_names_follow_file_stems(settings):
    for content in find_files(settings):
        assert content.graph == f"https://w3id.org/gros/graph/{content.path.stem}"


def test_parse_error_names_file_line_and_column(tmp_path: Path):
    bad = tmp_path / "bad.ttl"
    bad.write_text('@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:d ex:e "open .\n', encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        parse_file(bad)
    err = caught.value
    assert err.path == str(bad) and err.line == 3 and err.column is not None
    assert str(err).startswith(f"{bad}:3:")


def test_all_broken_files_are_reported_together(small_root: Path):
    (small_root / "data" / "a.ttl").write_text("this is not turtle", encoding="utf-8")
    (small_root / "data" / "b.ttl").write_text("<http://x> <http://y> .", encoding="utf-8")
    with pytest.raises(ContentErrors) as caught:
        read_files(find_files(Settings(root=small_root)))
    assert sorted(Path(e.path).name for e in caught.value.errors) == ["a.ttl", "b.ttl"]
    assert all(e.line == 1 for e in caught.value.errors)


def test_same_file_stem_in_two_folders_is_refused(small_root: Path):
    (small_root / "data" / "gros.ttl").write_text("", encoding="utf-8")
    with pytest.raises(SourceError, match="stem"):
        find_files(Settings(root=small_root))


def test_missing_folder_is_an_input_error(tmp_path: Path):
    with pytest.raises(SourceError, match="does not exist"):
        find_files(Settings(root=tmp_path))
