"""Realistic, deterministic Belgian people for demo and test data.

Surnames and given names are weighted to follow the real frequency shape in Belgium
(a few very frequent names, a long tail). The lists deliberately contain the cases that
make matching people hard: particles written apart or together (Van den Bossche /
Vandenbossche), apostrophes (D'Hondt / Dhondt), hyphenated names, diacritics (Lefèvre,
Thönnissen, Öztürk, Yıldız) and spelling variants (Peeters / Peters / Pieters).

Everything is pure standard library and deterministic for a given ``random.Random`` state.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from itertools import accumulate

__all__ = ["GIVEN_NAMES", "SURNAMES", "Person", "email_for", "people"]


@dataclass(frozen=True)
class Person:
    surname: str
    given_names: str  # one or two given names, space separated
    sex: str  # "M" / "F"
    language: str  # "nl" / "fr" / "de" / "en"
    birth_date: date
    community: str  # "nl" / "fr" / "de" / "other"


def _parse(spec: str) -> list[tuple[str, int]]:
    """Parse ``"Name:weight, Name:weight, ..."`` (newlines allowed) into a list."""
    out: list[tuple[str, int]] = []
    for chunk in spec.replace("\n", ",").split(","):
        chunk = chunk.strip()
        if not chunk:
            continue
        name, _, weight = chunk.rpartition(":")
        out.append((name.strip(), int(weight)))
    return out


# --------------------------------------------------------------------------------------------
# Surnames
# --------------------------------------------------------------------------------------------

_SURNAMES_NL = _parse(
    """
    Peeters:31000, Janssens:28500, Maes:24500, Jacobs:20500, Mertens:19500, Willems:19000,
    Claes:17800, Goossens:17500, Wouters:16800, De Smet:15800, Hermans:14000, Aerts:13600,
    Michiels:12900, Vermeulen:12600, Pauwels:12000, De Clercq:11500, Smets:11200, Segers:10000,
    Verstraete:9700, Van Damme:9300, Hendrickx:9000, Stevens:8900, Martens:8800, Claeys:8700,
    Cools:8600, Coppens:8400, De Backer:8000, Bogaerts:7900, Van den Broeck:7800, Desmet:7600,
    Lemmens:7400, Verhoeven:7300, Van de Velde:7100, Dewulf:7000, Geerts:6900, Vandamme:6800,
    Thys:6700, De Vos:6600, Verbruggen:6500, Van Acker:6300, Lauwers:6200, Verschueren:6100,
    De Wilde:6000, Verlinden:5900, Vandenberghe:5800, Van Hecke:5600, Wuyts:5500,
    Huybrechts:5400, Vervoort:5300, Dierckx:5200, Hendrikx:5000, De Meyer:4900, Van Dyck:4800,
    Baert:4700, Devos:4600, Verheyen:4500, Verbeke:4450, Leemans:4400, Cuypers:4300,
    Moens:4250, Van Hoof:4200, Vandevelde:4100, Van den Bossche:4000, Verhaeghe:3900,
    Lambrechts:3850, De Smedt:3800, De Coninck:3700, Buyse:3600, Vercammen:3550, Celis:3500,
    Beckers:3450, Bosmans:3400, Van de Walle:3350, Declercq:3300, Vandenbossche:3300,
    De Cock:3300, Lambrecht:3200, Claessens:3200, Nijs:3200, De Bruyn:3100, Smet:3000,
    Van der Linden:3000, Sels:3000, Vermeersch:3000, De Witte:3000, D'Hondt:2900,
    De Groote:2900, De Ridder:2900, Huysmans:2800, Verhelst:2800, Pieters:2700, Deckers:2700,
    Janssen:2600, Desmedt:2600, Van Hove:2600, Verstraeten:2600, Vandewalle:2600, De Pauw:2600,
    Peters:2500, Vanneste:2500, Dhondt:2400, Vandenbroucke:2400, De Bruyne:2400,
    Vanderlinden:2200, Vanhoutte:2200, De Winter:2200, Govaerts:2200, Van den Berghe:2300,
    De Jonghe:2300, Goethals:2300, Timmermans:2300, Wauters:2300, Vandeputte:2100,
    Vanderstraeten:2100, De Paepe:2100, Geens:2100, Heylen:2100, Van Laere:2000,
    Van Loock:2000, Verbeeck:2000, Van den Eynde:2000, De Keyser:2000, De Wolf:2000,
    Gielen:2000, Raes:2000, Thijs:2000, Cornelis:2000, De Waele:1900, De Coster:1900,
    Lenaerts:1900, Op de Beeck:1900, Roels:1900, Bauwens:1900, Callens:1900, Jansen:1800,
    Van Gorp:1800, Van de Vyver:1800, De Maeyer:1800, De Schrijver:1800, Everaert:1800,
    Luyten:1800, Smeets:1800, Van Looy:1700, Van Daele:1700, Dierickx:1700, Goris:1700,
    Huyghe:1700, Meeus:1700, Schepens:1700, Sterckx:1700, Van Rompaey:1600, Vereecken:1600,
    Van Camp:1600, Van Cauwenberghe:1600, Houben:1600, Meulemans:1600, Ooms:1600,
    Verbist:1600, Verhulst:1600, Baeten:1600, Kuypers:1500, D'Haese:1500, Vlaeminck:1500,
    Wyns:1500, Van der Auwera:1500, Van Goethem:1500, Van Houtte:1500, De Graeve:1500,
    De Schepper:1500, De Cuyper:1500, Engels:1500, Leys:1500, Nuyts:1500, Rombouts:1500,
    Swinnen:1500, Brouwers:1500, Debacker:1400, Van Roey:1400, Van Parys:1400, De Muynck:1400,
    De Wachter:1400, De Baets:1400, Dewaele:1400, Eeckhout:1400, Verelst:1400, Daems:1400,
    Andries:1400, Van Impe:1300, Vanhecke:1300, Vanderhaeghen:1300, Van Hulle:1300,
    De Mol:1300, De Rycke:1300, Kenis:1300, Verlinde:1300, Adriaensens:1300, Boonen:1300,
    D'Hoore:1200, Vanlerberghe:1200, Van Campenhout:1200, Van Herck:1200, Van Landeghem:1200,
    De Roeck:1200, De Beule:1200, De Vriendt:1200, Demeyer:1200, Hofmans:1200,
    Jonckheere:1200, Verboven:1200, Van Gucht:1100, Wijns:1100, Van den Heuvel:1100,
    De Geest:1100, De Weerdt:1100, Degroote:1100, Dewitte:1100, Schoofs:1100, Philips:1100,
    Boeckx:1100, Van Mol:1000, Vandermeulen:1000, Van Nuffel:1000, Van Eyck:1000,
    De Loof:1000, De Vleeschauwer:1000, Depauw:1000, Stas:1000, Thielemans:1000,
    Wellens:1000, Wijnants:1000, Lippens:1000, Borremans:1000, Dams:1000, Van Puyvelde:900,
    Vanhaverbeke:900, Vanhee:900, Van Bael:900, Van Dooren:900, Huismans:900, De Lange:900,
    De Praetere:900, De Vuyst:900, Dedecker:900, Dockx:900, Heyvaert:900, Schoeters:900,
    Tack:900, Verplancke:900, Hellemans:900, Mortier:900, Buelens:900, Ackermans:900,
    Braeckman:900, Cauwenberghs:900, Danneels:900, Dillen:900, Smedt:800, Van Aken:800,
    Van Overmeire:800, Van Severen:800, Haesaert:800, Kerckhove:800, Laenen:800,
    Moreels:800, Coene:800, Bruneel:800, Casier:800, Donckers:800, Verhaege:700, Windey:700,
    Van Wesemael:700, Van Ransbeeck:700, Van Schoor:700, Van Leemput:700, Dekeyser:700,
    Steenackers:700, Torfs:700, Troch:700, Verschaeve:700, Coolen:700, Dom:600, Put:600,
    Vervaet:600, Aelbrecht:600, Van Meerbeeck:600, Vermeule:500, Crauwels:500, Suls:400,
    Beirens:400, D'Ieteren:300, Indekeu:300, Van Acker-Peeters:40, Peeters-Janssens:30
    """
)

_SURNAMES_FR = _parse(
    """
    Dubois:15500, Lambert:12500, Martin:11800, Dupont:11500, Dumont:10000, Leroy:9600,
    Leclercq:9400, Simon:9000, Laurent:8800, Lejeune:8200, Renard:8000, Mathieu:7800,
    Denis:7600, Lemaire:7400, Lefebvre:7000, Collard:6200, François:6000, Fontaine:6000,
    Henry:5800, Gérard:5700, Michel:5500, Thomas:5300, Petit:5100, Hubert:5000, Charlier:4600,
    Jacques:4500, Bernard:4400, Marchal:4300, Delvaux:4200, Lecomte:4100, Bertrand:4000,
    Dupuis:4000, Servais:3800, Colin:3700, Guillaume:3700, Nicolas:3700, Piron:3600,
    Dumoulin:3500, Poncelet:3500, Collignon:3500, Gillet:3400, Legrand:3400, Paquet:3400,
    Goffin:3300, Leonard:3300, Thiry:3300, Toussaint:3300, Gilson:3200, Louis:3200,
    Etienne:3100, Gilles:3000, Remy:3000, Evrard:3000, Georges:3000, Grégoire:3000,
    Robert:3000, Pirard:2800, Dethier:2800, Lacroix:2800, Deprez:2700, Bodart:2700,
    Piret:2700, Roland:2700, Pirotte:2600, Masson:2600, Lefèvre:2500, Dubuisson:2500,
    Piette:2500, Delhaye:2500, Leblanc:2500, Herman:2500, Maréchal:2500, Moreau:2500,
    Pierre:2500, Bastin:2500, Delcourt:2400, Cornet:2400, Parmentier:2400, Vincent:2400,
    Wilmet:2300, Courtois:2300, Didier:2300, Dufour:2300, Gobert:2200, Noël:2200,
    Carlier:2200, Mercier:2100, Lenoir:2000, Jacquet:2000, Massart:2000, Meunier:2000,
    Rousseau:2000, Demoulin:2000, Lambot:1800, Chapelle:1800, Jacob:1800, Olivier:1800,
    Fabry:1700, Joly:1700, Roger:1700, Delmotte:1700, Descamps:1700, Delforge:1600,
    Michaux:1600, Clément:1600, Baudoux:1500, Dony:1500, Gillard:1500, Hardy:1500,
    Leclerc:1500, Lemaître:1500, Deschamps:1500, Beaujean:1400, Jadoul:1400, Gaspard:1400,
    Renier:1400, Thirion:1400, Brasseur:1400, Léonard:1300, Lambotte:1300, Mathy:1300,
    Minet:1300, Sauvage:1300, Tilman:1300, Devillers:1300, Durieux:1300, Englebert:1300,
    Godart:1300, Lahaye:1300, Paulus:1300, Closset:1200, Detry:1200, Frère:1200, Dewez:1200,
    Dufrasne:1200, Henrard:1200, Boulanger:1200, Kinet:1100, Laloux:1100, Moulin:1100,
    Renson:1100, Wéry:1100, Hallet:1100, Lallemand:1100, Fievez:1000, Pire:1000, Stassen:1000,
    Dussart:1000, Morel:1000, Rigaux:1000, Rolland:1000, Cambier:1000, Chevalier:1000,
    Dardenne:1000, Haine:900, Labbé:900, Lamotte:900, Lhoest:900, Maton:900, Radoux:900,
    Vanderelst:900, Vandersmissen:900, Wathelet:900, Jamar:900, Malherbe:900, Raskin:900,
    Coulon:900, Debroux:900, Xhonneux:900, Bauduin:800, Vanderheyden:800, Van Cutsem:800,
    Mathot:800, Navez:800, Pierard:800, Demaret:800, Poulet:700, Vanhamme:700,
    Vanderborght:700, Verheyden:700, Wautier:700, Fraikin:700, Gobbe:700, Leruth:700,
    Pochet:700, Dessy:700, Culot:700, Jonet:600, Ruelle:600, Wilkin:600, Dupire:600,
    Bonnet:600, Dandoy:600, Degand:600, Delhez:600, Willame:500, Warnier:500, Zimmer:500,
    Gilain:500, Herbiet:500, Lurquin:500, Nève:500, Pâques:500, Urbain:500, Walravens:500,
    Willot:500, Dubreucq:500, Bouvier:500, Body:500, Bolle:500, Burton:500, Delchambre:500,
    Vandeweyer:500, Du Bois:400, Yernaux:400, Hocq:400, Honnay:400, Monseur:400, Scaillet:400,
    Questiaux:400, Defays:400, Le Clercq:300, Sohet:300, Tasiaux:300, Despontin:200,
    Vérité:150, Dupont-Martin:30, Lefèvre-Dumont:25, Collard-Bovy:20
    """
)

_SURNAMES_DE = _parse(
    """
    Schmitz:1400, Müller:900, Meyer:800, Heinen:700, Cremer:650, Kohnen:600, Lambertz:600,
    Hoffmann:600, Weber:600, Schmitt:550, Lentz:500, Mertes:500, Hilgers:450, Krings:450,
    Schumacher:450, Jost:400, Thönnissen:400, Reuter:400, Kreutz:400, Brüll:400,
    Radermacher:400, Theissen:400, Schröder:350, Kessler:350, Pauels:350, Maraite:350,
    Zimmermann:350, Emonts:300, Heck:300, Jousten:300, Langer:300, Simons:300, Dahmen:300,
    Havenith:300, Gennen:250, Margraff:250, Nelles:250, Ortmann:250, Keutgen:250,
    Hennes:250, Klinkenberg:250, Fickers:200, Kever:200, Mreyen:200, Palm:200, Wiesemes:200,
    Kirschvink:200, Mockel:200, Scholzen:200, Backes:200, Sarlette:200, Rosskamp:150,
    Velz:150, Förster:150
    """
)

# Immigrant-origin surnames, tagged by origin so that given names can follow.
_SURNAMES_OTHER_BY_ORIGIN: dict[str, list[tuple[str, int]]] = {
    "ma": _parse(
        """
        El Amrani:900, Benali:700, El Idrissi:600, Bakkali:550, El Khattabi:500,
        Azzouzi:450, Mansouri:400, Amrani:400, Ben Ahmed:400, El Hajji:400, Bouzidi:350,
        Boukhari:350, Tahiri:350, Belhadj:350, El Ouardi:300, El Haddouchi:300,
        Hamdaoui:300, Ziani:300, Lahlou:250, El Fassi:250, Essafi:250
        """
    ),
    "tr": _parse(
        """
        Yilmaz:900, Demir:650, Öztürk:600, Kaya:600, Çelik:550, Şahin:500, Yıldız:450,
        Aydın:400, Arslan:400, Doğan:400, Özdemir:400, Koç:300, Kurt:300, Aksoy:250,
        Polat:250, Erdoğan:250
        """
    ),
    "it": _parse(
        """
        Rossi:500, Esposito:400, Russo:350, Romano:350, Ferrari:300, De Luca:300,
        Bianchi:250, Di Stefano:250, Lombardo:250, Marino:250, Greco:250, Colombo:200,
        Caruso:200, D'Angelo:200, Della Valle:150, Lo Bue:150, Di Vincenzo:150, La Rocca:150
        """
    ),
    "es": _parse(
        """
        Garcia:550, Fernandez:400, Martinez:400, Lopez:400, Rodriguez:350, Gonzalez:350,
        Sanchez:300, Pérez:300, Gómez:250, Muñoz:200
        """
    ),
    "pl": _parse(
        """
        Nowak:450, Kowalski:300, Wiśniewski:200, Wójcik:200, Kowalczyk:200,
        Lewandowski:200, Zieliński:150, Szymański:150
        """
    ),
    "cd": _parse(
        """
        Kabongo:450, Mbuyi:400, Tshibangu:350, Ilunga:350, Kalonji:300, Mukendi:300,
        Kasongo:300, Mulumba:250, Kabeya:250, Lukusa:200, Nzuzi:200, Mputu:200,
        Tshimanga:200, Mbala:200
        """
    ),
    "pt": _parse(
        """
        Silva:450, Santos:400, Ferreira:350, Pereira:350, Oliveira:300, Costa:300,
        Rodrigues:300, Gonçalves:250, Fernandes:250, Martins:250
        """
    ),
    "ro": _parse(
        """
        Popescu:300, Popa:300, Ionescu:200, Stan:200, Dumitru:200, Constantin:150,
        Munteanu:150, Stoica:150, Georgescu:100
        """
    ),
}

SURNAMES: dict[str, list[tuple[str, int]]] = {
    "nl": _SURNAMES_NL,
    "fr": _SURNAMES_FR,
    "de": _SURNAMES_DE,
    "other": [pair for pairs in _SURNAMES_OTHER_BY_ORIGIN.values() for pair in pairs],
}

# --------------------------------------------------------------------------------------------
# Given names (weights reflect people born 1960–2004, i.e. today's federal workforce)
# --------------------------------------------------------------------------------------------

_GIVEN_NL = {
    "M": _parse(
        """
        Tom:900, Kris:850, Peter:850, Bart:800, Geert:750, Dirk:700, Luc:650, Marc:650,
        Johan:650, Koen:650, Filip:600, Stefan:600, Wim:600, Jan:600, Patrick:550, Steven:550,
        Erik:500, Frank:500, Paul:450, Pieter:450, Jeroen:450, Joris:400, Sven:400, Tim:400,
        Nick:400, Kevin:400, Thomas:400, Maarten:380, Wouter:380, Stijn:380, Bram:350,
        Dries:320, Jens:320, Ruben:300, Niels:300, Jonas:300, Matthias:280, Jasper:280,
        Simon:250, Lucas:220, Arne:220, Sander:220, Hans:300, Guy:280, Rudi:250, Danny:250,
        Werner:220, Ivo:200, Hendrik:200, Gert:220, Lieven:180, Joachim:160, Brecht:160,
        Toon:150, Jef:120, Lander:150, Robbe:140, Seppe:120, Wannes:100, Kobe:100, Noël:60,
        Pieter-Jan:120
        """
    ),
    "F": _parse(
        """
        An:800, Ann:700, Els:750, Katrien:650, Sofie:650, Veerle:600, Inge:600, Kathleen:550,
        Nathalie:550, Sarah:550, Hilde:500, Karin:450, Martine:450, Christine:400, Greet:400,
        Griet:350, Nancy:450, Sandra:400, Kim:400, Tine:380, Eva:400, Elke:450, Evelien:380,
        Leen:350, Lien:350, Lotte:350, Laura:380, Julie:380, Charlotte:300, Marie:300,
        Emma:180, Hanne:280, Femke:280, Jolien:300, Lisa:320, Ine:250, Ilse:380, Kristel:300,
        Carine:300, Mieke:250, Linda:300, Marijke:250, Nele:320, Tinne:200, Sien:120,
        Fien:120, Zoë:80, Anke:220, Ellen:300, Joke:220, Heidi:300, Wendy:300, Vicky:200,
        Caroline:300, Katleen:220, Marleen:220, Rita:180, Liesbeth:300, Lies:280, Annick:350,
        Ann-Sophie:150, Anja:250
        """
    ),
}

_GIVEN_FR = {
    "M": _parse(
        """
        Philippe:850, Christophe:800, Olivier:750, Laurent:700, Frédéric:700, Stéphane:650,
        Thierry:650, Vincent:600, Nicolas:650, Benoît:550, Marc:550, Didier:500, Éric:500,
        Pascal:500, Patrick:500, Michel:450, Alain:450, Jean:450, Pierre:400, Daniel:350,
        Luc:300, Xavier:350, Sébastien:550, Julien:500, Maxime:400, Antoine:350, Thomas:450,
        Guillaume:400, Jérôme:400, François:350, Jean-Pierre:300, Jean-Luc:250,
        Jean-Marc:250, Jean-François:250, Bernard:250, Serge:250, Yves:250, Dominique:200,
        Fabrice:300, Cédric:400, Grégory:350, Damien:350, Jonathan:350, Kevin:300,
        Romain:300, Arnaud:300, Quentin:280, Florian:250, Loïc:220, Mathieu:300, Cyril:220,
        Benjamin:280, Simon:220, Hugo:150, Louis:180, Martin:200, Gauthier:150, Noël:60,
        Raphaël:180, Gaëtan:180, Jérémy:220, Adrien:200, Valentin:150, Corentin:150
        """
    ),
    "F": _parse(
        """
        Nathalie:850, Isabelle:800, Sophie:700, Valérie:700, Catherine:650, Anne:600,
        Christine:500, Sandrine:600, Véronique:550, Marie:500, Françoise:400, Martine:400,
        Chantal:350, Nadine:350, Brigitte:300, Anne-Sophie:300, Marie-Christine:220,
        Hélène:250, Thérèse:100, Dominique:250, Stéphanie:500, Caroline:450, Céline:500,
        Aurélie:450, Julie:500, Émilie:400, Audrey:350, Virginie:400, Delphine:350,
        Laurence:400, Florence:350, Pascale:300, Murielle:250, Sylvie:400, Géraldine:300,
        Gaëlle:250, Anaïs:200, Camille:250, Laura:350, Charlotte:300, Manon:220, Pauline:250,
        Sarah:350, Élodie:300, Mélanie:350, Jessica:250, Amandine:250, Justine:250,
        Marine:200, Chloé:200, Zoé:80, Léa:120, Noémie:150, Océane:100, Maud:150, Annick:250,
        Fabienne:300, Joëlle:200, Mireille:150, Bénédicte:250, Ingrid:200
        """
    ),
}

_GIVEN_DE = {
    "M": _parse(
        """
        Jürgen:300, Klaus:200, Stefan:300, Thomas:300, Michael:300, Andreas:280, Markus:250,
        Frank:200, Ralf:150, Guido:180, Herbert:120, Karl-Heinz:100, Manfred:100, Norbert:120,
        Werner:120, Dieter:100, Bernd:120, Jörg:120, Helmut:80, Joachim:120, Alexander:200,
        Christian:250, Daniel:220, Patrick:200, Tobias:150, Lukas:120, Jonas:120, Marco:150,
        Kevin:120, Sebastian:150, Philipp:120, René:120
        """
    ),
    "F": _parse(
        """
        Sabine:300, Monika:200, Petra:250, Andrea:280, Claudia:250, Martina:200,
        Brigitte:150, Birgit:180, Gabriele:120, Anja:200, Karin:200, Heike:150, Susanne:200,
        Nicole:250, Stefanie:220, Julia:200, Sarah:180, Lisa:150, Laura:150, Jana:120,
        Katharina:150, Anna:150, Lea:100, Jessica:150, Melanie:180, Sandra:200,
        Christiane:150, Annette:150, Doris:100, Jutta:100, Ursula:80
        """
    ),
}

_GIVEN_OTHER_BY_ORIGIN: dict[str, dict[str, list[tuple[str, int]]]] = {
    "ma": {
        "M": _parse(
            """
            Mohamed:900, Ahmed:500, Youssef:400, Karim:350, Rachid:350, Mustafa:250,
            Said:300, Khalid:300, Hamza:250, Bilal:250, Anas:150, Ayoub:200, Mehdi:300,
            Nabil:250, Abdelkader:150, Ilias:200
            """
        ),
        "F": _parse(
            """
            Fatima:600, Khadija:350, Nadia:400, Samira:350, Latifa:250, Naima:300, Souad:250,
            Malika:250, Imane:300, Salma:250, Yasmina:200, Sanae:200, Hajar:200, Houda:200,
            Loubna:200, Nora:200
            """
        ),
    },
    "tr": {
        "M": _parse(
            """
            Mehmet:500, Ahmet:350, Mustafa:350, Ali:300, Hüseyin:250, Hasan:250, Emre:250,
            Burak:200, Murat:300, Ümit:200, Serkan:200, Volkan:150, Kerem:150, Oğuz:100
            """
        ),
        "F": _parse(
            """
            Ayşe:350, Fatma:350, Emine:250, Hatice:200, Zeynep:250, Elif:250, Merve:200,
            Şeyma:150, Büşra:150, Esra:200, Derya:150, Gül:120, Özlem:150, Songül:120
            """
        ),
    },
    "it": {
        "M": _parse(
            """
            Giuseppe:300, Salvatore:250, Antonio:300, Francesco:250, Giovanni:200, Marco:250,
            Luca:200, Fabio:200, Massimo:150, Alessandro:150, Vincenzo:200, Davide:150
            """
        ),
        "F": _parse(
            """
            Maria:300, Giuseppina:150, Anna:200, Francesca:200, Giulia:150, Chiara:150,
            Valentina:200, Antonella:200, Rosa:150, Silvia:150, Alessandra:150, Sabrina:150
            """
        ),
    },
    "es": {
        "M": _parse("José:250, Juan:200, Carlos:250, Manuel:200, Antonio:200, Javier:150"),
        "F": _parse("Carmen:250, María:250, Ana:200, Isabel:200, Lucía:100, Pilar:100, Rocío:80"),
    },
    "pl": {
        "M": _parse(
            "Piotr:250, Krzysztof:200, Tomasz:200, Paweł:200, Marek:150, Andrzej:150, "
            "Łukasz:200, Michał:200"
        ),
        "F": _parse(
            "Anna:250, Katarzyna:250, Agnieszka:200, Magdalena:200, Małgorzata:150, "
            "Joanna:200, Ewa:150, Monika:150"
        ),
    },
    "cd": {
        "M": _parse(
            "Jean-Claude:200, Patrick:200, Dieudonné:150, Christian:150, Trésor:150, "
            "Exaucé:100, Junior:120, Papy:100, Fiston:100, Glodi:80"
        ),
        "F": _parse(
            "Grâce:200, Merveille:150, Espérance:120, Divine:120, Béatrice:100, Christelle:150, "
            "Nadège:120, Gloria:100, Plamedi:80, Sandrine:100"
        ),
    },
    "pt": {
        "M": _parse("João:250, José:200, Paulo:200, Rui:150, Nuno:150, Tiago:150, Luís:150"),
        "F": _parse(
            "Maria:250, Ana:200, Sónia:150, Sandra:150, Paula:150, Cláudia:150, Inês:100, "
            "Patrícia:150"
        ),
    },
    "ro": {
        "M": _parse(
            "Ion:150, Andrei:200, Mihai:200, Alexandru:200, Bogdan:150, Florin:150, "
            "Ionuț:100, Cristian:150"
        ),
        "F": _parse(
            "Elena:200, Ioana:200, Maria:150, Andreea:200, Mihaela:150, Alina:150, "
            "Cristina:150, Gabriela:120"
        ),
    },
}


def _merge(lists: list[list[tuple[str, int]]]) -> list[tuple[str, int]]:
    """Merge weighted lists, summing the weights of names that occur several times."""
    merged: dict[str, int] = {}
    for pairs in lists:
        for name, weight in pairs:
            merged[name] = merged.get(name, 0) + weight
    return sorted(merged.items(), key=lambda item: (-item[1], item[0]))


GIVEN_NAMES: dict[str, dict[str, list[tuple[str, int]]]] = {
    "nl": _GIVEN_NL,
    "fr": _GIVEN_FR,
    "de": _GIVEN_DE,
    "other": {
        sex: _merge([by_sex[sex] for by_sex in _GIVEN_OTHER_BY_ORIGIN.values()])
        for sex in ("M", "F")
    },
}

# --------------------------------------------------------------------------------------------
# Generation parameters and precomputed tables
# --------------------------------------------------------------------------------------------

_COMMUNITIES: tuple[str, ...] = ("nl", "fr", "de", "other")
_COMMUNITY_CUM: list[float] = list(accumulate((0.55, 0.33, 0.02, 0.10)))
_SEXES: tuple[str, str] = ("M", "F")
_EN_RATE = 0.02

# origin → (share of fr among fr/nl speakers, share given a Belgian fr/nl given name)
_ORIGIN_PARAMS: dict[str, tuple[float, float]] = {
    "ma": (0.65, 0.12),
    "tr": (0.45, 0.08),
    "it": (0.80, 0.50),
    "es": (0.75, 0.40),
    "pl": (0.40, 0.25),
    "cd": (0.85, 0.55),
    "pt": (0.75, 0.30),
    "ro": (0.50, 0.20),
}

# Probability of a second given name, per given-name pool.
_SECOND_NAME_RATE: dict[str, float] = {"nl": 0.35, "fr": 0.35, "de": 0.30}
_SECOND_NAME_RATE_OTHER = 0.15

# Polish surnames take a feminine form.
_PL_FEMININE_ENDINGS = ("ski", "cki", "dzki")

_BIRTH_FIRST = date(1960, 1, 1)
_BIRTH_LAST = date(2004, 12, 31)


def _year_weight(year: int) -> float:
    if year < 1965:
        return 1.2  # many already retired
    if year < 1970:
        return 2.0
    if year < 1995:
        return 2.6
    if year < 2000:
        return 2.0
    if year < 2003:
        return 1.0
    return 0.4  # just out of school


_YEARS: list[int] = list(range(_BIRTH_FIRST.year, _BIRTH_LAST.year + 1))
_YEAR_CUM: list[float] = list(accumulate(_year_weight(y) for y in _YEARS))
_YEAR_START: dict[int, int] = {y: date(y, 1, 1).toordinal() for y in _YEARS}
_YEAR_LEN: dict[int, int] = {
    y: date(y + 1, 1, 1).toordinal() - date(y, 1, 1).toordinal() for y in _YEARS
}


def _table(pairs: list[tuple[str, int]]) -> tuple[list[str], list[int]]:
    return [name for name, _ in pairs], list(accumulate(weight for _, weight in pairs))


_SURNAME_TABLES: dict[str, tuple[list[str], list[int]]] = {
    c: _table(SURNAMES[c]) for c in ("nl", "fr", "de")
}
_OTHER_SURNAMES: list[str] = []
_OTHER_ORIGINS: list[str] = []
_OTHER_WEIGHTS: list[int] = []
for _origin, _pairs in _SURNAMES_OTHER_BY_ORIGIN.items():
    for _name, _weight in _pairs:
        _OTHER_SURNAMES.append(_name)
        _OTHER_ORIGINS.append(_origin)
        _OTHER_WEIGHTS.append(_weight)
_OTHER_INDEX: range = range(len(_OTHER_SURNAMES))
_OTHER_CUM: list[int] = list(accumulate(_OTHER_WEIGHTS))

# Given-name pools: key (pool, sex) where pool is "nl"/"fr"/"de" or an origin code.
_GIVEN_TABLES: dict[tuple[str, str], tuple[list[str], list[int]]] = {}
for _pool, _by_sex in list(GIVEN_NAMES.items()) + list(_GIVEN_OTHER_BY_ORIGIN.items()):
    if _pool == "other":
        continue
    for _sex, _pairs in _by_sex.items():
        _GIVEN_TABLES[(_pool, _sex)] = _table(_pairs)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def people(rng: random.Random, n: int, *, homonym_rate: float = 0.03) -> list[Person]:
    """Return ``n`` people, deterministic for a given ``rng`` state.

    Natural homonyms arise from the weighted draws. In addition, about ``homonym_rate`` of
    the people are exact (surname + first given name) homonyms of an earlier person, with
    another birth date.
    """
    if n <= 0:
        return []
    rand = rng.random

    comms = rng.choices(_COMMUNITIES, cum_weights=_COMMUNITY_CUM, k=n)
    sexes = rng.choices(_SEXES, k=n)
    surnames: list[str] = [""] * n
    langs: list[str] = [""] * n
    pools: list[str] = [""] * n

    by_comm: dict[str, list[int]] = {c: [] for c in _COMMUNITIES}
    for i, c in enumerate(comms):
        by_comm[c].append(i)

    for c in ("nl", "fr", "de"):
        idx = by_comm[c]
        if not idx:
            continue
        names, cum = _SURNAME_TABLES[c]
        for i, surname in zip(idx, rng.choices(names, cum_weights=cum, k=len(idx)), strict=True):
            surnames[i] = surname
            langs[i] = c
            pools[i] = c

    idx = by_comm["other"]
    if idx:
        picks = rng.choices(_OTHER_INDEX, cum_weights=_OTHER_CUM, k=len(idx))
        for i, pick in zip(idx, picks, strict=True):
            origin = _OTHER_ORIGINS[pick]
            surname = _OTHER_SURNAMES[pick]
            fr_share, belgian_share = _ORIGIN_PARAMS[origin]
            lang = "fr" if rand() < fr_share else "nl"
            if origin == "pl" and sexes[i] == "F" and surname.endswith(_PL_FEMININE_ENDINGS):
                surname = surname[:-1] + "a"
            surnames[i] = surname
            langs[i] = lang
            pools[i] = lang if rand() < belgian_share else origin

    # Given names, drawn in batches per (pool, sex).
    by_pool: dict[tuple[str, str], list[int]] = {}
    for i in range(n):
        key = (pools[i], sexes[i])
        group = by_pool.get(key)
        if group is None:
            by_pool[key] = [i]
        else:
            group.append(i)
    firsts: list[str] = [""] * n
    seconds: list[str] = [""] * n
    for key in sorted(by_pool):
        idx = by_pool[key]
        names, cum = _GIVEN_TABLES[key]
        k = len(idx)
        for i, name in zip(idx, rng.choices(names, cum_weights=cum, k=k), strict=True):
            firsts[i] = name
        rate = _SECOND_NAME_RATE.get(key[0], _SECOND_NAME_RATE_OTHER)
        with_second = [i for i in idx if rand() < rate]
        if with_second:
            drawn = rng.choices(names, cum_weights=cum, k=len(with_second))
            for i, name in zip(with_second, drawn, strict=True):
                if name != firsts[i]:
                    seconds[i] = name

    # Birth dates (as ordinals) and the occasional English-speaking colleague.
    years = rng.choices(_YEARS, cum_weights=_YEAR_CUM, k=n)
    ordinals = [_YEAR_START[y] + int(rand() * _YEAR_LEN[y]) for y in years]
    for i in range(n):
        if rand() < _EN_RATE:
            langs[i] = "en"

    # Deliberate homonyms of an earlier person (same surname + first given name).
    n_homonyms = min(n - 1, round(homonym_rate * n)) if homonym_rate > 0 else 0
    if n_homonyms > 0:
        first_ord, last_ord = _BIRTH_FIRST.toordinal(), _BIRTH_LAST.toordinal()
        for i in sorted(rng.sample(range(1, n), n_homonyms)):
            j = rng.randrange(i)
            if pools[i] != pools[j] or sexes[i] != sexes[j] or seconds[i] == firsts[j]:
                seconds[i] = ""
            surnames[i] = surnames[j]
            firsts[i] = firsts[j]
            sexes[i] = sexes[j]
            comms[i] = comms[j]
            pools[i] = pools[j]
            if langs[i] != "en" or rand() < 0.5:
                langs[i] = langs[j]
            if ordinals[i] == ordinals[j]:
                shifted = ordinals[i] + rng.randint(30, 3000) * (1 if rand() < 0.5 else -1)
                if not first_ord <= shifted <= last_ord:
                    shifted = 2 * ordinals[j] - shifted
                ordinals[i] = shifted

    fromordinal = date.fromordinal
    return [
        Person(
            surnames[i],
            f"{firsts[i]} {seconds[i]}" if seconds[i] else firsts[i],
            sexes[i],
            langs[i],
            fromordinal(ordinals[i]),
            comms[i],
        )
        for i in range(n)
    ]


_SPECIAL_CHARS = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "ø": "o",
        "ł": "l",
        "ı": "i",
        "đ": "d",
        "ð": "d",
        "þ": "th",
    }
)
_DROP = re.compile(r"[^a-z0-9-]")
_HYPHENS = re.compile(r"-{2,}")


def _ascii_slug(text: str) -> str:
    """Lowercase ASCII form: accents stripped, spaces and apostrophes removed, hyphens kept."""
    lowered = text.lower().translate(_SPECIAL_CHARS)
    decomposed = unicodedata.normalize("NFKD", lowered)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    slug = _DROP.sub("", stripped)
    return _HYPHENS.sub("-", slug).strip("-")


def email_for(person: Person, domain: str, taken: set[str]) -> str:
    """Return a unique ``given.surname@domain`` address and add it to ``taken``.

    Uses the first given name; accents are stripped, spaces and apostrophes removed, hyphens
    kept. If the address is taken, ``2``, ``3``, … is appended to the local part.
    """
    given_parts = person.given_names.split()
    given = _ascii_slug(given_parts[0]) if given_parts else ""
    surname = _ascii_slug(person.surname)
    base = ".".join(part for part in (given, surname) if part) or "user"
    host = domain.strip().lstrip("@").lower()
    candidate = f"{base}@{host}"
    counter = 2
    while candidate in taken:
        candidate = f"{base}{counter}@{host}"
        counter += 1
    taken.add(candidate)
    return candidate
