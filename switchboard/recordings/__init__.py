"""Call recordings: audio files and metadata of finished calls."""
