"""Operations: backups and restores of the database and the data directory."""
