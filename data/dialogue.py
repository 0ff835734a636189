"""What is said in a demo call.

Each agent has a happy-path script built from small vocabularies; `converse` then weaves the call's
failures into it (a failed tool, an escalation loop, a repeated sentence, a hallucinated fact).
Agent replies keep the facts they state (price, time, date, address) apart from their wording, as
the values their tools returned, so that a hallucination is planted exactly one way: one stated
value is replaced by a different one that no tool in the call returned. Clean replies only state
what a tool returned earlier in the same call, which is what lets a rule-based checker find the
planted ones with high precision and recall.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from data import scenario
from data.dice import Dice
from warehouse import end_reasons


@dataclass
class ToolCall:
    name: str
    arguments: dict
    result: dict | None  # None when the call failed
    error_type: str | None = None


@dataclass
class Reply:
    """An agent reply: its wording, the facts it states (field -> (kind, value as the tool returned
    it)) and the tools it ran first."""

    template: str
    words: dict[str, str] = field(default_factory=dict)
    facts: dict[str, tuple[str, object]] = field(default_factory=dict)
    tools: list[ToolCall] = field(default_factory=list)
    stated_instead: dict[str, str] = field(default_factory=dict)  # a planted hallucination

    def text(self) -> str:
        values = dict(self.words)
        values.update({name: render(kind, value) for name, (kind, value) in self.facts.items()})
        values.update(self.stated_instead)
        return self.template.format(**values)


@dataclass
class Exchange:
    customer: str
    reply: Reply | None  # None: the caller hung up after speaking


@dataclass
class Story:
    """An agent's happy path for one call. exchanges[0] is the caller's request and the reply that
    uses the first tool; a filler question may follow it."""

    exchanges: list[Exchange]
    booked: bool
    deal_value: int | None
    desk: str  # who a transfer goes to
    question: str  # what the agent asks when it deflects a request for a person
    fillers: list[tuple[str, str]]


@dataclass
class Conversation:
    greeting: str
    exchanges: list[Exchange]
    booked: bool
    resolution: str  # Resolved | Escalated | Unresolved
    deal_value: int | None
    labels: set[str]
    hallucination: dict | None  # {"turn_index", "stated", "tool_result"}
    ending: str  # how the call ended: one of warehouse.end_reasons.END_REASONS


def render(kind: str, value: object) -> str:
    """A tool value as the agent speaks it."""
    if kind == "price":
        return f"${value:,}"
    if kind == "time":
        hours, minutes = (int(part) for part in str(value).split(":"))
        return f"{(hours - 1) % 12 + 1}:{minutes:02d} {'AM' if hours < 12 else 'PM'}"
    if kind == "date":
        day = date.fromisoformat(str(value))
        return f"{day:%A, %B} {day.day}"
    return str(value)


# --- shared vocabulary ---------------------------------------------------------------------------

FIRST_NAMES = ("Maria", "James", "Aisha", "Chen", "Olivia", "Mateo", "Fatima", "Noah", "Priya", "Liam",
               "Grace", "Kwame", "Sofia", "Ethan", "Yuki", "Daniel", "Amara", "Lucas", "Hannah", "Omar")
LAST_NAMES = ("Lopez", "Smith", "Khan", "Wang", "Brown", "Garcia", "Okafor", "Miller", "Shah", "Murphy",
              "Kim", "Johnson", "Rossi", "Novak", "Tanaka", "Reyes", "Cohen", "Schmidt", "Ali", "Evans")
PREFERENCES = ("sometime next week", "early next week", "on a weekday morning", "in the afternoon if possible",
               "as soon as possible", "later this week", "whenever is soonest")
PICKS = ("The first one, please.", "The second one works for me.", "I'll take the earlier one.",
         "The later time is better for me.")
THANKS = ("Great, thank you so much.", "Perfect, thanks for your help.", "Wonderful, that's all I needed.")
BYES = ("Bye.", "Okay, bye now.", "Have a good one.")
HUMAN_REQUESTS = ("Can I speak to a real person, please?", "I'd really rather talk to a human.",
                  "Is there a person I can talk to?", "Please just put me through to a representative.",
                  "I want to speak with a human being.", "Can you transfer me to a real person?")
DEFLECTIONS = ("I can help you with that right here. {question}", "I understand. I can take care of this for you. "
               "{question}", "I'm able to handle this myself. {question}", "Let's sort it out together. {question}")
MISHEARD = ("Sorry, I didn't quite catch that. Could you say it again?", "I'm sorry, could you repeat that?",
            "Apologies, the line cut out for a second. Could you say that once more?")
TOOL_TROUBLE = "I'm sorry, I'm having trouble reaching our system right now."
RETRY_ASKS = ("Could you try again, please?", "Can you check one more time?")
GIVE_UPS = ("Okay, I'll just call back later.", "Never mind, I'll try again another day.")
SORRY_BYE = "I'm sorry about that. Please call us again soon. Goodbye!"
LOOP_HANG_UPS = ("Forget it, I'll call back later.", "This is useless. Goodbye.")
TOOL_ERRORS = ("timeout", "timeout", "timeout", "http_503")


def _times(dice: Dice, count: int, first_hour: int = 8, last_hour: int = 18) -> list[str]:
    """Distinct appointment times on a quarter-hour grid, in order."""
    grid = [f"{h:02d}:{m:02d}" for h in range(first_hour, last_hour + 1) for m in (0, 15, 30, 45)]
    return sorted(dice.sample(grid, count))


def _future_day(dice: Dice, today: date, closed_weekdays: tuple[int, ...]) -> str:
    day = today + timedelta(days=dice.between(1, 9))
    while day.weekday() in closed_weekdays:
        day += timedelta(days=1)
    return day.isoformat()


def _with_article(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _person(dice: Dice) -> str:
    return f"{dice.pick(FIRST_NAMES)} {dice.pick(LAST_NAMES)}"


def _code(dice: Dice, prefix: str) -> str:
    return f"{prefix}-{dice.between(10000, 99999)}"


def _offer(template: str, words: dict[str, str], tool: ToolCall, slots_on: str) -> Reply:
    """A reply offering two times on a day, as the availability tool returned them."""
    result = tool.result or {}
    first, second = result["slots"]
    return Reply(template, words, {"date": ("date", result[slots_on]), "time1": ("time", first),
                                   "time2": ("time", second)}, [tool])


def _ask_name(dice: Dice, ask: str) -> tuple[str, Exchange]:
    name = _person(dice)
    return name, Exchange(dice.pick(PICKS), Reply(ask))


# --- clinic-scheduler ----------------------------------------------------------------------------

CLINIC_SERVICES = ("annual physical", "flu shot", "follow-up visit", "blood test", "skin check", "sports physical",
                   "allergy consultation", "new patient visit", "prenatal checkup", "vaccination appointment")
DOCTORS = ("Dr. Patel", "Dr. Nguyen", "Dr. Okafor", "Dr. Lindqvist", "Dr. Ramirez", "Dr. Cohen", "Dr. Mensah",
           "Dr. Fischer")
CLINICS = ("1420 Oak Street", "88 Harbor Road", "305 Elm Avenue", "17 Willow Lane")
CLINIC_REQUESTS = ("Hi, I'd like to book {a_service} with {doctor}, {pref}.",
                   "Hello, I need to schedule {a_service}. {doctor} if possible, {pref}.",
                   "Hi there, can I get {a_service} with {doctor} {pref}?")
CLINIC_OFFERS = ("{doctor} has openings on {date} at {time1} or {time2}, at our {address} office. "
                 "Which works better for you?",
                 "I can offer {date} at {time1} or {time2} with {doctor}, at {address}. Would either of those work?")
CLINIC_FILLERS = (("Do I need to bring anything?", "Please bring your insurance card and a photo ID."),
                  ("Is there parking at the clinic?", "Yes, there's free parking right next to the building."),
                  ("Can I fill in the forms online?", "Yes, we'll text you a link to the intake forms."),
                  ("Will I get a reminder?", "Yes, you'll get a text reminder the day before."))


def clinic(dice: Dice, today: date, goal: bool) -> Story:
    service, doctor, address = dice.pick(CLINIC_SERVICES), dice.pick(DOCTORS), dice.pick(CLINICS)
    words = {"service": service, "a_service": _with_article(service), "doctor": doctor}

    def availability(not_on: str = "") -> ToolCall:
        day = not_on
        while day == not_on:
            day = _future_day(dice, today, (5, 6))
        return ToolCall("check_availability", {"service": service, "provider": doctor, "from": day},
                        {"provider": doctor, "location": address, "date": day, "slots": _times(dice, 2)})

    def offer(tool: ToolCall) -> Reply:
        reply = _offer(dice.pick(CLINIC_OFFERS), words, tool, "date")
        reply.facts["address"] = ("address", address)
        return reply

    tool = availability()
    request = dice.pick(CLINIC_REQUESTS).format(pref=dice.pick(PREFERENCES), **words)
    exchanges = [Exchange(request, offer(tool))]
    if dice.chance(0.15 if goal else 0.85):  # callers who end up not booking look around more
        tool = availability(not_on=(tool.result or {})["date"])
        exchanges.append(Exchange("Do you have anything on a different day?", offer(tool)))
    if not goal:
        exchanges.append(Exchange("Hmm, none of those work for me. I'll call back another time.",
                                  Reply("No problem. Call us any time to book. Goodbye!")))
        return Story(exchanges, False, None, "the front desk", "What day would suit you best?", list(CLINIC_FILLERS))
    result = tool.result or {}
    slot = result["slots"][dice.between(0, 1)]
    patient, ask = _ask_name(dice, "Great. Can I have the patient's full name?")
    copay = dice.pick((20, 25, 30, 35, 40, 45, 50, 60))
    booking = ToolCall("book_appointment", {"service": service, "provider": doctor, "date": result["date"],
                                            "time": slot, "patient": patient},
                       {"confirmation": _code(dice, "CL"), "date": result["date"], "time": slot, "copay_usd": copay})
    confirmation = Reply("You're booked with {doctor} on {date} at {time}. Your copay is {copay}, and your "
                         "confirmation number is {code}.",
                         {"doctor": doctor, "code": (booking.result or {})["confirmation"]},
                         {"date": ("date", result["date"]), "time": ("time", slot), "copay": ("price", copay)},
                         [booking])
    exchanges += [ask, Exchange(f"It's {patient}.", confirmation)]
    return Story(exchanges, True, None, "the front desk", "What day would suit you best?", list(CLINIC_FILLERS))


# --- salon-booker --------------------------------------------------------------------------------

SALON_SERVICES = {"haircut and style": 55, "color touch-up": 85, "balayage": 180, "beard trim": 25,
                  "blowout": 45, "manicure": 35, "pedicure": 50, "keratin treatment": 220, "highlights": 140}
STYLISTS = ("Jasmine", "Marco", "Aiko", "Tomasz", "Leila", "Sofia", "Dev", "Nadia")
SALON_REQUESTS = ("Hi, can I book {a_service} with {stylist} {pref}?",
                  "Hello, I'd like to come in for {a_service}, {pref}. Is {stylist} available?",
                  "Hi! I need {a_service}, ideally with {stylist}, {pref}.")
SALON_OFFERS = ("{stylist} is free on {date} at {time1} or {time2}. Would one of those suit you?",
                "I have {date} at {time1} or {time2} with {stylist}. Which would you like?")
SALON_FILLERS = (("Do you take cards?", "Yes, we take all major cards and contactless payments."),
                 ("Should I come with clean hair?", "Either is fine; your stylist will wash it first."),
                 ("What if I need to cancel?", "Just let us know a day ahead and there's no charge."))


def salon(dice: Dice, today: date, goal: bool) -> Story:
    service = dice.pick(tuple(SALON_SERVICES))
    stylist = dice.pick(STYLISTS)
    price = SALON_SERVICES[service] + 5 * dice.between(0, 3)
    words = {"service": service, "a_service": _with_article(service), "stylist": stylist}
    words["A_service"] = words["a_service"].capitalize()
    day = _future_day(dice, today, (0,))
    tool = ToolCall("check_availability", {"service": service, "stylist": stylist, "from": day},
                    {"stylist": stylist, "date": day, "slots": _times(dice, 2, 9, 18)})
    request = dice.pick(SALON_REQUESTS).format(pref=dice.pick(PREFERENCES), **words)
    exchanges = [Exchange(request, _offer(dice.pick(SALON_OFFERS), words, tool, "date"))]
    if dice.chance(0.45 if goal else 1.0):  # callers who end up not booking ask about the price
        pricing = ToolCall("get_price", {"service": service, "stylist": stylist},
                           {"service": service, "stylist": stylist, "price_usd": price,
                            "duration_min": dice.pick((30, 45, 60, 90))})
        exchanges.append(Exchange(f"How much is {words['a_service']} with {stylist}?",
                                  Reply("{A_service} with {stylist} is {price}.", words, {"price": ("price", price)},
                                        [pricing])))
    question = "Which day would you like to come in?"
    if not goal:
        exchanges.append(Exchange("Actually, let me check my calendar first and call back.",
                                  Reply("Of course. We'll be happy to book you whenever you're ready. Bye for now!")))
        return Story(exchanges, False, None, "the salon manager", question, list(SALON_FILLERS))
    slot = (tool.result or {})["slots"][dice.between(0, 1)]
    client, ask = _ask_name(dice, "Lovely. What name should I put the booking under?")
    booking = ToolCall("book_appointment", {"service": service, "stylist": stylist, "date": day, "time": slot,
                                            "client": client},
                       {"confirmation": _code(dice, "SB"), "date": day, "time": slot, "price_usd": price})
    confirmation = Reply("All set! {stylist} will see you on {date} at {time}. The total will be {price}.", words,
                         {"date": ("date", day), "time": ("time", slot), "price": ("price", price)}, [booking])
    exchanges += [ask, Exchange(f"{client}.", confirmation)]
    return Story(exchanges, True, None, "the salon manager", question, list(SALON_FILLERS))


# --- estate-qualifier ----------------------------------------------------------------------------

STREETS = ("Maple Avenue", "Cedar Lane", "Harbor View Drive", "Birch Court", "Lakeside Road", "Juniper Street",
           "Orchard Place", "Summit Boulevard", "Willow Creek Drive", "Aspen Way")
ESTATE_REQUESTS = ("Hi, I'm calling about the house on {street}. Is it still available?",
                   "Hello, I saw your listing on {street} online and wanted some details.",
                   "Hi, can you tell me more about the home for sale on {street}?")
QUALIFIED = ("Yes, we're already pre-approved for a mortgage.", "We are, we'd like to move before the spring.",
             "Yes, we've sold our place and we're ready to buy.")
UNQUALIFIED = ("Not really, we're just browsing for now.", "Probably not this year, we're only starting to look.")
ESTATE_FILLERS = (("Can I bring my partner to the viewing?", "Of course, everyone who'll live there is welcome."),
                  ("Do you need proof of funds before a viewing?", "Not for a viewing, only once you make an offer."),
                  ("Is the seller open to offers?", "Our agent can talk you through offers after the viewing."))


def _similar_listing(dice: Dice, street: str, price: int) -> Exchange:
    """A caller who is not ready to buy asks about something cheaper nearby."""
    other = dice.pick([name for name in STREETS if name != street])
    cheaper = price - 5000 * dice.between(2, 12)
    bedrooms = dice.between(2, 4)
    address = f"{dice.between(2, 240)} {other}"
    lookup = ToolCall("lookup_listing", {"near": street, "max_price_usd": price},
                      {"listing_id": f"L-{dice.between(10000, 99999)}", "address": address, "price_usd": cheaper,
                       "bedrooms": bedrooms, "bathrooms": max(1, bedrooms - 1), "status": "active"})
    reply = Reply("There's also a {bedrooms}-bedroom home at {address}, listed at {price}.",
                  {"bedrooms": str(bedrooms)}, {"address": ("address", address), "price": ("price", cheaper)}, [lookup])
    return Exchange("Do you have anything a bit cheaper nearby?", reply)


def estate(dice: Dice, today: date, goal: bool) -> Story:
    street = dice.pick(STREETS)
    address = f"{dice.between(2, 240)} {street}"
    price = 5000 * dice.between(48, 190)
    bedrooms = dice.between(2, 5)
    listing = ToolCall("lookup_listing", {"street": street},
                       {"listing_id": f"L-{dice.between(10000, 99999)}", "address": address, "price_usd": price,
                        "bedrooms": bedrooms, "bathrooms": max(1, bedrooms - dice.between(0, 2)), "status": "active"})
    result = listing.result or {}
    details = Reply("Yes, {address} is still available. It's a {bedrooms}-bedroom, {bathrooms}-bath home listed "
                    "at {price}. Are you looking to buy in the next few months?",
                    {"bedrooms": str(bedrooms), "bathrooms": str(result["bathrooms"])},
                    {"address": ("address", address), "price": ("price", price)}, [listing])
    exchanges = [Exchange(dice.pick(ESTATE_REQUESTS).format(street=street), details)]
    question = "What would you like to know about the home?"
    if not goal:
        exchanges.append(_similar_listing(dice, street, price))
        exchanges.append(Exchange(dice.pick(UNQUALIFIED),
                                  Reply("Thanks for letting me know. I'll email you similar listings. Goodbye!")))
        return Story(exchanges, False, None, "one of our agents", question, list(ESTATE_FILLERS))
    day = _future_day(dice, today, ())
    viewing = ToolCall("check_availability", {"listing_id": result["listing_id"], "from": day},
                       {"listing_id": result["listing_id"], "date": day, "slots": _times(dice, 2, 9, 18)})
    offer = _offer("Great. I can show you {address} on {date} at {time1} or {time2}. Would one of those work?",
                   {}, viewing, "date")
    offer.facts["address"] = ("address", address)
    slot = (viewing.result or {})["slots"][dice.between(0, 1)]
    buyer, ask = _ask_name(dice, "Can I get your name and the best email to reach you?")
    email = f"{buyer.split()[0].lower()}@example.com"
    booking = ToolCall("book_appointment", {"listing_id": result["listing_id"], "date": day, "time": slot,
                                            "buyer": buyer, "email": email},
                       {"confirmation": _code(dice, "EV"), "address": address, "date": day, "time": slot})
    confirmation = Reply("You're confirmed for a viewing of {address} on {date} at {time}. One of our agents will "
                         "meet you there.", {},
                         {"address": ("address", address), "date": ("date", day), "time": ("time", slot)}, [booking])
    exchanges += [Exchange(dice.pick(QUALIFIED), offer), ask, Exchange(f"Sure, it's {buyer}, {email}.", confirmation)]
    return Story(exchanges, True, price, "one of our agents", question, list(ESTATE_FILLERS))


SCRIPTS: dict[str, Callable[[Dice, date, bool], Story]] = {
    "clinic-scheduler": clinic, "estate-qualifier": estate, "salon-booker": salon}
GREETINGS = {
    "clinic-scheduler": "Thank you for calling Riverside Family Clinic. This is the scheduling assistant. "
                        "How can I help you today?",
    "estate-qualifier": "Hello, you've reached Keystone Realty. I'm the listings assistant. How can I help?",
    "salon-booker": "Hi, thanks for calling Studio Bloom! I can help you book an appointment. What can I do for you?",
}
MAX_EXCHANGES = 7  # with a greeting and a caller's goodbye: at most 16 turns


# --- weaving failures in -------------------------------------------------------------------------

def _tool_values(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _tool_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _tool_values(item)
    else:
        yield str(value)


def _nearby(kind: str, value: object, dice: Dice) -> object:
    """A plausible value of the same kind, close to the true one."""
    if kind == "price":
        price = int(str(value))
        return price + (5 if price < 1000 else 5000) * dice.pick((-3, -2, -1, 1, 2, 3, 4))
    if kind == "time":
        hours, minutes = (int(part) for part in str(value).split(":"))
        shifted = hours * 60 + minutes + dice.pick((-120, -90, -60, -45, -30, 30, 45, 60, 90, 120))
        shifted = min(max(shifted, 8 * 60), 18 * 60 + 45)
        return f"{shifted // 60:02d}:{shifted % 60:02d}"
    if kind == "date":
        return (date.fromisoformat(str(value)) + timedelta(days=dice.pick((-2, -1, 1, 2, 3, 7)))).isoformat()
    number, street = str(value).split(" ", 1)
    return f"{int(number) + dice.pick((2, 4, 6, 10, 12, 20))} {street}"


def _wrong_value(kind: str, value: object, dice: Dice, taken: set[str]) -> object:
    """A nearby value that no tool in the call returned (`taken` holds the true one too)."""
    while True:
        candidate = _nearby(kind, value, dice)
        if str(candidate) not in taken:
            return candidate


def _plant_hallucination(exchanges: list[Exchange], dice: Dice) -> dict | None:
    candidates = [(index, name) for index, exchange in enumerate(exchanges) if exchange.reply
                  for name in exchange.reply.facts]
    if not candidates:
        return None
    index, name = dice.pick(candidates)
    reply = exchanges[index].reply
    assert reply is not None
    taken = {value for exchange in exchanges if exchange.reply for tool in exchange.reply.tools
             for value in _tool_values(tool.result)}
    kind, truth = reply.facts[name]
    stated = render(kind, _wrong_value(kind, truth, dice, taken))
    reply.stated_instead[name] = stated
    return {"turn_index": 2 * index + 2, "stated": stated, "tool_result": str(truth)}


def _fail_first_tool(story: Story, dice: Dice) -> tuple[list[Exchange], bool]:
    """The first tool call errors; the caller asks again (and the retry works) or gives up.
    Returns the exchanges that replace the story's first one, and whether the call goes on."""
    first = story.exchanges[0]
    assert first.reply is not None
    tool = first.reply.tools[0]
    failed = ToolCall(tool.name, tool.arguments, None, dice.pick(TOOL_ERRORS))
    trouble = Exchange(first.customer, Reply(TOOL_TROUBLE, tools=[failed]))
    if dice.chance(scenario.TOOL_RETRY_SUCCEEDS):
        return [trouble, Exchange(dice.pick(RETRY_ASKS), first.reply)], True
    return [trouble, Exchange(dice.pick(GIVE_UPS), Reply(SORRY_BYE))], False


def _escalation(story: Story, opening: list[Exchange], dice: Dice, deflections: int) -> tuple[list[Exchange], str]:
    """The caller asks for a person. With no deflection the agent transfers at once; otherwise it
    deflects that many times and the caller hangs up or is finally transferred."""
    requests = dice.sample(HUMAN_REQUESTS, deflections + 1)
    exchanges = list(opening)
    for ask, deflection in zip(requests, dice.sample(DEFLECTIONS, deflections), strict=False):
        exchanges.append(Exchange(ask, Reply(deflection, {"question": story.question})))
    if deflections and dice.chance(0.5):
        return [*exchanges, Exchange(dice.pick(LOOP_HANG_UPS), None)], "Unresolved"
    transfer = Reply("Of course. Let me transfer you to {desk} now.", {"desk": story.desk})
    return [*exchanges, Exchange(requests[-1], transfer)], "Escalated"


def _repeat_once(exchanges: list[Exchange], dice: Dice) -> list[Exchange]:
    """The agent misses one of the caller's sentences and the caller says it again, word for word."""
    index = dice.between(0, len(exchanges) - 2)
    missed = Exchange(exchanges[index].customer, Reply(dice.pick(MISHEARD)))
    return [*exchanges[:index], missed, *exchanges[index:]]


def converse(agent: str, prompt_version: str, today: date, dice: Dice) -> Conversation:
    """One call's words and outcome, with its failure modes drawn at their scenario rates."""
    hallucinate = dice.chance(scenario.HALLUCINATION_RATE)
    fail_tool = dice.chance(scenario.TOOL_FAILURE_RATE)
    loop = dice.chance(scenario.ESCALATION_LOOP_RATE)
    handover = not loop and dice.chance(scenario.HANDOVER_RATE)
    repeat = dice.chance(scenario.REPEAT_RATE)
    goal_rate = scenario.AGENT_BY_NAME[agent].goal_rate[prompt_version]
    goal_rate *= (0.75 if hallucinate else 1.0) * (0.8 if fail_tool else 1.0) * (0.9 if repeat else 1.0)
    story = SCRIPTS[agent](dice, today, dice.chance(goal_rate))

    labels: set[str] = set()
    opening, going_on = story.exchanges[:1], True
    if fail_tool:
        labels.add("failed_tool_call")
        opening, going_on = _fail_first_tool(story, dice)
    room = MAX_EXCHANGES - len(opening) - repeat  # exchanges still free after the opening
    booked, resolution, exchanges = False, "Unresolved", opening
    if going_on and (loop or handover):
        deflections = min(dice.between(3, 4), room - 1) if loop else 0
        exchanges, resolution = _escalation(story, opening, dice, deflections)
        if loop:
            labels.add("escalation_loop")
    elif going_on:
        rest = story.exchanges[1:]
        closing = [Exchange(dice.pick(THANKS), Reply("You're welcome. Have a great day!"))] if story.booked else []
        wanted = dice.pick((0, 0, 1) if story.booked else (1, 2, 2))  # booked calls are longer already
        fillers = dice.sample(story.fillers, max(0, min(wanted, room - len(rest) - len(closing))))
        extra = [Exchange(question, Reply(answer)) for question, answer in fillers]
        exchanges = [*opening, *extra, *rest, *closing]
        booked, resolution = story.booked, "Resolved"
    if repeat:
        labels.add("customer_repeated")
        exchanges = _repeat_once(exchanges, dice)
    said_goodbye = exchanges[-1].reply is not None and resolution != "Escalated"
    if said_goodbye and len(exchanges) <= MAX_EXCHANGES and dice.chance(0.5):
        exchanges.append(Exchange(dice.pick(BYES), None))
    hallucination = _plant_hallucination(exchanges, dice) if hallucinate else None
    if hallucination:
        labels.add("hallucinated_fact")
    if not booked:
        labels.add("goal_not_met")
    return Conversation(GREETINGS[agent], exchanges, booked, resolution, story.deal_value if booked else None,
                        labels, hallucination, _ending(going_on, resolution, loop))


def _ending(going_on: bool, resolution: str, loop: bool) -> str:
    """How the call ended, from its story: a failed tool the caller gave up on ended it in an error;
    a request for a person ended in a transfer, or (after a loop of deflections) in the caller
    hanging up; every other call ran to its goodbye. The demo's agents answer calls, so none reaches
    voicemail."""
    if not going_on:
        return end_reasons.ERROR
    if resolution == "Escalated":
        return end_reasons.TRANSFERRED
    return end_reasons.CALLER_HUNG_UP if loop else end_reasons.COMPLETED
