"""What the bot says. Kept apart from the transitions so the voice can be tuned in one place."""

from __future__ import annotations

from datetime import timedelta

from bot.engine.events import Command
from bot.engine.state import Balance, SessionState
from bot.protocol.model import EndRule, Phase, Speaking

WHO = {
    Speaking.PRESENTER_ONLY: "{presenter} speaks; everyone else listens",
    Speaking.QUESTIONS: "peers ask one question at a time, in turn; {presenter} answers",
    Speaking.ROUND: "peers speak one at a time, in turn; {presenter} listens in silence",
    Speaking.PEERS: "peers talk among themselves; {presenter} listens in silence",
    Speaking.ALL: "everyone may speak",
    Speaking.SILENCE: "a quiet moment: nobody speaks",
}

# What each facilitator command does, said the way a member reads it.
COMMAND_DOES = {
    Command.NEXT: "move the session on",
    Command.SKIP: "skip a turn",
    Command.EXTEND: "give more time",
    Command.PAUSE: "pause the session",
    Command.RESUME: "resume the session",
    Command.END: "end the session",
}

HOW_IT_ENDS = {
    EndRule.TIMER: "when the time is up",
    EndRule.ROUND_DONE: "when every peer has had a turn",
    EndRule.PRESENTER: "when {presenter} presses Done",
    EndRule.FACILITATOR: "when the facilitator moves on",
    EndRule.AGREED: "when everyone has agreed",
}


def at(member: str) -> str:
    """A member as the platforms write a mention; each adapter renders it its own way."""
    return f"<@{member}>"


def group_size(low: int, high: int) -> str:
    return f"exactly {low} members" if low == high else f"{low} to {high} members"


def names(members: tuple[str, ...] | list[str], mention: bool = True) -> str:
    shown = [at(m) if mention else m for m in members]
    if not shown:
        return "nobody"
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def minutes(value: float) -> str:
    if value == int(value):
        whole = int(value)
        return f"{whole} minute" + ("" if whole == 1 else "s")
    return f"{value:g} minutes"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def session_started(state: SessionState) -> str:
    lead = (
        f"Facilitator: {at(state.facilitator)}."
        if state.facilitator
        else (
            "No facilitator: I keep time, and anyone may move us on "
            "(next, skip, extend, pause or end)."
        )
    )
    return (
        f"{state.protocol.title} begins. Members: {names(state.members)}. "
        f"Presenting: {names(state.presenters)}. {lead} "
        "What is said here stays here: no post mortems. (Whoever administers this workspace, "
        "server or channel may still be able to read this space.)"
    )


def round_started(presenter: str) -> str:
    return f"Now {at(presenter)} presents. The rest of you are peers for this round."


def phase_intro(state: SessionState) -> str:
    phase = state.phase
    presenter = at(state.presenter) if state.presenter else "the presenter"
    who = WHO[phase.speaking].format(presenter=presenter)
    if state.presenter is None and phase.speaking is Speaking.ROUND:
        who = "everyone speaks one at a time, in turn"
    ends = " or ".join(HOW_IT_ENDS[rule].format(presenter=presenter) for rule in phase.ends_by)
    timing = f" ({minutes(phase.minutes)})" if phase.minutes else ""
    lines = [f"{phase.title}{timing}: {phase.prompt}", f"Now {who}. This part ends {ends}."]
    if phase.contract:
        rules = state.protocol.contracts[phase.contract]
        lines.append("Our ground rules:\n" + "\n".join(f"- {r}" for r in rules))
        lines.append("Press Agree if you will keep them.")
    if phase.stems and phase.speaking not in (Speaking.ROUND, Speaking.QUESTIONS):
        lines.append("Stems you might use: " + stem_list(state, phase))
    if phase.asks_for_actions:
        lines.append("Record each action you commit to: press Record an action item.")
    return "\n".join(lines)


def stem_list(state: SessionState, phase: Phase) -> str:
    stems = [s for name in phase.stems for s in state.protocol.stems[name]]
    return " / ".join(f'"{s}"' for s in stems)


def turn(state: SessionState, member: str) -> str:
    limit = state.phase.turn_minutes
    presenter = state.presenter or "the presenter"
    timing = f" You have {minutes(limit)}." if limit else ""
    if state.phase.speaking is Speaking.QUESTIONS:
        return f"{at(member)}, your turn to ask {at(presenter)} one question.{timing}"
    return f"{at(member)}, your turn.{timing} Press Done when you have finished, or Pass."


def stems_offer(state: SessionState) -> str:
    return "If it helps, start with: " + stem_list(state, state.phase)


def turn_ended(member: str, reason: str) -> str:
    member = at(member)
    return {
        "done": f"{member} has finished.",
        "pass": f"{member} passes.",
        "skip": f"{member}'s turn is skipped.",
        "timeout": f"Time is up for {member}'s turn.",
        "next": f"{member}'s turn is closed by the facilitator.",
        "phase": f"{member}'s turn ends with this part.",
        "left": f"{member} has left, so their turn ends.",
    }[reason]


def out_of_turn(state: SessionState) -> str:
    if state.phase.speaking is Speaking.PRESENTER_ONLY or state.turn is None:
        return (
            f"Right now it is {at(state.presenter or '')}'s time to speak uninterrupted. "
            "Hold on to your thought: your turn comes later."
        )
    return f"It is {at(state.turn)}'s turn just now. Hold on to your thought: yours will come."


def listening(state: SessionState) -> str:
    return (
        "You are listening in silence now: sift and sort, take what you want and leave the rest. "
        "I have kept what you wrote for you and will hand it back when you respond."
    )


def silence(state: SessionState) -> str:
    return "This is a quiet moment for reflection; nobody speaks until it ends."


def paused() -> str:
    return "The session is paused until the facilitator resumes it."


def advice(state: SessionState, marker: str) -> str:
    better = state.protocol.advice_stem
    if better is None and state.phase.stems:
        better = state.protocol.stems[state.phase.stems[0]][0]
    tail = f' Try instead: "{better}"' if better else ""
    return (
        f'"{marker}" sounds like advice, and this part asks for questions or experience, '
        f"so {at(state.presenter or '')} can find their own way.{tail}"
    )


def notes_returned(notes: tuple[str, ...]) -> str:
    return "What you wrote while listening, kept for you:\n" + "\n".join(f"- {n}" for n in notes)


def warning_phase(state: SessionState) -> str:
    left = timedelta(seconds=state.protocol.warnings.phase_seconds)
    return f"{_left(left)} left in {state.phase.title}."


def warning_turn(state: SessionState) -> str:
    left = timedelta(seconds=state.protocol.warnings.turn_seconds)
    return f"{_left(left)} left in your turn."


def _left(left: timedelta) -> str:
    seconds = int(left.total_seconds())
    if seconds % 60 == 0:
        return minutes(seconds // 60).capitalize()
    return f"{seconds} seconds"


def agreed(member: str, count: int, total: int) -> str:
    return f"{at(member)} agrees to the ground rules ({count} of {total})."


def summary(state: SessionState) -> str:
    lines = ["Speaking balance (turns, words, airtime):"]
    for member in _everyone(state):
        b = state.balance.get(member, Balance())
        lines.append(
            f"- {at(member)}: {plural(b.turns, 'turn')}, {plural(b.words, 'word')}, "
            f"{duration(b.seconds)}"
        )
    if state.actions:
        lines.append("Action items:")
        lines.extend(f"- {at(member)}: {text}" for member, text in state.actions)
    else:
        lines.append("No action items were recorded.")
    lines.append("Thank you all. What was said here stays here.")
    return "\n".join(lines)


def _everyone(state: SessionState) -> list[str]:
    seen = list(state.members)
    seen.extend(m for m in state.balance if m not in seen)
    return seen
