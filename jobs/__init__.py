"""rq jobs and their schedule (the Background-work issue fills this in)."""
