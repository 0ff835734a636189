"""Exports for quarterly strategy decks: slide-ready chart images, a PowerPoint deck, data files.

Never imports Streamlit: the app's download buttons and `python -m export` call the same functions."""
