"""The demo's helpdesk: a staff member, what the product knows of the senders, and a mailbox.

`seed` adds the helpdesk staff member (and gives the demo's console user, Sophie Lambert,
the helpdesk role as well) and records that Sophie Lambert's P-data file (the demo
sample, with its classic mistakes) was refused, so her mail about it gets a draft listing the
errors. `mailbox` returns the demo's helpdesk mail as RFC 5322 messages — officers and
citizens writing in four languages, a follow-up, an out-of-office, a stranger trying someone
else's ticket — for `demo` to put into a local Maildir and feed through the same handler as
the SMTP listener, the IMAP poller and `helpdesk process`.
"""

from __future__ import annotations

import random
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

from sqlalchemy import select

from core import clock, nrn
from core.app import App
from core.demo import pdata_sample
from core.models import RegistrationRequest
from core.services import helpdesk, pdata
from core.services.access import NewOfficer, add_officer, officer_by_email

STAFF = "nadia.haddad@bosa.example"
STAFF_NAME = "Nadia Haddad"


def seed(app: App, rng_seed: int = 2027) -> dict[str, Any]:
    rng = random.Random(rng_seed)
    lines = [";".join(pdata_sample.HEADER)] + [";".join(row) for row in pdata_sample.rows(app)]
    sample = ("\r\n".join(lines) + "\r\n").encode("cp1252")
    with app.unit_of_work() as uow:
        add_officer(uow, NewOfficer(STAFF, STAFF_NAME, nrn.generate(rng), ["BOSA"],
                                    language="fr", roles=("officer", helpdesk.ROLE)),
                    actor="demo")
        sophie = officer_by_email(uow, "sophie.lambert@bosa.example")
        # the demo's console user (BOSA, where the institute sits) helps on the helpdesk too,
        # so that « tickets » works in `make demo`'s chat
        sophie.roles = ",".join(dict.fromkeys([*sophie.roles.split(","), helpdesk.ROLE]))
        report = pdata.validate(uow, sophie, sample, "personnel-BOSA.csv", "fr",
                                organisation="BOSA")
        helpdesk.remember_rejected_import(uow, sophie, report.filename, report.rows, [
            {"line": e.line, "column": e.column, "code": e.code, "reason": e.reason}
            for e in report.errors])
    return {"staff": STAFF, "import_errors": len(report.errors)}


def _citizen(app: App) -> tuple[str, str]:
    with app.unit_of_work(readonly=True) as uow:
        request = uow.session.scalars(select(RegistrationRequest).order_by(
            RegistrationRequest.id)).first()
        if request is None:
            return "julie.mertens@example.be", "Julie Mertens"
        person = request.person
        return (str(person.get("email")),
                f"{person.get('given_names', '')} {person.get('surname', '')}".strip())


def _mail(number: int, sender: tuple[str, str], subject: str, body: str,
          **headers: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = formataddr(sender[::-1])
    mail["To"] = "ITMA Helpdesk <helpdesk-itma@itma.localhost>"
    mail["Subject"] = subject
    mail["Date"] = format_datetime(clock.now())
    mail["Message-ID"] = f"<demo-helpdesk-{number:03d}@{sender[0].split('@', 1)[1]}>"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return bytes(mail)


def mailbox(app: App) -> list[bytes]:
    citizen = _citizen(app)
    luc = ("luc.dubois@eco.example", "Luc Dubois")
    return [
        _mail(1, luc, "mon accès a expiré",
              "Bonjour,\n\nDepuis ce matin l'assistant me dit que mon accès n'est plus valable."
              "\nComment faire pour le renouveler ?\n\nMerci,\nLuc Dubois\nSPF Économie"),
        _mail(2, ("sophie.lambert@bosa.example", "Sophie Lambert"),
              "Import du fichier du personnel refusé",
              "Bonjour,\n\nL'import de notre fichier P-data est refusé, avec plusieurs erreurs."
              "\nJe ne comprends pas ce qu'il faut corriger. Pouvez-vous m'aider ?\n\n"
              "Sophie Lambert"),
        _mail(3, ("pieter.janssens@fin.example", "Pieter Janssens"), "eID werkt niet",
              "Hallo,\n\nMijn eID werkt niet bij het aanmelden: de kaartlezer brandt groen maar"
              " de browser vindt geen certificaat.\n\nGroeten,\nPieter"),
        _mail(4, ("emma.wouters@jus.example", "Emma Wouters"), "I can't find the session",
              "Hi,\n\nI'm trying to book a colleague on DIG-101 but I can't find the session "
              "that was announced for January. Was it moved?\n\nThanks,\nEmma"),
        _mail(5, ("anna.schmitz@ibz.example", "Anna Schmitz"), "Neuen Kollegen hinzufügen",
              "Guten Tag,\n\nwie füge ich einen neuen Kollegen zu unseren Personaldaten hinzu? "
              "Er hat am Montag angefangen und ich finde ihn nicht, um ihn anzumelden.\n\n"
              "Mit freundlichen Grüßen\nAnna Schmitz"),
        _mail(6, citizen, "Nouvelle inscription en attente",
              "Bonjour,\n\nJe me suis inscrite via le site de l'IFA (« Nouvelle inscription »)"
              " mais je n'ai reçu aucune confirmation. Ma demande est-elle bien arrivée ?\n\n"
              f"{citizen[1]}"),
        _mail(7, ("pieter.janssens@fin.example", "Pieter Janssens"), "de CSV-import geeft fouten",
              "Beste,\n\nde CSV-import van ons personeelsbestand geeft fouten op de kolom "
              "rijksregisternummer. Wat loopt er mis?\n\nPieter Janssens"),
        _mail(8, ("emma.wouters@jus.example", "Emma Wouters"), "PRO Academy track",
              "Hello,\n\nA colleague wants to start the PRO Academy certification track in "
              "project management. When does the next cohort start?\n\nEmma"),
        _mail(9, ("sophie.lambert@bosa.example", "Sophie Lambert"), "Export des participants",
              "Bonjour,\n\nComment exporter la liste des participants d'une session en Excel ?"
              "\n\nSophie"),
        _mail(10, ("anna.schmitz@ibz.example", "Anna Schmitz"),
              "Abwesenheitsnotiz: Ihre Nachricht",
              "Ich bin bis zum 4. Januar nicht im Büro.", Auto_Submitted="auto-replied"),
        _mail(11, luc, "Re: [ITMA #1] mon accès a expiré",
              "Bonjour,\n\nJ'ajoute que je dois inscrire trois agents avant vendredi.\n\n"
              "Luc"),
        _mail(12, ("someone@elsewhere.example", "Quelqu'un"), "Re: [ITMA #1] mon accès a expiré",
              "Bonjour, je profite de ce ticket pour demander un accès moi aussi."),
    ]
