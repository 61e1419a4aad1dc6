"""Everything that becomes of a response: files, XML, JSON, CSV, Parquet, text dumps."""
