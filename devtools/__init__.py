"""Development helpers (not part of the built extension)."""
