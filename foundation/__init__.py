"""What every layer below the application shares: the one settings class, the payload codec
and the Temporal client built from them. Imports nothing of ours above `domain`."""
