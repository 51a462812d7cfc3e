"""A realistic mixed day of helpdesk mail, for the integration tests (IMAP, SMTP, the pipe).

Forty people write about the eight categories in French, Dutch, English and German (plain,
HTML-only from Outlook, Latin-1 quoted-printable, base64, encoded subjects, attachments), next
to what a helpdesk mailbox also receives: out-of-office answers, a bounce, a newsletter, list
mail, a no-reply notification, our own acknowledgement coming back, a delivery twice, a mail
without Message-ID, a forged From with two mailboxes, a MIME bomb, and one sender writing
twelve times in a row (the acknowledgement limit). `FOLLOW_UPS` are the second half of the
day: replies to our acknowledgements and answers (In-Reply-To), the tag in the subject from the
sender, from a colleague of the same organisation and from a stranger, and an out-of-office
answering our acknowledgement. They need the Message-IDs we gave, so they are built after the
first half was triaged.

The people are those of tests/conftest.py's world (BOSA officers) and outsiders.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr

SOPHIE = ("sophie@bosa.example", "Sophie Lambert")
PIETER = ("pieter@bosa.example", "Pieter Janssens")
EMMA = ("emma@bosa.example", "Emma Wouters")
LUC = ("luc@bosa.example", "Luc Dubois")
STRANGER = ("mallory@elsewhere.example", "Mallory")
FLOODER = ("agent.presse@fin.example", "Agent Pressé")
HELPDESK = "helpdesk-itma@itma.localhost"
DATE = "Thu, 26 Nov 2026 10:30:00 +0100"


@dataclass(frozen=True)
class Item:
    key: str
    raw: bytes
    outcome: str
    category: str | None = None
    language: str | None = None
    acknowledged: bool | None = None
    ticket_of: str | None = None
    """For a mail joining a ticket: the key of the mail that opened it."""

    @property
    def message_id(self) -> str:
        return f"<hd-{self.key}@batch.example>"


def _headers(mail: EmailMessage, key: str, sender: tuple[str, str], subject: str,
             extra: dict[str, str]) -> None:
    mail["From"] = formataddr(sender[::-1])
    mail["To"] = f"ITMA Helpdesk <{HELPDESK}>"
    mail["Subject"] = subject
    mail["Date"] = DATE
    if "no_message_id" not in extra:
        mail["Message-ID"] = f"<hd-{key}@batch.example>"
    for name, value in extra.items():
        if name != "no_message_id":
            mail[name.replace("_", "-")] = value


def text(key: str, sender: tuple[str, str], subject: str, body: str, **extra: str) -> bytes:
    mail = EmailMessage()
    _headers(mail, key, sender, subject, extra)
    mail.set_content(body)
    return bytes(mail)


def html_only(key: str, sender: tuple[str, str], subject: str, html: str, **extra: str) -> bytes:
    mail = EmailMessage()
    _headers(mail, key, sender, subject, extra)
    mail.set_content(html, subtype="html")
    return bytes(mail)


def with_files(key: str, sender: tuple[str, str], subject: str, body: str,
               files: list[tuple[str, str, bytes]], html: str | None = None,
               **extra: str) -> bytes:
    mail = EmailMessage()
    _headers(mail, key, sender, subject, extra)
    mail.set_content(body)
    if html:
        mail.add_alternative(html, subtype="html")
    for name, content_type, data in files:
        maintype, subtype = content_type.split("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return bytes(mail)


def raw(text_: str) -> bytes:
    return text_.replace("\n", "\r\n").encode("utf-8")


OUTLOOK_HTML = """<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8"><style><!--
p.MsoNormal {margin:0cm; font-size:11.0pt; font-family:"Calibri",sans-serif;}
--></style></head><body lang="FR-BE"><div class="WordSection1">
<p class="MsoNormal">Bonjour,<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p>
<p class="MsoNormal">Comment <b>exporter la liste des participants</b> d'une session au
format Excel&nbsp;? J'ai besoin du rapport avec les noms et les services pour notre
direction.<o:p></o:p></p>
<p class="MsoNormal"><o:p>&nbsp;</o:p></p><p class="MsoNormal">Merci d'avance,<o:p></o:p></p>
<p class="MsoNormal">Sophie Lambert<br>SPF BOSA – Service formation<o:p></o:p></p>
</div></body></html>"""

CSV_ERRORS = (b"national_register_number;surname;given_names;email;language;department;action\r\n"
              b"85073003329;Dupont;Marie;marie.dupont@bosa.example;fr;DG;add\r\n")
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQ"
                       "GAhKmMIQAAAABJRU5ErkJggg==")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _tickets() -> list[Item]:
    """Forty mails written by people: each opens a ticket and gets an acknowledgement."""
    specs: list[tuple[str, str, str, Callable[[str], bytes]]] = [
        # ---- French
        ("fr-access", "access", "fr", lambda k: text(
            k, LUC, "mon accès a expiré",
            "Bonjour,\n\nDepuis ce matin l'assistant me répond que mon accès de responsable de "
            "formation n'est plus valable. Comment faire pour le renouveler ?\n\nMerci,\n"
            "Luc Dubois\nSPF BOSA")),
        ("fr-eid", "eid", "fr", lambda k: text(
            k, ("marc.lenoir@mobilit.example", "Marc Lenoir"), "Code PIN bloqué",
            "Bonjour,\nj'ai tapé trois fois un mauvais code PIN et ma carte d'identité est "
            "bloquée. Je ne peux plus me connecter avec le lecteur de carte. Que faire ?\n"
            "Marc")),
        ("fr-enroll", "enrollment", "fr", lambda k: text(
            k, SOPHIE, "Je ne trouve pas la session",
            "Bonjour,\n\nJe veux inscrire une collègue à BOSA-101 le 12 mars mais la session "
            "n'apparaît plus dans la liste. A-t-elle été annulée ?\n\n-- \nSophie Lambert\n"
            "SPF BOSA")),
        ("fr-registration", "registration", "fr", lambda k: text(
            k, ("julie.mertens@example.be", "Julie Mertens"), "Nouvelle inscription en attente",
            "Bonjour,\n\nJe me suis inscrite via le site de l'IFA (« Nouvelle inscription ») il "
            "y a deux semaines et je n'ai reçu aucune confirmation. Ma demande est-elle bien "
            "arrivée ?\n\nJulie Mertens")),
        ("fr-pdata-import", "pdata", "fr", lambda k: with_files(
            k, SOPHIE, "Import P-data refusé",
            "Bonjour,\n\nL'import de notre fichier du personnel est refusé avec une erreur "
            "« chiffres de contrôle ». Je joins le fichier CSV.\n\nSophie",
            [("personnel.csv", "text/csv", CSV_ERRORS)])),
        ("fr-certification", "certification", "fr", lambda k: text(
            k, ("claire.renard@eco.example", "Claire Renard"), "Parcours PRO Academy",
            "Bonjour, une collaboratrice souhaite suivre le parcours certifiant de la PRO "
            "Academy en gestion de projet. Quels sont les prérequis et quand commence la "
            "prochaine cohorte ?")),
        ("fr-report-html", "report", "fr", lambda k: html_only(
            k, SOPHIE, "Export des participants", OUTLOOK_HTML)),
        ("fr-other", "other", "fr", lambda k: text(
            k, ("accueil@bosa.example", "Accueil BOSA"), "Parking au centre de formation",
            "Bonjour, y a-t-il un parking pour les participants au centre de formation de "
            "Bruxelles ? Merci.")),
        ("fr-pdata-add", "pdata", "fr", lambda k: text(
            k, EMMA, "Ajouter un nouveau fonctionnaire",
            "Bonjour, comment ajouter un nouveau collègue dans nos données du personnel ? Il "
            "est arrivé lundi et je ne le trouve pas pour l'inscrire. Merci")),
        ("fr-unenroll-latin1", "enrollment", "fr", lambda k: raw(
            "From: =?iso-8859-1?q?Ren=E9e_Lef=E8vre?= <renee.lefevre@justice.example>\n"
            f"To: {HELPDESK}\nSubject: =?iso-8859-1?q?D=E9sinscription_d=27un_agent?=\n"
            f"Date: {DATE}\nMessage-ID: <hd-{k}@batch.example>\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=iso-8859-1\n"
            "Content-Transfer-Encoding: quoted-printable\n\n"
            "Bonjour,\n\nMonsieur Peeters ne pourra pas suivre la formation du 15 janvier =\n"
            "pour raisons m=E9dicales. Pouvez-vous le d=E9sinscrire de la session ?\n\n"
            "Cordialement,\nRen=E9e Lef=E8vre\n")),
        # ---- Dutch
        ("nl-eid", "eid", "nl", lambda k: text(
            k, PIETER, "eID werkt niet",
            "Hallo,\n\nMijn eID werkt niet bij het aanmelden: de kaartlezer brandt groen maar "
            "de browser vindt geen certificaat.\n\nGroeten,\nPieter")),
        ("nl-pdata", "pdata", "nl", lambda k: with_files(
            k, PIETER, "de CSV-import geeft fouten",
            "Beste,\n\nDe CSV-import van ons personeelsbestand geeft fouten op de kolom "
            "rijksregisternummer. In bijlage een schermafdruk en het bestand.\n\nPieter",
            [("fouten.png", "image/png", PNG),
             ("personeel.xlsx", "application/vnd.openxmlformats-officedocument."
              "spreadsheetml.sheet", b"PK\x03\x04 not really a workbook")])),
        ("nl-access", "access", "nl", lambda k: text(
            k, ("lotte.vermeersch@just.example", "Lotte Vermeersch"), "Toegang verlengen",
            "Goedemorgen, ik kreeg een herinnering dat mijn toegang als "
            "opleidingsverantwoordelijke binnenkort afloopt. Hoe vraag ik de verlenging aan? "
            "Alvast bedankt.")),
        ("nl-waitlist", "enrollment", "nl", lambda k: text(
            k, ("koen.maes@fin.example", "Koen Maes"), "Wachtlijst",
            "Hallo, twee van mijn medewerkers staan op de wachtlijst voor LEAD-101. Komt er "
            "binnenkort een nieuwe sessie?")),
        ("nl-registration", "registration", "nl", lambda k: text(
            k, ("an.swinnen@example.be", "An Swinnen"), "Hou me op de hoogte",
            "Dag, ik heb me ingeschreven op ‘Hou me op de hoogte’ maar ik ontvang nooit iets "
            "over nieuwe opleidingen. Klopt mijn abonnement wel?")),
        ("nl-certification", "certification", "nl", lambda k: text(
            k, ("els.peeters@fin.example", "Els Peeters"), "Certificeringstraject",
            "Beste, een collega heeft 4 van de 5 modules van het certificeringstraject van de "
            "PRO Academy gevolgd. Wanneer ontvangt hij zijn getuigschrift?")),
        ("nl-report", "report", "nl", lambda k: text(
            k, ("tom.maes@fin.example", "Tom Maes"), "Deelnemerslijst exporteren",
            "Goedemiddag, hoe exporteer ik de deelnemerslijst van een sessie naar Excel? Ik heb "
            "ook de testresultaten nodig voor het rapport.")),
        ("nl-other", "other", "nl", lambda k: text(
            k, ("boekhouding@fin.example", "Dienst boekhouding"), "Factuur ontvangen",
            "Goedemiddag, wij ontvingen een factuur voor een opleiding. Zijn de opleidingen "
            "van het OFO niet gratis voor federale diensten?")),
        ("nl-link", "eid", "nl", lambda k: text(
            k, ("wim.jacobs@fin.example", "Wim Jacobs"), "Koppelen met Teams lukt niet",
            "Dag, ik typte ‘koppelen’ in Teams en opende de link, maar na het kiezen van het "
            "certificaat krijg ik een foutmelding. Is de link vervallen?")),
        ("nl-left", "pdata", "nl", lambda k: text(
            k, ("sofie.claes@fin.example", "Sofie Claes"), "Medewerker uit dienst",
            "Beste, een medewerker is vorige maand vertrokken maar staat nog altijd in onze "
            "personeelsgegevens. Hoe duid ik aan dat hij uit dienst is?")),
        # ---- English
        ("en-session", "enrollment", "en", lambda k: text(
            k, EMMA, "I can't find the session",
            "Hi,\n\nI'm trying to book a colleague on DIG-101 but I can't find the session "
            "that was announced for January. Was it moved?\n\nThanks,\nEmma\n\n"
            "Sent from my iPhone")),
        ("en-access", "access", "en", lambda k: text(
            k, ("sarah.peters@mobilit.example", "Sarah Peters"), "Request for access",
            "Hello, I have just been appointed training coordinator for the FPS Mobility. How "
            "do I get access to ITMA? Kind regards, Sarah")),
        ("en-eid", "eid", "en", lambda k: text(
            k, ("john.smith@finance.example", "John Smith"), "Card reader not detected",
            "Hi, my eID card reader isn't detected when I try to sign in. The middleware is "
            "installed. Windows 11, Chrome. Any idea?")),
        ("en-registration", "registration", "en", lambda k: text(
            k, ("sarah.janssens@example.be", "Sarah Janssens"), "Status of my registration "
            "request", "Hi, I sent a registration request through the public registration "
            "form two weeks ago and haven't heard anything since. Has my request been "
            "received?")),
        ("en-template", "pdata", "en", lambda k: text(
            k, ("hr.office@jus.example", "HR office"), "Template for personnel data",
            "Hello, where can I download the template to update our personnel data, and which "
            "separator should the CSV file use?")),
        ("en-certification", "certification", "en", lambda k: text(
            k, ("mark.evans@bosa.example", "Mark Evans"), "Cohort enrollment",
            "Hello, how do I sign someone up for the September cohort of the PRO Academy "
            "leadership track? The track isn't in the catalogue.")),
        ("en-report-html", "report", "en", lambda k: html_only(
            k, ("dana.white@jus.example", "Dana White"), "Test results",
            "<html><body><p>Hello,</p><p>Where can I see my staff's <b>test results</b> for "
            "DIG-101? They are not in the report, and the export is empty.</p>"
            "<p>Thanks,<br>Dana</p></body></html>")),
        ("en-other", "other", "en", lambda k: text(
            k, ("kate.brown@jus.example", "Kate Brown"), "Thank you",
            "Hi, just wanted to say thank you for solving yesterday's problem so quickly. "
            "Have a great day!")),
        ("en-cancel", "enrollment", "en", lambda k: text(
            k, ("ben.green@jus.example", "Ben Green"), "Cancel enrollment",
            "Hello, please cancel the enrollment of Didier Maes for IFA-104 on 26 March, he "
            "changed jobs. Thank you.")),
        ("en-login-base64", "access", "en", lambda k: raw(
            "From: Olivia Stone <olivia.stone@eco.example>\n"
            f"To: {HELPDESK}\nSubject: login issue\nDate: {DATE}\n"
            f"Message-ID: <hd-{k}@batch.example>\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
            + base64.encodebytes(
                b"Hi, my login is not working since yesterday: it says I have no permission "
                b"to access ITMA. Was my account disabled?\n").decode())),
        # ---- German
        ("de-eid", "eid", "de", lambda k: text(
            k, ("anna.schmitz@ibz.example", "Anna Schmitz"), "Kartenleser wird nicht erkannt",
            "Guten Tag,\n\nmein eID-Kartenleser wird beim Anmelden vom Browser nicht erkannt. "
            "Die Middleware ist installiert.\n\nMit freundlichen Grüßen\nAnna Schmitz")),
        ("de-access", "access", "de", lambda k: text(
            k, ("petra.heinen@ibz.example", "Petra Heinen"), "Zugang abgelaufen",
            "Guten Tag, seit heute meldet der Assistent, dass mein Zugang als "
            "Schulungsverantwortliche abgelaufen ist. Können Sie ihn bitte verlängern?")),
        ("de-waitlist", "enrollment", "de", lambda k: text(
            k, ("jan.cremer@ibz.example", "Jan Cremer"), "Warteliste",
            "Guten Tag, drei unserer Mitarbeiter stehen auf der Warteliste für den "
            "Französischkurs. Gibt es bald einen zusätzlichen Termin?")),
        ("de-pdata", "pdata", "de", lambda k: with_files(
            k, ("lisa.meyer@ibz.example", "Lisa Meyer"), "Fehler beim CSV-Import",
            "Hallo,\n\nder Import unserer Personaldatei wird mit Fehlern „Prüfziffer ungültig“ "
            "abgelehnt. Die Datei hängt an.\n\nLisa Meyer",
            [("Personal.csv", "text/csv", CSV_ERRORS), ("Anleitung.pdf", "application/pdf",
                                                         PDF)])),
        ("de-certification", "certification", "de", lambda k: text(
            k, ("sabine.kessler@ibz.example", "Sabine Kessler"), "Zertifizierungslehrgang",
            "Guten Tag, eine Mitarbeiterin möchte den Lehrgang der PRO Academy belegen. Welche "
            "Voraussetzungen gibt es und wann beginnt der nächste Jahrgang?")),
        ("de-report", "report", "de", lambda k: text(
            k, ("karl.hoffmann@ibz.example", "Karl Hoffmann"), "Teilnehmerliste exportieren",
            "Hallo, wie exportiere ich die Teilnehmerliste einer Sitzung nach Excel? Ich "
            "brauche einen Bericht mit Namen und Abteilungen.")),
        ("de-registration", "registration", "de", lambda k: text(
            k, ("maria.schroeder@example.be", "Maria Schröder"), "Halten Sie mich auf dem "
            "Laufenden", "Guten Tag, ich habe mich für „Halten Sie mich auf dem Laufenden“ "
            "eingetragen, bekomme aber nie Informationen. Funktioniert mein Abonnement?")),
        ("de-other", "other", "de", lambda k: text(
            k, ("empfang@ibz.example", "Empfang"), "Parkplatz",
            "Guten Tag, gibt es am Schulungszentrum in Brüssel Parkplätze für Teilnehmende, "
            "die mit dem Auto kommen?")),
        ("de-add", "pdata", "de", lambda k: text(
            k, ("stefan.jansen@ibz.example", "Stefan Jansen"), "Neuen Kollegen hinzufügen",
            "Guten Tag, wie füge ich einen neuen Beamten zu unseren Personaldaten hinzu? Er "
            "hat am Montag angefangen.")),
        ("de-encoded", "enrollment", "de", lambda k: raw(
            "From: =?utf-8?b?SsO8cmdlbiBNw7xsbGVy?= <juergen.mueller@ibz.example>\n"
            f"To: {HELPDESK}\n"
            "Subject: =?utf-8?q?Sitzung_f=C3=BCr_IFA-107_nicht_gefunden?=\n"
            f"Date: {DATE}\nMessage-ID: <hd-{k}@batch.example>\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
            "Guten Tag,\n\nich möchte einen Kollegen für IFA-107 anmelden, finde aber die "
            "Sitzung im Januar nicht. Wurde sie abgesagt?\n\nJürgen Müller\n")),
    ]
    return [Item(key, build(key), "ticket_opened", category, language, True)
            for key, category, language, build in specs]


DSN = """Return-Path: <>
From: MAILER-DAEMON@mx.elsewhere.example (Mail Delivery System)
To: {helpdesk}
Subject: Undelivered Mail Returned to Sender
Date: {date}
Message-ID: <hd-{key}@batch.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain; charset=us-ascii

Your message could not be delivered to <ancien.agent@elsewhere.example>: 550 5.1.1 User unknown.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.elsewhere.example
Final-Recipient: rfc822; ancien.agent@elsewhere.example
Action: failed
Status: 5.1.1

--b1--
"""


def _machines() -> list[Item]:
    """What no person wrote: never a ticket, never an answer."""
    return [
        Item("ooo-fr", text("ooo-fr", SOPHIE, "Réponse automatique : absente du bureau",
                            "Je suis absente jusqu'au 4 janvier. En cas d'urgence, contactez "
                            "le service formation.", Auto_Submitted="auto-replied"),
             "automatic"),
        Item("ooo-nl-subject", text("ooo-nl-subject", PIETER, "Automatisch antwoord: Afwezig",
                                    "Ik ben afwezig tot maandag en lees mijn mails niet."),
             "automatic"),
        Item("ooo-en-xautoreply", text("ooo-en-xautoreply", EMMA, "Re: training question",
                                       "I am on leave until Monday.", X_Autoreply="yes"),
             "automatic"),
        Item("ooo-de-precedence", text("ooo-de-precedence", ("anna.schmitz@ibz.example",
                                                             "Anna Schmitz"),
                                       "Abwesenheitsnotiz", "Ich bin nicht im Büro.",
                                       Precedence="auto_reply"), "automatic"),
        Item("newsletter", text("newsletter", ("news@fedweb.example", "FedWeb"),
                                "Nouveautés de décembre", "Les formations du mois…",
                                Precedence="bulk",
                                List_Unsubscribe="<mailto:unsubscribe@fedweb.example>"),
             "automatic"),
        Item("list-mail", text("list-mail", ("colleague@fin.example", "A colleague"),
                               "Formation Excel", "Quelqu'un sait-il si la formation Excel "
                               "est complète ?", List_Id="<formation.fin.example>"),
             "automatic"),
        Item("bounce", raw(DSN.format(helpdesk=HELPDESK, date=DATE, key="bounce")), "automatic"),
        Item("noreply", text("noreply", ("noreply@portal.example", "Portal"),
                             "Votre mot de passe expire", "Votre accès au portail expire dans "
                             "3 jours."), "automatic"),
        Item("own-ack-back", text("own-ack-back", ("helpdesk-itma@itma.localhost",
                                                   "Helpdesk ITMA"),
                                  "[ITMA #1] mon accès a expiré",
                                  "Nous avons bien reçu votre message.",
                                  X_ITMA_Outbox="1"), "own_mail_loop"),
    ]


def _deep_mime(key: str) -> bytes:
    parts = "".join(f'Content-Type: multipart/mixed; boundary="d{i}"\n\n--d{i}\n'
                    for i in range(40))
    return raw(f"From: Eve <eve@elsewhere.example>\nTo: {HELPDESK}\nSubject: hello\n"
               f"Date: {DATE}\nMessage-ID: <hd-{key}@batch.example>\nMIME-Version: 1.0\n"
               + parts + "Content-Type: text/plain\n\nboom\n")


def _oddities(first: Item) -> list[Item]:
    return [
        Item("dup-fr-access", first.raw, "duplicate"),
        Item("no-message-id", text("no-message-id", ("nadia.el@bosa.example", "Nadia El"),
                                   "Rapport annuel",
                                   "Bonjour, pouvez-vous me fournir les statistiques de "
                                   "présence de nos agents pour le rapport annuel ?",
                                   no_message_id="1"),
             "ticket_opened", "report", "fr", True),
        Item("two-from", raw(
            f"From: {SOPHIE[0]}\nFrom: {STRANGER[0]}\nTo: {HELPDESK}\nSubject: accès\n"
            f"Date: {DATE}\nMessage-ID: <hd-two-from@batch.example>\n\nmon accès\n"),
             "sender_ambiguous"),
        Item("mime-bomb", _deep_mime("mime-bomb"), "malformed"),
    ]


FLOOD = 12


def _flood() -> list[Item]:
    """One sender, twelve new mails: twelve tickets, ten acknowledgements."""
    return [Item(f"flood-{n:02d}", text(
        f"flood-{n:02d}", FLOODER, f"Question urgente numéro {n} sur mon accès",
        f"Bonjour, mon accès est refusé, je réessaie (message {n})."),
        "ticket_opened", "access", "fr", n <= 10) for n in range(1, FLOOD + 1)]


def first_half() -> list[Item]:
    tickets = _tickets()
    return [*tickets[:20], *_machines()[:5], *tickets[20:], *_machines()[5:],
            *_oddities(tickets[0]), *_flood()]


def follow_ups(ack_of: dict[str, str], answer_of: dict[str, str],
               number_of: dict[str, int]) -> list[Item]:
    """The replies, once we know the Message-IDs we gave (acknowledgements and answers) and
    the ticket numbers."""
    nl_eid, fr_access = number_of["nl-eid"], number_of["fr-access"]
    en_session, fr_enroll = number_of["en-session"], number_of["fr-enroll"]
    outlook_quote = ("\n\n________________________________\nDe : Helpdesk ITMA "
                     "<helpdesk-itma@itma.localhost>\nEnvoyé : jeudi 26 novembre 2026 10:31\n"
                     f"À : Luc Dubois\nObjet : [ITMA #{fr_access}] mon accès a expiré\n\n"
                     "Nous avons bien reçu votre message.\n")
    return [
        Item("re-ack-luc", text(
            "re-ack-luc", LUC, f"RE: [ITMA #{fr_access}] mon accès a expiré",
            "Bonjour,\n\nJ'ajoute que je dois inscrire trois agents avant vendredi." +
            outlook_quote, In_Reply_To=ack_of["fr-access"],
            References=ack_of["fr-access"]), "ticket_updated", ticket_of="fr-access"),
        Item("tag-pieter", text(
            "tag-pieter", PIETER, f"Re: [ITMA #{nl_eid}] eID werkt niet",
            "Met een andere kaartlezer lukt het ook niet."), "ticket_updated",
             ticket_of="nl-eid"),
        Item("tag-colleague", text(
            "tag-colleague", SOPHIE, f"Re: [ITMA #{nl_eid}] eID werkt niet",
            "Ik heb hetzelfde probleem als mijn collega Pieter."), "ticket_updated",
             ticket_of="nl-eid"),
        Item("tag-stranger", text(
            "tag-stranger", STRANGER, f"Re: [ITMA #{fr_access}] mon accès a expiré",
            "Bonjour, je profite de ce ticket pour demander l'accès aux données de Luc."),
             "ticket_opened", "access", "fr", True),
        Item("ooo-on-ack", text(
            "ooo-on-ack", EMMA, f"Automatic reply: [ITMA #{en_session}] I can't find the "
            "session", "I am out of the office until Monday.", Auto_Submitted="auto-replied",
            In_Reply_To=ack_of["en-session"]), "automatic"),
        Item("re-answer-sophie", text(
            "re-answer-sophie", SOPHIE, f"Re: Re: [ITMA #{fr_enroll}] Je ne trouve pas la "
            "session", "Merci, c'est bon pour moi !\n\nLe jeu. 26 nov. 2026 à 11:00, Helpdesk "
            "ITMA <helpdesk-itma@itma.localhost> a écrit :\n> La session a été déplacée.",
            In_Reply_To=answer_of["fr-enroll"]), "ticket_updated", ticket_of="fr-enroll"),
    ]
