"""Search-space expansion and trial planning."""
