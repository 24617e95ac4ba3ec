"""Package data of genrenet: shipped models, the genre taxonomy, icons (see tagger.resources)."""
