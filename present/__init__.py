"""How Callboard's figures are shown, without Streamlit: words, number formats and chart specs
(altair), shared by the pages (app_pages/, ui/) and the PowerPoint deck (export/)."""
