import unicodedata


def search_key(*parts: str | None) -> str:
    """Lower-cased, without diacritics: `Șoseaua Ștefan` and `soseaua stefan` match alike."""
    text = " ".join(part for part in parts if part)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
