"""Reading an officer's decision from a mail reply: the corpus of real client formats, the cut
rules one by one, and the word list's edge cases (only an unmistakable first word acts)."""

from __future__ import annotations

import email
import email.message
import email.policy
import re
from pathlib import Path

import pytest

from mail_gateway.quoting import (
    APPROVE_WORDS,
    QUOTE_MARKER,
    REFUSE_WORDS,
    Verdict,
    body_text,
    first_words,
    html_to_text,
    read_verdict,
    reply_part,
)

CORPUS = Path(__file__).resolve().parents[1] / "mail"

# What the words say, file by file (see tests/mail/README.md for what the gateway must do).
EXPECTED: dict[str, tuple[str | None, str | None]] = {
    "outlook_fr_ok.eml": ("approve", None),
    "outlook_nl_refuse.eml": ("refuse", "geen plaats meer"),
    "outlook_en_approve.eml": ("approve", None),
    "gmail_fr_oui.eml": ("approve", None),
    "gmail_en_refuse_reason.eml": ("refuse", "budget exhausted"),
    "thunderbird_de_ja.eml": ("approve", None),
    "apple_mail_fr_non.eml": ("refuse", "session complète"),
    "iphone_nl_ja.eml": ("approve", None),
    "android_outlook_en_ok.eml": ("approve", None),
    "html_only_ok.eml": ("approve", None),
    "base64_fr_approuver.eml": ("approve", None),
    "quoted_printable_fr_refuser.eml": ("refuse", "la personne a quitté le service"),
    "latin1_fr_oui.eml": ("approve", None),
    "with_attachment_non.eml": (
        "refuse", "attestation de l'employeur manquante, voir le document joint."
    ),
    "dutch_akkoord.eml": ("approve", None),
    "signature_only.eml": (None, None),
    "not_understood_question.eml": (None, None),
    "auto_reply_ooo_fr.eml": (None, None),
    "auto_reply_ooo_nl.eml": (None, None),
    "auto_reply_de.eml": (None, None),
    "out_of_office_en_no_headers.eml": (None, None),
    "dsn_bounce.eml": (None, None),
    "list_mail.eml": ("approve", None),
    "forged_from.eml": ("approve", None),
    "duplicate_a.eml": ("approve", None),
    "duplicate_b.eml": ("approve", None),
}


def load(name: str, token: bytes = b"T") -> email.message.EmailMessage:
    """Parse a corpus file the way the gateway will, with the token substituted."""
    data = (CORPUS / name).read_bytes().replace(b"tok3n", token)
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def mail(
    body: str | bytes,
    content_type: str = "text/plain; charset=utf-8",
    cte: str = "8bit",
) -> email.message.EmailMessage:
    """A minimal single-part reply with exactly the given body bytes and headers."""
    head = (
        "From: Sophie Lambert <sophie.lambert@bosa.example>\r\n"
        "To: reply+T@itma.localhost\r\n"
        "Subject: Re: Nouvelle inscription : Mertens Julie (BOSA)\r\n"
        "MIME-Version: 1.0\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Transfer-Encoding: {cte}\r\n\r\n"
    ).encode("ascii")
    data = body.encode("utf-8") if isinstance(body, str) else body
    message = email.message_from_bytes(head + data, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


# ------------------------------------------------------------------------------------ corpus


def test_every_corpus_file_is_expected_and_described() -> None:
    files = {path.name for path in CORPUS.glob("*.eml")}
    assert files == set(EXPECTED)
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    missing = [name for name in sorted(files) if f"`{name}`" not in readme]
    assert not missing


@pytest.mark.parametrize(("name", "decision", "reason"),
                         [(name, *expected) for name, expected in EXPECTED.items()],
                         ids=list(EXPECTED))
def test_corpus_verdict(name: str, decision: str | None, reason: str | None) -> None:
    verdict = read_verdict(load(name))
    assert (verdict.decision, verdict.reason) == (decision, reason), verdict.first_line


@pytest.mark.parametrize("name", [
    "outlook_fr_ok.eml", "outlook_nl_refuse.eml", "gmail_fr_oui.eml", "gmail_en_refuse_reason.eml",
    "thunderbird_de_ja.eml", "apple_mail_fr_non.eml", "android_outlook_en_ok.eml",
    "dutch_akkoord.eml", "with_attachment_non.eml",
])
def test_html_alternative_reads_like_the_plain_part(name: str) -> None:
    """The HTML quote markers alone cut the history: the HTML's reply equals the plain one."""
    message = load(name)
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    from_html = reply_part(html_to_text(html.get_content()))
    from_plain = reply_part(body_text(message))
    assert " ".join(from_html.split()) == " ".join(from_plain.split())


def test_the_token_is_only_in_the_corpus_as_a_placeholder() -> None:
    for name in EXPECTED:
        data = (CORPUS / name).read_bytes()
        assert b"tok3n" in data, name
        assert b"reply+T@" not in data, name
    assert "reply+Z9@itma.localhost" in str(load("outlook_fr_ok.eml", b"Z9")["To"])


def test_corpus_uses_reserved_domains_only() -> None:
    allowed = re.compile(r"(?:.+\.)?(?:example|example\.be|itma\.localhost)$", re.IGNORECASE)
    for name in EXPECTED:
        message = load(name)
        raw = (CORPUS / name).read_bytes().decode("utf-8", "replace")
        text = re.sub(r"=\r?\n", "", raw)  # join quoted-printable soft line breaks
        for part in message.walk():
            if part.get_content_maintype() == "text":
                text += "\n" + str(part.get_content())
        for domain in re.findall(r"[\w.+=-]+@([\w-]+(?:\.[\w-]+)+)", text):
            assert allowed.match(domain), (name, domain)


def test_replies_thread_on_the_notification() -> None:
    for name in EXPECTED:
        if name in {"out_of_office_en_no_headers.eml", "dsn_bounce.eml"}:
            continue
        assert "<abc123.T@itma.localhost>" in str(load(name)["References"]), name


def test_duplicates_share_message_id_and_body_but_nothing_else_does() -> None:
    first, second = load("duplicate_a.eml"), load("duplicate_b.eml")
    assert first["Message-ID"] == second["Message-ID"]
    assert body_text(first) == body_text(second)
    assert len(second.get_all("Received", [])) > len(first.get_all("Received", []))
    ids = [str(load(name)["Message-ID"]) for name in EXPECTED if name != "duplicate_b.eml"]
    assert len(ids) == len(set(ids))


def test_forged_reply_reads_fine_and_only_the_address_differs() -> None:
    message = load("forged_from.eml")
    assert message["From"].addresses[0].addr_spec == "mallory@example.be"
    assert message["From"].addresses[0].display_name == "Lambert Sophie"
    assert read_verdict(message).decision == "approve"


def test_html_only_body_is_converted_without_style_or_history() -> None:
    text = body_text(load("html_only_ok.eml"))
    assert "margin-top" not in text
    assert text.startswith("OK\n")
    assert QUOTE_MARKER in text
    assert reply_part(text) == "OK"


def test_transfer_encodings_and_charsets_decode() -> None:
    assert body_text(load("base64_fr_approuver.eml")).startswith(
        "Approuver\n\nCordialement,\nSophie\n"
    )
    assert "quitté le service" in body_text(load("quoted_printable_fr_refuser.eml"))
    latin1 = body_text(load("latin1_fr_oui.eml"))
    assert "Bonne journée – Sophie" in latin1  # =96 under an iso-8859-1 label is cp1252's dash
    assert "\ufffd" not in latin1
    assert "Viele Grüße" in body_text(load("thunderbird_de_ja.eml"))  # 8bit UTF-8
    assert reply_part(body_text(load("android_outlook_en_ok.eml"))) == "OK"  # base64


def test_attachment_is_never_read_as_the_body() -> None:
    message = load("with_attachment_non.eml")
    assert not body_text(message).startswith("OK")
    assert first_words(message).startswith("Non - attestation")


# -------------------------------------------------------------------------------- reply_part

ATTRIBUTIONS = [
    "On Fri, Mar 12, 2027 at 10:03 AM ITMA <noreply@itma.localhost> wrote:",
    "On 12/03/2027 10:03, ITMA wrote:",
    "Le mar. 12 mars 2027 à 10:03, ITMA <noreply@itma.localhost> a écrit :",
    "Le 12 mars 2027 à 10:03, ITMA <noreply@itma.localhost> a écrit :",
    "Le 12/03/2027 à 10:03, ITMA a écrit\u00a0:",
    "Op vr 12 mrt 2027 om 10:03 schreef ITMA <noreply@itma.localhost>:",
    "Op 12-03-2027 om 10:03 schreef ITMA:",
    "Op 12 mrt. 2027 om 10:03 heeft ITMA <noreply@itma.localhost> het volgende geschreven:",
    "Am 12.03.2027 um 10:03 schrieb ITMA:",
    "Am Fr., 12. März 2027 um 10:03 Uhr schrieb ITMA <noreply@itma.localhost>:",
]


@pytest.mark.parametrize("attribution", ATTRIBUTIONS)
def test_attribution_lines_cut(attribution: str) -> None:
    text = f"Oui merci\n\n{attribution}\n\nBonjour Sophie,\nRépondez OK pour approuver.\n"
    assert reply_part(text) == "Oui merci"


@pytest.mark.parametrize(("first", "second"), [
    ("Le mar. 12 mars 2027 à 10:03, ITMA <noreply@itma.localhost> a", "écrit :"),
    ("Le mar. 12 mars 2027 à 10:03, ITMA Assistant Formations",
     "<noreply@itma.localhost> a écrit :"),
    ("On Fri, Mar 12, 2027 at 10:03 AM ITMA Assistant Formations <noreply@itma.localhost>",
     "wrote:"),
    ("Op 12 mrt. 2027 om 10:03 heeft ITMA <noreply@itma.localhost> het volgende",
     "geschreven:"),
    ("Am Fr., 12. März 2027 um 10:03 Uhr schrieb ITMA", "<noreply@itma.localhost>:"),
])
def test_attribution_wrapped_over_two_lines_cuts_at_its_first_line(first: str, second: str) -> None:
    text = f"Oui\n\n{first}\n{second}\n\nBonjour Sophie,\n"
    assert reply_part(text) == "Oui"


@pytest.mark.parametrize("separator", [
    "-----Original Message-----",
    "-----Message d'origine-----",
    "-----Oorspronkelijk bericht-----",
    "-----Ursprüngliche Nachricht-----",
    "----- Original Message ----- ",
    "----- Mail original -----",
])
def test_outlook_original_message_separators_cut(separator: str) -> None:
    text = f"Refuser - pas de budget\n\n{separator}\nFrom: ITMA\n\nRépondez OK\n"
    assert reply_part(text) == "Refuser - pas de budget"


@pytest.mark.parametrize("header", [
    "From: ITMA <noreply@itma.localhost>",
    "De : ITMA <noreply@itma.localhost>",
    "De\u00a0: ITMA <noreply@itma.localhost>",
    "Van: ITMA <noreply@itma.localhost>",
    "Von: ITMA <noreply@itma.localhost>",
])
@pytest.mark.parametrize("gap", [0, 1])
def test_underscore_line_followed_by_a_from_header_cuts(header: str, gap: int) -> None:
    text = "OK\n\nGet going\n" + "_" * 32 + "\n" + "\n" * gap + header + "\nOK\n"
    assert reply_part(text) == "OK\n\nGet going"


def test_underscore_line_without_header_is_the_senders() -> None:
    text = "Non\n" + "_" * 12 + "\nvoir ci-dessus\n\n\nFrom: ITMA\n"
    assert reply_part(text) == text.strip()


@pytest.mark.parametrize("block", [
    "From: ITMA <noreply@itma.localhost>\nSent: Friday, March 12, 2027 10:03 AM\n"
    "To: Lambert Sophie\nSubject: Nouvelle inscription",
    "From: ITMA <noreply@itma.localhost>\nDate: Friday, 12 March 2027 at 10:03\n"
    "To: Lambert Sophie\nSubject: Nouvelle inscription",
    "De\u00a0: ITMA <noreply@itma.localhost>\nEnvoyé\u00a0: vendredi 12 mars 2027 10:03\n"
    "À\u00a0: Lambert Sophie\nObjet\u00a0: Nouvelle inscription",
    "De : ITMA\nEnvoyé : vendredi 12 mars 2027 10:03\nÀ : Lambert Sophie\nCc : Dubois Marc\n"
    "Objet : Nouvelle inscription",
    "Van: ITMA <noreply@itma.localhost>\nVerzonden: vrijdag 12 maart 2027 10:03\n"
    "Aan: Lambert Sophie\nOnderwerp: Nouvelle inscription",
    "Von: ITMA <noreply@itma.localhost>\nGesendet: Freitag, 12. März 2027 10:03\n"
    "An: Lambert Sophie\nBetreff: Nouvelle inscription",
    "*From:* ITMA <noreply@itma.localhost>\n*Sent:* Friday, March 12, 2027 10:03 AM\n"
    "*To:* Lambert Sophie\n*Subject:* Nouvelle inscription",
])
def test_outlook_header_block_cuts(block: str) -> None:
    text = f"Akkoord.\n\nPieter\n\n{block}\n\nBonjour,\nRépondez OK pour approuver.\n"
    assert reply_part(text) == "Akkoord.\n\nPieter"


def test_a_lone_header_like_line_is_the_senders() -> None:
    text = "Non\nDe : la part de Marc, la session est complète\nObjet : budget"
    assert reply_part(text) == text


@pytest.mark.parametrize("signature", [
    "Sent from my iPhone", "Sent from my iPad", "Sent from my Galaxy",
    "Envoyé de mon iPhone", "Envoyé depuis mon smartphone Samsung", "Envoye de mon iPad",
    "Verzonden vanaf mijn iPhone", "Verstuurd vanaf mijn iPad", "Von meinem iPhone gesendet",
    "Get Outlook for iOS", "Get Outlook for Android<https://aka.ms/AAb9ysg>",
    "Obtenir Outlook pour Android", "Sent from Outlook", "Sent from Mail for Windows",
    "Sent from Mail for Windows 10",
])
def test_mobile_signatures_cut(signature: str) -> None:
    assert reply_part(f"Ja\n\n{signature}\n\nOp 12 mrt. 2027 …\n") == "Ja"


@pytest.mark.parametrize("text", [
    "Non\n> Bonjour\n> Répondez OK",
    "Non\n  > indented quote",
    f"Non\n{QUOTE_MARKER}\nOK",
    "Non\n-- \nSophie Lambert",
    "Non\n--\nSophie Lambert",
])
def test_quotes_markers_and_signature_delimiters_cut(text: str) -> None:
    assert reply_part(text) == "Non"


@pytest.mark.parametrize("text", [
    "Non\n---\nsuite du message",
    "Non\n-- pas de budget --\nsuite",
    "Non\nLe budget est épuisé\nmerci",
    "Nee\nOp vrijdag schreef ik al:\nhet budget is op",
    "Nee\nOn second thought they wrote: nothing",
])
def test_lines_that_only_look_like_history_are_kept(text: str) -> None:
    assert reply_part(text) == text


def test_a_sentence_before_the_attribution_is_not_joined_with_it() -> None:
    text = "Non\nLe budget est épuisé\nLe 12 mars 2027 à 10:03, ITMA a écrit :\n> OK"
    assert reply_part(text) == "Non\nLe budget est épuisé"


def test_blank_lines_around_go_and_the_senders_lines_stay_intact() -> None:
    text = "\r\n\r\n  OK   merci  \r\n\r\n  Sophie\t\r\n\r\n\r\n> quoted\r\n"
    assert reply_part(text) == "  OK   merci  \n\n  Sophie\t"


def test_nothing_written_on_top_gives_empty_text() -> None:
    assert reply_part("> OK\n> Bonjour") == ""
    assert reply_part("\n\nSent from my iPhone\n") == ""
    assert reply_part("") == ""


# ----------------------------------------------------------------------------- read_verdict


@pytest.mark.parametrize(("text", "decision", "reason"), [
    ("OK", "approve", None),
    ("ok", "approve", None),
    ("OK.", "approve", None),
    ("Oui !", "approve", None),
    ("ok,", "approve", None),
    ("Akkoord.", "approve", None),
    ("OK merci", "approve", None),
    ("Oui, c'est d'accord", "approve", None),
    ("JA", "approve", None),
    ("yes please", "approve", None),
    ("Approve", "approve", None),
    ("Approuver", "approve", None),
    ("accepter", "approve", None),
    ("Goedkeuren!", "approve", None),
    ("*OK*", "approve", None),
    ("  - Oui", "approve", None),
    ("\ufeffOK", "approve", None),
    ("OK\u200b", "approve", None),
    ("NON : session complète", "refuse", "session complète"),
    ("Refuser - pas de budget", "refuse", "pas de budget"),
    ("nee, geen budget meer", "refuse", "geen budget meer"),
    ("Weigeren: geen plaats meer", "refuse", "geen plaats meer"),
    ("Weigeren — te duur", "refuse", "te duur"),
    ("refuse; budget exhausted.", "refuse", "budget exhausted."),
    ("no", "refuse", None),
    ("No.", "refuse", None),
    ("Non !", "refuse", None),
    ("NÓN : complet", "refuse", "complet"),
    ("Réfuser : doublon", "refuse", "doublon"),
    ("Non\u00a0: session\u00a0complète", "refuse", "session complète"),
    ("Okay", None, None),
    ("okey", None, None),
    ("d'accord", None, None),
    ("D’accord", None, None),
    ("je suis d'accord", None, None),
    ("Je pense que non", None, None),
    ("Approuvé", None, None),
    ("Nonobstant", None, None),
    ("ok-ish", None, None),
    ("Non-merci", None, None),
    ("OK ?", None, None),
    ("Oui?", None, None),
    ("No problem", None, None),
    ("no objection", None, None),
    ("👍", None, None),
    ("", None, None),
    ("Bonjour,\nOK", None, None),
])
def test_word_list_edge_cases(text: str, decision: str | None, reason: str | None) -> None:
    verdict = read_verdict(mail(text + "\n\n> Répondez OK pour approuver\n"))
    assert (verdict.decision, verdict.reason) == (decision, reason)


def test_verdict_keeps_the_first_line_it_read() -> None:
    verdict = read_verdict(mail("\n\n  NON :   session   complète  \nSophie\n"))
    assert verdict == Verdict("refuse", "session complète", "NON : session complète")
    assert read_verdict(mail("> OK only quoted\n")) == Verdict(None, None, "")


def test_word_lists() -> None:
    assert {"ok", "oui", "approuver", "accepter", "ja", "akkoord", "goedkeuren", "yes",
            "approve", "genehmigen"} == APPROVE_WORDS
    assert {"non", "refuser", "nee", "weigeren", "no", "refuse", "nein",
            "ablehnen"} == REFUSE_WORDS
    assert not APPROVE_WORDS & REFUSE_WORDS


def test_first_words_normalises_and_bounds_the_line() -> None:
    assert first_words(mail("\n \n**OK**\t\u00a0merci\n")) == "OK** merci"
    assert first_words(mail("> quoted only\n")) == ""
    long_line = "Non " + "très " * 200
    assert len(first_words(mail(long_line))) == 500
    assert first_words(mail("e\u0301te\u0301\n")) == "été"  # NFC


# ------------------------------------------------------------------------ body_text decoding


def test_quoted_printable_and_base64_bodies() -> None:
    qp = mail("Refuser : la personne a quitt=C3=A9 le service\n", cte="quoted-printable")
    assert read_verdict(qp).reason == "la personne a quitté le service"
    b64 = mail("Tm9uIDogY29tcGzDqHRlCg==\n", cte="base64")
    assert read_verdict(b64).reason == "complète"


def test_latin1_label_is_read_as_windows_1252() -> None:
    message = mail(b"Oui, c\x92est d\x92accord \x96 journ\xe9e\n",
                   "text/plain; charset=iso-8859-1")
    assert body_text(message) == "Oui, c’est d’accord – journée\n"


def test_ascii_or_missing_label_on_utf8_bytes_is_read_as_utf8() -> None:
    for content_type in ("text/plain; charset=us-ascii", "text/plain"):
        message = mail("Non : complète\n".encode(), content_type)
        assert read_verdict(message).reason == "complète"


@pytest.mark.parametrize(("body", "content_type", "cte"), [
    (b"Non : compl\xe8te\n", "text/plain; charset=x-unknown-charset", "8bit"),
    (b"Non : compl\xe8te\n", "text/plain; charset=utf-8", "8bit"),
    (b"Non : compl\xe8te\n", 'text/plain; charset="utf-8"; format=flowed', "8bit"),
    (b"Non : compl=E8te=\n", "text/plain; charset=utf-8", "quoted-printable"),
    (b"Tm9uIDogY29tcGz!!!broken", "text/plain; charset=utf-8", "base64"),
    (b"<p>Non : compl\xe8te</p><blockquote", "text/html; charset=bogus", "8bit"),
    (b"<p>Non<style>p {", "text/html; charset=utf-8", "8bit"),
])
def test_broken_bodies_never_raise(body: bytes, content_type: str, cte: str) -> None:
    verdict = read_verdict(mail(body, content_type, cte))
    assert verdict.decision in {"refuse", None}


def test_message_parsed_from_a_string_and_built_in_code() -> None:
    parsed = email.message_from_string(
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        "Refuser : quitté le service\n",
        policy=email.policy.default,
    )
    assert isinstance(parsed, email.message.EmailMessage)
    assert read_verdict(parsed).reason == "quitté le service"
    built = email.message.EmailMessage()
    built.set_content("Weigeren: geen plaats meer – sorry\n")
    assert read_verdict(built).reason == "geen plaats meer – sorry"


def test_format_flowed_lines_are_joined_so_the_reason_is_whole() -> None:
    body = (
        "Non : la session est compl\xe8te et nous n'avons plus de \r\n"
        "budget pour cette formation.\r\n\r\n-- \r\nSophie\r\n"
        "> quoted line that is \r\n> flowed too\r\n"
    ).encode("latin-1")
    message = mail(body, "text/plain; charset=iso-8859-1; format=flowed")
    assert read_verdict(message).reason == (
        "la session est complète et nous n'avons plus de budget pour cette formation."
    )
    text = body_text(message)
    assert "> quoted line that is flowed too" in text
    assert "\n-- \n" in text
    delsp = mail(b"Refuser : pas de bud \r\nget\r\n", "text/plain; format=flowed; delsp=yes")
    assert read_verdict(delsp).reason == "pas de budget"


def test_no_body_or_only_attachments_gives_not_understood() -> None:
    message = email.message.EmailMessage()
    message["Subject"] = "Re: Nouvelle inscription"
    message.set_content("Approuver")
    message.add_attachment(b"OK", maintype="application", subtype="octet-stream",
                           filename="ok.bin")
    assert read_verdict(message).decision == "approve"
    only_attachment = email.message.EmailMessage()
    only_attachment.add_attachment("OK", filename="ok.txt")
    assert body_text(only_attachment) == ""
    assert read_verdict(only_attachment) == Verdict(None, None, "")


def test_empty_plain_alternative_falls_back_to_html() -> None:
    message = email.message.EmailMessage()
    message.set_content("\n")
    message.add_alternative("<p>Nee, geen budget meer</p><blockquote>OK</blockquote>",
                            subtype="html")
    assert read_verdict(message) == Verdict("refuse", "geen budget meer",
                                            "Nee, geen budget meer")


# ------------------------------------------------------------------------------ html_to_text


@pytest.mark.parametrize("quote", [
    "<blockquote>Répondez OK</blockquote>",
    '<blockquote type="cite">Répondez OK</blockquote>',
    '<div class="gmail_quote"><div class="gmail_attr">ITMA a écrit</div>Répondez OK</div>',
    '<div class="moz-cite-prefix">ITMA schrieb:</div><p>Répondez OK</p>',
    '<div id="divRplyFwdMsg"><b>From:</b> ITMA</div><p>Répondez OK</p>',
    '<div id="appendonsend"></div><hr><div>Répondez OK</div>',
])
def test_html_quote_containers_are_marked(quote: str) -> None:
    html = (
        "<html><head><title>Re: OK</title><style>p {color: red}</style>"
        "<script>var ok = 1;</script></head>"
        f"<body><div>Non&nbsp;: session compl&egrave;te</div><div><br></div>{quote}</body></html>"
    )
    text = html_to_text(html)
    assert QUOTE_MARKER in text
    assert "color" not in text and "var ok" not in text and "Re: OK" not in text
    assert reply_part(text) == "Non\u00a0: session complète"
    assert read_verdict(mail(html, "text/html; charset=utf-8")).reason == "session complète"


def test_html_blocks_and_breaks_become_lines() -> None:
    html = "<p>Refuser<br>pas de budget</p><ul><li>un</li><li>deux</li></ul><pre>a\n  b</pre>"
    assert html_to_text(html) == "Refuser\npas de budget\nun\ndeux\na\nb"
    assert html_to_text("<div>OK</div><div><br></div><div>Sophie</div>") == "OK\n\nSophie"
    assert html_to_text("<td>Non</td><td>complet</td>") == "Non complet"
    assert html_to_text("OK <b>merci</b>\n beaucoup") == "OK merci beaucoup"
