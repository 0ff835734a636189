"""The failure-mode list: what each mode means, who owns it, examples; add, edit, rename, merge.
Renaming or merging keeps every label already saved: old names count under the new one."""

from __future__ import annotations

import polars as pl
import streamlit as st

from present.failure_modes import OWNER_NAMES
from present.markdown import escape_markdown
from ui import data
from ui.tables import show_table
from warehouse import taxonomy
from warehouse.reviews import OWNERS, ReviewRefused

st.title("Failure-mode list")
st.caption("The modes reviewers tag and judges flag. Renaming or merging never loses a label: calls tagged with "
           "the old name count under the new one everywhere.")


def _apply(action, *args, done: str) -> None:
    try:
        action(*args)
    except ReviewRefused as refused:
        st.session_state["tx_message"] = ("error", str(refused))
        return
    data.forget_taxonomy()
    st.session_state["tx_message"] = ("success", done)


if message := st.session_state.pop("tx_message", None):
    st.error(escape_markdown(message[1])) if message[0] == "error" else st.success(message[1])

current = data.current_taxonomy()
show_table(
    current.modes.with_columns(pl.col("owner").replace(OWNER_NAMES)), "failure-mode list", "every failure mode",
    hide_index=True, width="stretch", key="tx_modes",
    column_config={"name": "Name", "description": "What it means", "owner": "Owner", "examples": "Examples",
                   "describes_outcome": st.column_config.CheckboxColumn(
                       "Names the outcome", help="The mode is the lost booking itself (e.g. goal not met), not a "
                       "cause: it is left out of the lost-conversion comparison.")},
)  # fmt: skip
old_names = {old: new for old, new in current.aliases.items() if old != new}
if old_names:
    st.caption("Old names still counted: " + "; ".join(f"{escape_markdown(old)} → {escape_markdown(new)}"
                                                       for old, new in sorted(old_names.items())))

edit, rename, merge, add = st.tabs(["Edit", "Rename", "Merge two modes", "Add"])
with edit:
    name = st.selectbox("Mode", current.names, key="tx_edit_name")
    row = current.modes.filter(pl.col("name") == name).row(0, named=True)
    with st.form("tx_edit"):
        description = st.text_area("What it means", row["description"])
        owner = st.radio("Owner", OWNERS, index=OWNERS.index(row["owner"]), format_func=OWNER_NAMES.__getitem__,
                         horizontal=True)
        examples = st.text_area("Examples", row["examples"] or "")
        outcome = st.checkbox("Names the outcome, not a cause", row["describes_outcome"])
        if st.form_submit_button("Save"):
            _apply(taxonomy.edit_mode, name, description, owner, examples, outcome,
                   done=f"Saved {escape_markdown(name)}.")
            st.rerun()
with rename, st.form("tx_rename"):
    old = st.selectbox("Mode", current.names)
    new = st.text_input("New name", placeholder="e.g. long_silence")
    if st.form_submit_button("Rename"):
        _apply(taxonomy.rename_mode, old, new,
               done=f"Renamed {escape_markdown(old)}; its labels now count as the new name.")
        st.rerun()
with merge, st.form("tx_merge"):
    source = st.selectbox("Fold this mode", current.names)
    target = st.selectbox("into this one", current.names)
    if st.form_submit_button("Merge"):
        _apply(taxonomy.merge_modes, source, target,
               done=f"Merged {escape_markdown(source)} into {escape_markdown(target)}.")
        st.rerun()
with add, st.form("tx_add"):
    new_name = st.text_input("Name", placeholder="e.g. wrong_clinic")
    new_description = st.text_area("What it means")
    new_owner = st.radio("Owner", OWNERS, format_func=OWNER_NAMES.__getitem__, horizontal=True)
    new_examples = st.text_area("Examples")
    new_outcome = st.checkbox("Names the outcome, not a cause")
    if st.form_submit_button("Add"):
        _apply(taxonomy.add_mode, new_name, new_description, new_owner, new_examples, new_outcome,
               done="Added the failure mode.")
        st.rerun()
