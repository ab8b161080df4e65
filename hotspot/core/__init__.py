"""What every layer uses: the settings, the errors the domain raises, and plain values (phones,
codes, storable text, CSV files, log lines)."""
