"""A realistic catalogue of the federal training institute (IFA / OFO) for demo data.

Titles are given in French, Dutch, English and German. Organisation and department names
follow the way they appear in federal personnel data (a mix of French and Dutch forms).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEPARTMENTS", "ORGANISATIONS", "PLACES", "TRAININGS", "TrainingSpec"]


@dataclass(frozen=True)
class TrainingSpec:
    code: str  # e.g. "BOSA-101"
    titles: dict[str, str]  # keys "fr", "nl", "en", "de"
    kind: str  # "catalogue" | "on_demand" | "certification"
    owner: str | None  # organisation code for on_demand trainings, else None
    capacity: int  # typical 8-24
    days: int  # 1-3


def _t(fr: str, nl: str, en: str, de: str) -> dict[str, str]:
    return {"fr": fr, "nl": nl, "en": en, "de": de}


def _catalogue(code: str, titles: dict[str, str], capacity: int, days: int) -> TrainingSpec:
    return TrainingSpec(code, titles, "catalogue", None, capacity, days)


def _on_demand(
    code: str, titles: dict[str, str], owner: str, capacity: int, days: int
) -> TrainingSpec:
    return TrainingSpec(code, titles, "on_demand", owner, capacity, days)


def _certification(code: str, titles: dict[str, str], capacity: int, days: int) -> TrainingSpec:
    return TrainingSpec(code, titles, "certification", None, capacity, days)


ORGANISATIONS: list[tuple[str, dict[str, str], list[str]]] = [
    (
        "BOSA",
        {
            "fr": "SPF Stratégie et Appui",
            "nl": "FOD Beleid en Ondersteuning",
            "en": "FPS Policy and Support",
            "de": "FÖD Politik und Unterstützung",
        },
        ["fr", "nl"],
    ),
    (
        "FIN",
        {
            "fr": "SPF Finances",
            "nl": "FOD Financiën",
            "en": "FPS Finance",
            "de": "FÖD Finanzen",
        },
        ["fr", "nl", "de"],
    ),
    (
        "JUS",
        {
            "fr": "SPF Justice",
            "nl": "FOD Justitie",
            "en": "FPS Justice",
            "de": "FÖD Justiz",
        },
        ["fr", "nl", "de"],
    ),
    (
        "ECO",
        {
            "fr": "SPF Économie, P.M.E., Classes moyennes et Énergie",
            "nl": "FOD Economie, K.M.O., Middenstand en Energie",
            "en": "FPS Economy, SMEs, Self-employed and Energy",
            "de": "FÖD Wirtschaft, KMB, Mittelstand und Energie",
        },
        ["fr", "nl"],
    ),
    (
        "IBZ",
        {
            "fr": "SPF Intérieur",
            "nl": "FOD Binnenlandse Zaken",
            "en": "FPS Home Affairs",
            "de": "FÖD Inneres",
        },
        ["fr", "nl", "de"],
    ),
]

DEPARTMENTS: dict[str, list[str]] = {
    "BOSA": [
        "DG Recrutement et Développement",
        "DG Digitale Transformatie",
        "DG Budget et Politique financière",
        "DG Federale Accountant en Procurement",
        "Stafdienst P&O",
        "Service d'encadrement Budget et Contrôle de gestion",
        "Institut de Formation de l'Administration fédérale (IFA)",
        "Opleidingsinstituut van de Federale Overheid (OFO)",
        "Cellule Diversité",
    ],
    "FIN": [
        "AGFisc – Contrôle",
        "AAFisc – Centrum Particulieren Gent",
        "AGPR – Centre Perception Liège",
        "AAIR – Team Invordering Antwerpen",
        "Administration générale de la Documentation patrimoniale",
        "AAPD – Kantoor Rechtszekerheid Brugge",
        "AGD&A – Recherche",
        "AABBI – Bijzondere Belastinginspectie",
        "Stafdienst ICT",
        "Service d'encadrement Personnel et Organisation",
        "AGFisc – Centre PME Eupen",
    ],
    "JUS": [
        "DG Organisation judiciaire",
        "DG Penitentiaire Inrichtingen",
        "Greffes",
        "Griffie – Rechtbank van eerste aanleg Antwerpen",
        "Greffe – Tribunal de première instance de Liège",
        "Kanzlei – Gericht Erster Instanz Eupen",
        "Prison de Haren",
        "DG Wetgeving, Fundamentele Rechten en Vrijheden",
        "Moniteur belge",
        "Service d'encadrement P&O",
    ],
    "ECO": [
        "DG Inspection économique",
        "AD Energie",
        "Statbel (DG Statistique)",
        "DG Qualité et Sécurité",
        "AD KMO-beleid",
        "Office de la Propriété intellectuelle",
        "Stafdienst Personeel en Organisatie",
        "DG Réglementation économique",
    ],
    "IBZ": [
        "Office des Étrangers",
        "AD Civiele Veiligheid",
        "Centre de crise national (NCCN)",
        "AD Instellingen en Bevolking",
        "Registre national",
        "Stafdienst P&O",
        "DG Sécurité et Prévention",
        "Directie Identiteitsdocumenten",
    ],
}

PLACES: list[str] = [
    "Bruxelles – WTC III",
    "Bruxelles – North Galaxy",
    "Brussel – Finance Tower",
    "Gent – Zuiderpoort",
    "Antwerpen – Kievit",
    "Liège – Cité administrative",
    "Namur – Jambes",
    "Hasselt – Ilgatlaan",
    "Mons – Centre administratif",
    "Eupen",
    "En ligne / Online",
]

TRAININGS: list[TrainingSpec] = [
    # --- Leadership ------------------------------------------------------------------------
    _catalogue(
        "LEAD-101",
        _t(
            "Gérer une équipe au quotidien",
            "Dagelijks leidinggeven aan een team",
            "Managing a team day to day",
            "Ein Team im Alltag führen",
        ),
        16,
        2,
    ),
    _catalogue(
        "LEAD-102",
        _t(
            "Mener les entretiens des cercles de développement",
            "Gesprekken in de ontwikkelcirkels voeren",
            "Conducting development cycle interviews",
            "Gespräche im Rahmen der Entwicklungszirkel führen",
        ),
        12,
        1,
    ),
    _catalogue(
        "LEAD-103",
        _t(
            "Diriger une équipe hybride",
            "Leidinggeven aan een hybride team",
            "Leading a hybrid team",
            "Ein hybrides Team leiten",
        ),
        16,
        1,
    ),
    _catalogue(
        "LEAD-104",
        _t(
            "Accompagner le changement",
            "Verandering begeleiden",
            "Guiding change",
            "Veränderungen begleiten",
        ),
        16,
        2,
    ),
    _catalogue(
        "LEAD-105",
        _t(
            "Le leadership coachant",
            "Coachend leiderschap",
            "Coaching leadership",
            "Coachende Führung",
        ),
        12,
        3,
    ),
    # --- Personal effectiveness and wellbeing ----------------------------------------------
    _catalogue(
        "IFA-101",
        _t(
            "Gérer son temps et ses priorités",
            "Timemanagement: tijd en prioriteiten beheren",
            "Managing your time and priorities",
            "Zeit- und Prioritätenmanagement",
        ),
        16,
        1,
    ),
    _catalogue(
        "IFA-102",
        _t(
            "Rédiger des lettres claires",
            "Klare brieven schrijven",
            "Writing clear letters",
            "Klare Briefe schreiben",
        ),
        14,
        2,
    ),
    _catalogue(
        "IFA-103",
        _t(
            "Prévenir le stress et le burn-out",
            "Stress en burn-out voorkomen",
            "Preventing stress and burnout",
            "Stress und Burn-out vorbeugen",
        ),
        18,
        1,
    ),
    _catalogue(
        "IFA-104",
        _t(
            "Intégrité et déontologie dans la fonction publique fédérale",
            "Integriteit en deontologie in het federaal openbaar ambt",
            "Integrity and ethics in the federal civil service",
            "Integrität und Berufsethik im föderalen öffentlichen Dienst",
        ),
        24,
        1,
    ),
    _catalogue(
        "IFA-105",
        _t(
            "Animer des réunions efficaces",
            "Efficiënt vergaderen",
            "Running effective meetings",
            "Besprechungen effizient leiten",
        ),
        14,
        1,
    ),
    _catalogue(
        "IFA-106",
        _t(
            "Présenter avec impact",
            "Presenteren met impact",
            "Presenting with impact",
            "Wirkungsvoll präsentieren",
        ),
        10,
        2,
    ),
    _catalogue(
        "IFA-107",
        _t(
            "Accueillir et intégrer les nouveaux collaborateurs",
            "Nieuwe medewerkers onthalen en integreren",
            "Welcoming and onboarding new colleagues",
            "Neue Mitarbeitende empfangen und einarbeiten",
        ),
        18,
        1,
    ),
    _catalogue(
        "IFA-108",
        _t(
            "Diversité et inclusion au travail",
            "Diversiteit en inclusie op het werk",
            "Diversity and inclusion at work",
            "Vielfalt und Inklusion am Arbeitsplatz",
        ),
        20,
        1,
    ),
    _catalogue(
        "IFA-109",
        _t(
            "Gérer l'agressivité au guichet",
            "Omgaan met agressie aan het loket",
            "Dealing with aggression at the front desk",
            "Umgang mit Aggression am Schalter",
        ),
        12,
        2,
    ),
    _catalogue(
        "IFA-110",
        _t(
            "Donner et recevoir du feedback",
            "Feedback geven en ontvangen",
            "Giving and receiving feedback",
            "Feedback geben und annehmen",
        ),
        14,
        1,
    ),
    # --- Budget, procurement, internal control ---------------------------------------------
    _catalogue(
        "BOSA-101",
        _t(
            "Les marchés publics : principes de base",
            "Overheidsopdrachten: de basisprincipes",
            "Public procurement: the basics",
            "Öffentliche Aufträge: Grundlagen",
        ),
        20,
        2,
    ),
    _catalogue(
        "BOSA-102",
        _t(
            "Le cycle budgétaire fédéral",
            "De federale begrotingscyclus",
            "The federal budget cycle",
            "Der föderale Haushaltszyklus",
        ),
        24,
        1,
    ),
    _catalogue(
        "BOSA-103",
        _t(
            "Marchés publics : rédiger un cahier des charges",
            "Overheidsopdrachten: een bestek opstellen",
            "Public procurement: drafting tender specifications",
            "Öffentliche Aufträge: ein Lastenheft erstellen",
        ),
        16,
        2,
    ),
    _catalogue(
        "BOSA-104",
        _t(
            "Comptabilité fédérale avec Fedcom",
            "Federale boekhouding met Fedcom",
            "Federal accounting with Fedcom",
            "Föderale Buchhaltung mit Fedcom",
        ),
        12,
        3,
    ),
    _catalogue(
        "BOSA-105",
        _t(
            "Contrôle interne et gestion des risques",
            "Interne controle en risicobeheer",
            "Internal control and risk management",
            "Interne Kontrolle und Risikomanagement",
        ),
        20,
        1,
    ),
    # --- Digital skills --------------------------------------------------------------------
    _catalogue(
        "DIG-101",
        _t(
            "Excel – les bases",
            "Excel – basis",
            "Excel – the basics",
            "Excel – Grundlagen",
        ),
        12,
        2,
    ),
    _catalogue(
        "DIG-102",
        _t(
            "Excel avancé : tableaux croisés dynamiques",
            "Excel gevorderd: draaitabellen",
            "Advanced Excel: pivot tables",
            "Excel für Fortgeschrittene: Pivot-Tabellen",
        ),
        12,
        1,
    ),
    _catalogue(
        "DIG-103",
        _t(
            "Collaborer efficacement avec Microsoft Teams",
            "Efficiënt samenwerken met Microsoft Teams",
            "Collaborating effectively with Microsoft Teams",
            "Effizient zusammenarbeiten mit Microsoft Teams",
        ),
        16,
        1,
    ),
    _catalogue(
        "DIG-104",
        _t(
            "Le RGPD dans la pratique",
            "De AVG in de praktijk",
            "GDPR in practice",
            "Die DSGVO in der Praxis",
        ),
        24,
        1,
    ),
    _catalogue(
        "DIG-105",
        _t(
            "Cybersécurité : les bons réflexes",
            "Cyberveiligheid: de juiste reflexen",
            "Cybersecurity: the right reflexes",
            "Cybersicherheit: die richtigen Reflexe",
        ),
        24,
        1,
    ),
    _catalogue(
        "DIG-106",
        _t(
            "L'IA générative au travail : usages et limites",
            "Generatieve AI op het werk: toepassingen en grenzen",
            "Generative AI at work: uses and limits",
            "Generative KI am Arbeitsplatz: Einsatz und Grenzen",
        ),
        20,
        1,
    ),
    _catalogue(
        "DIG-107",
        _t(
            "Créer des documents numériques accessibles",
            "Toegankelijke digitale documenten maken",
            "Creating accessible digital documents",
            "Barrierefreie digitale Dokumente erstellen",
        ),
        12,
        1,
    ),
    # --- Languages -------------------------------------------------------------------------
    _catalogue(
        "LANG-101",
        _t(
            "Néerlandais – communication orale au travail (niveau B1)",
            "Nederlands – mondelinge communicatie op het werk (niveau B1)",
            "Dutch – oral communication at work (level B1)",
            "Niederländisch – mündliche Kommunikation am Arbeitsplatz (Niveau B1)",
        ),
        10,
        3,
    ),
    _catalogue(
        "LANG-102",
        _t(
            "Français – communication orale au travail (niveau B1)",
            "Frans – mondelinge communicatie op het werk (niveau B1)",
            "French – oral communication at work (level B1)",
            "Französisch – mündliche Kommunikation am Arbeitsplatz (Niveau B1)",
        ),
        10,
        3,
    ),
    _catalogue(
        "LANG-103",
        _t(
            "Préparation à l'examen linguistique (connaissance de la seconde langue)",
            "Voorbereiding op het taalexamen (kennis van de tweede taal)",
            "Preparing for the second-language exam",
            "Vorbereitung auf die Sprachprüfung (Kenntnis der zweiten Sprache)",
        ),
        8,
        3,
    ),
    _catalogue(
        "LANG-104",
        _t(
            "Anglais pour les réunions internationales",
            "Engels voor internationale vergaderingen",
            "English for international meetings",
            "Englisch für internationale Besprechungen",
        ),
        10,
        2,
    ),
    _catalogue(
        "LANG-105",
        _t(
            "Allemand pour débutants",
            "Duits voor beginners",
            "German for beginners",
            "Deutsch für Anfänger",
        ),
        10,
        3,
    ),
    # --- On demand (organised for one organisation) ----------------------------------------
    _on_demand(
        "FIN-201",
        _t(
            "Le contrôle fiscal : méthodologie d'audit",
            "Fiscale controle: auditmethodologie",
            "Tax audits: audit methodology",
            "Steuerprüfung: Prüfungsmethodik",
        ),
        "FIN",
        16,
        3,
    ),
    _on_demand(
        "FIN-202",
        _t(
            "Aider les contribuables à remplir leur déclaration via Tax-on-web",
            "Belastingplichtigen helpen met hun aangifte via Tax-on-web",
            "Helping taxpayers file their return via Tax-on-web",
            "Steuerpflichtigen bei der Erklärung über Tax-on-web helfen",
        ),
        "FIN",
        20,
        1,
    ),
    _on_demand(
        "JUS-201",
        _t(
            "Procédure civile pour les collaborateurs de greffe",
            "Burgerlijke procedure voor griffiemedewerkers",
            "Civil procedure for court registry staff",
            "Zivilverfahren für Kanzleimitarbeitende",
        ),
        "JUS",
        18,
        2,
    ),
    _on_demand(
        "JUS-202",
        _t(
            "Sécurité dynamique en prison",
            "Dynamische veiligheid in de gevangenis",
            "Dynamic security in prisons",
            "Dynamische Sicherheit im Gefängnis",
        ),
        "JUS",
        12,
        2,
    ),
    _on_demand(
        "BOSA-201",
        _t(
            "Mener un entretien de sélection structuré",
            "Een gestructureerd selectiegesprek voeren",
            "Conducting a structured selection interview",
            "Ein strukturiertes Auswahlgespräch führen",
        ),
        "BOSA",
        10,
        2,
    ),
    # --- Certification tracks (PRO Academy) ------------------------------------------------
    _certification(
        "PRO-101",
        _t(
            "Parcours certifiant : Chef de projet public",
            "Certificeringstraject: Projectleider bij de overheid",
            "Certification track: Public sector project manager",
            "Zertifizierungslehrgang: Projektleitung im öffentlichen Dienst",
        ),
        20,
        3,
    ),
    _certification(
        "PRO-102",
        _t(
            "Parcours certifiant : Gestionnaire RH",
            "Certificeringstraject: HR-beheerder",
            "Certification track: HR officer",
            "Zertifizierungslehrgang: Personalsachbearbeitung",
        ),
        20,
        3,
    ),
    _certification(
        "PRO-103",
        _t(
            "Parcours certifiant : Analyste de données",
            "Certificeringstraject: Data-analist",
            "Certification track: Data analyst",
            "Zertifizierungslehrgang: Datenanalyse",
        ),
        16,
        3,
    ),
]
