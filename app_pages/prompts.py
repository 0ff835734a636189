"""Prompt versions: each agent's prompt history with the reason for every change, what changed
between any two versions, and the team's comments on each."""

from __future__ import annotations

import polars as pl
import streamlit as st

from present.markdown import escape_markdown
from present.prompt_diff import prompt_diff
from ui import data
from ui.tables import show_table
from warehouse import prompt_history

st.title("Prompt versions")

versions = data.prompt_versions()
if versions.is_empty():
    st.info("No prompt versions yet. Import a folder of prompt files kept in git with "
            "`python -m ingest prompts PATH` (one `<agent>/<version>.md` per version).")
    st.stop()

agent = st.selectbox("Agent", versions["agent"].unique(maintain_order=True).to_list(), key="prompt_agent")
history = versions.filter(pl.col("agent") == agent)
names = history["version"].to_list()

st.subheader("History")
show_table(
    history.select(
        pl.col("version").alias("Version"),
        pl.col("deployed_at").dt.strftime("%d %b %Y %H:%M UTC").alias("Went live"),
        pl.col("author").alias("Author"),
        pl.col("reason").alias("Why"),
    ),
    f"{agent} prompt history", f"agent: {agent} · every prompt version",
    hide_index=True,
    width="stretch",
)

st.subheader("What changed")
before, after = st.columns(2)
old = before.selectbox("From", names, index=max(len(names) - 2, 0), key="prompt_from")
new = after.selectbox("To", names, index=len(names) - 1, key="prompt_to")
text = dict(zip(history["version"], history["prompt_text"], strict=True))
diff = prompt_diff(text[old], text[new], f"{agent} {old}", f"{agent} {new}")
st.caption("Lines starting with − were removed, with + added.")
st.code(diff or text[new] or "", language="diff" if diff else None, wrap_lines=True)
if not diff:
    st.caption("The two versions' prompts are the same.")

st.subheader("Comments")
notes = data.prompt_comments(agent)
if notes.is_empty():
    st.caption("No comments on this agent's prompts yet.")
for note in notes.iter_rows(named=True):
    with st.container(border=True):
        st.caption(f"{escape_markdown(note['author'])} on {escape_markdown(note['version'])} · "
                   f"{note['created_at']:%d %b %Y %H:%M} UTC")
        st.markdown(escape_markdown(note["body"]))

with st.form("prompt_comment", clear_on_submit=True):
    st.markdown("**Add a comment**")
    version = st.selectbox("On version", names, index=len(names) - 1)
    author = st.text_input("Your name")
    body = st.text_area("Comment", placeholder="What did you notice, and what should we try next?")
    if st.form_submit_button("Add comment"):
        try:
            data.add_prompt_comment(agent, version, author, body)
        except prompt_history.CommentRefused as refused:
            st.error(escape_markdown(str(refused)))
        else:
            st.rerun()
