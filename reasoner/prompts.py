"""Prompts in ChestX-Reasoner's format, for every task type, and the chat messages around them.

Contract: pure functions, no I/O. A prompt is the question, then ``Options:`` and one
``A) ...`` line per option, then the instruction :data:`THINK_INSTRUCTION` (exactly the text the
model was trained on, see ../shared/data). :func:`build_messages` wraps a prompt in chat messages
(transformers' multimodal chat format) with one image, or two for a temporal comparison (prior
first, then current), and a configurable system prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from vocab.tasks import TaskType  # the one definition (the database stores the same values)

THINK_INSTRUCTION = (
    "Let's think step by step. Enclose the reasoning within <think></think> and the answer within "
    "<answer></answer>."
)
DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant."
BINARY_OPTIONS = ("Yes", "No")
TEMPORAL_OPTIONS = ("Improved", "Unchanged", "Worsened")
MAX_OPTIONS = 26


DEFAULT_QUESTIONS = {
    TaskType.open_findings: "Which findings are in this chest X-ray?",
    TaskType.temporal: "Compared with the prior chest X-ray, how has the appearance changed?",
}
_ANSWER_HINTS = {
    TaskType.single_choice: "Choose one option.",
    TaskType.multiple_choice: "Choose all options that apply; give their letters separated by commas.",
}


@dataclass(frozen=True, slots=True)
class Task:
    """A question about one study (two for ``temporal``): what the reasoner is asked."""

    task_type: TaskType
    question: str
    options: tuple[str, ...] = ()
    answer_hint: bool = False  # add "Choose one option." etc. (ChestX-Reasoner's data has none)

    def __post_init__(self) -> None:
        object.__setattr__(self, "task_type", TaskType(self.task_type))
        object.__setattr__(self, "options", tuple(o.strip() for o in self.options))
        if len(self.options) > MAX_OPTIONS:
            raise ValueError(f"at most {MAX_OPTIONS} options (A-Z), got {len(self.options)}")
        if any(not o for o in self.options):
            raise ValueError("an option is empty")
        if not self.question.strip():
            raise ValueError("the question is empty")

    @property
    def n_images(self) -> int:
        return 2 if self.task_type is TaskType.temporal else 1


def make_task(
    task_type: TaskType | str, question: str | None = None, options: Sequence[str] | None = None
) -> Task:
    """A task with the defaults of its type: yes/no options for binary, a default question for
    open findings and temporal comparison (options for temporal when none are given)."""
    task_type = TaskType(task_type)
    opts = tuple(options or ())
    if not opts and task_type is TaskType.binary:
        opts = BINARY_OPTIONS
    if not opts and task_type is TaskType.temporal and not question:
        opts = TEMPORAL_OPTIONS
    if task_type in (TaskType.single_choice, TaskType.multiple_choice) and len(opts) < 2:
        raise ValueError(f"a {task_type.value} question needs at least two options")
    text = question or DEFAULT_QUESTIONS.get(task_type)
    if not text:
        raise ValueError(f"a {task_type.value} task needs a question")
    return Task(task_type, text, opts)


def format_options(options: Sequence[str]) -> str:
    """``Options:`` then ``A) text`` lines, as in ChestX-Reasoner's prompts."""
    lines = [f"{chr(ord('A') + i)}) {text}" for i, text in enumerate(options)]
    return "Options:\n" + "\n".join(lines)


def build_prompt(task: Task) -> str:
    """The user text: question, options, the think-step-by-step instruction."""
    parts = [task.question.strip()]
    if task.task_type is TaskType.temporal:
        parts[0] = "The first image is the prior study and the second image is the current study. " + parts[0]
    if task.options:
        parts[0] += " " + format_options(task.options)
    if task.answer_hint and task.task_type in _ANSWER_HINTS:
        parts.append(_ANSWER_HINTS[task.task_type])
    parts.append(THINK_INSTRUCTION)
    return "\n".join(parts)


@dataclass(frozen=True, slots=True)
class ChatPrompt:
    """Chat messages in transformers' multimodal format plus the images they refer to, in order."""

    messages: list[dict[str, Any]]
    images: list[Any] = field(default_factory=list)


def build_messages(
    task: Task, images: Sequence[Any], *, system_prompt: str | None = DEFAULT_SYSTEM_PROMPT
) -> ChatPrompt:
    """System (if any) and user messages; ``images`` are PIL images (prior first for temporal).

    The user content lists one ``{"type": "image"}`` part per image, then the prompt text.
    """
    if len(images) != task.n_images:
        raise ValueError(f"a {task.task_type.value} task takes {task.n_images} image(s), got {len(images)}")
    messages: list[dict[str, Any]] = []
    if system_prompt:
        messages.append({"role": "system", "content": [{"type": "text", "text": system_prompt}]})
    content: list[dict[str, Any]] = [{"type": "image"} for _ in images]
    content.append({"type": "text", "text": build_prompt(task)})
    messages.append({"role": "user", "content": content})
    return ChatPrompt(messages, list(images))
