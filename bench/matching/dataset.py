"""A labelled evaluation set for the fuzzy surname matcher.

:func:`population` builds a realistic Belgian federal workforce. The head of the surname
distribution (and all given names, communities and birth dates) comes from
:mod:`core.demo.names`; since that list holds only ~680 real surnames, most people instead get
a *synthetic* long-tail surname built from Flemish, French/Walloon, German and
immigrant-origin morphemes, drawn with a Zipf-like frequency, so that the number of distinct
surnames grows with the population (about 34,000 at 100,000 people and 155,000 at
1,000,000; the top surname, Peeters, stays near 0.4 %). Synthetic surnames come in families
of real-looking variants (Van den Bossche / Vandenbossche, De Smet / De Smedt, Verhaeghe /
Verhaege), so near misses exist in the tail as well.

:func:`queries` draws what officers type (a corrupted surname, sometimes with a given name or
an initial) together with the ids that count as a correct answer, plus "no match" queries for
surnames that nobody in the organisation has, not even within one edit. :func:`evaluate`
scores an engine's ranked answers.

Pure standard library (plus the project) and deterministic for a given seed.
"""

from __future__ import annotations

import random
import re
from bisect import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from string import ascii_lowercase

from bench.matching import corrupt
from core.demo import names

__all__ = [
    "ORGANISATIONS",
    "Person",
    "Query",
    "evaluate",
    "population",
    "queries",
    "synthetic_surname",
]


@dataclass(frozen=True)
class Person:
    id: int  # 1..n
    surname: str
    given_names: str
    organisation: str  # organisation code
    birth_year: int


@dataclass(frozen=True)
class Query:
    text: str  # what the officer types
    organisation: str  # the scope searched
    kind: str  # corruption name, "exact", "no_accents", ..., or "no_match"
    target: int | None  # the person meant; None for a no-match query
    accept: frozenset[int]  # ids counted as a correct answer; empty for no_match


# Federal organisations in scope (defence is not) and their approximate share of the staff.
ORGANISATIONS: list[tuple[str, float]] = [
    ("FIN", 0.30),  # SPF Finances
    ("JUS", 0.16),  # SPF Justice
    ("IBZ", 0.09),  # SPF Intérieur
    ("ONSS", 0.07),  # Office national de sécurité sociale
    ("SFP", 0.06),  # Service fédéral des Pensions
    ("ECO", 0.06),  # SPF Économie
    ("SPSCAE", 0.05),  # SPF Santé publique, Sécurité de la chaîne alimentaire, Environnement
    ("MOB", 0.05),  # SPF Mobilité et Transports
    ("AFSCA", 0.05),  # Agence fédérale pour la sécurité de la chaîne alimentaire
    ("SOC", 0.04),  # SPF Sécurité sociale
    ("BOSA", 0.04),  # SPF Stratégie et Appui
    ("SPP", 0.03),  # SPP Intégration sociale and Politique scientifique
]

# --------------------------------------------------------------------------------------------
# Morphemes
# --------------------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _weighted(spec: Sequence[tuple[str, float]]) -> tuple[tuple[str, ...], list[float]]:
    return tuple(item for item, _ in spec), list(accumulate(weight for _, weight in spec))


# Flemish ------------------------------------------------------------------------------------

_NL_PLACE = _words(
    """
    acker berghe bossche broeck damme hecke houtte kerckhove linden meersch velde steen walle
    wyngaerde eeckhout poel beke bulcke daele donck eynde heuvel hove laere leemput loo meulen
    neste putte rode schoor straeten vyvere wiele zande hulle hoecke landeghem steenkiste
    biesbroeck cauwenberghe goethem overmeire ransbeeck haute dycke kerckhoven couter velden
    mere aerde borght brugghe hoeve elst hulst bruggen cammen schueren haeghe eecke lancker
    poucke nieuwenhuyse wassenhove capelle kerkhove loock rompaey hoof gorp roey parys impe
    herck gucht nuffel eyck overstraeten wesemael schoor meerbeeck aken severen daele puyvelde
    dooren maele bael vaerenbergh genechten osselaer wijngaert beylen
    """
)
_NL_PLACE_FIRST = _words(
    """
    acker berg bosch broeck dam eeck heck hout kerck lin meer moer steen wal wyn zand oost west
    noord hoog laer lang groot cleyn haver rooze hasel beer brugg cauwen coppen dender everg
    hemel hol kalk kass kruys leeuw maal nieuw oud over peer rens schel vaer vlier wael wier
    wild zwaen ham heer kamp leer mol nes rijk roe sleyp sterck vorst weyn bies cruys daem
    """
)
_NL_PLACE_SECOND = _words(
    """
    beke berghe bossche broeck daele donck hove hem houte kerke laere poele velde vyvere wyck
    zele gem eghem aerde acker loo rode straete kiste wiele meersch hoven dycke hecke putte
    brugge holle camp hout sande hoeck gaever dries veld meulen
    """
)
_NL_TOPO_PARTICLE = _weighted(
    [
        ("Van ", 0.30), ("Van de ", 0.07), ("Van den ", 0.10), ("Van der ", 0.05),
        ("Vande", 0.07), ("Vanden", 0.08), ("Vander", 0.05), ("Van", 0.12), ("Ver", 0.09),
        ("Vanden ", 0.02), ("Van Den ", 0.01), ("Op de ", 0.01), ("Ten ", 0.01),
        ("Van 't ", 0.005), ("Vander ", 0.01),
    ]
)  # fmt: skip
_NL_TRADE = _words(
    """
    smet backer cuyper bruyn schepper wever mol wulf vos meyer keyser coster ridder winter
    wilde wachter maeyer schrijver clercq rycke groote jonghe paepe cock brabander
    vleeschouwer pauw witte beule geest roeck muynck temmerman ketelaere gheselle craene
    zutter blauwe busschere decker graeve haene hertogh jaeger kimpe laet leeuw meester moor
    neve pelsmaeker prins raedt schutter swaef valck veirman visscher vriendt waele weerdt
    baets bock bondt boeck brouwer caluwe cleene coninck corte geyter goeyse groof hauwere
    herdt keukeleire klerck kock langhe loose mulder naeyer pape poorter potter raeve ruyck
    schaepmeester sutter taeye tollenaere troyer vlieger wit backere smedt vleminck vroe
    """
)
_NL_PATRON = _words(
    """
    peeter janss hendri willem geer wout goos mert lemm claes aer bogaer lauw huybrecht
    lambrecht govaer gysel daem frans joos lenaer michiel rombout seger adriaen baet coppen
    coen cornel dier everaer giel gijs heyl jooris liev luyt maert meeu nel noe pauwel reyn
    roel schepen steven thys timmer wauter wyn bauw bertel boud brecht dirck ghys gommer
    heyndr hoste jacob joss kerst leyn louw mees moer nees ooms pieter rens ryck sel simoen
    staes symo teun tys vinck wils wuyt gheer aernout arnout ghys hellem huyg immen jaspaer
    joris laur lodew maes maertens mathy nicla omm raes segh sterck wellem wouter
    """
)
_NL_PATRON_SUFFIX = _weighted(
    [
        ("s", 0.25), ("ts", 0.06), ("x", 0.04), ("ckx", 0.05), ("ens", 0.14), ("aert", 0.03),
        ("aerts", 0.04), ("mans", 0.10), ("ers", 0.06), ("en", 0.06), ("sen", 0.05),
        ("kens", 0.03), ("ckens", 0.02), ("ijns", 0.02), ("yns", 0.02), ("inckx", 0.02),
        ("els", 0.03), ("e", 0.02), ("el", 0.02),
    ]
)  # fmt: skip
_NL_APOSTROPHE = _words(
    "aene ulster eer aese ooghe ondt uyvetter oore aenens ooge uyghe aeseleer oop aeyer "
    "ulst ollander aenebalcke oedt"
)
_NL_ONSET = _words(
    "b bl br c cl cr d dr g gh gr h j k kl kn kr l m n p pl pr r s sch schr sl sm sn st t tr "
    "v vl vr w wr z zw b d h l m v w"
)
# Stressed syllables (vowel + coda) as Flemish spelling writes them.
_NL_RIME = _words(
    """
    aeck aecke ael aem aen aens aep aer aert aes aet aey ack ans ant ard ael aels
    eck eel eem een eens eer eers eet eyck eyn eys elt ent erck ert ens ecke
    ieck iel iem ien iens ier iet ijck ijn ijs ick ils inck int
    oeck oel oem oen oer oes oet ool oom oon oor oos ock olf ons ont ors ort ouck oud out ouw
    uyck uyl uyn uys uyt unck urck ulst eul eun eur ynck ys yt auw auwe aey aeye
    """
)
_NL_MIDDLE = _words("el er en e ers ens le re ele")
_NL_ENDING = _weighted(
    [
        ("", 0.16), ("s", 0.10), ("e", 0.07), ("ens", 0.06), ("aert", 0.03), ("aerts", 0.03),
        ("mans", 0.06), ("ers", 0.04), ("ijns", 0.01), ("el", 0.02), ("eels", 0.02),
        ("ert", 0.02), ("en", 0.05), ("inck", 0.02), ("ynck", 0.02), ("ghe", 0.02),
        ("ckx", 0.01), ("kens", 0.02), ("man", 0.02), ("x", 0.01), ("ts", 0.01),
        ("baert", 0.01), ("hout", 0.02), ("velde", 0.01), ("beke", 0.02), ("aere", 0.02),
        ("ynen", 0.01), ("elaere", 0.01), ("ewaere", 0.01), ("eghem", 0.01), ("wyck", 0.01),
        ("camp", 0.01), ("hove", 0.01), ("brouck", 0.01), ("vliet", 0.01), ("ier", 0.01),
        ("ere", 0.01), ("ooghe", 0.01), ("emans", 0.01), ("elinck", 0.01), ("eyns", 0.01),
    ]
)  # fmt: skip

# French / Walloon ---------------------------------------------------------------------------

_FR_PERSON = _words(
    """
    fèvre febvre clercq jeune roy grand maître comte noir blanc brun moine mercier duc page
    roux gros beau fort pape prince tellier bon court sage moyne boucq cocq maire fèbvre
    marchand bailly chevalier bègue blond coq doux loup mignon noble perré riche rond sueur
    vasseur veau """
)
_FR_PLACE_M = _words(
    """
    bois champ mont chêne puits four moulin pont bourg château pré val sart thier fays rieux
    vaux hez marais jardin pire bosquet chesne fossé mesnil quesne tilleul hameau ruisseau
    rond sart mortier bosc """
)
_FR_PLACE_F = _words(
    """
    haye motte croix fontaine ruelle vigne roche marche tombe pierre court vallée forge
    chapelle fosse grange haie rue salle porte plaine tour """
)
_FR_ROOT = _words(
    """
    bod coll pir gill goff lamb mass jacqu hub pol thir piet morl renn baud chen dem gob hen
    jam mar moul nav rol sauv tass wath xhon bast berth bouv brass carl chev clos coul court
    dard dess dup fabr fiev gasp gerl ghisl gilb goss guill hall herb houb jadd kinn lall lurq
    malh marc mart math mich min monc mor pacq parm pett pinch ponc quest rad rasq rem ren rig
    rob roll rouss ruel scaill serv soh thib thom tilm toub urb vinc wal warn waut will yern
    ans bern bonn bouch brouh cam chal char cler cor cul dand demoul desc deth dieud doss
    dujard emm fal faniel fonck franç frér gal gen gérard gér gil grég guér hanq hard hav
    hocq jonn lamot laur léon lhoir loph marl maud mauh mich nol pâqu petr philipp pier
    pirs rass rég rosm sacr simon stass tasi thom thon vand vill wér wilm
    """
)
_FR_ADJ = _words("Beau Bon Bonne Grand Petit Bel Belle Mal Franc Gros Haut Blanc Noir Long")
_FR_NOUN = _words(
    "jean pierre homme fils champ mont lieu pré val mare fort coeur vin temps pain voisin "
    "fays sart thier ville maison chêne fossé henry jacques enfant"
)
_FR_ONSET = _words(
    "b bl br c ch cl cr d dr f fl fr g gl gr h j l m n p pl pr qu r s t th tr v w xh gu ph "
    "b d l m p r"
)
_FR_VOWEL = _words("a e é i o ou u ai au ie a o e i")
_FR_MIDDLE = _words(
    "l ll m n nn r rr s ss t tt d g v b c ch qu gn rd rt rm rn rs ld mb mp nd nt nc st l r n t "
    "ss ch"
)
_FR_ENDING = _weighted(
    [
        ("ard", 0.06), ("art", 0.03), ("aux", 0.05), ("ot", 0.05), ("otte", 0.03), ("et", 0.07),
        ("ette", 0.03), ("in", 0.07), ("ier", 0.05), ("iers", 0.01), ("elle", 0.02),
        ("oux", 0.03), ("ez", 0.03), ("ay", 0.02), ("ais", 0.02), ("ois", 0.02), ("on", 0.05),
        ("eau", 0.03), ("iaux", 0.02), ("ée", 0.01), ("é", 0.02), ("ère", 0.01), ("and", 0.02),
        ("ant", 0.02), ("ent", 0.02), ("ille", 0.02), ("is", 0.02), ("y", 0.03), ("ie", 0.02),
        ("ault", 0.01), ("at", 0.02), ("eux", 0.02), ("er", 0.02), ("ain", 0.02),
        ("ion", 0.02), ("elet", 0.01), ("enne", 0.01), ("iot", 0.01), ("ioul", 0.005),
        ("oul", 0.01), ("aye", 0.01), ("ée", 0.005), ("ès", 0.005), ("ise", 0.01),
    ]
)  # fmt: skip
_FR_APOSTROPHE = _words("Ans Hoop Ursel Olne Haese Hondt Heur Amour Aubremont Oultremont Hont")

# German -------------------------------------------------------------------------------------

_DE_STEM = _words(
    """
    schmitz kohn lang kreutz kring hein brüll müll schröd förster kessel jung kraus beck fuchs
    hahn koch wolf wagn schneid fisch web schul hoff zimmer hart kell rich wern thönn jost hilg
    reut emont heck joust nell ort keut henn klinken fick kev mrey wiesem kirsch mock scholz
    back sarl rossk velz gross klein braun schwarz weiß neu alt lenz mert pauel dahm genn
    margraf kreus theiß schäf gärtn bäck kämp höff köhl möll rüd schütz sträß wölf hüpp
    jüng mül schür thüm
    """
)
_DE_SUFFIX = _weighted(
    [
        ("mann", 0.16), ("er", 0.16), ("s", 0.12), ("en", 0.12), ("ert", 0.05), ("ke", 0.04),
        ("el", 0.05), ("ing", 0.03), ("inger", 0.03), ("hoff", 0.02), ("haus", 0.02),
        ("ner", 0.04), ("ler", 0.04), ("ges", 0.02), ("tz", 0.02), ("e", 0.04), ("ing", 0.04),
    ]
)  # fmt: skip
_DE_FIRST = _words(
    "Klinken Rosen Hoch Stein Eichen Linden Kirsch Schwarz Weiß Alt Neu Gross Klein Wald Berg "
    "Hoff Fisch Bach Mühl Schön Grün Rot Brand Hart Holz Kalten Lauten Müllen"
)
_DE_SECOND = _words(
    "berg feld bach stein hoff mann ner meyer müller wald dorf haus kamp vink busch heim thal"
)
_DE_ONSET = _words("sch kr br fr gr kl h j k l m n p r st th w z b d f g")
_DE_NUCLEUS = _words("a e i o u ä ö ü ei au ie a e")
_DE_CODA = _words("ll n nn r rt tz ck ff ss st ng lz rg rm ls ch cht")

# Immigrant origins --------------------------------------------------------------------------

_MA_STEM = _words(
    """
    amr idriss khattab ouard hadd bouz mans tah zian lahl bakk azz ham kar moh bel cher dah
    fakh ghaz jab kad mekk mouss nass oukh rah sadd souf tahr yahy zerr abd akh alaou amar
    ayad azou bark bouch bouh chaou darr ferh ghoul habb hajj harr hass jall kabb khal lakh
    larb mahj marr meft mokh moum najj ouahb rach rahm saf sal semm slim taou tayeb touh wahb
    yous zaou zahr zak
    """
)
_MA_SUFFIX = _weighted(
    [
        ("i", 0.30), ("ani", 0.15), ("aoui", 0.10), ("ouni", 0.05), ("ari", 0.06),
        ("ichi", 0.04), ("ouchi", 0.04), ("idi", 0.05), ("ouli", 0.03), ("a", 0.05),
        ("", 0.05), ("ati", 0.03), ("oudi", 0.03), ("ali", 0.02),
    ]
)  # fmt: skip
_MA_PREFIX = _weighted(
    [
        ("El ", 0.30), ("El-", 0.03), ("Ben ", 0.05), ("Ben", 0.07), ("Bou", 0.08),
        ("Ait ", 0.04), ("", 0.43),
    ]
)  # fmt: skip
_TR_FIRST = _words(
    """
    yıld ay kara ak demir öz çel şah koç doğ kurt arsl aks güneş tek er kılıç türk yücel bayr
    çak gök ün şen uç tun bul can çift dur ekin gül ışık kay kor orh sarı tan uys yaz yüks
    bal boz cem
    """
)
_TR_SECOND = _weighted(
    [
        ("", 0.16), ("oğlu", 0.12), ("er", 0.10), ("can", 0.08), ("soy", 0.06), ("demir", 0.05),
        ("türk", 0.05), ("kaya", 0.05), ("han", 0.05), ("taş", 0.04), ("el", 0.03),
        ("gül", 0.03), ("kan", 0.04), ("ay", 0.03), ("tekin", 0.02), ("baş", 0.02),
        ("bulut", 0.02), ("ok", 0.02), ("men", 0.02), ("yiğit", 0.02), ("dağ", 0.02),
        ("ol", 0.02), ("dur", 0.02), ("kurt", 0.02), ("aslan", 0.02),
    ]
)  # fmt: skip
_IT_STEM = _words(
    """
    ross bianch ferr espos russ roman marin grec colomb carus lomb gall cost fontan manc rizz
    ricc sant bell catal cont cusum pres vitt amat brun ciacc fabbr gentil giord guerr lucch
    mart mazz mell mont morett pagan pellegr puglies ruggier salvat sorrent spin tedesc vital
    zanett bertol calabr fior lauric marches nard palumb pascal perr rinald sabat scott serr
    silvestr tarant valent vassall viol zucc
    """
)
_IT_SUFFIX = _weighted(
    [
        ("i", 0.30), ("o", 0.25), ("ini", 0.08), ("elli", 0.08), ("etti", 0.05), ("one", 0.05),
        ("ucci", 0.05), ("ano", 0.04), ("iello", 0.03), ("a", 0.05), ("ese", 0.02),
    ]
)  # fmt: skip
_IT_PARTICLE = _weighted(
    [
        ("", 0.80), ("Di ", 0.06), ("De ", 0.04), ("La ", 0.02), ("Lo ", 0.02), ("Del ", 0.02),
        ("Della ", 0.01), ("D'", 0.03),
    ]
)  # fmt: skip
_ES_PATRON = _words(
    """
    Fernánd Rodrígu Gonzál Martín Sánch Pér Góm Lóp Álvar Jimén Hernánd Domíngu Vázqu Ramír
    Suár Núñ Benít Blázqu Cháv Estév Ibáñ Márqu Ordóñ Velázqu Yáñ Ruí Díaz Báez Día Álvarez
    """
)
_ES_STEM = _words(
    """
    moren romer navarr serran molin castr medin garrid delgad pared camp fuent herrer iglesi
    lozan monter pastor priet rubi sot veg cabrer caballer carrasc guerrer cortés león
    """
)
_ES_ENDING = _words("o a es ero era ado ada ino illo al ón o a")
_PT_STEM = _words(
    """
    Fernand Rodrigu Gonçalv Marqu Nun Lop Alv Gom Mend Soar Pir Antun Tavar Guimarã Mor
    Teixeir Silv Figu Nogu Olive Ferr Per Carvalh Sous Ribeir Mach Azeved Barbos Cunh
    """
)
_PT_ENDING = _words("es eira o a es inho ão ais es eiro")
# Polish roots that take any suffix, roots in -ow/-ew/-iń/-ń (only -ski) and in -c/-dz (-ki).
_PL_ROOT = _words(
    """
    kowal nowak mazur król wilk lis dud baran kub adam jan pawl michal marcin tomasz stach
    grab sikor kaczmar kołodziej chmiel rogal mroz sad wit szymon wojt maj kozł jabł wróbl
    piotr sob kraw gaj rut kwiat zaj kaczor bart jakub kowalcz malin pietr walc kot
    """
)
_PL_SKI_ROOT = _words(
    """
    dąbrow wiśniew jankow lewandow grabow olszew malinow jaworow rutkow ostrow majew
    makow borkow dobrow pawłow sadow witkow zieliń kamiń jabłoń brzeziń jasiń lipiń
    szymań wasilew tomaszew czerwiń baranow laskow
    """
)
_PL_KI_ROOT = _words("wysoc sawic zawadz głowac nowic czarnec lewic sokol wroc ")
_PL_SUFFIX = _weighted(
    [
        ("ski", 0.30), ("czyk", 0.12), ("ak", 0.12), ("ek", 0.07), ("iak", 0.07),
        ("owski", 0.08), ("ewski", 0.06), ("owicz", 0.07), ("ewicz", 0.05), ("uk", 0.03),
        ("ik", 0.03),
    ]
)  # fmt: skip
_CD_PREFIX = _words("Ka Mu Ngo Mbu Tshi Lu Ki Ilu Ma Nzu Mpu Nga Ba Bo Nku Kabu Mu Ka Lu Ma Mba")
_CD_SYLLABLE = _words(
    "ba bo bu ka ke ko ku la le lo lu ma me mba mbo nda ndu nga ngo nza nzu pa pu sa se ta te "
    "tu ya za nji mbi nde ngi yi shi tshi mbe le ngu ku la mu"
)
_RO_STEM = _words(
    """
    pop ion stan dumitr constantin munt stoic georg rad marin lazăr moldov nistor opr pașc
    ștefăn țurc vasil zamfir bălan cioban din flor gheorgh iordach mat neag pred sârb tănas
    ungur vlad
    """
)
_RO_SUFFIX = _weighted(
    [
        ("escu", 0.35), ("eanu", 0.15), ("aru", 0.06), ("ache", 0.05), ("iuc", 0.05),
        ("an", 0.06), ("u", 0.10), ("a", 0.08), ("oiu", 0.03), ("ea", 0.07),
    ]
)  # fmt: skip

# --------------------------------------------------------------------------------------------
# Generators: one random surname per call, looking real for its community or origin.
# --------------------------------------------------------------------------------------------


def _pick(rng: random.Random, table: tuple[tuple[str, ...], list[float]]) -> str:
    items, cum = table
    return items[bisect(cum, rng.random() * cum[-1])]


def _title(word: str) -> str:
    return word[:1].upper() + word[1:]


def _nl_place(rng: random.Random, plain: bool) -> str:
    r = rng.random() * (0.7 if plain else 1.0)
    if r < 0.35:
        return rng.choice(_NL_PLACE)
    if r < 0.7:
        return rng.choice(_NL_PLACE_FIRST) + rng.choice(_NL_PLACE_SECOND)
    first = rng.choice(_NL_ONSET) + rng.choice(_NL_RIME)
    second = rng.choice(_NL_PLACE_SECOND)
    if first.endswith("e") and second[0] in "aeiouy":
        first = first[:-1]
    return first + second


def _nl_syllables(rng: random.Random) -> str:
    """Snoeckaert, Moerbeke, Gheysens, Vlierinck: onset + rime (+ middle) + ending."""
    word = rng.choice(_NL_ONSET) + rng.choice(_NL_RIME)
    ending = _pick(rng, _NL_ENDING)
    if rng.random() < 0.2 and ending and ending[0] not in "aeiouysx":
        ending = rng.choice(_NL_MIDDLE) + ending
    if word.endswith("e") and ending[:1] in ("a", "e", "i", "o", "u", "y"):
        word = word[:-1]
    if word[-1] in "sx" and ending.startswith(("s", "x", "ck")):
        ending = ""
    return word + ending


def _gen_nl(rng: random.Random, plain: bool = False) -> str:
    r = rng.random() * (0.62 if plain else 1.0)
    if r < 0.30:  # toponymic: Van den Bossche, Vanhoutte, Verhaeghe
        particle = _pick(rng, _NL_TOPO_PARTICLE)
        place = _nl_place(rng, plain)
        if place[0] in "aeiouy" and particle in ("Vande", "Van de "):
            particle = particle.replace("de", "den")  # Van den Acker, Vandeneynde
        return particle + (_title(place) if particle.endswith(" ") else place)
    if r < 0.40:  # trade or nickname: De Smet, Debacker, Cuypers
        word = rng.choice(_NL_TRADE)
        form = rng.random()
        if form < 0.55:
            return "De " + _title(word)
        if form < 0.85:
            return "De" + word
        if form < 0.87:
            return "Den " + _title(word)
        return _title(word) + ("" if word.endswith(("s", "x")) else "s")
    if r < 0.62:  # patronymic: Janssens, Hendrickx, Huybrechts
        stem = rng.choice(_NL_PATRON)
        suffix = _pick(rng, _NL_PATRON_SUFFIX)
        if stem.endswith(("s", "x", "t")) and suffix.startswith(("s", "x", "t")):
            suffix = suffix[1:]
        return _title(stem + suffix)
    if r < 0.99:
        word = _nl_syllables(rng)
        form = rng.random()
        if form < 0.08:
            return "De " + _title(word)
        if form < 0.14:
            return "Van " + _title(word)
        return _title(word)
    return "D'H" + rng.choice(_NL_APOSTROPHE)


def _fr_syllables(rng: random.Random) -> str:
    """Xhonneux, Thirion, Goffin, Brolard: onset + vowel + consonants + ending."""
    word = rng.choice(_FR_ONSET) + rng.choice(_FR_VOWEL) + rng.choice(_FR_MIDDLE)
    if rng.random() < 0.1:
        word += rng.choice(("a", "e", "i", "o")) + rng.choice(("l", "n", "r", "t", "ss", "ch"))
    ending = _pick(rng, _FR_ENDING)
    if word[-1] == ending[0]:
        ending = ending[1:] or "e"
    return word + ending


def _gen_fr(rng: random.Random, plain: bool = False) -> str:
    r = rng.random() * (0.50 if plain else 1.0)
    if r < 0.15:  # Lefèvre, Dubois, Deschamps, Delacroix, Le Clercq, Lemercier, Delporte
        form = rng.random()
        if form < 0.45:
            particle, word = "Le", rng.choice(_FR_PERSON)
        elif form < 0.75:
            particle, word = rng.choice(("Du", "Du", "De", "Del")), rng.choice(_FR_PLACE_M)
        elif form < 0.9:
            particle, word = rng.choice(("La", "Dela", "Dela")), rng.choice(_FR_PLACE_F)
        else:
            word = rng.choice(_FR_PLACE_M + _FR_PLACE_F)
            particle, word = "Des", word + ("x" if word.endswith("eau") else "s")
        if form < 0.75 and rng.random() < 0.5:
            word = rng.choice(_FR_ROOT) + _pick(rng, _FR_ENDING)
        if rng.random() < 0.8:
            return particle + word
        if particle == "Dela":
            return "De la " + _title(word)
        return particle + " " + _title(word)
    if r < 0.45:  # Piron, Collard, Goffin, Lambotte
        return _title(rng.choice(_FR_ROOT) + _pick(rng, _FR_ENDING))
    if r < 0.50:  # Grandjean, Bonhomme, Beaufays
        return rng.choice(_FR_ADJ) + rng.choice(_FR_NOUN)
    if r < 0.97:  # Xhonneux, Thirion...
        return _title(_fr_syllables(rng))
    return "D'" + rng.choice(_FR_APOSTROPHE)


def _gen_de(rng: random.Random, plain: bool = False) -> str:
    r = rng.random() * (0.85 if plain else 1.0)
    if r < 0.6:
        stem = rng.choice(_DE_STEM)
        suffix = _pick(rng, _DE_SUFFIX)
        if stem.endswith(("s", "z", "ß")) and suffix.startswith(("s", "tz")):
            suffix = "en"
        return _title(stem + suffix)
    if r < 0.85:
        return rng.choice(_DE_FIRST) + rng.choice(_DE_SECOND)
    word = rng.choice(_DE_ONSET) + rng.choice(_DE_NUCLEUS) + rng.choice(_DE_CODA)
    return _title(word + _pick(rng, _DE_SUFFIX))


def _gen_ma(rng: random.Random, plain: bool = False) -> str:
    prefix = _pick(rng, _MA_PREFIX)
    stem = rng.choice(_MA_STEM) + _pick(rng, _MA_SUFFIX)
    if len(stem) < 4:
        stem += "i"
    if prefix and not prefix.endswith((" ", "-")):
        return prefix + stem
    return prefix + _title(stem)


_TR_ASCII = str.maketrans("çşğıöüÇŞĞİÖÜ", "csgiouCSGIOU")


def _gen_tr(rng: random.Random, plain: bool = False) -> str:
    name = _title(rng.choice(_TR_FIRST) + _pick(rng, _TR_SECOND))
    if len(name) < 4:
        name += rng.choice(("er", "an", "ay"))
    # Older registrations often lost the Turkish letters.
    return name.translate(_TR_ASCII) if rng.random() < 0.2 else name


def _gen_it(rng: random.Random, plain: bool = False) -> str:
    stem = rng.choice(_IT_STEM) + _pick(rng, _IT_SUFFIX)
    particle = _pick(rng, _IT_PARTICLE)
    if particle in ("La ", "Lo ", "Della "):
        stem = stem[:-1] + ("o" if particle == "Lo " else "a")
    if particle == "D'":
        stem = rng.choice(("a", "e", "o", "i", "u")) + stem
        return "D'" + _title(stem)
    return particle + _title(stem)


def _gen_es(rng: random.Random, plain: bool = False) -> str:
    if rng.random() < 0.55:
        name = rng.choice(_ES_PATRON)
        name += "" if name.endswith(("z", "ez")) else "ez"
    else:
        name = _title(rng.choice(_ES_STEM) + rng.choice(_ES_ENDING))
    return corrupt.strip_accents(name) if rng.random() < 0.3 else name


def _gen_pt(rng: random.Random, plain: bool = False) -> str:
    name = rng.choice(_PT_STEM) + rng.choice(_PT_ENDING)
    return corrupt.strip_accents(name) if rng.random() < 0.2 else name


def _gen_pl(rng: random.Random, plain: bool = False) -> str:
    r = rng.random()
    if r < 0.35:
        name = rng.choice(_PL_SKI_ROOT) + "ski"
    elif r < 0.45:
        name = rng.choice(_PL_KI_ROOT) + "ki"
    else:
        root = rng.choice(_PL_ROOT)
        suffix = _pick(rng, _PL_SUFFIX)
        if root.endswith(("k", "c")) and suffix in ("ski", "czyk"):
            suffix = "owski"
        name = root + suffix
    name = _title(name)
    return corrupt.strip_accents(name) if rng.random() < 0.25 else name


def _gen_cd(rng: random.Random, plain: bool = False) -> str:
    def one() -> str:
        word = rng.choice(_CD_PREFIX) + rng.choice(_CD_SYLLABLE)
        if rng.random() < 0.5:
            word += rng.choice(_CD_SYLLABLE)
        if word[-1] not in "aeiou":
            word += rng.choice("aiou")
        return word

    # Congolese surnames are often registered with their post-name: "Mbuyi Kalonji".
    return one() + " " + one() if rng.random() < 0.15 else one()


def _gen_ro(rng: random.Random, plain: bool = False) -> str:
    name = _title(rng.choice(_RO_STEM) + _pick(rng, _RO_SUFFIX))
    return corrupt.strip_accents(name) if rng.random() < 0.25 else name


_GENERATORS: dict[str, Callable[[random.Random, bool], str]] = {
    "nl": _gen_nl,
    "fr": _gen_fr,
    "de": _gen_de,
    "ma": _gen_ma,
    "tr": _gen_tr,
    "it": _gen_it,
    "es": _gen_es,
    "pl": _gen_pl,
    "cd": _gen_cd,
    "pt": _gen_pt,
    "ro": _gen_ro,
}
_POOL_IDS: dict[str, int] = {key: i for i, key in enumerate(_GENERATORS, 1)}


_TRIPLE = re.compile(r"(\w)\1\1+")


def _tidy(name: str | None) -> str | None:
    """Collapse letters tripled at a morpheme junction; None for a name under three letters."""
    if name is None:
        return None
    name = _TRIPLE.sub(r"\1\1", name)
    return name if len(corrupt.fold(name)) >= 3 else None


def synthetic_surname(pool: str, rng: random.Random) -> str:
    """A fresh synthetic surname for ``pool``: "nl", "fr", "de" or an origin ("ma", "tr"...)."""
    while True:
        name = _tidy(_GENERATORS[pool](rng, False))
        if name is not None:
            return name


# --------------------------------------------------------------------------------------------
# Zipf-distributed synthetic pools
# --------------------------------------------------------------------------------------------

# Frequency of the synthetic surname of rank r (0-based) ∝ (r + _ZIPF_OFFSET)^-_ZIPF_S, over
# _ZIPF_RANKS ranks scaled by the pool's share of the population. The offset continues the
# real head: the most frequent synthetic surname is about as frequent as the rarer real ones.
_ZIPF_S = 1.0
_ZIPF_OFFSET = 550.0
_ZIPF_RANKS = 1_500_000
_PLAIN_RANKS = 20_000  # the commonest synthetic surnames avoid the rarer morpheme patterns
_VARIANT_RATE = 0.18  # share of ranks that are a spelling/particle variant of a commoner name


class _Pool:
    """Surnames of one community or origin, by frequency rank, generated lazily."""

    def __init__(self, key: str, share: float) -> None:
        self.key = key
        self.generate = _GENERATORS[key]
        self.base = _POOL_IDS[key] << 40
        self.offset = max(2.0, _ZIPF_OFFSET * share)
        self.ranks = max(1000.0, _ZIPF_RANKS * share)
        self.plain = int(_PLAIN_RANKS * share) if key in ("nl", "fr", "de") else 0
        self.names: dict[int, str] = {}

    def draw(self, u: float) -> str:
        """The surname at the Zipf quantile ``u`` in [0, 1)."""
        q, span = self.offset, self.ranks
        if _ZIPF_S == 1.0:
            rank = int(q * ((span + q) / q) ** u - q)
        else:
            a = 1.0 - _ZIPF_S
            rank = int((q**a + u * ((span + q) ** a - q**a)) ** (1.0 / a) - q)
        return self.name(rank)

    def name(self, rank: int) -> str:
        found = self.names.get(rank)
        if found is None:
            rng = random.Random(self.base | rank)
            if rank > 0 and rng.random() < _VARIANT_RATE:
                parent = self.name(int(rank * rng.random()))
                found = _tidy(_variant(self.key, parent, rng))
            while found is None:
                found = _tidy(self.generate(rng, rank < self.plain))
            self.names[rank] = found
        return found


# Moroccan surnames reach the register through several French transliterations.
_MA_SPELLINGS: tuple[tuple[str, str], ...] = (
    ("ou", "u"), ("ch", "sh"), ("kh", "k"), ("El ", "El-"), ("El ", "Al "), ("i", "y"),
    ("a", "e"), ("dd", "d"), ("zz", "z"), ("bb", "b"), ("Ben ", "Ben"), ("ss", "s"),
)  # fmt: skip


def _variant(pool: str, parent: str, rng: random.Random) -> str | None:
    """A registered variant of ``parent`` (same surname, other spelling), or None."""
    if pool in ("nl", "fr", "de", "it"):
        name = corrupt.respell(parent, rng) if rng.random() < 0.6 else None
        return name or corrupt.reparticle(parent, rng)
    ascii_name = corrupt.strip_accents(parent)
    if ascii_name != parent:
        return ascii_name
    if pool == "ma":
        options = [(a, b) for a, b in _MA_SPELLINGS if a in parent[1:]]
        if options:
            old, new = rng.choice(options)
            at = parent.index(old, 1)
            return parent[:at] + new + parent[at + len(old) :]
    return None


# --------------------------------------------------------------------------------------------
# Population
# --------------------------------------------------------------------------------------------

# Share of each community keeping its real (core.demo.names) surname; the rest get a
# synthetic one. Tuned so that the top surname stays near 0.4 %.
_HEAD_SHARE: dict[str, float] = {"nl": 0.22, "fr": 0.22, "de": 0.25, "other": 0.15}
# Synthetic surnames from another community: Flemish names in Wallonia and Brussels, etc.
_CROSS: dict[str, tuple[tuple[str, float], ...]] = {
    "nl": (("fr", 0.04),),
    "fr": (("nl", 0.12),),
    "de": (("fr", 0.12), ("nl", 0.05)),
}
_DOUBLE_BARRELLED = 0.01
_HOMONYM_RATE = 0.03
_HOMONYM_SAME_ORG = 0.35
_COMMUNITY_SHARE = {"nl": 0.55, "fr": 0.33, "de": 0.02}


def _origin_tables() -> tuple[dict[str, str], dict[str, float]]:
    origin_of: dict[str, str] = {}
    weight: dict[str, float] = {}
    for origin, pairs in names._SURNAMES_OTHER_BY_ORIGIN.items():
        for surname, w in pairs:
            origin_of[surname] = origin
            if surname.endswith(("ski", "cki", "dzki")):
                origin_of[surname[:-1] + "a"] = origin
            weight[origin] = weight.get(origin, 0.0) + w
    total = sum(weight.values())
    return origin_of, {origin: w / total for origin, w in weight.items()}


_ORIGIN_OF, _ORIGIN_SHARE = _origin_tables()
_POOL_SHARE: dict[str, float] = {
    **_COMMUNITY_SHARE,
    **{origin: 0.10 * share for origin, share in _ORIGIN_SHARE.items()},
}
_ORIGINS: tuple[str, ...] = tuple(_ORIGIN_SHARE)
_ORIGIN_CUM: list[float] = list(accumulate(_ORIGIN_SHARE.values()))


def _feminine(surname: str) -> str:
    if surname.endswith(("ski", "cki", "dzki")):
        return surname[:-1] + "a"
    return surname


def population(n: int, seed: int = 1) -> list[Person]:
    """``n`` people with realistic Belgian surnames, deterministic for ``seed``."""
    if n <= 0:
        return []
    rng = random.Random(seed)
    rand = rng.random
    base = names.people(rng, n, homonym_rate=0.0)
    pools = {key: _Pool(key, share) for key, share in _POOL_SHARE.items()}

    def synthetic(community: str, head: str) -> str:
        if community == "other":
            origin = _ORIGIN_OF.get(head)
            if origin is None:
                origin = _ORIGINS[bisect(_ORIGIN_CUM, rand() * _ORIGIN_CUM[-1])]
            return pools[origin].draw(rand())
        key = community
        r = rand()
        for other, share in _CROSS.get(community, ()):
            if r < share:
                key = other
                break
            r -= share
        return pools[key].draw(rand())

    surnames: list[str] = []
    for person in base:
        community = person.community
        if rand() < _HEAD_SHARE[community]:
            surname = person.surname
        else:
            surname = synthetic(community, person.surname)
            if person.sex == "F":
                surname = _feminine(surname)
        if rand() < _DOUBLE_BARRELLED:
            second = synthetic(community, person.surname)
            if "-" not in surname and "-" not in second and second != surname:
                surname = f"{surname}-{second}"
        surnames.append(surname)

    codes = [code for code, _ in ORGANISATIONS]
    orgs = rng.choices(codes, cum_weights=list(accumulate(s for _, s in ORGANISATIONS)), k=n)
    given = [person.given_names for person in base]

    # Exact homonyms (surname + first given name) of an earlier person, sometimes a colleague.
    n_homonyms = min(n - 1, round(_HOMONYM_RATE * n))
    if n_homonyms > 0:
        for i in sorted(rng.sample(range(1, n), n_homonyms)):
            j = rng.randrange(i)
            first = given[j].split()[0]
            own = given[i].split()
            second = own[1] if len(own) > 1 and base[i].sex == base[j].sex else ""
            surnames[i] = surnames[j]
            given[i] = f"{first} {second}" if second and second != first else first
            if rand() < _HOMONYM_SAME_ORG:
                orgs[i] = orgs[j]

    return [
        Person(i + 1, surnames[i], given[i], orgs[i], base[i].birth_date.year) for i in range(n)
    ]


# --------------------------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------------------------


def _within_one_edit(word: str, known: set[str] | frozenset[str]) -> bool:
    """Whether some string in ``known`` is at Levenshtein distance ≤ 1 of ``word`` (a-z only)."""
    if word in known:
        return True
    for i in range(len(word) + 1):
        head, tail = word[:i], word[i:]
        if tail and head + tail[1:] in known:
            return True
        for ch in ascii_lowercase:
            if head + ch + tail in known:
                return True
            if tail and ch != tail[0] and head + ch + tail[1:] in known:
                return True
    return False


def _first_given(given_names: str) -> str:
    parts = given_names.split()
    return parts[0] if parts else ""


def queries(
    people: list[Person], n: int, seed: int = 2, no_match_share: float = 0.1
) -> list[Query]:
    """``n`` labelled queries over ``people``: corrupted surnames and no-match surnames."""
    if not 0.0 <= no_match_share <= 1.0:
        raise ValueError(f"no_match_share must be within [0, 1], not {no_match_share}")
    if n <= 0 or not people:
        return []
    rng = random.Random(seed)
    rand = rng.random
    n_no_match = round(n * no_match_share)
    slots = [True] * (n - n_no_match) + [False] * n_no_match
    rng.shuffle(slots)

    by_id = {p.id: p for p in people}
    index: dict[tuple[str, str], list[int]] = {}
    folded_by_org: dict[str, set[str]] = {}
    for p in people:
        key = corrupt.fold(p.surname)
        index.setdefault((p.organisation, key), []).append(p.id)
        folded_by_org.setdefault(p.organisation, set()).add(key)

    kinds = list(corrupt.KIND_WEIGHTS)
    kind_cum = list(accumulate(corrupt.KIND_WEIGHTS.values()))
    applies_cache: dict[tuple[str, str], bool] = {}

    def applicable(kind: str, surname: str) -> bool:
        key = (kind, surname)
        found = applies_cache.get(key)
        if found is None:
            found = applies_cache[key] = corrupt.applies(kind, surname)
        return found

    org_codes = [code for code, _ in ORGANISATIONS]
    org_cum = list(accumulate(share for _, share in ORGANISATIONS))
    pool_keys = list(_POOL_SHARE)
    pool_cum = list(accumulate(_POOL_SHARE.values()))

    out: list[Query] = []
    for targeted in slots:
        if not targeted:
            out.append(_no_match(rng, org_codes, org_cum, pool_keys, pool_cum, folded_by_org))
            continue
        kind = kinds[bisect(kind_cum, rand() * kind_cum[-1])]
        target = people[rng.randrange(len(people))]
        for _ in range(500):
            if applicable(kind, target.surname):
                break
            target = people[rng.randrange(len(people))]
        else:
            kind = "lowercase"
        typed = corrupt.CORRUPTIONS[kind](target.surname, rng)

        given = _first_given(target.given_names)
        if kind != "exact":
            given = given.lower()
            if kind in ("no_accents", "umlaut_expanded"):
                given = corrupt.strip_accents(given)
        given_key = corrupt.fold(given)
        form = rand()
        candidates = index[(target.organisation, corrupt.fold(target.surname))]
        if form < 0.6 or not given_key:
            text = typed
            accept = frozenset(candidates)
        elif form < 0.9:
            text = f"{typed} {given}" if form < 0.8 else f"{given} {typed}"
            accept = frozenset(
                i
                for i in candidates
                if corrupt.fold(_first_given(by_id[i].given_names)) == given_key
            )
        else:
            text = f"{typed} {given[0]}."
            accept = frozenset(
                i
                for i in candidates
                if corrupt.fold(_first_given(by_id[i].given_names)).startswith(given_key[0])
            )
        out.append(Query(text, target.organisation, kind, target.id, accept))
    return out


def _no_match(
    rng: random.Random,
    org_codes: list[str],
    org_cum: list[float],
    pool_keys: list[str],
    pool_cum: list[float],
    folded_by_org: dict[str, set[str]],
) -> Query:
    organisation = org_codes[bisect(org_cum, rng.random() * org_cum[-1])]
    known = folded_by_org.get(organisation, set())
    for _ in range(100_000):
        pool = pool_keys[bisect(pool_cum, rng.random() * pool_cum[-1])]
        surname = synthetic_surname(pool, rng)
        key = corrupt.fold(surname)
        if len(key) >= 4 and not _within_one_edit(key, known):
            break
    else:  # pragma: no cover - would need an organisation holding every plausible name
        raise RuntimeError(f"no unused surname found for {organisation}")
    text = surname if rng.random() < 0.3 else surname.lower()
    return Query(text, organisation, "no_match", None, frozenset())


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


def evaluate(ranked: list[list[int]], qs: list[Query]) -> dict[str, float]:
    """Score ranked answers (best first, already cut by the engine's threshold) against ``qs``.

    ``recall@k``: share of queries with a target whose first k ids contain an accepted id.
    ``false_positive_rate``: share of no-match queries that returned anything.
    ``recall@5:<kind>``: recall@5 per corruption kind. A rate without queries is 0.0.
    """
    if len(ranked) != len(qs):
        raise ValueError(f"{len(ranked)} answers for {len(qs)} queries")
    hits1 = hits5 = targeted = no_match = false_positives = 0
    per_kind: dict[str, list[int]] = {}
    for ids, query in zip(ranked, qs, strict=True):
        if query.target is None:
            no_match += 1
            false_positives += bool(ids)
            continue
        targeted += 1
        hit1 = bool(ids) and ids[0] in query.accept
        hit5 = any(i in query.accept for i in ids[:5])
        hits1 += hit1
        hits5 += hit5
        counts = per_kind.setdefault(query.kind, [0, 0])
        counts[0] += hit5
        counts[1] += 1

    def rate(part: int, whole: int) -> float:
        return part / whole if whole else 0.0

    result: dict[str, float] = {
        "recall@1": rate(hits1, targeted),
        "recall@5": rate(hits5, targeted),
        "false_positive_rate": rate(false_positives, no_match),
        "queries": float(len(qs)),
        "no_match_queries": float(no_match),
    }
    for kind in sorted(per_kind):
        hits, total = per_kind[kind]
        result[f"recall@5:{kind}"] = rate(hits, total)
    return result
