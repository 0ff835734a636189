"""The demo agents' prompt versions, written as the prompt files a team keeps in git: TOML front
matter between `+++` lines (version, reason, author, deployed_at as an ISO timestamp in UTC), then
the prompt text. Deploy dates come from the scenario's timeline, so the files agree with the
`callboard.prompt.version` on the calls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import orjson

from data.scenario import Timeline, deploy_time

CLINIC_BASE = """You are the scheduling assistant of Riverside Family Clinic, answering the phone.
Help callers book, move or cancel appointments with our doctors.
- Speak in short sentences; this is a phone call.
- Use check_availability before offering any time, and book_appointment to book.
- Only state dates, times, prices and addresses that a tool returned in this call.
- Never give medical advice. If the caller describes an emergency, tell them to call 911.
- If the caller asks for a person, transfer them to the front desk."""

CLINIC_V2 = CLINIC_BASE + """
- Offer two concrete times on the first available day instead of asking when the caller is free.
- Once the caller picks a time, ask only for the patient's full name, then book."""

ESTATE_BASE = """You are the listings assistant of Keystone Realty, answering calls about our homes for sale.
- Look up the listing the caller means with lookup_listing and describe it briefly.
- Only state prices, addresses, dates and times that a tool returned in this call.
- Find out whether the caller plans to buy within a few months.
- If they do, offer a viewing with check_availability and book it with book_appointment.
- If the caller asks for a person, transfer them to one of our agents."""

ESTATE_V2 = ESTATE_BASE + """
- Ask about the buying timeline right after describing the home, in one question."""

SALON_BASE = """You are the booking assistant of Studio Bloom, a hair and nail salon.
- Find a time with check_availability; quote prices only from get_price; book with book_appointment.
- Only state prices, dates and times that a tool returned in this call.
- Be warm and brief. If the caller asks for a person, transfer them to the salon manager."""

SALON_V2 = SALON_BASE + """
- Confirm a booking in one sentence: stylist, day, time and total."""


@dataclass(frozen=True)
class PromptVersion:
    agent: str
    version: str
    author: str
    deployed_at: datetime
    reason: str
    text: str


def prompt_versions(timeline: Timeline) -> list[PromptVersion]:
    """Every agent's prompt history; each v1 went live months before the demo period."""
    def before_end(days: int) -> datetime:
        return deploy_time(timeline.end_day - timedelta(days=days))

    return [
        PromptVersion("clinic-scheduler", "v1", "priya.nair", before_end(170),
                      "First production prompt for the clinic line.", CLINIC_BASE),
        PromptVersion("clinic-scheduler", "v2", "priya.nair", timeline.clinic_prompt_change,
                      "Callers hung up when asked open questions about when they were free. v2 offers two "
                      "concrete times up front and asks only for the name before booking.", CLINIC_V2),
        PromptVersion("estate-qualifier", "v1", "tom.becker", before_end(184),
                      "First production prompt for the listings line.", ESTATE_BASE),
        PromptVersion("estate-qualifier", "v2", "tom.becker", timeline.estate_prompt_change,
                      "Agents asked for the buying timeline earlier in the call so that leads are qualified "
                      "before a viewing is offered.", ESTATE_V2),
        PromptVersion("salon-booker", "v1", "ana.silva", before_end(138),
                      "First production prompt for the salon line.", SALON_BASE),
        PromptVersion("salon-booker", "v2", "ana.silva", timeline.salon_prompt_change,
                      "Confirmations were long and callers talked over them; v2 confirms in one sentence.",
                      SALON_V2),
    ]


def prompt_file(version: PromptVersion) -> str:
    deployed = version.deployed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    fields = {"version": version.version, "reason": version.reason, "author": version.author,
              "deployed_at": deployed}
    # A JSON string is a valid TOML basic string, escapes included.
    front_matter = "".join(f"{key} = {orjson.dumps(value).decode()}\n" for key, value in fields.items())
    return f"+++\n{front_matter}+++\n{version.text}\n"


def write_prompts(out_dir: Path, timeline: Timeline) -> int:
    """Write `out_dir/<agent>/<version>.md` for every version; returns how many."""
    versions = prompt_versions(timeline)
    for version in versions:
        path = out_dir / version.agent / f"{version.version}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(prompt_file(version))
    return len(versions)
