"""Remove personal data from citizens' free text before anyone else reads it.

A rule set for Mexican Spanish (no statistical model: none for Spanish installs from the package
index this project can reach). Each family of personal detail is found by compiled regular
expressions on the original text, one pass per family, in order of priority; a later family
never claims characters an earlier one took. `find()` returns the spans, `scrub()` replaces each
with a bracketed placeholder naming its kind ("[nombre]", "[teléfono]", …) and keeps every other
word as the citizen wrote it. Names come from the lists in app/data/names_mx_*.txt (see
app/data/SOURCES.md) and from cues such as "me llamo", "soy", "el señor", "Lic.".

The placeholders are part of the citizen's text, which keeps its language whatever the reader's
interface language (open data must read the same for everyone): they are Spanish, like the
statements, and not catalog strings.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"

PLACEHOLDER = {
    "url": "[enlace]", "email": "[correo]", "curp": "[CURP]", "rfc": "[RFC]", "ine": "[INE]",
    "nss": "[NSS]", "account": "[cuenta]", "phone": "[teléfono]", "handle": "[usuario]",
    "address": "[domicilio]", "name": "[nombre]",
}


@dataclass(frozen=True, order=True)
class Span:
    """One personal detail found in a text: text[start:end] is of this kind."""

    start: int
    end: int
    kind: str


_FOLD = str.maketrans("áéíóúüñàèìòùâêîôûäëïöç", "aeiouunaeiouaeiouaeioc")


def _fold(word: str) -> str:
    """Lowercase without accents (ñ as n): how names and stop words are compared."""
    return word.lower().translate(_FOLD)


def _words(*groups: str) -> frozenset[str]:
    return frozenset(_fold(word) for group in groups for word in group.split())


@lru_cache(maxsize=1)
def _lists() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(given names, surnames, places named like people), folded; read once."""
    def read(name: str) -> frozenset[str]:
        lines = (DATA / name).read_text(encoding="utf-8").splitlines()
        return frozenset(_fold(line.strip()) for line in lines
                         if line.strip() and not line.startswith("#"))
    municipalities = set()
    for line in (DATA / "jalisco_municipalities.csv").read_text(encoding="utf-8").splitlines()[1:]:
        municipalities.add(" ".join(_fold(line.split(",")[1]).replace(".", " ").split()))
    places = _PUBLIC | municipalities
    return read("names_mx_given.txt"), read("names_mx_surnames.txt"), places


# -- patterns ----------------------------------------------------------------------------------

_I = re.IGNORECASE
# Trailing punctuation is the sentence's, not the address's.
URL = re.compile(
    r"\b(?:https?://|www\.)[^\s<>\"]+[^\s<>\"'.,;:!?)\]}»]"
    r"|\b(?:facebook|fb|instagram|twitter|x|tiktok|youtube|linkedin|wa)\.(?:com|me)/[\w.%/?=&-]*\w",
    _I)

# A government site names no citizen: "https://transparencia.jalisco.gob.mx/…" is kept.
PUBLIC_SITE = re.compile(r"(?:https?://)?(?:[\w-]+\.)*gob\.mx(?:[/?#]|$)", _I)

_TLD = r"(?:com|mx|net|org|edu|gob|info|io|es|us|co)"
_PROVIDER = r"(?:gmail|hotmail|yahoo|outlook|live|icloud|prodigy|msn|aol|protonmail)"
_AT = (r"(?:\s*@\s*|\s*[(\[{<]\s*(?:at|arroba|@)\s*[)\]}>]\s*|\s+arroba\s+"
       r"|(?<=\w)arroba(?=" + _PROVIDER + r"))")
_DOT = r"(?:\s*\.\s*|\s*[(\[{<]\s*(?:dot|punto|\.)\s*[)\]}>]\s*|\s+(?:punto|dot)\s+)"
# No character is both in a part and between parts: the match cannot backtrack exponentially.
_LOCAL = r"[\w+-]+(?:(?:\.|\s+punto\s+)[\w+-]+)*"
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
EMAIL = re.compile(
    rf"(?<![\w.@]){_LOCAL}{_AT}"
    rf"(?:{_LABEL}(?:{_DOT}{_LABEL})*{_DOT}{_TLD}\b|{_PROVIDER}\b)",
    _I)

DIGIT = re.compile(r"\d")
EMAIL_HINT = re.compile(r"arroba|[(\[{<]\s*at\s*[)\]}>]", _I)

_STATES = (r"(?:AS|BC|BS|CC|CL|CM|CS|CH|DF|DG|GT|GR|HG|JC|MC|MN|MS|NT|NL|OC|PL|QT|QR|SP|SL|SR|TC"
           r"|TS|TL|VZ|YN|ZS|NE)")
_DATE = r"\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
CURP = re.compile(rf"\b[A-Z][AEIOUX][A-Z]{{2}}{_DATE}[HMX]{_STATES}[B-DF-HJ-NP-TV-Z]{{3}}"
                  r"[A-Z\d]\d\b", _I)
_HOMOCLAVE = r"[\s-]?[A-Z\d]{2}[A\d]"
# Twelve or thirteen characters; without its last three only where "RFC" is written before it.
RFC = re.compile(rf"\b[A-ZÑ&]{{3,4}}[\s-]?{_DATE}{_HOMOCLAVE}\b", _I)
RFC_CUED = re.compile(rf"\bRFC[\s:]+(?:es\s+)?([A-ZÑ&]{{3,4}}[\s-]?{_DATE}(?:{_HOMOCLAVE})?)\b", _I)
INE = re.compile(r"\b[A-Z]{6}\d{8}[HM]\d{3}\b", _I)  # clave de elector
INE_CUED = re.compile(r"\b(?:INE|IFE|credencial(?: de elector| para votar)?|clave de elector"
                      r"|CIC|OCR)\b[\s:]*(?:(?:es|folio|n[oº°]\.?|n[uú]m(?:ero)?\.?|#)[\s:]*)*"
                      r"(?=[A-Z0-9]*\d)([A-Z0-9]{9,18})\b", _I)
NSS_CUED = re.compile(r"\b(?:NSS|IMSS|seguro social|afiliaci[oó]n)\b[\s:]*"
                      r"(?:(?:es|n[oº°]\.?|n[uú]m(?:ero)?\.?|#)[\s:]*)*(\d{2}[\s-]?\d{2}[\s-]?\d{2}"
                      r"[\s-]?\d{4}[\s-]?\d)\b", _I)
ACCOUNT = re.compile(r"(?<![\d-])(?:\d{4}([\s-]?)\d{4}\1\d{4}\1\d{4}|\d{4}([\s-]?)\d{6}\2\d{5}"
                     r"|\d{18})(?![\d-])")
ACCOUNT_CUED = re.compile(r"\b(?:cuenta|tarjeta|clabe|dep[oó]sito|transferencia)\b[^\d\n]{0,25}?"
                          r"(\d(?:[\s-]?\d){7,19})(?!\d)", _I)

# Phones: a run of digits with up to three separators (space . - / parentheses) between groups;
# the digits are counted and the grouping checked afterwards.
PHONE_RUN = re.compile(r"(?<![\w$+])(?:\+\s?)?\(?\d(?:\)?[ ./-]{0,3}\(?\d)*\)?(?![\w%])")
PHONE_CUE = re.compile(r"\b(?:tel[eé]fonos?|tels?|cel(?:ular)?|m[oó]vil|whats(?:app)?|wa|wsp"
                       r"|n[uú]mero|ll[aá]m(?:a|e|en|ar|ame|enme|anme)|m[aá]rc(?:a|ar|ale|arle|ame|ale)"
                       r"|contacto|fax|lada)\b\.?[^\w\n]{0,6}(?:\w+\s+){0,3}$", _I)
_YEAR = re.compile(r"(?:19|20)\d\d")
_DATE_LIKE = re.compile(r"\d{1,2}\s*[/.-]\s*\d{1,2}\s*[/.-]\s*\d{2,4}")
HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z0-9_](?:[\w.]*\w)+")

_STREET = (r"(?:calle|c\.|av\.?|avda\.?|avenida|blvd\.?|bulevar|boulevard|calz\.?|calzada"
           r"|priv\.?|privada|andador|prol\.?|prolongaci[oó]n|callej[oó]n|cerrada|circuito"
           r"|perif[eé]rico|carretera|camino|paseo|retorno)")
_STOP_TEXT = (
    "que tiene tienen hay está están esta estan son es fue fueron era con sin muy más mas por"
    " para se no si sí ya y o a en al lo le les me mi mis tu su sus nos un una unos unas desde"
    " hasta hace hacen todo todos toda todas cada pero porque como cuando donde entre sobre tras"
    " durante ni solo también tan ese esa este esto eso aquí allí ahí lleva llevan años días"
    " meses veces horas baches bache casas personas gente vecinos metros cuadras calles principal"
    " esquina col colonia cp número numero núm num no int interior depto frente cerca junto"
    " afuera adentro dentro enfrente atrás lado siempre nunca diario noche día tarde mañana"
    " pasado pasada falta faltan quedó quedan sigue siguen está tiene ha han había hubo hizo"
    # English: the form is bilingual
    " the on in at is are was were be been being have has had since for from and or of to with"
    " my our it its this that there near by every each all no not will would")
_STOP = _words(_STOP_TEXT)
_CONN = r"(?:de|del|la|las|los|el)"
_STOPS = "|".join(sorted({re.escape(form) for word in (_STOP_TEXT + " de del la las los el").split()
                          for form in (word, _fold(word))}, key=len, reverse=True))
_WORD = rf"(?!(?:{_STOPS})\b)[^\W_][^\W_'’]*(?:['’][^\W\d_]+)?\.?"
_STREET_NAME = rf"(?:{_CONN}\s+)*{_WORD}(?:\s+(?:{_CONN}\s+)*{_WORD}){{0,4}}"
_UNITS = (r"(?:%|por ?ciento|años|anos|personas|metros|m\b|km|kil[oó]metros|cuadras|veces|d[ií]as"
          r"|horas|minutos|mil|millones|pesos|baches|casas|muertos|heridos|asaltos|robos|familias"
          r"|vecinos|niños|escuelas|accidentes|hoyos)")
_NUMBER = (rf"(?:#\s*|n[oº°]\.?\s*|n[uú]m(?:ero)?\.?\s*)?\d{{1,5}}(?:\s?-?\s?(?-i:[A-H])(?!\w))?"
           rf"(?![\d%])(?!\s*{_UNITS})")
_TAIL = (r"(?:\s*[-,]?\s*(?:int(?:erior)?\.?|depto\.?|departamento|dpto\.?|local)"
         r"\s*#?\s*[\w-]{1,5})?"
         r"(?:\s*,?\s*(?:esq(?:uina)?\.?(?:\s+con)?|y)\s+" + _WORD + r"(?:\s+" + _WORD + r"){0,2})?"
         r"(?:\s*,?\s*(?:col(?:onia)?\.?|fracc(?:ionamiento)?\.?|barrio)\s+(?:" + _CONN + r"\s+)*"
         + _WORD + r"(?:\s+(?:" + _CONN + r"\s+)*" + _WORD + r"){0,3})?"
         r"(?:\s*,?\s*(?:C\.\s?P\.|C\.?P\.?|código postal|codigo postal)\s*:?\s*\d{5}\b)?")
ADDRESS = re.compile(
    rf"\b{_STREET}\s+{_STREET_NAME}\s*,?\s*{_NUMBER}{_TAIL}"
    r"|\b(?:manzana|mza?\.?|mz\.?)\s*\d+\s*,?\s*(?:lote|lt\.?)\s*\d+"
    r"|\b(?:C\.\s?P\.|C\.?P\.?|código postal|codigo postal)\s*:?\s*(?:es\s+)?\d{5}\b", _I)

# "Independencia #88": a street's name and "#" (only looked for in a text with a "#").
ADDRESS_HASH = re.compile(rf"\b{_WORD}(?:\s+{_WORD}){{0,3}}\s*#\s*\d{{1,5}}{_TAIL}", _I)
ADDRESS_CUED = re.compile(
    r"\b(?:vivo en|mi domicilio(?: es)?|domicilio|mi direcci[oó]n(?: es)?|direcci[oó]n"
    r"|mi casa (?:est[aá]|queda) en)\s*:?\s+"
    rf"((?:la\s+|el\s+)?{_STREET_NAME}\s*,?\s*(?:{_NUMBER}{_TAIL}"
    # "vivo en Hidalgo esquina con Morelos": a home given by its corner
    rf"|(?:esq(?:uina)?\.?(?:\s+con)?)\s+{_WORD}(?:\s+{_WORD}){{0,2}}))", _I)

# Names.
TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_CUE_STRONG = (r"(?:me llamo|mi nombre es|mi nombre:|nombre:|atentamente,?|att(?:e|n)?\.?:?"
               r"|firma:?|my name is|sincerely,?)")
_CUE_SOY = r"(?:soy|i am|i'm)"
_CUE_TITLE = (r"(?:se[nñ]or|se[nñ]ora|se[nñ]orita|sra?\.?|srta\.?|don|do[nñ]a|lic\.?|licenciad[oa]"
              r"|ing\.?|ingenier[oa]|dra?\.?|doctor|doctora|mtr[oa]\.?|maestr[oa]|profe|prof\.?"
              r"|profesor|profesora|regidor|regidora|diputad[oa]|alcalde|alcaldesa|comandante"
              r"|oficial|agente|delegad[oa]|director|directora|encargad[oa]|vecin[oa]|compañer[oa]"
              r"|mi (?:hij[oa]|espos[oa]|mamá|mama|papá|papa|madre|padre|herman[oa]|abuel[oa]"
              r"|tí[oa]|ti[oa]|niet[oa]|prim[oa]|suegr[oa]|cuñad[oa])|(?:un|una|el|la) tal"
              r"|mr\.?|mrs\.?|ms\.?)")
CUE = re.compile(rf"\b(?:({_CUE_STRONG})|({_CUE_SOY})|({_CUE_TITLE}))(?=[\s:,])", _I)
_PLACE_PREFIX = _words(
    "san santa santo villa ciudad puerto valle río rio cerro lago laguna colonia col calle av"
    " avenida blvd bulevar boulevard calzada calz privada priv parque plaza mercado escuela"
    " hospital clínica clinica centro glorieta jardín jardin unidad fracc fraccionamiento barrio"
    " estadio auditorio instituto universidad preparatoria prepa primaria secundaria kinder"
    " puente presa virgen santuario templo parroquia capilla biblioteca museo teatro club"
    " periférico periferico carretera camino paseo andador prolongación prol cruce esquina esq"
    " entre sobre hacia rumbo línea linea metro estación estacion tren macrobús macrobus"
    " deportiva cancha campo ejido rancho hacienda comunidad delegación delegacion localidad")
_TITLES = _words("sr sra srta don doña lic ing dr dra mtro mtra prof profe c")
_CONNECTORS = _words("de del la las los el")
_AMBIGUOUS = _words(
    "minerva luz rosa paz sol mar cruz dolores socorro consuelo esperanza pilar mercedes rocío"
    " ángeles ángel guadalupe trinidad concepción asunción soledad victoria gloria"
    " amparo jesús rosario"
    " refugio alma dulce lucero perla iris blanca flor reyna domingo salvador santiago américa"
    " israel julio marco norma aurora armando césar tomás lidia franco celeste clara estrella"
    " margarita amado plácido primitivo valente alba abril caro memo chava marcial silvestre"
    " jacinto")
# Historical figures whose names are streets, towns and schools.
_PUBLIC = frozenset(" ".join(_fold(name).split()) for name in (
    "Benito Juárez", "Miguel Hidalgo", "José María Morelos", "Lázaro Cárdenas", "López Mateos",
    "Adolfo López Mateos", "Emiliano Zapata", "Vicente Guerrero", "Francisco Villa",
    "Francisco I Madero", "Francisco Madero", "Venustiano Carranza", "Álvaro Obregón",
    "Ignacio Allende", "Guadalupe Victoria", "Mariano Otero", "Ramón Corona", "Ignacio Zaragoza",
    "Pedro Moreno", "Javier Mina", "Salvador Allende", "Gustavo Díaz Ordaz", "Manuel Ávila Camacho",
    "Cristóbal Colón", "José Clemente Orozco", "Juan Rulfo", "Juan José Arreola",
    "Agustín Yáñez", "Juan Pablo II", "Jesús María", "Niños Héroes",
    "Enrique Díaz de León", "Juan Gil Preciado", "Fray Antonio Alcalde", "Manuel M Diéguez",
    "Manuel Acuña", "Juan Escutia", "Ignacio Vallarta", "Ignacio L Vallarta", "Santos Degollado",
    "Luis Donaldo Colosio", "Lerdo de Tejada", "Pedro Loza",
    "José María Vigil", "Mariano Bárcenas", "Juan Álvarez", "Manuel López Cotilla",
    "Francisco Javier Gamboa", "Enrique González Martínez", "Marcelino García Barragán",
    "Mariano Azuela", "Ignacio Ramírez", "José Guadalupe Zuno", "Adolfo B Horn",
    "Ramón López Velarde", "Gabriel Ramos Millán", "Rafael Sanzio", "Juan de la Barrera",
    "Agustín de la Rosa", "Pancho Villa", "Ignacio Aldama", "Leona Vicario",
    "Josefa Ortiz de Domínguez", "Sor Juana Inés de la Cruz", "Juana Inés de la Cruz",
    "Belisario Domínguez", "Melchor Ocampo", "Valentín Gómez Farías", "Gómez Farías",
))
_NOT_NAME = _words(
    "presidente presidenta gobernador gobernadora municipal ayuntamiento gobierno secretaría"
    " secretaria dirección direccion obras públicas publicas seguridad policía policia salud"
    " estado estatal federal guadalajara zapopan jalisco méxico mexico centro oficina dif imss"
    " issste sep cfe siapa protección civil mayor general ejecutivo adjunto regional jurídico"
    " administrativo operativo técnico"
)


_STOP_OR_NOT_NAME = _STOP | _NOT_NAME


def _spans_of(pattern: re.Pattern, text: str, kind: str, group: int = 0) -> list[Span]:
    """Return each match (or its group) of pattern in text as a span of this kind."""
    return [Span(match.start(group), match.end(group), kind) for match in pattern.finditer(text)]


def _phones(text: str) -> list[Span]:
    """Return the runs of digits that are written like phone numbers."""
    out = []
    for match in PHONE_RUN.finditer(text):
        run = match.group(0)
        start = match.start()
        # Unbalanced parenthesis at either end belongs to the sentence.
        if run.endswith(")") and run.count("(") < run.count(")"):
            run = run[:-1]
        if run.startswith("(") and run.count("(") > run.count(")"):
            run, start = run[1:], start + 1
        groups = [(group.start() + start, group.end() + start, group.group(0))
                  for group in re.finditer(r"\d+", run)]
        digits = "".join(group[2] for group in groups)
        if _DATE_LIKE.fullmatch(run.strip("() ")):
            continue
        cued = bool(PHONE_CUE.search(text[max(0, start - 40):start]))
        if _is_phone(digits, [group[2] for group in groups], cued, run):
            out.append(Span(start, start + len(run), "phone"))
        elif len(digits) > 13:
            out.extend(_split_phones(groups))
    return out


def _is_phone(digits: str, groups: list[str], cued: bool, run: str) -> bool:
    """Whether a run of digit groups is a Mexican phone number (or a local one after a cue)."""
    count = len(digits)
    lengths = [len(group) for group in groups]
    thousands = len(groups) > 2 and lengths[0] <= 3 and all(size == 3 for size in lengths[1:])
    if thousands and not cued and "+" not in run:
        return False  # 1 234 567 is a quantity
    if count == 10:
        return True
    if count == 11:
        return cued or digits.startswith("1") and "+" in run
    if count == 12:
        return digits.startswith(("52", "01"))
    if count == 13:
        return digits.startswith(("521", "044", "045"))
    if count == 8:
        if len(groups) == 2 and all(_YEAR.fullmatch(group) for group in groups):
            return False  # 2016-2018
        return cued or lengths in ([4, 4], [2, 2, 2, 2])
    if count == 7:
        return cued and len(groups) > 1
    return False


def _split_phones(groups: list[tuple[int, int, str]]) -> list[Span]:
    """Two numbers written one after the other: cut the run where ten digits add up."""
    out, first, total = [], 0, 0
    for index, (_, end, digits) in enumerate(groups):
        total += len(digits)
        while total > 10 and first < index:
            total -= len(groups[first][2])
            first += 1
        if total == 10:
            out.append(Span(groups[first][0], end, "phone"))
            first, total = index + 1, 0
    return out


def _names(text: str, mask: bytearray) -> list[Span]:
    """Names found by cues and by the lists, in words no other family has claimed (mask)."""
    given, surnames, places = _lists()
    folded = _fold(text)
    if len(folded) != len(text):  # a character that folds to more or fewer: word by word
        tokens = [(m.start(), m.end(), m.group(0), _fold(m.group(0))) for m in TOKEN.finditer(text)]
    else:
        tokens = [(start, end, text[start:end], folded[start:end])
                  for start, end in (m.span() for m in TOKEN.finditer(text))]
    starts = [token[0] for token in tokens]
    # IN CAPITALS case says nothing: only the lists and the cues find names.
    shouting = sum(map(str.isupper, text)) > sum(map(str.islower, text))
    used: set[int] = set()
    if any(mask):
        used.update(index for index, (start, end, _, _) in enumerate(tokens)
                    if mask.find(1, start, end) != -1)
    out: list[Span] = []

    def free(index: int) -> bool:
        return index not in used

    def gap(index: int) -> str:
        return text[tokens[index - 1][1]:tokens[index][0]]

    def capital(index: int) -> bool:
        word = tokens[index][2]
        return (not shouting and word[0].isupper()
                and tokens[index][3] not in _STOP_OR_NOT_NAME)

    def listed(index: int) -> bool:
        return tokens[index][3] in given or tokens[index][3] in surnames

    def extend(first: int, namey: Callable[[int], bool]) -> int:
        """Index after the last name token from first on (connectors only between names)."""
        last = first
        index = first + 1
        while index < len(tokens) and index - first < 6:
            between = gap(index)
            initial = between.strip() == "." and len(tokens[index - 1][2]) == 1  # "Francisco I."
            if not ((between.isspace() and "\n" not in between) or initial):  # a line ends a name
                break
            if tokens[index][3] in ("de", "del") and index + 1 < len(tokens):
                step = 2 if tokens[index + 1][3] in ("la", "los", "las") else 1
                after = index + step
                # "Díaz de León", "de la Cruz": a listed name after it ("Karla … de Ocotlán")
                if (after < len(tokens) and gap(after).isspace() and "\n" not in gap(after)
                        and free(after) and listed(after)):
                    index = after
                    continue
                break
            if not free(index) or not namey(index):
                break
            last = index
            index += 1
        return last + 1

    def add(first: int, stop: int) -> None:
        out.append(Span(tokens[first][0], tokens[stop - 1][1], "name"))
        used.update(range(first, stop))

    for cue in CUE.finditer(text):
        index = bisect.bisect_left(starts, cue.end())
        if index == len(tokens) or not free(index) or not re.fullmatch(r"[\s:,]*", text[cue.end():
                                                                                tokens[index][0]]):
            continue
        strong, soy = cue.group(1), cue.group(2)
        word = tokens[index][3]
        if strong:  # "Atte: Ing. Salvador …": the title is no name, the next cue takes it
            ok = word not in _STOP and word not in _NOT_NAME and word not in _TITLES
        elif soy:
            ok = word in given or (capital(index) and index + 1 < len(tokens)
                                   and (capital(index + 1) or listed(index + 1)))
        else:
            ok = capital(index) or listed(index)
        if not ok or word in _STOP:
            continue
        add(index, extend(index, lambda i: capital(i) or listed(i)))

    for index, token in enumerate(tokens):
        if not free(index) or token[3] not in given:
            continue
        is_cap = token[2][0].isupper()
        stop = extend(index, (lambda i: listed(i) or capital(i)) if is_cap else listed)
        before = index - 1
        while before >= 0 and tokens[before][3] in _CONNECTORS and index - before < 4:
            before -= 1
        # A place named after someone ("Benito Juárez", "Jesús María"), unless a surname
        # follows it ("Jesús María Pérez" is a person).
        place_end = max((end for end in range(index + 1, stop + 1)
                         if " ".join(tokens[i][3] for i in range(index, end)) in places),
                        default=None)
        if place_end is not None and place_end < stop and tokens[place_end][3] in surnames:
            place_end = None
        if (before >= 0 and tokens[before][3] in _PLACE_PREFIX) or place_end is not None:
            used.update(range(index, stop))  # a place: none of its words is a name either
            continue
        single = stop - index == 1
        ambiguous = token[3] in _AMBIGUOUS
        if single and (not is_cap or ambiguous):
            continue
        if ambiguous and not (is_cap and any(tokens[i][3] in surnames or tokens[i][3] in given
                                             for i in range(index + 1, stop))):
            continue
        add(index, stop)
    return out


def find(text: str | None) -> list[Span]:
    """Every personal detail in text, in order, none overlapping."""
    if not text:
        return []
    taken: list[Span] = []
    mask = bytearray(len(text))  # 1 where a span already claimed the character

    def claim(spans: list[Span]) -> None:
        for span in spans:
            if span.end > span.start and mask.find(1, span.start, span.end) == -1:
                taken.append(span)
                mask[span.start:span.end] = b"\x01" * (span.end - span.start)

    claim([span for span in _spans_of(URL, text, "url")
           if not PUBLIC_SITE.match(text, span.start, span.end)])
    if "@" in text or EMAIL_HINT.search(text):
        claim(_spans_of(EMAIL, text, "email"))
    if DIGIT.search(text):  # every number-bearing family needs a digit: most statements have none
        claim(_spans_of(CURP, text, "curp"))
        claim(_spans_of(INE, text, "ine"))
        claim(_spans_of(RFC, text, "rfc"))
        claim(_spans_of(RFC_CUED, text, "rfc", 1))
        claim(_spans_of(INE_CUED, text, "ine", 1))
        claim(_spans_of(NSS_CUED, text, "nss", 1))
        claim(_spans_of(ACCOUNT, text, "account"))
        claim(_spans_of(ACCOUNT_CUED, text, "account", 1))
        claim(_phones(text))
    claim(_spans_of(HANDLE, text, "handle"))
    if DIGIT.search(text):
        claim(_spans_of(ADDRESS, text, "address"))
        if "#" in text:
            claim(_spans_of(ADDRESS_HASH, text, "address"))
    claim(_spans_of(ADDRESS_CUED, text, "address", 1))
    claim(_names(text, mask))
    return sorted(_trim(text, span) for span in taken)


def _trim(text: str, span: Span) -> Span:
    start, end = span.start, span.end
    while start < end and text[start].isspace():
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:"):
        end -= 1
    return Span(start, end, span.kind)


def scrub(text: str | None) -> str:
    """Return text with each personal detail replaced by its placeholder, whitespace collapsed."""
    if not text:
        return ""
    parts, position = [], 0
    for span in find(text):
        parts.append(text[position:span.start])
        parts.append(PLACEHOLDER[span.kind])
        position = span.end
    parts.append(text[position:])
    return " ".join("".join(parts).split())
