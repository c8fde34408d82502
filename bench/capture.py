"""E-mail capture throughput: messages per second from an mbox to contacts and activities.

    .venv/bin/python bench/capture.py [--messages 100000] [--seed 1] [--mbox PATH]
        [--postgres URL] [--profile N]

Why: capture has to swallow whole mailbox exports (years of a team's mail) in one go, and its
parser gave up the stdlib's modern header API for speed (see salesdesk/capture/parsing.py). The
goal is that the whole pipeline (parse, match, write) keeps at least half the speed of bare
`email.message_from_bytes` on the same file; this script measures both on one mbox.

It writes a realistic mbox (the same bytes for the same --seed and --messages): a few hundred
outside companies and a few thousand outside people (some on free mail), the inbound and
outbound mail of six colleagues in threads with quoted history, signatures in six languages,
plain, HTML-only and multipart/alternative messages, UTF-8, ISO-8859-1 and Windows-1252,
Outlook logos and attachments, newsletters, notifications, auto-replies, a few messages without
Message-ID and a few duplicates. Then each measurement runs in a subprocess of its own, since
Django's settings choose the database at import time:

1. bare parsing: the mbox read with the pipeline's own reader (`files.read_mbox`) alone, then
   with `email.message_from_bytes(raw)` on every message (the default policy, compat32, which
   is also the one the pipeline's parser uses), then with the pipeline's `parse_message(raw)`;
2. `capture_file` (what `salesdesk capture mbox FILE --user EMAIL` runs) as one colleague into
   a freshly migrated SQLite database in a temporary SALESDESK_VAR_DIR; then the same file
   again, when every message is a duplicate;
3. the same on PostgreSQL when --postgres URL (default: DATABASE_URL, when it is PostgreSQL)
   is given. That database is dropped and created again, so its name must contain "bench".

--profile N captures the first N messages into a fresh SQLite database under cProfile and
prints where the time goes.
"""

import argparse
import base64
import datetime
import html
import json
import os
import platform
import quopri
import random
import re
import subprocess
import sys
import tempfile
import textwrap
import time
import unicodedata
from collections import Counter, deque
from dataclasses import dataclass, field
from email.header import Header
from email.utils import format_datetime, formataddr
from pathlib import Path
from urllib.parse import quote, urlsplit

import phonenumbers

INTERNAL_DOMAIN = "brightwater-systems.com"
START = datetime.datetime(2025, 1, 6, 7, 0, tzinfo=datetime.UTC)
END = datetime.datetime(2026, 11, 30, 18, 0, tzinfo=datetime.UTC)

# --- Who writes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Language:
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    titles: tuple[str, ...]
    greetings: tuple[str, ...]
    closings: tuple[str, ...]
    sentences: tuple[str, ...]
    subjects: tuple[str, ...]
    weekdays: tuple[str, ...]
    reply_prefix: str
    reply_header: str  # "On {date}, {name} <{email}> wrote:"
    date_format: str
    outlook_labels: tuple[str, str, str, str]  # From, Sent, To, Subject
    phone_labels: tuple[str, str]  # office, mobile
    auto_subject: str
    auto_text: str
    attachment: str  # file name stem of a quote
    from_phone: str  # "Sent from my iPhone"


LANGUAGES = {
    "en": Language(
        first_names=("James", "Emma", "Oliver", "Sophie", "Daniel", "Laura", "Michael", "Hannah",
                     "Ryan", "Olivia", "David", "Grace", "Chris", "Megan", "Andrew", "Rachel"),
        last_names=("Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Walker", "Wright",
                    "Thompson", "Hughes", "Clarke", "Patel", "O'Brien", "Murphy", "Lewis"),
        titles=("Head of Procurement", "IT Director", "Operations Manager",
                "Chief Financial Officer", "Purchasing Manager", "Senior Buyer", "VP Sales",
                "Project Manager", "Office Manager"),
        greetings=("Hi {first},", "Hello {first},", "Dear {first},", "{first},"),
        closings=("Best regards", "Kind regards", "Many thanks", "Best", "Thanks"),
        sentences=(
            "Thanks for the call on {weekday}, it was good to go through the numbers together.",
            "Could you send me the updated quote for {qty} licences before {weekday}?",
            "We reviewed the proposal internally and have a few questions about the rollout.",
            "From our side the timeline works, but procurement needs the signed order form by "
            "the end of the month.",
            "Attached is purchase order {po}; please confirm receipt.",
            "Our budget for the next quarter is about {amount}, so the second option fits "
            "better.",
            "I have looped in {colleague}, who runs the integration on our side.",
            "Can we move the demo to {weekday} at {time}? Something came up.",
            "The pilot in our {city} office went well and the team would like to continue.",
            "Please note that invoice {invoice} is still open; it was due on {date}.",
            "From what I understand the API limits apply per account, not per user. Is that "
            "right?",
            "Let me know if you need anything else from us.",
            "We would like to add {qty} seats to the existing contract from {date}.",
            "Our legal team has marked up the DPA, see their comments in section {n}.",
            "Is there a volume discount above {qty} users?",
        ),
        subjects=("Quote for {qty} licences", "Follow-up: pilot in {city}",
                  "Purchase order {po}", "Demo on {weekday}", "Contract renewal {year}",
                  "Question about invoice {invoice}", "Onboarding plan", "API limits",
                  "Pricing for the {product} plan", "Notes from our meeting on {date}"),
        weekdays=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"),
        reply_prefix="Re: ",
        reply_header="On {date}, {name} <{email}> wrote:",
        date_format="%a, %d %b %Y at %H:%M",
        outlook_labels=("From", "Sent", "To", "Subject"),
        phone_labels=("Tel:", "Mobile:"),
        auto_subject="Automatic reply: {subject}",
        auto_text="Thank you for your message. I am out of the office until {date} with limited "
        "access to e-mail. For urgent matters please contact {colleague}.",
        attachment="Quote",
        from_phone="Sent from my iPhone",
    ),
    "de": Language(
        first_names=("Thomas", "Anna", "Stefan", "Julia", "Andreas", "Katrin", "Markus", "Sabine",
                     "Jürgen", "Lena", "Matthias", "Birgit", "Lukas", "Jörg", "Sophie"),
        last_names=("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner",
                    "Becker", "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Krüger",
                    "Großmann"),
        titles=("Leiterin Einkauf", "Leiter IT", "Geschäftsführer", "Projektleiterin",
                "Teamleiter Vertrieb", "Kaufmännische Leitung", "Head of Operations",
                "Einkäufer"),
        greetings=("Hallo {first},", "Guten Tag,", "Sehr geehrte Damen und Herren,",
                   "Hallo {first}!"),
        closings=("Mit freundlichen Grüßen", "Viele Grüße", "Beste Grüße", "Schöne Grüße"),
        sentences=(
            "Vielen Dank für das Gespräch am {weekday}, das hat uns sehr geholfen.",
            "Könnten Sie mir bitte ein aktualisiertes Angebot über {qty} Lizenzen schicken?",
            "Wir haben den Vorschlag intern besprochen und noch einige Fragen zur Einführung.",
            "Die Bestellung {po} liegt im Anhang; bitte bestätigen Sie den Eingang.",
            "Unser Budget für das nächste Quartal liegt bei etwa {amount}, daher passt die "
            "zweite Option besser.",
            "Ich habe {colleague} in Kopie gesetzt, sie betreut die Integration bei uns.",
            "Können wir die Vorführung auf {weekday} um {time} Uhr verschieben?",
            "Der Pilot in unserem Büro in {city} lief gut, das Team möchte gerne weitermachen.",
            "Die Rechnung {invoice} ist leider noch offen, fällig war sie am {date}.",
            "Unsere Rechtsabteilung hat den AV-Vertrag geprüft, Anmerkungen finden Sie in "
            "Abschnitt {n}.",
            "Gibt es ab {qty} Nutzern eine Staffelung der Preise?",
            "Für Rückfragen stehe ich Ihnen gerne zur Verfügung.",
            "Wir möchten ab dem {date} zusätzlich {qty} Arbeitsplätze buchen.",
            "Bitte schicken Sie uns auch die Zugangsdaten für die Testumgebung.",
        ),
        subjects=("Angebot über {qty} Lizenzen", "Rückfrage zum Pilotprojekt in {city}",
                  "Bestellung {po}", "Termin am {weekday}", "Vertragsverlängerung {year}",
                  "Rechnung {invoice}", "Einführungsplan", "Preise für {product}",
                  "Gesprächsnotizen vom {date}", "Schnittstelle und Datenübernahme"),
        weekdays=("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag"),
        reply_prefix="AW: ",
        reply_header="Am {date} schrieb {name} <{email}>:",
        date_format="%d.%m.%Y um %H:%M",
        outlook_labels=("Von", "Gesendet", "An", "Betreff"),
        phone_labels=("Tel.:", "Mobil:"),
        auto_subject="Abwesenheitsnotiz: {subject}",
        auto_text="Vielen Dank für Ihre Nachricht. Ich bin bis zum {date} nicht im Büro und "
        "habe nur eingeschränkt Zugriff auf meine E-Mails. In dringenden Fällen wenden Sie sich "
        "bitte an {colleague}.",
        attachment="Angebot",
        from_phone="Von meinem iPhone gesendet",
    ),
    "fr": Language(
        first_names=("Julien", "Camille", "Nicolas", "Élodie", "Pierre", "Chloé", "François",
                     "Amélie", "Sébastien", "Léa", "Mathieu", "Hélène", "Antoine", "Céline"),
        last_names=("Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Laurent", "Girard",
                    "Rousseau", "Fournier", "Mercier", "Bonnet", "Lemaître", "Faure"),
        titles=("Directeur des achats", "Responsable informatique", "Directrice financière",
                "Chef de projet", "Responsable des opérations", "Acheteuse",
                "Directeur général"),
        greetings=("Bonjour {first},", "Bonjour,", "Madame, Monsieur,", "Cher {first},"),
        closings=("Cordialement", "Bien cordialement", "Bonne journée", "Bien à vous"),
        sentences=(
            "Merci pour l'échange de {weekday}, c'était très utile.",
            "Pourriez-vous m'envoyer un devis mis à jour pour {qty} licences ?",
            "Nous avons étudié votre proposition en interne et avons quelques questions sur le "
            "déploiement.",
            "Vous trouverez ci-joint le bon de commande {po} ; merci d'en accuser réception.",
            "Notre budget pour le prochain trimestre est d'environ {amount}, la deuxième option "
            "nous convient donc mieux.",
            "J'ai mis en copie {colleague}, qui s'occupe de l'intégration chez nous.",
            "Est-il possible de décaler la démonstration à {weekday} à {time} ?",
            "Le pilote dans notre bureau de {city} s'est bien passé et l'équipe souhaite "
            "continuer.",
            "La facture {invoice} reste impayée, l'échéance était le {date}.",
            "Notre service juridique a relu le contrat, voir leurs remarques à l'article {n}.",
            "Existe-t-il une remise à partir de {qty} utilisateurs ?",
            "Je reste à votre disposition pour toute question.",
        ),
        subjects=("Devis pour {qty} licences", "Suite du pilote à {city}",
                  "Bon de commande {po}", "Démo de {weekday}", "Renouvellement du contrat {year}",
                  "Facture {invoice}", "Tarifs de l'offre {product}", "Compte rendu du {date}"),
        weekdays=("lundi", "mardi", "mercredi", "jeudi", "vendredi"),
        reply_prefix="RE : ",
        reply_header="Le {date}, {name} <{email}> a écrit :",
        date_format="%d/%m/%Y à %H:%M",
        outlook_labels=("De", "Envoyé", "À", "Objet"),
        phone_labels=("Tél. :", "Mob. :"),
        auto_subject="Réponse automatique : {subject}",
        auto_text="Merci pour votre message. Je suis absent(e) jusqu'au {date}. Pour toute "
        "urgence, merci de contacter {colleague}.",
        attachment="Devis",
        from_phone="Envoyé de mon iPhone",
    ),
    "es": Language(
        first_names=("Javier", "Lucía", "Carlos", "María", "Alejandro", "Paula", "Sergio",
                     "Marta", "Pablo", "Elena", "Álvaro", "Nuria", "Íñigo"),
        last_names=("García", "Fernández", "González", "Rodríguez", "López", "Martínez",
                    "Sánchez", "Pérez", "Gómez", "Núñez", "Jiménez", "Muñoz"),
        titles=("Director de Compras", "Responsable de IT", "Directora Financiera",
                "Jefe de Proyecto", "Responsable de Operaciones", "Gerente"),
        greetings=("Hola {first}:", "Hola {first},", "Buenos días,", "Estimado {first}:"),
        closings=("Saludos", "Un saludo", "Atentamente", "Un abrazo"),
        sentences=(
            "Gracias por la llamada del {weekday}, fue muy útil.",
            "¿Podría enviarme una oferta actualizada para {qty} licencias?",
            "Hemos revisado la propuesta internamente y tenemos algunas preguntas sobre la "
            "implantación.",
            "Adjunto el pedido {po}; por favor, confirme la recepción.",
            "Nuestro presupuesto para el próximo trimestre es de unos {amount}, así que la "
            "segunda opción encaja mejor.",
            "He puesto en copia a {colleague}, que lleva la integración por nuestra parte.",
            "¿Podemos mover la demostración al {weekday} a las {time}?",
            "El piloto en nuestra oficina de {city} salió bien y el equipo quiere continuar.",
            "La factura {invoice} sigue pendiente; vencía el {date}.",
            "Nuestro departamento jurídico ha revisado el contrato, vea sus comentarios en la "
            "cláusula {n}.",
            "Quedo a su disposición para cualquier consulta.",
        ),
        subjects=("Oferta para {qty} licencias", "Seguimiento del piloto en {city}",
                  "Pedido {po}", "Demostración del {weekday}", "Renovación del contrato {year}",
                  "Factura {invoice}", "Precios de {product}", "Acta de la reunión del {date}"),
        weekdays=("lunes", "martes", "miércoles", "jueves", "viernes"),
        reply_prefix="RE: ",
        reply_header="El {date}, {name} (<{email}>) escribió:",
        date_format="%d/%m/%Y a las %H:%M",
        outlook_labels=("De", "Enviado el", "Para", "Asunto"),
        phone_labels=("Tel.:", "Móvil:"),
        auto_subject="Respuesta automática: {subject}",
        auto_text="Gracias por su mensaje. Estoy fuera de la oficina hasta el {date}. Para "
        "asuntos urgentes, contacte con {colleague}.",
        attachment="Oferta",
        from_phone="Enviado desde mi iPhone",
    ),
    "nl": Language(
        first_names=("Jeroen", "Sanne", "Bram", "Lotte", "Thijs", "Femke", "Pieter", "Anouk",
                     "Ruben", "Eline", "Maarten"),
        last_names=("de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser",
                    "Smit", "Meijer", "de Boer", "Mulder", "van Dijk"),
        titles=("Inkoopmanager", "Hoofd IT", "Financieel directeur", "Projectleider",
                "Operationeel manager", "Directeur"),
        greetings=("Hoi {first},", "Beste {first},", "Goedemorgen,"),
        closings=("Met vriendelijke groet", "Groeten", "Met hartelijke groet"),
        sentences=(
            "Bedankt voor het gesprek van {weekday}, dat was erg nuttig.",
            "Kunt u mij een bijgewerkte offerte sturen voor {qty} licenties?",
            "We hebben het voorstel intern besproken en hebben nog enkele vragen over de uitrol.",
            "In de bijlage vindt u inkooporder {po}; graag een ontvangstbevestiging.",
            "Ons budget voor het volgende kwartaal is ongeveer {amount}, dus de tweede optie "
            "past beter.",
            "Ik heb {colleague} in de cc gezet, zij begeleidt de integratie bij ons.",
            "Kunnen we de demo verplaatsen naar {weekday} om {time}?",
            "De pilot op ons kantoor in {city} is goed verlopen en het team wil graag verder.",
            "Factuur {invoice} staat nog open; de vervaldatum was {date}.",
            "Onze juridische afdeling heeft de overeenkomst doorgenomen, zie artikel {n}.",
            "Laat het me weten als u nog iets nodig heeft.",
        ),
        subjects=("Offerte voor {qty} licenties", "Vervolg pilot {city}", "Inkooporder {po}",
                  "Demo op {weekday}", "Contractverlenging {year}", "Factuur {invoice}",
                  "Prijzen {product}", "Notulen {date}"),
        weekdays=("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag"),
        reply_prefix="RE: ",
        reply_header="Op {date} schreef {name} <{email}>:",
        date_format="%d-%m-%Y om %H:%M",
        outlook_labels=("Van", "Verzonden", "Aan", "Onderwerp"),
        phone_labels=("T:", "M:"),
        auto_subject="Automatisch antwoord: {subject}",
        auto_text="Bedankt voor uw bericht. Ik ben tot {date} afwezig. Voor dringende zaken kunt "
        "u contact opnemen met {colleague}.",
        attachment="Offerte",
        from_phone="Verstuurd vanaf mijn iPhone",
    ),
    "it": Language(
        first_names=("Luca", "Giulia", "Marco", "Francesca", "Alessandro", "Chiara", "Matteo",
                     "Sara", "Davide", "Federica", "Niccolò"),
        last_names=("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo",
                    "Ricci", "Marino", "Greco", "De Luca"),
        titles=("Responsabile Acquisti", "Direttore IT", "Direttrice Amministrativa",
                "Project Manager", "Responsabile Operativo", "Amministratore Delegato"),
        greetings=("Ciao {first},", "Buongiorno {first},", "Gentile {first},"),
        closings=("Cordiali saluti", "Saluti", "Buona giornata", "Un saluto"),
        sentences=(
            "Grazie per la telefonata di {weekday}, è stata molto utile.",
            "Potrebbe inviarmi un'offerta aggiornata per {qty} licenze?",
            "Abbiamo esaminato la proposta internamente e abbiamo alcune domande sul rilascio.",
            "In allegato trova l'ordine d'acquisto {po}; la prego di confermarne la ricezione.",
            "Il nostro budget per il prossimo trimestre è di circa {amount}, quindi la seconda "
            "opzione è più adatta.",
            "Ho messo in copia {colleague}, che segue l'integrazione da parte nostra.",
            "Possiamo spostare la demo a {weekday} alle {time}?",
            "Il pilota nel nostro ufficio di {city} è andato bene e il team vorrebbe continuare.",
            "La fattura {invoice} risulta ancora aperta; la scadenza era il {date}.",
            "Il nostro ufficio legale ha rivisto il contratto, veda le note all'articolo {n}.",
            "Resto a disposizione per qualsiasi chiarimento.",
        ),
        subjects=("Offerta per {qty} licenze", "Seguito del progetto pilota a {city}",
                  "Ordine {po}", "Demo di {weekday}", "Rinnovo del contratto {year}",
                  "Fattura {invoice}", "Prezzi per {product}", "Verbale del {date}"),
        weekdays=("lunedì", "martedì", "mercoledì", "giovedì", "venerdì"),
        reply_prefix="R: ",
        reply_header="Il giorno {date} {name} <{email}> ha scritto:",
        date_format="%d/%m/%Y alle %H:%M",
        outlook_labels=("Da", "Inviato", "A", "Oggetto"),
        phone_labels=("Tel.", "Cell."),
        auto_subject="Risposta automatica: {subject}",
        auto_text="Grazie per il messaggio. Sono fuori ufficio fino al {date}. Per urgenze "
        "contattare {colleague}.",
        attachment="Offerta",
        from_phone="Inviato da iPhone",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Country:
    code: str  # the region phonenumbers knows
    language: str
    tld: str
    legal_form: str
    cities: tuple[str, ...]
    utc_offset: int  # hours; good enough for Date headers
    free_mail: tuple[str, ...]


COUNTRIES = (  # (country, weight)
    (Country("DE", "de", "de", "GmbH", ("Berlin", "Hamburg", "München", "Köln"), 1,
             ("gmail.com", "web.de", "gmx.de", "t-online.de")), 25),
    (Country("GB", "en", "co.uk", "Ltd", ("London", "Manchester", "Leeds", "Bristol"), 0,
             ("gmail.com", "outlook.com", "hotmail.co.uk", "btinternet.com")), 15),
    (Country("US", "en", "com", "Inc.", ("Boston", "Chicago", "Austin", "Seattle"), -5,
             ("gmail.com", "yahoo.com", "outlook.com", "icloud.com")), 12),
    (Country("FR", "fr", "fr", "SAS", ("Paris", "Lyon", "Toulouse", "Nantes"), 1,
             ("gmail.com", "orange.fr", "free.fr", "hotmail.fr")), 12),
    (Country("NL", "nl", "nl", "B.V.", ("Amsterdam", "Rotterdam", "Utrecht"), 1,
             ("gmail.com", "ziggo.nl", "outlook.com")), 8),
    (Country("ES", "es", "es", "S.L.", ("Madrid", "Barcelona", "Valencia", "Sevilla"), 1,
             ("gmail.com", "hotmail.es", "telefonica.net")), 8),
    (Country("IT", "it", "it", "S.r.l.", ("Milano", "Roma", "Torino", "Bologna"), 1,
             ("gmail.com", "libero.it", "alice.it")), 8),
    (Country("AT", "de", "at", "GmbH", ("Wien", "Graz", "Linz"), 1,
             ("gmail.com", "gmx.at", "aon.at")), 5),
    (Country("CH", "de", "ch", "AG", ("Zürich", "Basel", "Bern"), 1,
             ("gmail.com", "bluewin.ch", "gmx.ch")), 5),
    (Country("BE", "fr", "be", "SA", ("Bruxelles", "Liège", "Namur"), 1,
             ("gmail.com", "skynet.be", "telenet.be")), 2),
)  # fmt: skip

NAME_STARTS = ("Nord", "Alpen", "Rhein", "Blue", "Silver", "Oak", "Atlas", "Delta", "Vega",
               "Helio", "Terra", "Aqua", "Stern", "Falken", "Lumen", "Orion", "Kobalt", "Granit",
               "Linden", "Brück", "Cedar", "Iron", "Sol", "Polar", "Quarz")  # fmt: skip
NAME_ENDS = ("tech", "werk", "data", "logistik", "systems", "bau", "soft", "med", "energy",
             "print", "chem", "food", "textil", "motion", "labs", "works", "trade", "consult",
             "net", "line", "form", "port", "care", "field")  # fmt: skip
PRODUCTS = ("Professional", "Enterprise", "Team", "Analytics")
STREETS = {
    "en": ("Park Street", "Main Street", "Harbour Road"),
    "de": ("Hauptstr.", "Industriestraße", "Am Hafen"),
    "fr": ("Rue de la Paix", "Avenue Jean Jaurès"),
    "es": ("Calle Mayor", "Avenida de América"),
    "nl": ("Kerkstraat", "Stationsweg"),
    "it": ("Via Roma", "Corso Italia"),
}
MAILERS = (("outlook", 50), ("gmail", 25), ("apple", 15), ("thunderbird", 10))
SHAPES = {  # the body of a person's mail, by mail client: (usually, how often, else)
    "outlook": ("multipart/alternative", 0.85, "HTML only"),
    "gmail": ("multipart/alternative", 0.95, "plain text"),
    "apple": ("plain text", 0.6, "multipart/alternative"),
    "thunderbird": ("plain text", 0.85, "multipart/alternative"),
}
COLLEAGUES = (  # the capture user is the first
    ("Alice", "Martin", "en", "Account Executive"),
    ("Jonas", "Weber", "de", "Account Executive DACH"),
    ("Claire", "Dubois", "fr", "Account Executive France"),
    ("Marco", "Rossi", "it", "Sales Manager Southern Europe"),
    ("Sofía", "García", "es", "Customer Success Manager"),
    ("Tom", "Baker", "en", "Solutions Engineer"),
)
VENDORS = (  # newsletters: (name, sender)
    ("CloudMetrics", "newsletter@news.cloudmetrics.io"),
    ("SaaS Weekly", "digest@saasweekly.com"),
    ("Logistik Heute", "redaktion@logistik-heute.de"),
    ("EventHub", "marketing@mail.eventhub.com"),
    ("Office Direct", "angebote@office-direct.de"),
    ("DevOps Digest", "hello@devopsdigest.dev"),
    ("Le Journal des Achats", "lettre@journal-achats.fr"),
    ("FinTech Insider", "news@fintechinsider.co.uk"),
    ("Trade Fair Milano", "info@fieramilano-expo.it"),
    ("Cloud Summit", "team@cloudsummit.events"),
)
SERVICES = (  # notifications: (name, sender)
    ("ProjectHub", "notifications@projecthub.io"),
    ("CloudHost Billing", "no-reply@billing.cloudhost.com"),
    ("SignIt", "noreply@signit.com"),
    ("MeetSlot", "notifications@meetslot.com"),
    ("Expense Tool", "do-not-reply@expensely.com"),
)
ROLE_LOCALS = ("info", "sales", "kontakt", "office", "orders", "bonjour", "ventas", "hello")


@dataclass
class Company:
    name: str
    domain: str
    country: Country
    address: str
    footer: str  # legal line of German signatures
    people: list = field(default_factory=list)


@dataclass
class Person:
    first: str
    last: str
    email: str
    language: str
    country: Country
    company: Company | None
    mailer: str
    signature: list[str]  # plain lines, without the closing
    signature_html: str
    weight: float = 1.0
    internal: bool = False

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    def address(self, style: int = 0) -> str:
        """As a From/To header writes it: mostly "First Last <a@b>", sometimes "Last, First"
        (Exchange directories) or the bare address."""
        if style == 1:
            return formataddr((f"{self.last}, {self.first}", self.email), "utf-8")
        if style == 2:
            return self.email
        return formataddr((self.name, self.email), "utf-8")


def ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", folded.lower())


def phone(rng: random.Random, country: Country, *, mobile: bool) -> tuple[str, str]:
    """(as written, E.164): a number phonenumbers accepts, from the region's example number."""
    kind = (
        phonenumbers.PhoneNumberType.MOBILE if mobile else phonenumbers.PhoneNumberType.FIXED_LINE
    )
    example = phonenumbers.example_number_for_type(country.code, kind)
    digits = str(example.national_number)
    number = example
    for _ in range(20):
        keep = max(2, len(digits) - 6)
        candidate = digits[:keep] + "".join(rng.choice("0123456789") for _ in digits[keep:])
        parsed = phonenumbers.parse(f"+{example.country_code}{candidate}")
        if phonenumbers.is_valid_number(parsed):
            number = parsed
            break
    style = rng.choice(
        (phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.NATIONAL)
    )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return phonenumbers.format_number(number, style), e164


def signature(rng: random.Random, person: Person, title: str) -> tuple[list[str], str]:
    """The person's signature as text lines and as HTML: name, title, company, address, phones,
    website, LinkedIn, and the legal footer German companies must print."""
    language = LANGUAGES[person.language]
    company = person.company
    lines = [person.name]
    parts = [f"<b>{html.escape(person.name)}</b>"]
    if rng.random() < 0.85:
        lines.append(title)
        parts.append(html.escape(title))
    if company is not None:
        lines.append(company.name)
        parts.append(html.escape(company.name))
        if rng.random() < 0.5:
            lines.append(company.address)
            parts.append(html.escape(company.address))
    if company is not None or rng.random() < 0.3:
        shown, e164 = phone(rng, person.country, mobile=False)
        lines.append(f"{language.phone_labels[0]} {shown}")
        parts.append(f'{language.phone_labels[0]} <a href="tel:{e164}">{shown}</a>')
    if rng.random() < 0.5:
        shown, e164 = phone(rng, person.country, mobile=True)
        lines.append(f"{language.phone_labels[1]} {shown}")
        parts.append(f'{language.phone_labels[1]} <a href="tel:{e164}">{shown}</a>')
    if company is not None and rng.random() < 0.6:
        lines.append(f"www.{company.domain}")
        parts.append(f'<a href="https://www.{company.domain}/">www.{company.domain}</a>')
    if rng.random() < 0.3:
        slug = f"{ascii_slug(person.first)}-{ascii_slug(person.last)}-{rng.getrandbits(24):06x}"
        url = f"https://www.linkedin.com/in/{slug}"
        lines.append(f"LinkedIn: {url}")
        parts.append(f'<a href="{url}"><img src="cid:linkedin.png" alt="LinkedIn"></a>')
    if company is not None and company.footer:
        lines += ["", company.footer]
        parts.append(f'<span style="font-size:8pt;color:#888">{html.escape(company.footer)}</span>')
    if person.mailer == "thunderbird":
        lines.insert(0, "-- ")
    return lines, "<br>\n".join(parts)


@dataclass
class World:
    companies: list[Company]
    people: list[Person]  # outside people
    colleagues: list[Person]


def make_world(rng: random.Random, companies: int, people: int) -> World:
    countries = [c for c, _ in COUNTRIES]
    country_weights = [w for _, w in COUNTRIES]
    mailers = [m for m, _ in MAILERS]
    mailer_weights = [w for _, w in MAILERS]

    made: list[Company] = []
    domains = set()
    while len(made) < companies:
        country = rng.choices(countries, country_weights)[0]
        base = rng.choice(NAME_STARTS) + rng.choice(NAME_ENDS)
        tld = country.tld if rng.random() < 0.7 else rng.choice(("com", "eu", "io", "net"))
        slug = base.lower().replace("ü", "ue").replace("ö", "oe")
        if rng.random() < 0.3:
            slug += "-" + rng.choice(("group", "solutions", "international", "partners"))
        domain = f"{slug}.{tld}"
        if domain in domains:
            continue
        domains.add(domain)
        city = rng.choice(country.cities)
        name = f"{base} {country.legal_form}"
        footer = ""
        if country.language == "de":
            german = LANGUAGES["de"]
            footer = (
                f"{name} · Sitz: {city} · Amtsgericht {city} HRB {rng.randint(10000, 299999)} · "
                f"Geschäftsführung: {rng.choice(german.first_names)} "
                f"{rng.choice(german.last_names)} · USt-IdNr. DE{rng.randint(10**8, 10**9 - 1)}"
            )
        street = rng.choice(STREETS[country.language])
        if country.language == "en":
            address = f"{rng.randint(1, 200)} {street}, {city}"
        else:
            address = f"{street} {rng.randint(1, 120)}, {rng.randint(10000, 99999)} {city}"
        made.append(Company(name, domain, country, address, footer))
    # A few companies get most of the mail, as in any pipeline.
    company_weights = [rng.paretovariate(1.2) for _ in made]

    persons: list[Person] = []
    emails = set()
    while len(persons) < people:
        on_free_mail = rng.random() < 0.15
        company = None if on_free_mail else rng.choices(made, company_weights)[0]
        country = company.country if company else rng.choices(countries, country_weights)[0]
        language = LANGUAGES[country.language]
        first, last = rng.choice(language.first_names), rng.choice(language.last_names)
        f, l_ = ascii_slug(first), ascii_slug(last)
        if company:
            local = rng.choice((f"{f}.{l_}", f"{f[0]}.{l_}", f"{f[0]}{l_}", f, f"{f}.{l_}"))
            email = f"{local}@{company.domain}"
        else:
            number = rng.choice(("", "", str(rng.randint(1, 99)), str(rng.randint(1960, 2001))))
            email = f"{f}.{l_}{number}@{rng.choice(country.free_mail)}"
        if email in emails:
            continue
        emails.add(email)
        mailer = rng.choices(mailers, mailer_weights)[0]
        if email.endswith("@gmail.com"):
            mailer = "gmail"
        person = Person(first, last, email, country.language, country, company, mailer, [], "")
        person.signature, person.signature_html = signature(
            rng, person, rng.choice(language.titles)
        )
        person.weight = rng.paretovariate(1.5)
        persons.append(person)
        if company:
            company.people.append(person)

    internal = Company("Brightwater Systems GmbH", INTERNAL_DOMAIN, countries[0], "", "")
    colleagues = []
    for first, last, language, title in COLLEAGUES:
        email = f"{ascii_slug(first)}.{ascii_slug(last)}@{INTERNAL_DOMAIN}"
        person = Person(first, last, email, language, countries[0], internal, "gmail", [], "")
        person.signature, person.signature_html = signature(rng, person, title)
        person.internal = True
        colleagues.append(person)
    return World(made, persons, colleagues)


LOGO_ID = "image001.png@01DB3A4C.5E6F7A80"  # the company logo in Outlook signatures
OUTLOOK_HEAD = """<html xmlns:v="urn:schemas-microsoft-com:vml" \
xmlns:o="urn:schemas-microsoft-com:office:office" \
xmlns:w="urn:schemas-microsoft-com:office:word" \
xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" \
xmlns="http://www.w3.org/TR/REC-html40">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=CHARSET">
<meta name="Generator" content="Microsoft Word 15 (filtered medium)">
<style><!--
/* Font Definitions */
@font-face
\t{font-family:"Cambria Math";
\tpanose-1:2 4 5 3 5 4 6 3 2 4;}
@font-face
\t{font-family:Calibri;
\tpanose-1:2 15 5 2 2 2 4 3 2 4;}
/* Style Definitions */
p.MsoNormal, li.MsoNormal, div.MsoNormal
\t{margin:0cm;
\tfont-size:11.0pt;
\tfont-family:"Calibri",sans-serif;
\tmso-ligatures:standardcontextual;
\tmso-fareast-language:EN-US;}
a:link, span.MsoHyperlink
\t{mso-style-priority:99;
\tcolor:#0563C1;
\ttext-decoration:underline;}
span.EmailStyle17
\t{mso-style-type:personal-compose;
\tfont-family:"Calibri",sans-serif;
\tcolor:windowtext;}
.MsoChpDefault
\t{mso-style-type:export-only;
\tfont-size:10.0pt;
\tmso-ligatures:none;}
@page WordSection1
\t{size:612.0pt 792.0pt;
\tmargin:70.85pt 70.85pt 2.0cm 70.85pt;}
div.WordSection1
\t{page:WordSection1;}
--></style>
</head>
"""
OUTLOOK_PARAGRAPH = (
    '<p class="MsoNormal"><span style="font-size:11.0pt">{}<o:p></o:p></span></p>\n'
    '<p class="MsoNormal"><o:p>&nbsp;</o:p></p>\n'
)
GMAIL_QUOTE = (
    '<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">{head}<br></div>'
    '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;'
    'border-left:1px solid rgb(204,204,204);padding-left:1ex">{quoted}</blockquote></div>\n'
)
OUTLOOK_RULE = (
    '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
)  # fmt: skip
NEWSLETTER_ARTICLE = (
    '<tr><td class="article" style="padding:24px 32px;font-family:Helvetica,Arial,sans-serif;'
    'font-size:16px;line-height:24px;color:#333333"><h2 style="margin:0 0 12px;font-size:22px;'
    'color:#111111">{title}</h2><p style="margin:0 0 16px">{text}</p><a href="{link}" '
    'style="display:inline-block;padding:10px 18px;background:#0a66c2;color:#ffffff;'
    'text-decoration:none;border-radius:4px">Read more</a><img src="{image}" width="536" alt="" '
    'style="display:block;margin-top:16px;border:0"></td></tr>'
)

# --- MIME by hand ---------------------------------------------------------------------------
# Hand-made rather than through email.message.EmailMessage: a hundred thousand messages must be
# written in a minute or two, and the bytes should look like what mail clients send.

CODECS = {"utf-8": "utf-8", "iso-8859-1": "latin-1", "windows-1252": "cp1252", "us-ascii": "ascii"}
Part = tuple[list[str], bytes]  # header lines, body


def text_part(text: str, subtype: str, charset: str, encoding: str, flowed: bool = False) -> Part:
    data = text.encode(CODECS[charset], "replace")
    if encoding == "quoted-printable":
        payload = quopri.encodestring(data)
    elif encoding == "base64":
        payload = base64.encodebytes(data)
    else:
        payload = data
    if not payload.endswith(b"\n"):
        payload += b"\n"
    content_type = f'text/{subtype}; charset="{charset}"' + ("; format=flowed" if flowed else "")
    return [f"Content-Type: {content_type}", f"Content-Transfer-Encoding: {encoding}"], payload


def file_part(name: str, content_type: str, data: bytes, content_id: str = "") -> Part:
    if name.isascii():
        parameter = f'filename="{name}"'
        type_name = f'; name="{name}"'
    else:  # RFC 2231, as Thunderbird and Apple Mail write non-ASCII names
        parameter = f"filename*=utf-8''{quote(name)}"
        type_name = ""
    headers = [
        f"Content-Type: {content_type}{type_name}",
        f"Content-Disposition: {'inline' if content_id else 'attachment'}; {parameter}",
        "Content-Transfer-Encoding: base64",
    ]
    if content_id:
        headers.append(f"Content-ID: <{content_id}>")
    return headers, base64.encodebytes(data)


def multipart(subtype: str, parts: list[Part], boundary: str) -> Part:
    body = b"".join(
        b"--" + boundary.encode() + b"\n" + "\n".join(headers).encode() + b"\n\n" + payload
        for headers, payload in parts
    )
    body += b"--" + boundary.encode() + b"--\n"
    return [f'Content-Type: multipart/{subtype};\n\tboundary="{boundary}"'], body


def encoded(value: str, charset: str = "utf-8") -> str:
    """A header value, with encoded words when it is not ASCII."""
    if value.isascii():
        return value
    return Header(value, charset).encode()


def fold64(rng: random.Random, size: int) -> str:
    text = base64.b64encode(rng.randbytes(size)).decode()
    return "\n\t".join(text[i : i + 74] for i in range(0, len(text), 74))


def token(rng: random.Random, size: int) -> str:
    return base64.urlsafe_b64encode(rng.randbytes(size)).decode().rstrip("=")


# --- Messages -------------------------------------------------------------------------------


@dataclass
class Sent:
    """One message of a thread, as the next reply quotes it."""

    message_id: str
    sender: Person
    to: list[Person]
    date: datetime.datetime
    subject: str
    text: str
    html: str


@dataclass
class Thread:
    subject: str
    language: str
    colleague: Person
    outside: list[Person]
    messages: list[Sent] = field(default_factory=list)
    length: int = 4


class Mailbox:
    """Writes the messages in time order: new threads, replies, forwards, colleagues' internal
    mail, newsletters, notifications and auto-replies, with the odd duplicate."""

    KINDS = (
        ("new inbound", 16), ("new outbound", 16), ("reply", 36), ("forward", 2),
        ("role address", 3), ("internal", 6), ("newsletter", 12), ("notification", 5),
        ("auto-reply", 3),
    )  # fmt: skip

    def __init__(self, rng: random.Random, world: World, messages: int):
        self.rng = rng
        self.world = world
        self.total = messages
        self.clock = START
        self.step = (END - START) / messages
        self.threads: list[Thread] = []
        self.recent: deque[bytes] = deque(maxlen=2000)
        self.kinds: Counter = Counter()  # what was written
        self.formats: Counter = Counter()  # of the mail people wrote
        self.people_weights = [p.weight for p in world.people]

    def messages(self):
        """(envelope sender, date, raw message) for each message."""
        kinds = [k for k, _ in self.KINDS]
        weights = [w for _, w in self.KINDS]
        rng = self.rng
        for _ in range(self.total):
            self.clock = min(END, self.clock + self.step * rng.expovariate(1.0))
            if self.recent and rng.random() < 0.005:
                self.kinds["duplicate"] += 1
                yield "MAILER-DAEMON", self.clock, rng.choice(self.recent)
                continue
            kind = rng.choices(kinds, weights)[0]
            sender, raw = getattr(self, "make_" + kind.replace(" ", "_").replace("-", "_"))()
            self.kinds[kind] += 1
            self.recent.append(raw)
            yield sender, self.clock, raw

    # --- Picking people and words

    def person(self) -> Person:
        return self.rng.choices(self.world.people, self.people_weights)[0]

    def colleague_for(self, language: str) -> Person:
        speakers = [c for c in self.world.colleagues if c.language == language]
        if speakers and self.rng.random() < 0.6:
            return self.rng.choice(speakers)
        return self.rng.choice(self.world.colleagues)

    def fill(self, template: str, person: Person) -> str:
        rng = self.rng
        language = LANGUAGES[person.language]
        currency = {"GB": "£{:,}", "US": "${:,}"}.get(person.country.code, "{:,} €")
        colleague = person.company.people if person.company else []
        return template.format(
            qty=rng.choice((5, 10, 15, 20, 25, 40, 50, 75, 100, 150, 250, 500)),
            po=rng.choice((f"PO-{self.clock.year}-{rng.randint(1, 99999):05d}",
                           f"4500{rng.randint(0, 999999):06d}")),
            invoice=rng.choice((f"INV-{rng.randint(10000, 99999)}",
                                f"RE-{self.clock.year}-{rng.randint(1000, 9999)}")),
            amount=currency.format(rng.randint(5, 120) * 1000),
            weekday=rng.choice(language.weekdays),
            time=f"{rng.randint(8, 17)}:{rng.choice(('00', '15', '30', '45'))}",
            city=rng.choice(person.country.cities),
            date=(self.clock + datetime.timedelta(days=rng.randint(-20, 40))).strftime("%d.%m.%Y"),
            colleague=rng.choice(colleague).name if colleague else rng.choice(language.first_names),
            product=rng.choice(PRODUCTS),
            year=self.clock.year + 1,
            n=rng.randint(2, 14),
        )  # fmt: skip

    def paragraphs(self, writer: Person, reader: Person) -> list[str]:
        """A greeting and one to four paragraphs in the outside person's language."""
        rng = self.rng
        outside = reader if writer.internal else writer
        language = LANGUAGES[outside.language]
        body = [rng.choice(language.greetings).format(first=reader.first)]
        for _ in range(rng.choice((1, 1, 2, 2, 2, 3, 4))):
            sentences = rng.sample(language.sentences, rng.randint(1, 3))
            body.append(" ".join(self.fill(sentence, outside) for sentence in sentences))
        return body

    # --- Writing one message

    def message_id(self, sender: Person) -> str:
        rng = self.rng
        if sender.mailer == "outlook":
            host = f"{rng.choice(('AM', 'DB', 'FR', 'VI', 'PA'))}{rng.randint(0, 9)}PR0"
            host += f"{rng.randint(1, 9)}MB{rng.randint(1000, 9999)}"
            cluster = f"eurprd0{rng.randint(1, 9)}.prod.outlook.com"
            return f"<{host}{rng.getrandbits(64):016X}@{host}.{cluster}>"
        if sender.mailer == "gmail":
            return f"<CA{token(rng, 36)}@mail.gmail.com>"
        return f"<{rng.getrandbits(128):032X}@{sender.email.split('@')[1]}>"

    def transport(self, sender: Person, recipient: Person, date: datetime.datetime) -> list[str]:
        """Received chains, DKIM and ARC as a Google Workspace mailbox exports them."""
        rng = self.rng
        domain = sender.email.split("@")[1]
        stamp = format_datetime(date)
        ip = ".".join(str(rng.randint(1, 254)) for _ in range(4))
        headers = [
            f"Delivered-To: {recipient.email}",
            f"Received: by 2002:a05:7300:{rng.getrandbits(16):x}:b0:{rng.getrandbits(16):x}:"
            f"{rng.getrandbits(16):x} with SMTP id {token(rng, 9)};\n        {stamp}",
            f"X-Received: by 2002:a17:907:{rng.getrandbits(16):x} with SMTP id {token(rng, 12)}"
            f".{rng.randint(100, 999)}.{date:%Y.%m.%d.%H.%M.%S};\n        {stamp}",
        ]
        if not sender.internal:
            headers += [
                f"ARC-Seal: i=1; a=rsa-sha256; t={int(date.timestamp())}; cv=none;\n"
                f"        d=google.com; s=arc-20240605;\n        b={fold64(rng, 256)}",
                "ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=google.com; "
                "s=arc-20240605;\n        h=mime-version:subject:message-id:date:from:to:"
                f"dkim-signature;\n        bh={token(rng, 32)}=;\n        b={fold64(rng, 256)}",
                f"ARC-Authentication-Results: i=1; mx.google.com;\n       dkim=pass "
                f"header.i=@{domain} header.s=selector1 header.b={token(rng, 6)};\n       "
                f"spf=pass (google.com: domain of {sender.email} designates {ip} as permitted "
                f"sender) smtp.mailfrom={sender.email};\n       dmarc=pass (p=QUARANTINE "
                f"sp=QUARANTINE dis=NONE) header.from={domain}",
                f"Return-Path: <{sender.email}>",
                f"Received: from {domain.replace('.', '-')}.mail.protection.example "
                f"([{ip}])\n        by mx.google.com with ESMTPS id {token(rng, 15)}\n        "
                f"for <{recipient.email}>\n        (version=TLS1_3 "
                f"cipher=TLS_AES_256_GCM_SHA384 bits=256/256);\n        {stamp}",
                f"Received-SPF: pass (google.com: domain of {sender.email} designates {ip} as "
                f"permitted sender) client-ip={ip};",
            ]
        headers.append(
            f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain};\n\ts=selector1;"
            " h=From:Date:Subject:Message-ID:Content-Type:MIME-Version;\n\t"
            f"bh={token(rng, 32)}=;\n\tb={fold64(rng, 256)}"
        )
        if sender.mailer == "outlook":
            headers += [
                f"Thread-Index: {base64.b64encode(rng.randbytes(22)).decode()}",
                "X-MS-Has-Attach: ",
                "X-MS-TNEF-Correlator: ",
                f"X-MS-Exchange-Organization-AuthSource: {token(rng, 12)}.prod.outlook.com",
                f"X-MS-Office365-Filtering-Correlation-Id: {rng.getrandbits(128):032x}",
                f"X-Microsoft-Antispam-Message-Info:\n\t{fold64(rng, 600)}",
                f"X-MS-Exchange-AntiSpam-MessageData-0:\n\t{fold64(rng, 400)}",
            ]
        elif sender.mailer == "apple":
            headers.append("X-Mailer: Apple Mail (2.3774.300.61.1.2)")
        elif sender.mailer == "thunderbird":
            headers.append("User-Agent: Mozilla Thunderbird 128.4.0 (Windows NT 10.0; Win64; x64)")
        return headers

    def write(
        self,
        *,
        sender: Person,
        to: list[Person],
        cc: list[Person],
        subject: str,
        text: str,
        html_fragment: str,
        extra: list[str] = (),
        message_id: str | None = None,
        files: list[Part] = (),
        logo: bool = False,
    ) -> tuple[str, bytes]:
        """The message's header lines and MIME body, in the sender's mail client's way."""
        rng = self.rng
        date = self.clock.astimezone(
            datetime.timezone(datetime.timedelta(hours=sender.country.utc_offset))
        )
        charset = "utf-8"
        if text.isascii() and sender.mailer == "outlook":
            charset = "us-ascii"
        elif sender.language != "en" and not sender.internal and rng.random() < 0.35:
            charset = rng.choice(("iso-8859-1", "windows-1252"))
        if charset == "us-ascii":
            encoding = "7bit"
        elif sender.mailer == "thunderbird" or rng.random() < 0.15:
            encoding = "8bit"
        elif charset == "utf-8" and rng.random() < 0.25:
            encoding = "base64"
        else:
            encoding = "quoted-printable"
        usual, share, other = SHAPES[sender.mailer]
        shape = usual if rng.random() < share else other
        self.formats[shape] += 1
        self.formats["legacy charset"] += charset in ("iso-8859-1", "windows-1252")
        self.formats["attachments"] += bool(files)
        flowed = sender.mailer in ("apple", "thunderbird")
        if flowed:
            text = "\n".join(
                textwrap.fill(line, 72) if len(line) > 76 else line for line in text.split("\n")
            )
        plain = text_part(text, "plain", charset, encoding, flowed=flowed)
        page = self.html_page(sender, html_fragment, charset, logo)
        if shape == "plain text":
            body = plain
        else:
            html_part = text_part(page, "html", charset, encoding)
            if logo:
                image = rng.randbytes(rng.randint(3000, 12000))
                logo_part = file_part("image001.png", "image/png", image, LOGO_ID)
                html_part = multipart(
                    "related", [html_part, logo_part], f"_00{rng.getrandbits(48):012x}_"
                )
            body = (
                html_part
                if shape == "HTML only"
                else multipart("alternative", [plain, html_part], f"{rng.getrandbits(96):024x}")
            )
        if files:
            body = multipart("mixed", [body, *files], f"----=_NextPart_{rng.getrandbits(64):016X}")

        headers = self.transport(sender, to[0], date)
        headers.append(
            f"From: {sender.address(1 if sender.mailer == 'outlook' and rng.random() < 0.3 else 0)}"
        )
        headers.append("To: " + ",\n\t".join(p.address(rng.choice((0, 0, 0, 2))) for p in to))
        if cc:
            headers.append("Cc: " + ",\n\t".join(p.address() for p in cc))
        header_charset = charset if charset in ("iso-8859-1", "windows-1252") else "utf-8"
        headers.append(f"Subject: {encoded(subject, header_charset)}")
        headers.append(f"Date: {format_datetime(date)}")
        if message_id:
            headers.append(f"Message-ID: {message_id}")
        headers += extra
        headers.append("MIME-Version: 1.0")
        if sender.mailer == "outlook":
            headers.append(f"Content-Language: {sender.language}-{sender.country.code}")
        headers += body[0]
        return headers, body[1]

    def html_page(self, sender: Person, fragment: str, charset: str, logo: bool) -> str:
        if logo:
            fragment += f'<br>\n<img width="140" height="42" src="cid:{LOGO_ID}" alt="Logo">'
        if sender.mailer == "outlook":
            head = OUTLOOK_HEAD.replace("CHARSET", charset)
            return (
                f'{head}<body lang="{sender.language.upper()}" link="#0563C1" vlink="#954F72" '
                f'style="word-wrap:break-word">\n<div class="WordSection1">\n{fragment}\n</div>\n'
                "</body>\n</html>\n"
            )
        if sender.mailer == "gmail":
            return f'<div dir="ltr">{fragment}</div>\n'
        return (
            f'<html><head><meta http-equiv="content-type" content="text/html; charset={charset}">'
            '</head><body style="overflow-wrap: break-word; -webkit-nbsp-mode: space; '
            f'line-break: after-white-space;">{fragment}</body></html>\n'
        )

    def compose(
        self,
        writer: Person,
        paragraphs: list[str],
        language: Language,
        history: Sent | None = None,
        style: str = "quote",
    ) -> tuple[str, str]:
        """Text and HTML of a message: the paragraphs, closing and signature, then the quoted
        history (`style` "quote", "outlook" or "forward")."""
        rng = self.rng
        closing = rng.choice(language.closings)
        signature_lines, signature_html = writer.signature, writer.signature_html
        if writer.mailer == "apple" and not writer.internal and rng.random() < 0.3:
            signature_lines = [LANGUAGES[writer.language].from_phone]
            signature_html = html.escape(signature_lines[0])
        text = "\n\n".join(paragraphs) + f"\n\n{closing}\n" + "\n".join(signature_lines)
        part = OUTLOOK_PARAGRAPH if writer.mailer == "outlook" else "<div>{}</div><div><br></div>\n"
        fragment = "".join(part.format(html.escape(p)) for p in [*paragraphs, closing])
        fragment += f"<div>{signature_html}</div>\n"
        if history is None:
            return text, fragment
        zone = datetime.timezone(datetime.timedelta(hours=writer.country.utc_offset))
        local = history.date.astimezone(zone)
        sender = f"{history.sender.name} <{history.sender.email}>"
        if style == "forward":
            head = [
                "---------- Forwarded message ---------",
                f"From: {sender}",
                f"Date: {local:%a, %d %b %Y at %H:%M}",
                f"Subject: {history.subject}",
                "To: " + ", ".join(f"{p.name} <{p.email}>" for p in history.to),
            ]
            text += "\n\n" + "\n".join(head) + "\n\n" + history.text
            lines = "<br>".join(html.escape(line) for line in head)
            fragment += GMAIL_QUOTE.format(head=lines, quoted=history.html)
        elif style == "outlook":
            labels = language.outlook_labels
            head = [
                (labels[0], sender),
                (labels[1], f"{local:%A, %d %B %Y %H:%M}"),
                (labels[2], "; ".join(p.name for p in history.to)),
                (labels[3], history.subject),
            ]
            lines = "\n".join(f"{label}: {value}" for label, value in head)
            text += f"\n\n________________________________\n{lines}\n\n{history.text}"
            fragment += OUTLOOK_RULE + "".join(
                f'<p class="MsoNormal"><b>{label}:</b> {html.escape(value)}<o:p></o:p></p>'
                for label, value in head
            )
            fragment += f"</div>\n{history.html}"
        else:
            head = language.reply_header.format(
                date=local.strftime(language.date_format),
                name=history.sender.name,
                email=history.sender.email,
            )
            quoted = "\n".join(f"> {line}" if line else ">" for line in history.text.split("\n"))
            text += f"\n\n{head}\n\n{quoted}"
            fragment += GMAIL_QUOTE.format(head=html.escape(head), quoted=history.html)
        return text, fragment

    def attachments(self, writer: Person) -> list[Part]:
        rng = self.rng
        if rng.random() >= 0.04:
            return []
        stem = LANGUAGES[writer.language].attachment
        files = []
        for _ in range(rng.choice((1, 1, 1, 2))):
            kind = rng.choice(("pdf", "pdf", "xlsx", "docx"))
            name = f"{stem}_{self.clock.year}-{rng.randint(100, 9999)}.{kind}"
            if writer.language == "de" and rng.random() < 0.3:
                name = f"Preisübersicht {self.clock.year}.{kind}"
            content_type = {
                "pdf": "application/pdf",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            }[kind]
            data = (b"%PDF-1.7\n" if kind == "pdf" else b"PK\x03\x04") + rng.randbytes(
                rng.randint(10_000, 80_000)
            )
            files.append(file_part(name, content_type, data))
        return files

    def finish(self, headers: list[str], body: bytes) -> bytes:
        if self.rng.random() < 0.005:
            headers = [h for h in headers if not h.startswith("Message-ID:")]
            self.formats["no Message-ID"] += 1
        return "\n".join(headers).encode("ascii") + b"\n\n" + body

    # --- The kinds of message

    def thread_message(
        self,
        thread: Thread,
        sender: Person,
        to: list[Person],
        cc: list[Person],
        *,
        style: str = "",
    ) -> tuple[str, bytes]:
        rng = self.rng
        previous = thread.messages[-1] if thread.messages else None
        language = LANGUAGES[thread.language]
        if previous is None:
            subject = thread.subject
        else:
            prefix = "Re: " if sender.mailer != "outlook" else language.reply_prefix
            subject = prefix + thread.subject
        style = style or ("outlook" if sender.mailer == "outlook" else "quote")
        paragraphs = self.paragraphs(sender, to[0])
        text, fragment = self.compose(sender, paragraphs, language, previous, style)
        message_id = self.message_id(sender)
        extra = []
        if previous is not None:
            references = [m.message_id for m in thread.messages][-10:]
            if thread.messages[0].message_id not in references:
                references.insert(0, thread.messages[0].message_id)
            extra.append(f"In-Reply-To: {previous.message_id}")
            extra.append("References: " + "\n ".join(references))
        if sender.mailer == "outlook":
            extra.append(f"Thread-Topic: {encoded(thread.subject)}")
        logo = (
            sender.mailer == "outlook"
            and sender.company is not None
            and not sender.internal
            and rng.random() < 0.25
        )
        headers, body = self.write(
            sender=sender,
            to=to,
            cc=cc,
            subject=subject,
            text=text,
            html_fragment=fragment,
            extra=extra,
            message_id=message_id,
            files=self.attachments(sender),
            logo=logo,
        )
        thread.messages.append(Sent(message_id, sender, to, self.clock, subject, text, fragment))
        return sender.email, self.finish(headers, body)

    def new_thread(self, outbound: bool) -> tuple[str, bytes]:
        rng = self.rng
        person = self.person()
        colleague = self.colleague_for(person.language)
        subject = self.fill(rng.choice(LANGUAGES[person.language].subjects), person)
        outside = [person]
        if person.company and len(person.company.people) > 1 and rng.random() < 0.25:
            other = rng.choice(person.company.people)
            if other is not person:
                outside.append(other)
        thread = Thread(
            subject,
            person.language,
            colleague,
            outside,
            length=rng.choice((1, 2, 2, 3, 4, 5, 6, 8, 10)),
        )
        self.threads.append(thread)
        cc = outside[1:]
        if rng.random() < 0.2:
            cc = [*cc, rng.choice([c for c in self.world.colleagues if c is not colleague])]
        if outbound:
            return self.thread_message(thread, colleague, [person], cc)
        return self.thread_message(thread, person, [colleague], cc)

    def open_thread(self) -> Thread | None:
        rng = self.rng
        for _ in range(5):
            if not self.threads:
                return None
            index = len(self.threads) - 1 - min(len(self.threads) - 1, int(rng.expovariate(1 / 80)))
            thread = self.threads[index]
            if len(thread.messages) < thread.length:
                return thread
        return None

    def make_new_inbound(self):
        return self.new_thread(outbound=False)

    def make_new_outbound(self):
        return self.new_thread(outbound=True)

    def make_reply(self):
        thread = self.open_thread()
        if thread is None:
            return self.new_thread(outbound=False)
        last = thread.messages[-1]
        if last.sender.internal:
            sender = self.rng.choice(thread.outside)
            to = [last.sender]
        else:
            sender = thread.colleague
            to = [last.sender]
        everyone = [thread.colleague, *thread.outside]
        cc = [p for p in everyone if p is not sender and p not in to]
        return self.thread_message(thread, sender, to, cc)

    def make_forward(self):
        """An outside person forwards a colleague's mail to us ("Fwd:", history kept)."""
        thread = self.open_thread()
        if thread is None or thread.messages[-1].sender.internal:
            return self.new_thread(outbound=False)
        sender = thread.messages[-1].sender
        forward = Thread(
            "Fwd: " + thread.subject,
            thread.language,
            thread.colleague,
            [sender],
            [thread.messages[-1]],
            length=1,
        )
        return self.thread_message(
            forward, sender, [self.rng.choice(self.world.colleagues)], [], style="forward"
        )

    def make_role_address(self):
        """Mail from a shared mailbox (info@, orders@): its company counts, nobody becomes a
        contact."""
        rng = self.rng
        company = rng.choice(self.world.companies)
        local = rng.choice(ROLE_LOCALS)
        language = LANGUAGES[company.country.language]
        sender = Person(
            company.name,
            "",
            f"{local}@{company.domain}",
            company.country.language,
            company.country,
            company,
            rng.choice(("outlook", "apple")),
            [company.name, company.address],
            html.escape(company.name),
        )
        sender.first, sender.last = company.name.split(" ")[0], "Team"
        colleague = self.colleague_for(company.country.language)
        thread = Thread(
            self.fill(rng.choice(language.subjects), sender),
            company.country.language,
            colleague,
            [sender],
            length=1,
        )
        self.threads.append(thread)
        return self.thread_message(thread, sender, [colleague], [])

    def make_internal(self):
        rng = self.rng
        writer, reader, other = rng.sample(self.world.colleagues, 3)
        company = rng.choice(self.world.companies)
        subject = rng.choice(
            (
                f"{company.name}: next steps",
                f"Call notes {company.name}",
                f"Forecast Q{(self.clock.month - 1) // 3 + 1}",
                "Pricing approval",
                f"Handover {company.name}",
            )
        )
        language = LANGUAGES["en"]
        paragraphs = [f"Hi {reader.first},"] + [
            " ".join(self.fill(s, writer) for s in rng.sample(language.sentences, 2))
            for _ in range(rng.randint(1, 3))
        ]
        text, fragment = self.compose(writer, paragraphs, language)
        headers, body = self.write(
            sender=writer,
            to=[reader],
            cc=[other] if rng.random() < 0.4 else [],
            subject=subject,
            text=text,
            html_fragment=fragment,
            message_id=self.message_id(writer),
        )
        return writer.email, self.finish(headers, body)

    def make_newsletter(self):
        """Bulk mail: a big HTML body with tracking links, List-Unsubscribe, often Precedence."""
        rng = self.rng
        name, address = rng.choice(VENDORS)
        domain = address.split("@")[1]
        colleague = rng.choice(self.world.colleagues)
        subject = rng.choice(
            (
                f"{name}: your {self.clock:%B} update",
                f"{name}: what's new in {self.clock:%B %Y}",
                f"Webinar: {rng.choice(PRODUCTS)} best practices",
                "Last chance: early-bird tickets",
                "5 trends for next year",
            )
        )
        articles_text, articles_html = [], []
        for index in range(rng.randint(5, 14)):
            company = rng.choice(NAME_STARTS) + rng.choice(NAME_ENDS)
            verb = rng.choice(("cut costs by", "grew", "saved"))
            title = f"{rng.choice(('How', 'Why'))} {company} {verb} {rng.randint(10, 60)}%"
            sentences = " ".join(
                self.fill(s, colleague) for s in rng.sample(LANGUAGES["en"].sentences, 3)
            )
            link = f"https://click.{domain}/ls/click?upn={token(rng, 120)}"
            image = f"https://img.{domain}/a/{index}/{token(rng, 24)}.jpg"
            articles_text.append(f"{title}\n{sentences}\nRead more: {link}")
            articles_html.append(
                NEWSLETTER_ARTICLE.format(
                    title=html.escape(title), text=html.escape(sentences), link=link, image=image
                )
            )
        unsubscribe = f"https://{domain}/unsubscribe/{token(rng, 48)}"
        text = f"{name}\n\n" + "\n\n".join(articles_text) + f"\n\nUnsubscribe: {unsubscribe}\n"
        page = (
            '<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="viewport" '
            'content="width=device-width,initial-scale=1"><style>body{margin:0;padding:0}'
            "table{border-collapse:collapse}td.article h2{font-weight:700}@media only screen and "
            "(max-width:600px){td.article{padding:16px!important}}</style></head><body>"
            '<table role="presentation" width="100%" bgcolor="#f3f3f3"><tr><td align="center">'
            '<table role="presentation" width="600" bgcolor="#ffffff">'
            + "".join(articles_html)
            + f'<tr><td style="padding:24px;font-size:12px;color:#888888"><a href="{unsubscribe}">'
            f"Unsubscribe</a> · {html.escape(name)}</td></tr></table></td></tr></table>"
            f'<img src="https://open.{domain}/o/{token(rng, 60)}.gif" width="1" height="1" alt="">'
            "</body></html>\n"
        )
        sender = Person(name, "", address, "en", COUNTRIES[1][0], None, "other", [], "")
        date = self.clock.astimezone(datetime.UTC)
        headers = self.transport(sender, colleague, date)
        headers += [
            f"From: {formataddr((name, address))}",
            f"To: {colleague.email}",
            f"Subject: {encoded(subject)}",
            f"Date: {format_datetime(date)}",
            f"Message-ID: <{rng.getrandbits(96):x}.{token(rng, 9)}@{domain}>",
            f"List-Unsubscribe: <{unsubscribe}>,\n <mailto:unsubscribe-{token(rng, 12)}@{domain}>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            f"Feedback-ID: {rng.randint(1000, 9999)}:{rng.randint(100, 999)}:campaign",
        ]
        if rng.random() < 0.5:
            headers.append("Precedence: bulk")
        if rng.random() < 0.2:
            headers.append(f"List-Id: {name} <{token(rng, 6).lower()}.list-id.{domain}>")
        headers.append("MIME-Version: 1.0")
        body = multipart(
            "alternative",
            [
                text_part(text, "plain", "utf-8", "quoted-printable"),
                text_part(page, "html", "utf-8", "quoted-printable"),
            ],
            f"=_{token(rng, 18)}",
        )
        return address, self.finish(headers + body[0], body[1])

    def make_notification(self):
        """A tool's no-reply mail; some say Auto-Submitted, all come from a no-reply address."""
        rng = self.rng
        name, address = rng.choice(SERVICES)
        colleague = rng.choice(self.world.colleagues)
        subject = rng.choice((
            f"Invoice INV-{rng.randint(10000, 99999)} is available",
            f"[{name}] {rng.choice(self.world.people).name} commented on a task",
            "Your document has been signed",
            f"New booking: {rng.choice(self.world.people).name}",
            "Your weekly summary",
        ))  # fmt: skip
        sender = Person(name, "", address, "en", COUNTRIES[2][0], None, "other", [], "")
        link = f"https://{address.split('@')[1]}/n/{token(rng, 24)}"
        text = f"Hello {colleague.first},\n\n{subject}.\n\nOpen: {link}\n\n{name}\n"
        date = self.clock.astimezone(datetime.UTC)
        headers = [
            *self.transport(sender, colleague, date),
            f"From: {formataddr((name, address))}",
            f"To: {colleague.email}",
            f"Subject: {encoded(subject)}",
            f"Date: {format_datetime(date)}",
            f"Message-ID: <{token(rng, 18)}@{address.split('@')[1]}>",
        ]
        if rng.random() < 0.5:
            headers.append("Auto-Submitted: auto-generated")
        headers.append("MIME-Version: 1.0")
        page = f"<html><body><p>Hello {colleague.first},</p><p>{html.escape(subject)}.</p>"
        page += f'<p><a href="{link}">Open</a></p></body></html>\n'
        body = multipart(
            "alternative",
            [
                text_part(text, "plain", "utf-8", "quoted-printable"),
                text_part(page, "html", "utf-8", "7bit"),
            ],
            f"{rng.getrandbits(96):024x}",
        )
        return address, self.finish(headers + body[0], body[1])

    def make_auto_reply(self):
        """An out-of-office answer to our last message of a thread."""
        rng = self.rng
        thread = self.open_thread()
        if thread is None or not thread.messages[-1].sender.internal:
            return self.new_thread(outbound=True)
        last = thread.messages[-1]
        person = last.to[0]
        language = LANGUAGES[person.language]
        back = (self.clock + datetime.timedelta(days=rng.randint(2, 20))).strftime("%d.%m.%Y")
        text = language.auto_text.format(
            date=back, colleague=rng.choice(person.company.people).name if person.company else ""
        )
        date = self.clock.astimezone(
            datetime.timezone(datetime.timedelta(hours=person.country.utc_offset))
        )
        headers = [
            *self.transport(person, last.sender, date),
            f"From: {person.address()}",
            f"To: {last.sender.address()}",
            f"Subject: {encoded(language.auto_subject.format(subject=last.subject))}",
            f"Date: {format_datetime(date)}",
            f"Message-ID: {self.message_id(person)}",
            f"In-Reply-To: {last.message_id}",
            f"References: {last.message_id}",
            "X-Auto-Response-Suppress: All",
        ]
        if rng.random() < 0.8:  # Exchange sometimes leaves it out; the subject still tells
            headers.append("Auto-Submitted: auto-replied")
        headers.append("MIME-Version: 1.0")
        body = text_part(text, "plain", "utf-8", "quoted-printable")
        return person.email, self.finish(headers + body[0], body[1])


_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)


def write_mbox(path: Path, *, messages: int, seed: int, companies: int, people: int) -> dict:
    """Write the mbox (mboxrd: "From " lines in messages quoted with ">") and say what is in
    it."""
    rng = random.Random(seed)
    world = make_world(rng, companies, people)
    mailbox = Mailbox(rng, world, messages)
    sizes, quoted = [], 0
    with open(path, "wb") as stream:
        for sender, date, raw in mailbox.messages():
            stamp = date.astimezone(datetime.UTC)
            stream.write(
                f"From {sender} {stamp:%a %b} {stamp.day:2d} {stamp:%H:%M:%S %Y}\n".encode()
            )
            escaped, count = _FROM_LINE.subn(rb">\1", raw)
            stream.write(escaped)
            stream.write(b"\n" if raw.endswith(b"\n") else b"\n\n")
            sizes.append(len(raw))
            quoted += count
    sizes.sort()
    return {
        "messages": len(sizes),
        "bytes": path.stat().st_size,
        "mean": sum(sizes) / len(sizes),
        "median": sizes[len(sizes) // 2],
        "p95": sizes[int(len(sizes) * 0.95)],
        "largest": sizes[-1],
        "kinds": dict(mailbox.kinds),
        "companies": len(world.companies),
        "people": len(world.people),
        "free_mail": sum(p.company is None for p in world.people),
        "formats": dict(mailbox.formats),
        "quoted_from": quoted,
    }


# --- Measuring (in subprocesses) ------------------------------------------------------------

CAPTURE_USER = f"alice.martin@{INTERNAL_DOMAIN}"
PROTECTED = re.compile(r"^(salesdesk_scale|test|test_.*)$")  # never dropped, whatever the name


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesdesk.settings")
    import django

    django.setup()


def progress(text: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def measure_bare(path: Path) -> dict:
    """Reading alone, reading + email.message_from_bytes, reading + parse_message."""
    import email

    from salesdesk.capture.files import read_mbox
    from salesdesk.capture.parsing import parse_message

    steps = {
        "read": lambda raw: None,
        "message_from_bytes": email.message_from_bytes,
        "parse_message": parse_message,
    }
    results = {}
    for name, step in steps.items():
        count, size = 0, 0
        load = os.getloadavg()[0]
        started, cpu = time.perf_counter(), time.process_time()
        for _offset, raw in read_mbox(path):
            step(raw)
            count += 1
            size += len(raw)
        results[name] = {
            "messages": count,
            "bytes": size,
            "seconds": time.perf_counter() - started,
            "cpu": time.process_time() - cpu,
            "load": [load, os.getloadavg()[0]],
        }
        progress(f"bare {name}: {count:,} messages in {results[name]['seconds']:.1f} s")
    return results


def prepare_database():
    """A freshly migrated database with the six colleagues, their domain internal."""
    from django.core.management import call_command

    from salesdesk.accounts.models import OrganizationSettings, Role, User

    call_command("migrate", verbosity=0)
    organization = OrganizationSettings.get()
    organization.internal_domains = [INTERNAL_DOMAIN]
    organization.save(update_fields=["internal_domains"])
    for first, last, _language, _title in COLLEAGUES:
        User.objects.create_user(
            email=f"{ascii_slug(first)}.{ascii_slug(last)}@{INTERNAL_DOMAIN}",
            full_name=f"{first} {last}",
            role=Role.REP,
        )
    return User.objects.get(email=CAPTURE_USER)


def database_description() -> tuple[str, int]:
    """The database's name and version, and its size in bytes."""
    import sqlite3

    from django.conf import settings
    from django.db import connection

    if connection.vendor == "sqlite":
        path = Path(settings.DATABASES["default"]["NAME"])
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        return f"SQLite {sqlite3.sqlite_version}", size
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('server_version'), pg_database_size(current_database())"
        )
        version, size = cursor.fetchone()
    return f"PostgreSQL {version}", size


OUTCOME_FIELDS = (
    "seen", "logged", "duplicates", "automated", "internal", "skipped", "contacts_created",
    "companies_created", "suggested", "fields_filled",
)  # fmt: skip


def capture_run(path: Path, user, label: str) -> dict:
    """`capture_file` as the CLI calls it, with wall clock, CPU time and statements counted."""
    from django.db import connection

    from salesdesk.activities.models import Activity
    from salesdesk.capture.files import capture_file
    from salesdesk.crm.models import Company, Contact

    statements = [0]

    def count(execute, sql, params, many, context):
        statements[0] += 1
        return execute(sql, params, many, context)

    def report(outcome):  # what the CLI prints with -v 2, every 10,000 messages
        if outcome.seen // 10_000 > (outcome.seen - 500) // 10_000:
            seconds = time.perf_counter() - started
            progress(f"{label}: {outcome.seen:,} messages, {outcome.seen / seconds:,.0f}/s")

    load = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    with connection.execute_wrapper(count):
        outcome = capture_file(path, user=user, kind="mbox", progress=report)
    return {
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "load": [load, os.getloadavg()[0]],
        "statements": statements[0],
        "outcome": {name: getattr(outcome, name) for name in OUTCOME_FIELDS},
        "skip_reasons": outcome.skip_reasons,
        "contacts": Contact.objects.count(),
        "companies": Company.objects.count(),
        "activities": Activity.objects.count(),
    }


def measure_pipeline(path: Path) -> dict:
    from django.db import connection

    user = prepare_database()
    first = capture_run(path, user, f"{connection.vendor}, first run")
    again = capture_run(path, user, f"{connection.vendor}, again")
    database, size = database_description()
    return {"database": database, "size": size, "first": first, "again": again}


# Where a capture spends its time: (label, file, functions), cumulative time of the functions.
SPOTS = (
    ("read_mbox (reading the file)", "capture/files.py", ("read_mbox",)),
    ("parse_message", "capture/parsing.py", ("parse_message",)),
    ("  email.message_from_bytes", "email/__init__.py", ("message_from_bytes",)),
    ("  _content (MIME parts, decoding)", "capture/parsing.py", ("_content",)),
    ("    html_to_text", "capture/parsing.py", ("html_to_text",)),
    ("  _addresses", "capture/parsing.py", ("_addresses",)),
    ("  strip_quoted_history", "capture/parsing.py", ("strip_quoted_history",)),
    ("  content_hash", "capture/parsing.py", ("content_hash",)),
    ("_capture (match and write a batch)", "capture/pipeline.py", ("_capture",)),
    ("  _classify", "capture/pipeline.py", ("_classify",)),
    ("  _People.resolve", "capture/pipeline.py", ("resolve",)),
    ("  _People.touch", "capture/pipeline.py", ("touch",)),
    ("  fill_from_signatures", "capture/pipeline.py", ("fill_from_signatures",)),
    ("    extract_signature", "capture/signatures.py", ("extract_signature",)),
    ("    bulk_update", "django/db/models/query.py", ("bulk_update",)),
    ("  rollups.refresh_activities", "analytics/rollups.py", ("refresh_activities",)),
    ("bulk_create (every model)", "django/db/models/query.py", ("bulk_create",)),
    ("SQL statements in the driver", "django/db/backends/utils.py", ("_execute", "_executemany")),
)


def measure_profile(path: Path, messages: int) -> dict:
    """Capture the first `messages` messages of the mbox under cProfile."""
    import cProfile
    import pstats

    from salesdesk.capture.files import capture_file, read_mbox

    user = prepare_database()
    end = None
    for number, (offset, _raw) in enumerate(read_mbox(path)):
        if number == messages:
            end = offset
            break
    sample = path.with_name(path.name + ".sample")
    with open(path, "rb") as source, open(sample, "wb") as target:
        target.write(source.read(end) if end is not None else source.read())
    profiler = cProfile.Profile()
    started = time.perf_counter()
    outcome = profiler.runcall(capture_file, sample, user=user, kind="mbox")
    seconds = time.perf_counter() - started
    sample.unlink()
    stats = pstats.Stats(profiler)
    spots = []
    for label, suffix, functions in SPOTS:
        cumulative = sum(
            row[3]
            for (filename, _line, name), row in stats.stats.items()
            if name in functions and filename.endswith(suffix)
        )
        spots.append((label, cumulative))
    top = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:25]
    return {
        "messages": outcome.seen,
        "seconds": seconds,
        "total": stats.total_tt,
        "spots": spots,
        "top": [
            (f"{Path(file).parent.name}/{Path(file).name}:{line}({name})", row[1], row[2], row[3])
            for (file, line, name), row in top
        ],
    }


def worker(task: str, path: Path, messages: int) -> None:
    """In the subprocess: one measurement, its result as JSON on stdout."""
    setup_django()
    if task == "bare":
        result = measure_bare(path)
    elif task == "pipeline":
        result = measure_pipeline(path)
    else:
        result = measure_profile(path, messages)
    print(json.dumps(result))


def run_worker(task: str, path: Path, var_dir: Path, database_url: str = "", messages: int = 0):
    """This script again, in a subprocess whose settings see only its own database."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env["SALESDESK_VAR_DIR"] = str(var_dir)
    env["DJANGO_SETTINGS_MODULE"] = "salesdesk.settings"
    if database_url:
        env["DATABASE_URL"] = database_url
    command = [sys.executable, __file__, "--worker", task, "--mbox", str(path)]
    command += ["--messages", str(messages)]
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(command, env=env, cwd=root, stdout=subprocess.PIPE, check=True)  # noqa: S603 (this script)
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


def postgres_url(arguments, parser) -> str:
    """The scratch PostgreSQL database, or "": --postgres, else DATABASE_URL if PostgreSQL."""
    url = arguments.postgres
    if url is None:
        url = os.environ.get("DATABASE_URL", "")
        if not url.startswith(("postgres://", "postgresql://")):
            url = ""
    if not url:
        return ""
    name = urlsplit(url).path.lstrip("/")
    if "bench" not in name or PROTECTED.match(name):
        parser.error(
            f"the PostgreSQL database {name!r} would be dropped and created again: give "
            "--postgres a scratch database whose name contains 'bench', or --postgres '' to "
            "measure SQLite only"
        )
    return url


def recreate_database(url: str) -> None:
    """Drop and create the scratch database (`postgres_url` checked its name)."""
    import psycopg
    from psycopg import sql

    name = sql.Identifier(urlsplit(url).path.lstrip("/"))
    with psycopg.connect(url, dbname="postgres", autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(name))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(name))


# --- Reporting ------------------------------------------------------------------------------


def load_range(load: list[float]) -> str:
    return (
        f"{min(load):.1f}-{max(load):.1f}" if abs(load[0] - load[1]) >= 0.05 else f"{load[0]:.1f}"
    )


def report(mbox: dict, path: Path, seed: int, bare: dict, runs: list, profile: dict | None):
    print(
        f"mbox {path}: {mbox['messages']:,} messages, {mbox['bytes'] / 1e6:,.1f} MB "
        f"(mean {mbox['mean'] / 1024:.1f} KB, median {mbox['median'] / 1024:.1f} KB, "
        f"95th percentile {mbox['p95'] / 1024:.1f} KB, largest {mbox['largest'] / 1024:.0f} KB), "
        f"seed {seed}"
    )
    print(
        f"  {mbox['companies']:,} outside companies, {mbox['people']:,} outside people "
        f"({mbox['free_mail']:,} on free mail), {len(COLLEAGUES)} colleagues; "
        f"{mbox['quoted_from']:,} lines quoted as >From"
    )
    formats = mbox["formats"]
    print(
        "  mail written by people: "
        + ", ".join(
            f"{formats.get(name, 0):,} {name}"
            for name in ("plain text", "multipart/alternative", "HTML only")
        )
        + f"; {formats.get('legacy charset', 0):,} in ISO-8859-1 or Windows-1252, "
        f"{formats.get('attachments', 0):,} with attachments; "
        f"{formats.get('no Message-ID', 0):,} messages without Message-ID"
    )
    kinds = sorted(mbox["kinds"].items(), key=lambda item: -item[1])
    print("  " + ", ".join(f"{count:,} {kind}" for kind, count in kinds))
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()} "
        f"{platform.system()} {platform.release()}"
    )
    print()

    header = (
        f"{'bare parsing (read with files.read_mbox)':<42} {'seconds':>8} {'CPU s':>7} "
        f"{'msg/s':>7} {'MB/s':>6} {'load':>8}"
    )
    print(header)
    print("-" * len(header))
    labels = {
        "read": "reading only",
        "message_from_bytes": "email.message_from_bytes(raw)",
        "parse_message": "parsing.parse_message(raw)",
    }
    for name, label in labels.items():
        row = bare[name]
        print(
            f"{label:<42} {row['seconds']:8.1f} {row['cpu']:7.1f} "
            f"{row['messages'] / row['seconds']:7,.0f} {row['bytes'] / 1e6 / row['seconds']:6.1f} "
            f"{load_range(row['load']):>8}"
        )
    bare_rate = bare["message_from_bytes"]["messages"] / bare["message_from_bytes"]["seconds"]
    print()

    header = (
        f"{'capture_file':<19} {'seconds':>8} {'CPU s':>7} {'msg/s':>6} {'/bare':>5} "
        f"{'queries':>7} {'logged':>7} {'dupl.':>7} {'autom.':>6} {'intern.':>7} {'skip':>4} "
        f"{'contacts':>8} {'compan.':>7} {'activit.':>8} {'filled':>6} {'load':>8}"
    )
    print(header)
    print("-" * len(header))
    for label, result in runs:
        for run in ("first", "again"):
            row = result[run]
            outcome = row["outcome"]
            rate = outcome["seen"] / row["seconds"]
            print(
                f"{label + (' again' if run == 'again' else ''):<19} {row['seconds']:8.1f} "
                f"{row['cpu']:7.1f} {rate:6,.0f} {rate / bare_rate:5.2f} {row['statements']:7,} "
                f"{outcome['logged']:7,} {outcome['duplicates']:7,} {outcome['automated']:6,} "
                f"{outcome['internal']:7,} {outcome['skipped']:4,} {row['contacts']:8,} "
                f"{row['companies']:7,} {row['activities']:8,} {outcome['fields_filled']:6,} "
                f"{load_range(row['load']):>8}"
            )
    print("(CPU s: the Python process only; queries: SQL statements sent, BEGIN and COMMIT too)")
    for label, result in runs:
        first = result["first"]
        reasons = "".join(
            f"; skipped {count:,}: {reason}" for reason, count in first["skip_reasons"].items()
        )
        print(
            f"{label}: {result['database']}, {result['size'] / 1e6:,.0f} MB after both runs; "
            f"{first['outcome']['contacts_created']:,} contacts and "
            f"{first['outcome']['companies_created']:,} companies created{reasons}"
        )
    print()
    loads = [bare["message_from_bytes"]["load"], *(result["first"]["load"] for _, result in runs)]
    if max(map(max, loads)) - min(map(min, loads)) > 1.0:
        print(
            "careful: the load average moved by more than 1 between these steps, so other work "
            "on the machine slowed some of them more than others; the CPU ratio is steadier"
        )
    bare_cpu = bare["message_from_bytes"]["cpu"] / bare["message_from_bytes"]["messages"]
    for label, result in runs:
        first = result["first"]
        ratio = first["outcome"]["seen"] / first["seconds"] / bare_rate
        cpu_ratio = bare_cpu / (first["cpu"] / first["outcome"]["seen"])
        print(
            f"goal, the pipeline at least 0.5 x the speed of bare message_from_bytes, {label}: "
            f"{ratio:.2f} ({'met' if ratio >= 0.5 else 'missed'}); by CPU seconds of the Python "
            f"process (less disturbed by other work, a database server's CPU not counted): "
            f"{cpu_ratio:.2f}"
        )

    if profile:
        print()
        print(
            f"cProfile: capture_file on the first {profile['messages']:,} messages into a fresh "
            f"SQLite database: {profile['seconds']:.1f} s under the profiler "
            f"({profile['messages'] / profile['seconds']:,.0f} msg/s)"
        )
        header = f"{'where the time goes (cumulative)':<42} {'seconds':>8} {'share':>6}"
        print(header)
        print("-" * len(header))
        for label, seconds in profile["spots"]:
            print(f"{label:<42} {seconds:8.2f} {seconds / profile['total']:6.1%}")
        print()
        header = f"{'own time (tottime), top 25':<70} {'calls':>9} {'tottime':>8} {'cumtime':>8}"
        print(header)
        print("-" * len(header))
        for name, calls, own, cumulative in profile["top"]:
            print(f"{name[-70:]:<70} {calls:9,} {own:8.2f} {cumulative:8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000, help="messages in the mbox")
    parser.add_argument("--seed", type=int, default=1, help="the generator's seed")
    parser.add_argument("--companies", type=int, default=300, help="outside companies")
    parser.add_argument("--people", type=int, default=3000, help="outside people")
    parser.add_argument("--mbox", help="write the mbox here and keep it (default: a temp file)")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="also measure on this PostgreSQL database, dropped and created again (its name "
        "must contain 'bench'); default: DATABASE_URL when it is PostgreSQL; '' skips it",
    )
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="profile capturing the first N messages"
    )
    parser.add_argument("--worker", choices=("bare", "pipeline", "profile"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        worker(arguments.worker, Path(arguments.mbox), arguments.messages)
        return
    if arguments.messages < 1:
        parser.error("--messages must be at least 1")
    database_url = postgres_url(arguments, parser)

    with tempfile.TemporaryDirectory(prefix="capture-bench-") as scratch:
        scratch = Path(scratch)
        path = Path(arguments.mbox).resolve() if arguments.mbox else scratch / "capture.mbox"
        started = time.perf_counter()
        mbox = write_mbox(
            path,
            messages=arguments.messages,
            seed=arguments.seed,
            companies=arguments.companies,
            people=arguments.people,
        )
        seconds = time.perf_counter() - started
        progress(f"wrote {path} in {seconds:.0f} s; load average {os.getloadavg()[0]:.1f}")
        bare = run_worker("bare", path, scratch / "bare")
        runs = [("SQLite", run_worker("pipeline", path, scratch / "sqlite"))]
        if database_url:
            recreate_database(database_url)
            postgres = run_worker("pipeline", path, scratch / "postgres", database_url)
            runs.append(("PostgreSQL", postgres))
        profile = None
        if arguments.profile:
            profile = run_worker("profile", path, scratch / "profile", messages=arguments.profile)
        report(mbox, path, arguments.seed, bare, runs, profile)


if __name__ == "__main__":
    main()
