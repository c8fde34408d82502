"""Contact details from the signature at the end of an e-mail.

`extract_signature(text, sender=..., country_hint=...)` finds the sender's signature block (the
last lines of the newest message, before any quoted history) and reads phone numbers, a job
title, the company website and social profiles from it. Only the block is read: the body of a
message is full of numbers that look like phone numbers (orders, invoices, IBANs, dates), and
quoted history carries other people's signatures. When in doubt a field stays empty: the
pipeline fills empty contact fields with these values, so a wrong value costs more than none.

`bench/signatures.py` measures precision and recall on the labelled set in
`tests/capture/data/signatures/`.
"""

import re
import unicodedata
from dataclasses import dataclass, field

import phonenumbers

from salesdesk.capture.message import Address

MAX_BLOCK_LINES = 15


@dataclass(frozen=True)
class Signature:
    """What one signature says. Phones are E.164 (`+4930123456`), in the order written, fax
    numbers left out; `mobile` is also in `phones`. URLs are normalized: the website to
    `https://host/`, LinkedIn to `https://www.linkedin.com/in/<slug>`, X/Twitter to
    `https://x.com/<handle>`. Every field is empty when the signature does not say."""

    phones: list[str] = field(default_factory=list)
    mobile: str = ""
    title: str = ""
    website: str = ""
    linkedin: str = ""
    twitter: str = ""
    links: list[str] = field(default_factory=list)
    block: str = ""


# --- Where the newest message ends -----------------------------------------------------------

# "On <date>, <name> wrote:" and its translations; mail clients wrap it over two lines.
_ATTRIBUTION = re.compile(
    r"^(on\b.*\bwrote|am\b.*\bschrieb|le\b.*\ba écrit|el\b.*\bescribió|op\b.*\bschreef"
    r"|il\b.*\bha scritto|w dniu\b.*\bnapisał(\(a\)|a)?|den\b.*\bskrev|em\b.*\bescreveu"
    r"|.*<[^>]+@[^>]+>\)?\s*(wrote|schrieb|a écrit|escribió|schreef|ha scritto|skrev|pisze)"
    r")\s*:?\s*$"
    # German, Dutch, Swedish and Polish clients put the name after the verb.
    r"|^(am|op|den|w dniu)\b.*\b(schrieb|schreef|skrev|pisze|napisał(\(a\)|a)?)\b.*:\s*$",
    re.IGNORECASE,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(original message|original-nachricht|ursprüngliche nachricht"
    r"|message d'origine|mensaje original|oorspronkelijk bericht|messaggio originale"
    r"|oryginalna wiadomość|ursprungligt meddelande|forwarded message"
    r"|weitergeleitete nachricht|message transféré|mensaje reenviado)\s*-{2,}\s*$",
    re.IGNORECASE,
)
# The header block Outlook writes above quoted history: "From: …" then "Sent: …" or "To: …".
_HEADER_FROM = re.compile(r"^\*?(from|von|de|van|da|od|från|fra)\s*:\*?\s", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\*?(sent|date|to|subject|gesendet|datum|an|betreff|envoyé|date|à|objet|enviado|fecha"
    r"|para|asunto|verzonden|aan|onderwerp|inviato|data|a|oggetto|wysłano|do|temat|skickat"
    r"|till|ämne|sendt|til|emne)\s*:",
    re.IGNORECASE,
)

# What phones add below the text; it says nothing about the sender.
_DEVICE_NOISE = re.compile(
    r"^(sent from my \w+|sent from (mail|outlook) for \w+|sent from (outlook|yahoo mail|gmail)"
    r"|get outlook for \w+|sent via \w+|von meinem \w+ gesendet|gesendet von meinem \w+"
    r"|envoyé de mon \w+|envoyé depuis mon \w+|enviado desde mi \w+|verstuurd vanaf mijn \w+"
    r"|verzonden vanaf mijn \w+|inviato da(l mio)? \w+|wysłane z (mojego )?\w+|skickat från min \w+"
    r")\b.*$",
    re.IGNORECASE,
)

# Legal footers: the signature ends where they start.
_DISCLAIMER = re.compile(
    r"confidential|intended (solely )?(only )?for|intended recipient|privileged|disclaimer"
    r"|received this (e-?mail|message) in error|vertraulich|nicht der (richtige )?adressat"
    r"|irrtümlich|destinataire|confidentiel|confidencial|destinatario|vertrouwelijk"
    r"|riservat|poufn|konfidentiell|think before (you )?print|consider the environment"
    r"|umwelt.*ausdruck|datenschutz|privacy (policy|notice)",
    re.IGNORECASE,
)

# --- Where the signature starts ----------------------------------------------------------------

_SIGN_OFFS = [
    # English
    r"(best|kind|warm|warmest|many|with kind|with best)?\s*regards",
    r"all the best|best wishes|best|cheers|thanks|thank you|many thanks|thanks again|thx|ta",
    r"sincerely|yours sincerely|yours truly|yours faithfully|yours|talk soon|speak soon",
    r"have a (great|nice|good) (day|weekend|week)",
    # German
    r"(mit )?(freundlichen|besten|herzlichen|sonnigen|schönen|lieben) gr(ü|ue)(ß|ss)en",
    r"(viele|beste|liebe|herzliche|schöne|freundliche|sonnige)? ?gr(ü|ue)(ß|ss)e|gru(ß|ss)",
    r"mfg|lg|vg|bg|danke|vielen dank",
    # French
    r"cordialement|bien cordialement|bien à (vous|toi)|salutations|meilleures salutations",
    r"(bien )?amicalement|merci|merci beaucoup|à bientôt|belle journée|bonne journée",
    # Spanish
    r"(un )?saludos?( cordiales)?|atentamente|un abrazo|gracias|muchas gracias",
    # Portuguese
    r"atenciosamente|cumprimentos|abraços|obrigad[oa]",
    # Dutch
    r"met vriendelijke groet(en)?|vriendelijke groet(en)?|groet(en|jes)?|mvg|hartelijke groet(en)?",
    r"met (hartelijke|beste) groet(en)?|bedankt|dank je( wel)?",
    # Italian
    r"cordiali saluti|distinti saluti|saluti|un saluto|buona giornata|grazie( mille)?",
    # Polish
    r"pozdrawiam( serdecznie)?|z poważaniem|serdecznie pozdrawiam|pozdrowienia|dziękuję",
    # Scandinavian
    r"med vänliga hälsningar|vänliga hälsningar|mvh|hälsningar|med venlig hilsen|venlig hilsen",
    r"med vennlig hilsen|vennlig hilsen|hilsen|ystävällisin terveisin|terveisin|tack",
]
_SIGN_OFF = re.compile(
    r"^\s*(" + "|".join(_SIGN_OFFS) + r")\s*[,.!:;]*\s*([,\-\u2013]\s*\S.{0,40})?$", re.IGNORECASE
)
_DELIMITER = re.compile(r"^\s*--\s*$|^\s*[-_]{5,}\s*$")

# --- What a signature line holds ---------------------------------------------------------------

_PHONE_LABELS = (
    r"t|tel|tél|tel\.?\s*(nr|no)|tele|phone|ph|p|o|office|direct|dir|d|dd|dial|fon|fone"
    r"|telefon|telefono|teléfono|téléphone|telephone|telefoon|tfn|tlf|puh|zentrale|switchboard"
    r"|landline|work|b|bureau|fixe|ligne directe|durchwahl|centralita|centralino|vaste|main"
    r"|hotline|service-hotline|kontakt|contact|call|tlf\.?|telefone|fone|telp"
)
_MOBILE_LABELS = (
    r"m|mob|mobile|mobil|mobiel|mobiltelefon|mobilnummer|cell|cellphone|cellular|c|handy"
    r"|portable|port|gsm|móvil|movil|cel|celular|cellulare|cell\.|komórka|kom|tel\.?\s*kom"
    r"|tel\.?\s*mobile?|tél\.?\s*portable|mobile phone|natel|telemóvel|telemovel|matkapuhelin"
    r"|mobiili|mobilní|mob\.?\s*tel|whatsapp"
)
_FAX_LABELS = r"f|fax|telefax|télécopie|fax no|faks"
_LABEL = re.compile(
    rf"(?:^|[\s|·•,;/(\[-])(?P<label>{_MOBILE_LABELS}|{_FAX_LABELS}|{_PHONE_LABELS})"
    r"\s*(?:\.|:|\)|\]|-)?\s*(?:\.|:)?\s*$",
    re.IGNORECASE,
)
_MOBILE = re.compile(rf"^(?:{_MOBILE_LABELS})$", re.IGNORECASE)
_FAX = re.compile(rf"^(?:{_FAX_LABELS})$", re.IGNORECASE)
# A line with any of these holds numbers that are no phones: bank, tax and register ids, orders.
_NOT_PHONE_LINE = re.compile(
    r"\b(iban|bic|swift|bank|konto|blz|vat|ust|ust-?id|mwst|steuer|tax|hrb|hra|amtsgericht"
    r"|registergericht|handelsregister|registered|company (no|number|reg)|reg\.? ?no|kvk|btw"
    r"|siret|siren|rcs|tva|capital|nip|regon|krs|cif|nif|p\.? ?iva|partita|c\.f\.|org\.? ?nr"
    r"|organisationsnummer|vat no|order|bestell|auftrag|invoice|rechnung|facture|factura"
    r"|ticket|case|ref|referenz|kundennummer|customer no|po|postfach|p\.?o\.? box)\b",
    re.IGNORECASE,
)

_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>()\[\]\"'|,]+|"
    r"(?<![@\w.-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+"
    r"(?:com|net|org|io|co|ai|app|dev|tech|biz|info|eu|de|fr|es|nl|it|pl|se|uk|ch|at|be|dk|no"
    r"|fi|pt|ie|cz|sk|hu|ro|us|ca|au|nz|lu|gr|gmbh|agency|shop|store|cloud|global|group|one"
    r"|solutions|digital|consulting|studio|design|media|online|site|xyz|me|us|jp|br|mx|ar)"
    r"(?:/[^\s<>()\[\]\"'|,]*)?(?![\w@-])",
    re.IGNORECASE,
)
_SOCIAL_HOSTS = {
    "linkedin.com": "linkedin",
    "twitter.com": "twitter",
    "x.com": "twitter",
    "xing.com": "xing",
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "instagram.com": "instagram",
    "youtube.com": "youtube",
    "youtu.be": "youtube",
    "github.com": "github",
    "tiktok.com": "tiktok",
    "mastodon.social": "mastodon",
    "threads.net": "threads",
    "bsky.app": "bluesky",
    "medium.com": "medium",
}
# Never a company website: scheduling, tracking, link shorteners, stores, mail services.
_IGNORED_HOSTS = {
    "calendly.com",
    "cal.com",
    "doodle.com",
    "meetings.hubspot.com",
    "hubspot.com",
    "hs-sites.com",
    "mailchimp.com",
    "list-manage.com",
    "safelinks.protection.outlook.com",
    "urldefense.com",
    "urldefense.proofpoint.com",
    "bit.ly",
    "t.co",
    "lnkd.in",
    "aka.ms",
    "goo.gl",
    "apple.com",
    "apps.apple.com",
    "play.google.com",
    "google.com",
    "outlook.com",
    "office.com",
    "microsoft.com",
    "gmail.com",
    "zoom.us",
    "teams.microsoft.com",
    "wa.me",
}
_FILE_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".gif", ".doc", ".docx", ".xls", ".xlsx", ".zip")

_LEGAL_FORMS = re.compile(
    r"\b(gmbh|ag|se|kg|ohg|ug|e\.?\s?k\.?|ltd|limited|llc|llp|inc|corp|corporation|plc|co\.|sas"
    r"|sarl|sa|s\.a\.s?|s\.l\.u?|sl|b\.?v\.?|n\.?v\.?|s\.r\.l|srl|s\.p\.a|spa|sp\.\s?z\s?o\.?\s?o"
    r"|ab|oy|a/s|as|aps|asa|bvba|nv|gbr|mbh|kft|s\.r\.o|group|holding)\b\.?",
    re.IGNORECASE,
)
# Words of job titles, in the languages of the labelled set. Stems match inside compounds
# ("Vertriebsleiter", "Inköpschef", "Verkoopdirecteur", "Myyntipäällikkö").
_TITLE_WORDS = re.compile(
    r"leiter|leitung|leider|leder|chef|direct|diret|dyrekt|manag|head|lead|chief|officer"
    r"|president|presidente|founder|gründer|grundare|fondat|fundador|owner|inhaber|titolare"
    r"|partner|geschäftsführ|vorstand|prokurist|referent|berat|consult|konsult|sachbearbeit"
    r"|anwalt|avocat|abogad|avvocat|advogad|advokat|notar|makelaar|responsab|ansvarig"
    r"|charg[ée]|ingénieur|ingenieur|ingenier|ingegner|engineer|gerent|gérant|jefe|jefa"
    r"|commercial|comercial|commerciale|einkauf|einkäufer|acheteu|compras|acquist|inkoop"
    r"|inköp|inkoper|vertrieb|verkoop|verkauf|ventas|ventes|vendite|sprzeda|försälj|salg|myynti"
    r"|päällikkö|johtaja|kierownik|specjalist|specialist|handlowiec|säljare|säljchef|daglig"
    r"|account|executive|sales|marketing|operations|product|proje[ck]t|program|business"
    r"|development|customer|success|support|service|controller|accountant|counsel|attorney"
    r"|lawyer|recruit|talent|administr|secretar|sekretär|assist|associate|representative"
    r"|advisor|adviser|adviseur|buyer|purchas|procurement|analyst|architect|developer|designer"
    r"|coordinat|koordinat|strateg|editor|agent|broker|underwrit|principal|senior|junior"
    r"|intern\b|\b(ceo|cto|cfo|coo|cmo|cro|cio|vp|svp|evp|vd|md|gm|owner)\b",
    re.IGNORECASE,
)
_REGION_WORDS = re.compile(
    r"((north|south|east|west|central|northern|southern|eastern|western)\s*)*"
    r"(america|americas|europe|emea|apac|latam|dach|benelux|nordics?|asia|pacific|africa"
    r"|middle east|uk|us|france|germany|spain|italy|poland|iberia|east|west|north|south"
    r"|northeast|northwest|southeast|southwest|midwest|international|global|worldwide)",
    re.IGNORECASE,
)
_TITLE_SEPARATORS = re.compile(
    r"\s+(?:\||·|•|\u2013|\u2014|-|at|bei|chez|en|bij|presso|w|@)\s+|,\s+"
)


def extract_signature(
    text: str, *, sender: Address, country_hint: str | None = None, with_phones: bool = True
) -> Signature:
    """The sender's signature in `text` (a message's whole plain text), or an empty one.

    `country_hint` (ISO 3166 alpha-2, e.g. from `country_from_domain`) reads numbers written
    without a country code; without it only international numbers (+49 …) are read.
    `with_phones=False` leaves the phone numbers out: finding them is most of the work, and a
    caller that keeps the phones it has does not need them."""
    lines = _newest_message(text)
    start = _signature_start(lines, sender)
    if start is None:
        return Signature()
    block = _block(lines[start:])
    if not block:
        return Signature()
    phones, mobile = _phones(block, country_hint) if with_phones else ([], "")
    website, linkedin, twitter, links = _links(block, sender)
    return Signature(
        phones=phones,
        mobile=mobile,
        title=_title(block, sender),
        website=website,
        linkedin=linkedin,
        twitter=twitter,
        links=links,
        block="\n".join(block),
    )


# Country-code domains that are sold as generic names: they say nothing about the country.
_GENERIC_CCTLDS = {"io", "ai", "co", "me", "tv", "fm", "ly", "to", "cc", "ws", "gg", "sh", "so"}


def country_from_domain(domain: str) -> str | None:
    """The country a domain's top-level domain names (`acme.de` → "DE", `acme.co.uk` → "GB"),
    or None for generic ones (.com, .io, .eu)."""
    tld = domain.strip().rstrip(".").rsplit(".", 1)[-1].lower()
    if len(tld) != 2 or tld in _GENERIC_CCTLDS:
        return None
    region = "GB" if tld == "uk" else tld.upper()
    return region if region in phonenumbers.SUPPORTED_REGIONS else None


# --- Steps ---------------------------------------------------------------------------------------


def _newest_message(text: str) -> list[str]:
    """The lines of the newest message: quoted history and phone-app noise removed, spacing
    from HTML conversion evened out."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u00a0", " ").replace("\u200b", "").replace("\ufeff", "")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    kept: list[str] = []
    for index, line in enumerate(lines):
        if line.startswith(">") or _ORIGINAL_MESSAGE.match(line) or _ATTRIBUTION.match(line):
            break
        if _two_line_attribution(line, lines[index + 1 : index + 2]):
            break
        if _HEADER_FROM.match(line) and any(
            _HEADER_NEXT.match(following) for following in lines[index + 1 : index + 4]
        ):
            break
        if re.fullmatch(r"_{10,}", line) and any(
            _HEADER_FROM.match(following) for following in lines[index + 1 : index + 3]
        ):
            break
        if _DEVICE_NOISE.match(line):
            continue
        kept.append(line)
    while kept and not kept[-1]:
        kept.pop()
    return kept


def _two_line_attribution(line: str, following: list[str]) -> bool:
    """Gmail wraps "On Tue, 4 Mar 2025 at 10:12, Anna <anna@acme.com>" / "wrote:"."""
    return bool(
        following
        and re.match(r"^(on|am|le|el|op|il|w dniu|den)\b", line, re.IGNORECASE)
        and re.fullmatch(
            r"(wrote|schrieb|a écrit|escribió|schreef|ha scritto|napisał\(a\)|skrev)\s*:",
            following[0],
            re.IGNORECASE,
        )
    )


def _fold(value: str) -> str:
    """Lower case without accents, for comparing names."""
    if value.isascii():  # most lines: nothing to decompose, and casefold() is lower() here
        return _SPACES.sub(" ", value.lower())
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return _SPACES.sub(" ", "".join(c for c in decomposed if not unicodedata.combining(c)))


_SPACES = re.compile(r"\s+")


def _squeeze(value: str) -> str:
    """Letters and digits only, folded: "Groenhuis Makelaars" and "groenhuis-makelaars" meet."""
    return re.sub(r"[^a-z0-9]", "", _fold(value))


def _sender_name(sender: Address) -> str:
    """The sender's full name, folded; taken from the address when the name is
    missing (`anna.schmidt@` → "anna schmidt")."""
    name = sender.name.strip()
    if "," in name:  # "Schmidt, Anna"
        last, _, first = name.partition(",")
        name = f"{first.strip()} {last.strip()}"
    if not name:
        local = sender.email.partition("@")[0]
        parts = [part for part in re.split(r"[._-]+", local) if part.isalpha()]
        name = " ".join(parts) if len(parts) >= 2 else ""
    return _fold(name.strip("\"' ")).strip()


def _is_name_line(line: str, full_name: str) -> bool:
    if not full_name or _NOT_NAME.search(line.split("|")[0]):
        return False
    folded = _fold(line).strip(" ,.")
    if folded == full_name or folded.startswith((full_name + " ", full_name + ",")):
        return True
    # "Dr. Anna Schmidt", "Anna M. Schmidt": every part of the name, in order, few words more.
    words = re.findall(r"[\w'-]+", folded)
    parts = full_name.split(" ")
    position = 0
    for word in words[:6]:
        if position < len(parts) and word == parts[position]:
            position += 1
    return position == len(parts) and len(words) <= len(parts) + 2 and len(parts) > 1


_NOT_NAME = re.compile(r"@|://|www\.|\d")


def _signature_start(lines: list[str], sender: Address) -> int | None:
    """Where the signature begins: the last sign-off, the last "-- " delimiter, or the
    sender's name on a line of its own, whichever comes last; None when there is none."""
    full_name = _sender_name(sender)
    start = None
    for index, line in enumerate(lines):
        if not line:
            continue
        if _DELIMITER.match(line) or _SIGN_OFF.match(line):
            start = index + 1
        # The name right after a sign-off belongs to the sign-off's block.
        elif _is_name_line(line, full_name) and (start is None or any(lines[start:index])):
            start = index
    if start is None or start >= len(lines):
        return None
    return start


def _block(lines: list[str]) -> list[str]:
    """The signature lines: up to the legal footer, at most MAX_BLOCK_LINES non-empty ones."""
    block: list[str] = []
    for line in lines:
        if _DISCLAIMER.search(line):
            break
        if not line:
            continue
        block.append(line)
        if len(block) == MAX_BLOCK_LINES:
            break
    return block


def _phones(block: list[str], region: str | None) -> tuple[list[str], str]:
    """Every number of the block but faxes, and the mobile one: labelled so, else the first
    number that lies in a mobile range (`0171 …` in Germany, `06 …` in France)."""
    phones: list[str] = []
    labelled_mobile = typed_mobile = ""
    for line in block:
        if _NOT_PHONE_LINE.search(line):
            continue
        for segment in _SEGMENT_SEPARATORS.split(line):
            for label, number in _segment_phones(segment, region):
                if _FAX.match(label):
                    continue
                if number not in phones:
                    phones.append(number)
                if _MOBILE.match(label):
                    labelled_mobile = labelled_mobile or number
                elif (
                    phonenumbers.number_type(phonenumbers.parse(number))
                    == phonenumbers.PhoneNumberType.MOBILE
                ):
                    typed_mobile = typed_mobile or number
    return phones, labelled_mobile or typed_mobile


_SEGMENT_SEPARATORS = re.compile(r"\s+[|·•]\s+|\s[|·•]|[|·•]\s|\t| {3,}")


def _segment_phones(segment: str, region: str | None) -> list[tuple[str, str]]:
    """The (label, E.164 number) pairs of one part of a line. An unlabelled number counts only
    when the part holds little else, so "Order 4711-2023-0098" is no phone."""
    matches = list(phonenumbers.PhoneNumberMatcher(segment, region))
    found = []
    previous_end = 0
    for match in matches:
        label_match = _LABEL.search(segment[previous_end : match.start])
        label = re.sub(r"\s+", " ", label_match.group("label").lower()) if label_match else ""
        found.append(
            (label, phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164))
        )
        previous_end = match.end
    if any(label for label, _ in found) or (matches and _mostly_numbers(segment, matches)):
        return found
    return []


def _mostly_numbers(line: str, matches: list) -> bool:
    """An unlabelled line is a phone line only when little else is on it ("+49 30 1234567",
    "(030) 123 45 67 / 0171 2345678")."""
    rest = line
    for match in reversed(matches):
        rest = rest[: match.start] + rest[match.end :]
    return len(re.sub(r"[\s|·•/,;:()\-\u2013]", "", rest)) <= 3


def _host_and_path(url: str) -> tuple[str, str]:
    url = re.sub(r"^https?://", "", url.strip().rstrip(".,;:!?)"), flags=re.IGNORECASE)
    host, _, path = url.partition("/")
    host = host.split("?")[0].split("#")[0].split(":")[0].lower().rstrip(".")
    return host, path.split("?")[0].split("#")[0].rstrip("/")


def _registered(host: str) -> str:
    """`www.shop.acme.co.uk` → `acme.co.uk`, closely enough to compare two hosts."""
    labels = host.removeprefix("www.").split(".")
    keep = 3 if len(labels) >= 3 and len(labels[-2]) <= 3 and len(labels[-1]) == 2 else 2
    return ".".join(labels[-keep:])


def _links(block: list[str], sender: Address) -> tuple[str, str, str, list[str]]:
    sender_domain = _registered(sender.email.rpartition("@")[2].lower())
    websites: list[str] = []
    linkedin = twitter = ""
    links: list[str] = []
    for line in block:
        for url in _URL.findall(line):
            host, path = _host_and_path(url)
            if not host or "." not in host or host.endswith(_FILE_SUFFIXES) or url.startswith("@"):
                continue
            registered = _registered(host)
            social = _SOCIAL_HOSTS.get(registered)
            if social == "linkedin":
                slug = re.match(r"(?:[a-z]{2}/)?in/([^/\s]+)", path, re.IGNORECASE)
                if slug and not linkedin:
                    linkedin = f"https://www.linkedin.com/in/{slug.group(1)}"
                elif not slug and path:
                    _append(links, f"https://www.linkedin.com/{path}")
            elif social == "twitter":
                handle = re.match(r"@?(\w{1,15})$", path)
                if handle and handle.group(1).lower() not in {"home", "intent", "share", "i"}:
                    twitter = twitter or f"https://x.com/{handle.group(1)}"
            elif social:
                if path:
                    canonical = registered if social in {"github", "medium"} else host
                    if canonical == registered and social not in {"github", "medium"}:
                        canonical = f"www.{registered}"
                    _append(links, f"https://{canonical}/{path}")
            elif registered not in _IGNORED_HOSTS and host not in _IGNORED_HOSTS:
                _append(websites, f"https://{host}/")
        handle = re.search(r"\b(?:twitter|x)\s*:\s*@(\w{1,15})\b", line, re.IGNORECASE)
        if handle and not twitter:
            twitter = f"https://x.com/{handle.group(1)}"
    own = [url for url in websites if _registered(_host_and_path(url)[0]) == sender_domain]
    website = (own or websites or [""])[0]
    return website, linkedin, twitter, links


def _append(values: list[str], value: str) -> None:
    if value not in values:
        values.append(value)


def _title(block: list[str], sender: Address) -> str:
    """The job title: the rest of the name line ("Anna Schmidt | Head of Sales") or the line
    after the name."""
    full_name = _sender_name(sender)
    company_label = _squeeze(_registered(sender.email.rpartition("@")[2]).split(".")[0])
    for index, line in enumerate(block):
        if not _is_name_line(line, full_name):
            continue
        # "Robert Hughes, P.E." carries no title on the name line: the next line may.
        candidates = [_after_name(line, full_name), *block[index + 1 : index + 2]]
        return next(
            (title for text in candidates if text and (title := _clean_title(text, company_label))),
            "",
        )
    return ""


def _after_name(line: str, full_name: str) -> str:
    """What follows the name on its line, after a separator."""
    parts = _TITLE_SEPARATORS.split(line, maxsplit=1)
    if len(parts) == 2 and _fold(parts[0]).strip(" ,.").endswith(full_name.split(" ")[-1]):
        return parts[1].strip()
    return ""


def _clean_title(line: str, company_label: str) -> str:
    """`line` cut before the company ("Head of Sales, Acme GmbH", "Einkauf bei Acme"), or ""
    when it is no title (a company, an address, a phone or URL line)."""
    candidate = line.strip(" |·•,;")
    parts = _TITLE_SEPARATORS.split(candidate)
    title_parts = []
    for part in parts:
        if _LEGAL_FORMS.search(part) or (company_label and company_label in _squeeze(part)):
            break
        if not _looks_like_title(part):
            break
        title_parts.append(part.strip())
    if not title_parts:
        return ""
    title = title_parts[0]
    # "Head of Sales, DACH" and "VP, Marketing" keep their second part.
    for part in title_parts[1:]:
        if _REGION_WORDS.fullmatch(part) or (len(part.split()) == 1 and _TITLE_WORDS.search(part)):
            title = f"{title}, {part}"
        else:
            break
    return title if _TITLE_WORDS.search(title) else ""


def _looks_like_title(part: str) -> bool:
    if not part or len(part) > 60 or len(part.split()) > 8:
        return False
    if re.search(r"\d|@|https?:|www\.|\.(com|de|fr|net|org)\b", part, re.IGNORECASE):
        return False
    if _LABEL.search(part.split(":")[0] + ":") and ":" in part:
        return False
    return not _SIGN_OFF.match(part)
