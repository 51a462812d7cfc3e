"""Text as each chat platform's markup must carry it, so what people typed stays literal.

A name typed on the public registration site (`<!channel> <https://evil.example|Cliquez ici>`)
must reach an officer as those characters, never as a mention, a disguised link or emphasis.
Each renderer escapes the texts it puts into its platform's markup with the function here.
"""

from __future__ import annotations

import re

_SLACK = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def slack_mrkdwn(text: str) -> str:
    """Slack mrkdwn: its three control characters escaped as Slack asks.

    Without `<` and `>` no link, user, channel or `<!channel>` mention can be formed; `&` is
    escaped so that an `&lt;` typed by someone stays as typed.
    """
    return text.translate(_SLACK)


_CARD_INLINE = re.compile(r"([\\`*_~\[\]()<>!|{}&])")
_CARD_LINE_START = re.compile(r"^([ \t]*)([#+\-=]|\d+(?=\.))", re.MULTILINE)


def adaptive_card_text(text: str) -> str:
    """An Adaptive Card TextBlock (Teams): the Markdown subset it renders, backslash-escaped.

    Inline: emphasis (`*`, `_`, `~`), code, links and images (`[`, `]`, `(`, `)`, `!`), raw
    HTML (`<`, `>`). At the start of a line: headings, quotes, bullets and numbered lists
    (`#`, `>`, `-`, `+`, `=`, `1.`), and entities (`&`). Backslashes are escaped too, so
    one typed cannot cancel an escape. Braces are the card templating syntax (`${…}`).
    """
    escaped = _CARD_INLINE.sub(r"\\\1", text)
    return _CARD_LINE_START.sub(_line_start, escaped)


def _line_start(match: re.Match[str]) -> str:
    indent, marker = match.groups()
    if marker.isdigit():  # "1." starts a list: the dot is what must lose its meaning
        return f"{indent}{marker}\\"
    return f"{indent}\\{marker}"
